# -*- coding: utf-8 -*-
"""The cgroup Manager on this machine's real cgroups (hybrid: v1 controllers plus a v2 tree).

Every test works below a cgroup name of its own and checks at the end that
no directory of that name is left in any hierarchy.
"""

import errno
import json
import os
import signal
import tempfile
import time

import pytest

from cgroupslib import Child, cgroups, leftovers, unique_name
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import update
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.fsio import CgroupFieldError
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.manager import Manager
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import syscalls

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='cgroup system tests need root')

MIB = 2 ** 20
V1_ONLY = pytest.mark.skipif(cgroups.layout() == 'unified', reason='this test reads cgroup v1 files')


def read(manager, controller, name):
    with open(os.path.join(manager.dirs[controller], name)) as handle:
        return handle.read().strip()


@pytest.fixture
def cgroup_name():
    name = unique_name()
    yield name
    remaining = leftovers(name)
    for directory in sorted(remaining, key=len, reverse=True):
        for sub in sorted((entry[0] for entry in os.walk(directory, topdown=False)), key=len, reverse=True):
            try:
                os.rmdir(sub)
            except OSError:
                pass
    assert remaining == [], 'cgroup directories left behind'


@pytest.fixture
def make(cgroup_name):
    """make(sub) -> a created Manager for cgroupsPath <test name>/<sub>; children are killed and cgroups destroyed after."""
    made = []
    children = []

    def factory(sub='ctr', resources=None):
        manager = cgroups.new_manager('%s/%s' % (cgroup_name, sub), sub)
        made.append(manager)
        manager.create(resources)
        return manager
    factory.children = children
    yield factory
    for child in children:
        child.kill()
    for manager in made:
        if manager.freezer_state() == 'FROZEN':
            manager.thaw()
        manager.destroy()


def start(make, manager, code, *args):
    """A child running `code` inside `manager`'s cgroups."""
    child = Child(code, *args)
    make.children.append(child)
    manager.apply(child.pid)
    child.release()
    return child


@pytest.fixture
def mounted():
    """mounted(controller) -> True once a v1 hierarchy of `controller` is mounted (mounting one for the test if needed)."""
    mounts = []

    def mount(controller):
        if any(controller in h.subsystems for h in cgroups.discover()):
            return True
        target = tempfile.mkdtemp(prefix='runcible-test-%s-' % controller)
        try:
            syscalls.mount('cgroup', target, 'cgroup', 0, controller)
        except OSError:
            # For example hugetlb enabled in a cgroup v2 subtree cannot move to v1.
            os.rmdir(target)
            return False
        mounts.append(target)
        return True
    yield mount
    for target in mounts:
        syscalls.umount2(target, 0)
        os.rmdir(target)


def test_destroy_leaves_nothing_in_any_hierarchy(make, cgroup_name):
    manager = make()
    child = start(make, manager, 'import time\ntime.sleep(300)')
    assert child.pid in manager.pids()
    assert set(leftovers(cgroup_name)) == set(os.path.dirname(d) for d in manager.dirs.values())
    child.kill()
    manager.destroy()
    assert leftovers(cgroup_name) == []
    assert not manager.exists()


@pytest.fixture
def rt_parent(cgroup_name):
    """The test's parent cpu cgroup, made in advance with some real-time runtime for its children."""
    cpu = [h for h in cgroups.discover() if 'cpu' in h.subsystems]
    if not cpu:
        pytest.skip('no v1 cpu controller')
    parent = cpu[0].directory(os.path.join(cpu[0].own_path, cgroup_name))
    os.makedirs(parent)
    try:
        with open(os.path.join(parent, 'cpu.rt_runtime_us'), 'w') as handle:
            handle.write('2000')
        yield parent
    finally:
        os.rmdir(parent)


@V1_ONLY
def test_a_real_time_runtime_beyond_the_parents_names_field_and_parent(make):
    with pytest.raises(CgroupFieldError) as caught:
        make(resources={'cpu': {'realtimeRuntime': 1000}})
    assert caught.value.field == 'linux.resources.cpu.realtimeRuntime'
    assert 'has cpu.rt_runtime_us 0' in str(caught.value)


