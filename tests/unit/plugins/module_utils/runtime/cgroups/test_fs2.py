# -*- coding: utf-8 -*-
"""cgroup v2 writes: runc's conversions from the v1-shaped spec, order, and errors naming fields.

These hosts have no cgroup v2 controllers, so the v2 driver is checked on a
fake directory that records writes.
"""

import errno

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import fs2
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.fsio import CgroupFieldError

D = '/sys/fs/cgroup/test/ctr'
MIB = 2 ** 20
V2_FILES = ['cgroup.controllers', 'pids.max', 'memory.max', 'memory.swap.max', 'memory.low', 'memory.current',
            'io.weight', 'io.max', 'cpu.weight', 'cpu.max', 'cpu.max.burst', 'cpu.idle', 'cpuset.cpus',
            'cpuset.mems', 'hugetlb.2MB.max', 'hugetlb.1GB.max', 'memory.high', 'rdma.max']


@pytest.fixture
def files(fake_files):
    contents = {(D, name): '' for name in V2_FILES}
    contents[(D, 'cgroup.controllers')] = 'cpuset cpu io memory hugetlb pids rdma'
    contents[(D, 'memory.current')] = '1048576'
    return fake_files(contents)


@pytest.mark.parametrize('shares, weight', [(2, 1), (1024, 39), (262144, 10000), (512, 20), (0, 0)])
def test_cpu_weight_is_runcs_conversion(shares, weight):
    assert fs2.cpu_weight(shares) == weight


@pytest.mark.parametrize('blkio, weight', [(10, 1), (500, 4950), (1000, 10000), (0, 0)])
def test_io_weight_is_runcs_conversion(blkio, weight):
    assert fs2.io_weight(blkio) == weight


@pytest.mark.parametrize('swap, limit, expected', [
    (0, -1, -1), (-1, 100, -1), (0, 100, 0), (300, -1, 300), (300, 100, 200), (100, 100, 0)])
def test_swap_max_is_swap_without_memory(swap, limit, expected):
    assert fs2.swap_max(swap, limit) == expected


@pytest.mark.parametrize('swap, limit', [(300, 0), (50, 100), (300, -5)])
def test_swap_max_refuses_impossible_pairs(swap, limit):
    with pytest.raises(ValueError):
        fs2.swap_max(swap, limit)


def test_everything_is_written_in_runcs_order_and_form(files):
    resources = {
        'pids': {'limit': -1},
        'memory': {'limit': 100 * MIB, 'swap': 300 * MIB, 'reservation': 50 * MIB},
        'blockIO': {'weight': 500, 'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1000}],
                    'throttleWriteIOPSDevice': [{'major': 8, 'minor': 16, 'rate': 30}]},
        'cpu': {'shares': 1024, 'quota': 50000, 'period': 200000, 'burst': 1000, 'idle': 0, 'cpus': '0-1', 'mems': '0'},
        'hugepageLimits': [{'pageSize': '2MB', 'limit': 4 * MIB}],
        'rdma': {'mlx5_0': {'hcaHandles': 3, 'hcaObjects': 100}},
        'unified': {'memory.high': '90000000'},
    }
    fs2.set_all(files, D, resources, None)
    assert files.writes == [
        ('pids.max', 'max'),
        ('memory.swap.max', str(200 * MIB)), ('memory.max', str(100 * MIB)), ('memory.low', str(50 * MIB)),
        ('io.weight', '4950'), ('io.max', '8:0 rbps=1000'), ('io.max', '8:16 wiops=30'),
        ('cpu.idle', '0'), ('cpu.weight', '39'), ('cpu.max.burst', '1000'), ('cpu.max', '50000 200000'),
        ('cpuset.cpus', '0-1'), ('cpuset.mems', '0'),
        ('hugetlb.2MB.max', str(4 * MIB)),
        ('rdma.max', 'mlx5_0 hca_handle=3 hca_object=100'),
        ('memory.high', '90000000'),
    ]


def test_quota_without_period_uses_the_kernel_default_period(files):
    fs2.set_cpu(files, D, {'cpu': {'quota': -1}})
    fs2.set_cpu(files, D, {'cpu': {'period': 50000}})
    assert files.writes == [('cpu.max', 'max 100000'), ('cpu.max', 'max 50000')]


