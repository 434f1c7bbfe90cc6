# -*- coding: utf-8 -*-
"""cgroup v1 write order and error handling on a recording fake (the real files are tested in tests/system)."""

import errno

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import fs1
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.fsio import CgroupFieldError

D = '/sys/fs/cgroup/x/ctr'
MIB = 2 ** 20


def memory_files(fake_files, limit, memsw=True):
    contents = {(D, 'memory.limit_in_bytes'): str(limit), (D, 'memory.soft_limit_in_bytes'): '',
                (D, 'memory.usage_in_bytes'): str(80 * MIB), (D, 'memory.max_usage_in_bytes'): str(90 * MIB),
                (D, 'memory.oom_control'): '', (D, 'memory.swappiness'): '', (D, 'memory.use_hierarchy'): '1'}
    if memsw:
        contents[(D, 'memory.memsw.limit_in_bytes')] = str(limit)
    return fake_files(contents)


def test_raising_both_limits_writes_memsw_first(fake_files):
    files = memory_files(fake_files, 100 * MIB)
    fs1.set_memory(files, D, {'memory': {'limit': 200 * MIB, 'swap': 400 * MIB}})
    assert files.writes == [('memory.memsw.limit_in_bytes', str(400 * MIB)), ('memory.limit_in_bytes', str(200 * MIB))]