@V1_ONLY
def test_every_v1_setting_is_written(rt_parent, make, mounted):
    have = {controller: mounted(controller) for controller in ('hugetlb', 'net_cls', 'net_prio')}
    block = _a_block_device()
    resources = {
        'memory': {'limit': 256 * MIB, 'reservation': 128 * MIB, 'swap': 512 * MIB, 'swappiness': 20,
                   'disableOOMKiller': True, 'useHierarchy': True},
        'cpu': {'shares': 512, 'quota': 30000, 'period': 60000, 'burst': 1000, 'idle': 0, 'realtimePeriod': 500000,
                'realtimeRuntime': 1000, 'cpus': '0', 'mems': '0'},
        'pids': {'limit': 33},
        'blockIO': {'throttleReadBpsDevice': [{'major': block[0], 'minor': block[1], 'rate': 2 * MIB}],
                    'throttleWriteBpsDevice': [{'major': block[0], 'minor': block[1], 'rate': 3 * MIB}],
                    'throttleReadIOPSDevice': [{'major': block[0], 'minor': block[1], 'rate': 400}],
                    'throttleWriteIOPSDevice': [{'major': block[0], 'minor': block[1], 'rate': 500}]},
        'hugepageLimits': [{'pageSize': '2MB', 'limit': 8 * MIB}],
        'network': {'classID': 0x100001, 'priorities': [{'name': 'lo', 'priority': 5}]},
        'devices': [{'allow': False, 'access': 'rwm'}, {'allow': True, 'type': 'b', 'major': 7, 'minor': 0, 'access': 'r'}],
    }
    if not have['hugetlb']:
        del resources['hugepageLimits']
    if not have['net_cls']:
        del resources['network']['classID']
    if not have['net_prio']:
        del resources['network']['priorities']
    manager = make(resources=resources)
    assert manager.set(resources) == []
    dev = '%d:%d' % block
    expected = {
        ('memory', 'memory.limit_in_bytes'): str(256 * MIB), ('memory', 'memory.soft_limit_in_bytes'): str(128 * MIB),
        ('memory', 'memory.memsw.limit_in_bytes'): str(512 * MIB), ('memory', 'memory.swappiness'): '20',
        ('memory', 'memory.use_hierarchy'): '1',
        ('cpu', 'cpu.shares'): '512', ('cpu', 'cpu.cfs_quota_us'): '30000', ('cpu', 'cpu.cfs_period_us'): '60000',
        ('cpu', 'cpu.cfs_burst_us'): '1000', ('cpu', 'cpu.idle'): '0', ('cpu', 'cpu.rt_period_us'): '500000',
        ('cpu', 'cpu.rt_runtime_us'): '1000', ('cpuset', 'cpuset.cpus'): '0', ('cpuset', 'cpuset.mems'): '0',
        ('pids', 'pids.max'): '33',
        ('blkio', 'blkio.throttle.read_bps_device'): '%s %d' % (dev, 2 * MIB),
        ('blkio', 'blkio.throttle.write_bps_device'): '%s %d' % (dev, 3 * MIB),
        ('blkio', 'blkio.throttle.read_iops_device'): '%s 400' % dev,
        ('blkio', 'blkio.throttle.write_iops_device'): '%s 500' % dev,
        ('hugetlb', 'hugetlb.2MB.limit_in_bytes'): str(8 * MIB),
        ('net_cls', 'net_cls.classid'): str(0x100001),
    }
    expected = {key: value for key, value in expected.items() if have.get(key[0], True)}
    assert {key: read(manager, *key) for key in expected} == expected
    assert 'oom_kill_disable 1' in read(manager, 'memory', 'memory.oom_control')
    if have['net_prio']:
        assert 'lo 5' in read(manager, 'net_prio', 'net_prio.ifpriomap').splitlines()
    listed = read(manager, 'devices', 'devices.list').splitlines()
    assert 'b 7:0 r' in listed and 'c 1:3 rwm' in listed and 'c 136:* rwm' in listed and 'a *:* rwm' not in listed


def _a_block_device():
    for name in sorted(os.listdir('/sys/block')):
        if name.startswith(('loop', 'zram', 'ram')):
            continue
        with open('/sys/block/%s/dev' % name) as handle:
            major, minor = handle.read().strip().split(':')
        return int(major), int(minor)
    pytest.skip('no disk block device to throttle')


@V1_ONLY
def test_blkio_weight_goes_to_the_schedulers_file_and_a_refused_device_weight_names_the_field(make):
    manager = make()
    weight_file = next((n for n in ('blkio.weight', 'blkio.bfq.weight') if os.path.exists(os.path.join(manager.dirs['blkio'], n))), None)
    if weight_file is None:
        with pytest.raises(CgroupFieldError) as caught:
            manager.set({'blockIO': {'weight': 300}})
        assert caught.value.field == 'linux.resources.blockIO.weight'
        return
    manager.set({'blockIO': {'weight': 300}})
    assert read(manager, 'blkio', weight_file).split()[-1] == '300'
    major, minor = _a_block_device()
    with open('/sys/dev/block/%d:%d/queue/scheduler' % (major, minor)) as handle:
        if '[bfq]' in handle.read() or weight_file == 'blkio.weight':
            pytest.skip('the disk uses a scheduler that takes per-device weights')
    with pytest.raises(CgroupFieldError) as caught:
        manager.set({'blockIO': {'weightDevice': [{'major': major, 'minor': minor, 'weight': 400}]}})
    assert caught.value.field == 'linux.resources.blockIO.weightDevice[0].weight'