def test_equal_memory_and_swap_disable_swap(files):
    fs2.set_memory(files, D, {'memory': {'limit': 100 * MIB, 'swap': 100 * MIB}})
    assert files.writes == [('memory.swap.max', '0'), ('memory.max', str(100 * MIB))]


def test_unlimited_memory_means_unlimited_swap(files):
    fs2.set_memory(files, D, {'memory': {'limit': -1}})
    assert files.writes == [('memory.swap.max', 'max'), ('memory.max', 'max')]


def test_no_swap_accounting_is_fine_for_unlimited_swap_but_not_for_a_limit(files):
    del files.files[(D, 'memory.swap.max')]
    fs2.set_memory(files, D, {'memory': {'limit': -1}})
    with pytest.raises(CgroupFieldError) as caught:
        fs2.set_memory(files, D, {'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}})
    assert caught.value.field == 'linux.resources.memory.swap'


def test_check_before_update_refuses_a_limit_below_usage(files):
    with pytest.raises(CgroupFieldError) as caught:
        fs2.set_memory(files, D, {'memory': {'limit': 4096, 'checkBeforeUpdate': True}})
    assert caught.value.field == 'linux.resources.memory.limit'
    assert 'below current usage 1048576' in str(caught.value)
    assert files.writes == []


def test_bfq_takes_the_blkio_weight_unconverted(files):
    files.files[(D, 'io.bfq.weight')] = ''
    fs2.set_io(files, D, {'blockIO': {'weight': 500, 'weightDevice': [{'major': 8, 'minor': 0, 'weight': 200}]}})
    assert files.writes == [('io.bfq.weight', '500'), ('io.bfq.weight', '8:0 200')]


def test_a_burst_refused_before_the_new_quota_is_retried_after_it(fake_files, files):
    files.refuse[(D, 'cpu.max.burst')] = lambda value: None if files.files[(D, 'cpu.max')] else errno.EINVAL
    fs2.set_cpu(files, D, {'cpu': {'quota': 20000, 'burst': 5000}})
    assert files.writes == [('cpu.max', '20000 100000'), ('cpu.max.burst', '5000')]


def test_a_refused_value_names_its_field(files):
    files.refuse[(D, 'cpu.max')] = errno.EINVAL
    with pytest.raises(CgroupFieldError) as caught:
        fs2.set_cpu(files, D, {'cpu': {'quota': 500}})
    assert caught.value.field == 'linux.resources.cpu.quota'
    assert 'refused' in str(caught.value)


def test_a_missing_controller_file_names_the_field(files):
    del files.files[(D, 'pids.max')]
    with pytest.raises(CgroupFieldError) as caught:
        fs2.set_pids(files, D, {'pids': {'limit': 10}})
    assert caught.value.field == 'linux.resources.pids.limit'


def test_unified_key_of_an_unavailable_controller_says_so(files):
    files.files[(D, 'cgroup.controllers')] = 'cpu memory pids'
    with pytest.raises(CgroupFieldError) as caught:
        fs2.set_unified(files, D, {'unified': {'io.latency': '8:0 target=10'}})
    assert caught.value.field == 'linux.resources.unified.io.latency'
    assert "controller 'io' is not available" in str(caught.value)


def test_create_path_enables_the_root_controllers_down_to_the_parent(tmp_path, fake_files):
    root = str(tmp_path)
    files = fake_files({(root, 'cgroup.controllers'): 'cpu memory pids', (root, 'cgroup.subtree_control'): '',
                        (root + '/a', 'cgroup.subtree_control'): ''})
    made = fs2.create_path(root, root + '/a/b', files)
    assert made == [root + '/a', root + '/a/b']
    assert files.writes == [('cgroup.subtree_control', '+cpu +memory +pids')] * 2


def test_a_domain_invalid_level_becomes_threaded_unless_domain_limits_are_needed(tmp_path, fake_files):
    root = str(tmp_path)
    contents = {(root, 'cgroup.controllers'): '', (root + '/busy', 'cgroup.type'): 'domain invalid'}
    files = fake_files(contents)
    fs2.create_path(root, root + '/busy', files)
    assert files.writes == [('cgroup.type', 'threaded')]
    files = fake_files(dict(contents))
    with pytest.raises(CgroupFieldError) as caught:
        fs2.create_path(root, root + '/busy', files, domain_limits=True)
    assert caught.value.field == 'linux.cgroupsPath' and 'domain invalid' in str(caught.value)