def test_lowering_both_limits_writes_memory_first(fake_files):
    files = memory_files(fake_files, 500 * MIB)
    fs1.set_memory(files, D, {'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}})
    assert files.writes == [('memory.limit_in_bytes', str(100 * MIB)), ('memory.memsw.limit_in_bytes', str(200 * MIB))]


def test_unlimited_memory_makes_swap_unlimited_when_the_kernel_accounts_swap(fake_files):
    files = memory_files(fake_files, 100 * MIB)
    fs1.set_memory(files, D, {'memory': {'limit': -1}})
    assert files.writes == [('memory.memsw.limit_in_bytes', '-1'), ('memory.limit_in_bytes', '-1')]
    files = memory_files(fake_files, 100 * MIB, memsw=False)
    fs1.set_memory(files, D, {'memory': {'limit': -1}})
    assert files.writes == [('memory.limit_in_bytes', '-1')]


def test_swap_without_swap_accounting_names_the_field(fake_files):
    files = memory_files(fake_files, 100 * MIB, memsw=False)
    with pytest.raises(CgroupFieldError) as caught:
        fs1.set_memory(files, D, {'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}})
    assert caught.value.field == 'linux.resources.memory.swap'


def test_a_limit_below_usage_reports_usage_and_peak(fake_files):
    files = memory_files(fake_files, 500 * MIB)
    files.refuse[(D, 'memory.limit_in_bytes')] = errno.EBUSY
    with pytest.raises(CgroupFieldError) as caught:
        fs1.set_memory(files, D, {'memory': {'limit': MIB}})
    assert caught.value.field == 'linux.resources.memory.limit'
    assert 'current usage: %d, peak usage: %d' % (80 * MIB, 90 * MIB) in str(caught.value)


def test_other_memory_settings(fake_files):
    files = memory_files(fake_files, 500 * MIB)
    fs1.set_memory(files, D, {'memory': {'reservation': MIB, 'disableOOMKiller': True, 'swappiness': 0,
                                         'useHierarchy': True}})
    assert files.writes == [('memory.soft_limit_in_bytes', str(MIB)), ('memory.oom_control', '1'),
                            ('memory.swappiness', '0'), ('memory.use_hierarchy', '1')]


def cpu_files(fake_files, refuse=None):
    names = ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us', 'cpu.cfs_burst_us', 'cpu.idle', 'cpu.rt_period_us',
             'cpu.rt_runtime_us']
    return fake_files({(D, name): '' for name in names}, refuse)


def test_cpu_shares_clamped_by_the_kernel_are_an_error(fake_files):
    files = cpu_files(fake_files)
    original = files.write

    def clamp(directory, name, value):
        original(directory, name, str(min(int(value), 262144)) if name == 'cpu.shares' else value)
    files.write = clamp
    with pytest.raises(CgroupFieldError) as caught:
        fs1.set_cpu(files, D, {'cpu': {'shares': 500000}})
    assert caught.value.field == 'linux.resources.cpu.shares'
    assert 'maximum allowed cpu-shares is 262144' in str(caught.value)


def test_a_period_refused_before_the_quota_is_written_again_after_it(fake_files):
    files = cpu_files(fake_files)
    files.refuse[(D, 'cpu.cfs_period_us')] = lambda value: None if files.files[(D, 'cpu.cfs_quota_us')] else errno.EINVAL
    fs1.set_cpu(files, D, {'cpu': {'period': 10000, 'quota': 5000, 'realtimePeriod': 900000, 'realtimeRuntime': 1000}})
    assert files.writes == [('cpu.cfs_quota_us', '5000'), ('cpu.cfs_period_us', '10000'),
                            ('cpu.rt_period_us', '900000'), ('cpu.rt_runtime_us', '1000')]


def test_a_refused_period_without_a_quota_is_an_error_not_silence(fake_files):
    files = cpu_files(fake_files, {(D, 'cpu.cfs_period_us'): errno.EINVAL})
    with pytest.raises(CgroupFieldError) as caught:
        fs1.set_cpu(files, D, {'cpu': {'period': 10}})
    assert caught.value.field == 'linux.resources.cpu.period'


def test_blkio_uses_cfq_or_bfq_files(fake_files):
    names = ['blkio.bfq.weight', 'blkio.bfq.weight_device', 'blkio.leaf_weight', 'blkio.leaf_weight_device',
             'blkio.throttle.read_bps_device', 'blkio.throttle.write_iops_device']
    files = fake_files({(D, name): '' for name in names})
    fs1.set_blkio(files, D, {'blockIO': {
        'weight': 300, 'leafWeight': 200, 'weightDevice': [{'major': 8, 'minor': 0, 'weight': 400, 'leafWeight': 100}],
        'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}],
        'throttleWriteIOPSDevice': [{'major': 8, 'minor': 16, 'rate': 100}]}})
    assert files.writes == [('blkio.bfq.weight', '300'), ('blkio.leaf_weight', '200'),
                            ('blkio.bfq.weight_device', '8:0 400'), ('blkio.leaf_weight_device', '8:0 100'),
                            ('blkio.throttle.read_bps_device', '8:0 1048576'), ('blkio.throttle.write_iops_device', '8:16 100')]
    files = fake_files({(D, 'blkio.weight'): ''})
    fs1.set_blkio(files, D, {'blockIO': {'weight': 300}})
    assert files.writes == [('blkio.weight', '300')]


def test_blkio_weight_on_a_kernel_without_weight_files_is_an_error(fake_files):
    files = fake_files({(D, 'blkio.throttle.read_bps_device'): ''})
    with pytest.raises(CgroupFieldError) as caught:
        fs1.set_blkio(files, D, {'blockIO': {'weight': 300}})
    assert caught.value.field == 'linux.resources.blockIO.weight'
    assert 'blkio.bfq.weight' in str(caught.value)


def test_hugetlb_limits_reservations_too_where_the_kernel_has_them(fake_files):
    files = fake_files({(D, 'hugetlb.2MB.limit_in_bytes'): '', (D, 'hugetlb.2MB.rsvd.limit_in_bytes'): ''})
    fs1.set_hugetlb(files, D, {'hugepageLimits': [{'pageSize': '2MB', 'limit': 4 * MIB}]})
    assert files.writes == [('hugetlb.2MB.limit_in_bytes', str(4 * MIB)), ('hugetlb.2MB.rsvd.limit_in_bytes', str(4 * MIB))]


def test_pids_and_network(fake_files):
    files = fake_files({(D, 'pids.max'): '', (D, 'net_cls.classid'): '', (D, 'net_prio.ifpriomap'): ''})
    fs1.set_pids(files, D, {'pids': {'limit': -1}})
    fs1.set_pids(files, D, {'pids': {'limit': 0}})
    fs1.set_net_cls(files, D, {'network': {'classID': 0x100001}})
    fs1.set_net_prio(files, D, {'network': {'priorities': [{'name': 'lo', 'priority': 1}, {'name': 'eth0', 'priority': 7}]}})
    assert files.writes == [('pids.max', 'max'), ('net_cls.classid', '1048577'), ('net_prio.ifpriomap', 'lo 1'),
                            ('net_prio.ifpriomap', 'eth0 7')]


def test_kernel_tcp_is_written_where_the_file_exists(fake_files):
    files = memory_files(fake_files, 100 * MIB)
    files.files[(D, fs1.KMEM_TCP)] = '9223372036854771712'
    fs1.set_memory(files, D, {'memory': {'kernelTCP': 2 * MIB}})
    assert files.writes == [(fs1.KMEM_TCP, str(2 * MIB))]
    files = memory_files(fake_files, 100 * MIB)
    fs1.set_memory(files, D, {'memory': {'kernelTCP': 2 * MIB}})
    assert files.writes == []