@V1_ONLY
def test_kernel_memory_is_ignored_with_runcs_warning(make):
    manager = make()
    warnings = manager.set({'memory': {'limit': 64 * MIB, 'kernel': 8 * MIB, 'kernelTCP': MIB}})
    assert warnings == ['Kernel memory settings are ignored and will be removed']
    assert read(manager, 'memory', 'memory.limit_in_bytes') == str(64 * MIB)
    assert int(read(manager, 'memory', 'memory.kmem.limit_in_bytes')) > 8 * MIB


@V1_ONLY
def test_a_value_the_kernel_refuses_names_the_field(make):
    manager = make()
    with pytest.raises(CgroupFieldError) as caught:
        manager.set({'memory': {'useHierarchy': False}})
    if caught.value.field != 'linux.resources.memory.useHierarchy':
        raise AssertionError(str(caught.value))
    with pytest.raises(CgroupFieldError) as caught:
        manager.set({'cpu': {'shares': 10 ** 7}})
    assert caught.value.field == 'linux.resources.cpu.shares'
    assert 'maximum allowed cpu-shares is 262144' in str(caught.value)


@V1_ONLY
def test_swap_below_memory_is_refused_before_anything_is_written(make):
    manager = make()
    before = read(manager, 'memory', 'memory.limit_in_bytes')
    with pytest.raises(errors.ConfigError) as caught:
        manager.set({'memory': {'limit': 64 * MIB, 'swap': 32 * MIB}})
    assert caught.value.field == 'linux.resources.memory.swap'
    assert read(manager, 'memory', 'memory.limit_in_bytes') == before


def test_a_process_over_the_memory_limit_is_killed(make):
    manager = make()
    manager.set({'memory': {'limit': 32 * MIB, 'swap': 32 * MIB}})
    child = start(make, manager, 'data = bytearray(256 * 1024 * 1024)\nprint("survived", len(data))')
    returncode, out = child.finish()[:2]
    assert returncode == -signal.SIGKILL and 'survived' not in out
    if not manager.unified_only:
        assert 'oom_kill 1' in read(manager, 'memory', 'memory.oom_control').splitlines()


FORKER = '''
import os, sys
hold_r, hold_w = os.pipe()
made = failed = 0
for _ in range(12):
    try:
        pid = os.fork()
    except BlockingIOError:
        failed += 1
        continue
    if pid == 0:
        os.close(hold_w)
        os.read(hold_r, 1)
        os._exit(0)
    made += 1
os.close(hold_w)
for _ in range(made):
    os.wait()
print(made, failed)
'''


def test_the_pids_limit_makes_fork_fail(make):
    manager = make()
    manager.set({'pids': {'limit': 5}})
    returncode, out, err = start(make, manager, FORKER).finish()
    assert returncode == 0, err
    made, failed = (int(n) for n in out.split())
    # The forker itself is one of the 5.
    assert (made, failed) == (4, 8)


COUNTER = '''
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
n = 0
while True:
    n += 1
    os.pwrite(fd, b"%012d" % n, 0)
    time.sleep(0.005)
'''


def _count(path):
    with open(path) as handle:
        text = handle.read()
    return int(text) if text.strip() else 0


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _freeze_and_thaw(make, manager, tmp_path):
    counter = str(tmp_path / 'counter')
    open(counter, 'w').close()
    start(make, manager, COUNTER, counter)
    assert _wait_for(lambda: _count(counter) > 3)
    manager.freeze()
    assert manager.freezer_state() == 'FROZEN'
    frozen_at = _count(counter)
    time.sleep(0.3)
    assert _count(counter) == frozen_at
    manager.thaw()
    assert manager.freezer_state() == 'THAWED'
    assert _wait_for(lambda: _count(counter) > frozen_at + 3)


def test_freeze_stops_a_counter_and_thaw_resumes_it(make, tmp_path):
    manager = make()
    _freeze_and_thaw(make, manager, tmp_path)


def test_cgroup_freeze_on_the_v2_tree_stops_and_resumes(cgroup_name, make, tmp_path):
    if cgroups.layout() == 'legacy':
        pytest.skip('no cgroup v2 tree on this host')
    v2 = [h for h in cgroups.discover() if h.unified]
    manager = Manager.for_path('%s/v2only' % cgroup_name, v2)
    try:
        manager.create()
        assert manager.unified_only and os.path.exists(os.path.join(manager.dirs[''], 'cgroup.freeze'))
        _freeze_and_thaw(make, manager, tmp_path)
    finally:
        for child in make.children:
            child.kill()
        manager.destroy()


BURNER = '''
import sys, time
data = bytearray(8 * 1024 * 1024)
while True:
    sum(range(20000))
'''


def test_stats_are_sane_and_change(make):
    manager = make()
    manager.set({'memory': {'limit': 128 * MIB}, 'pids': {'limit': 20}})
    start(make, manager, BURNER)
    assert _wait_for(lambda: manager.stats()['memory']['usage'].get('usage', 0) > 8 * MIB)
    first = manager.stats()
    assert _wait_for(lambda: manager.stats()['cpu']['usage'].get('total', 0) > first['cpu']['usage'].get('total', 0))
    second = manager.stats()
    assert second['memory']['usage']['limit'] == 128 * MIB
    assert second['pids'] == {'current': 1, 'limit': 20}
    assert second['cpu']['usage']['total'] >= second['cpu']['usage'].get('user', 0)
    json.dumps(second)


def test_update_changes_a_live_limit_and_nothing_else(make):
    manager = make()
    current = {'memory': {'limit': 64 * MIB}, 'pids': {'limit': 10}}
    manager.set(current)
    child = start(make, manager, FORKER)
    merged, warnings = manager.update(current, update.resources_from_update_flags({'pids-limit': '30'}))
    assert warnings == [] and merged == {'memory': {'limit': 64 * MIB}, 'pids': {'limit': 30}}
    assert manager.stats()['pids']['limit'] == 30
    assert manager.stats()['memory']['usage']['limit'] == 64 * MIB
    child.finish()


DEVICE_PROBE = '''
import os
for path, flags in (("/dev/null", os.O_RDWR), ("/dev/kmsg", os.O_RDONLY), ("/dev/zero", os.O_WRONLY)):
    try:
        os.close(os.open(path, flags))
        print(path, "ok")
    except OSError as exc:
        print(path, exc.errno)
'''


def _probe(make, manager):
    returncode, out, err = start(make, manager, DEVICE_PROBE).finish()
    assert returncode == 0, err
    return dict(line.split() for line in out.splitlines())


@V1_ONLY
def test_v1_device_rules_are_enforced(make):
    manager = make()
    manager.set({'devices': [{'allow': False, 'access': 'rwm'},
                             {'allow': True, 'type': 'c', 'major': 1, 'minor': 5, 'access': 'r'}]})
    # /dev/zero keeps rwm from runc's defaults; /dev/kmsg is not in them.
    assert _probe(make, manager) == {'/dev/null': 'ok', '/dev/kmsg': str(errno.EPERM), '/dev/zero': 'ok'}


def test_the_v2_ebpf_device_filter_is_enforced(cgroup_name, make):
    if cgroups.layout() == 'legacy':
        pytest.skip('no cgroup v2 tree on this host')
    v2 = [h for h in cgroups.discover() if h.unified]
    manager = Manager.for_path('%s/ebpf' % cgroup_name, v2)
    try:
        manager.create()
        # Without runc's default for /dev/zero, only the spec's read rule is left for it.
        manager.set({'devices': [{'allow': False, 'access': 'rwm'},
                                 {'allow': True, 'type': 'c', 'major': 1, 'minor': 5, 'access': 'r'}]},
                    linux_devices=[{'path': '/dev/zero'}])
        assert _probe(make, manager) == {'/dev/null': 'ok', '/dev/kmsg': str(errno.EPERM), '/dev/zero': str(errno.EPERM)}
        manager.set({'devices': [{'allow': True, 'access': 'rwm'}]})
        assert _probe(make, manager) == {'/dev/null': 'ok', '/dev/kmsg': 'ok', '/dev/zero': 'ok'}
    finally:
        for child in make.children:
            child.kill()
        manager.destroy()


@V1_ONLY
def test_a_limit_for_an_unmounted_controller_names_the_field(make):
    mounted_here = set(name for h in cgroups.discover() for name in h.subsystems)
    if 'net_cls' not in mounted_here:
        resources, field = {'network': {'classID': 0x10001}}, 'linux.resources.network.classID'
    elif 'rdma' not in mounted_here:
        resources, field = {'rdma': {'mlx5_0': {'hcaHandles': 2}}}, 'linux.resources.rdma'
    else:
        pytest.skip('net_cls and rdma are both mounted here')
    manager = make()
    with pytest.raises(CgroupFieldError) as caught:
        manager.set(resources)
    assert caught.value.field == field
    assert 'is not mounted on this host' in str(caught.value)
