# -*- coding: utf-8 -*-
"""Manager.validate: what a host cannot apply is an error naming the field, before anything is written."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import Hierarchy
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.fsio import CgroupFieldError
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.manager import Manager

HYBRID = [Hierarchy('/sys/fs/cgroup/' + name, '/', (name,), '/') for name in
          ('cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids')]
HYBRID.append(Hierarchy('/sys/fs/cgroup/unified', '/', (), '/'))


def hybrid(files=None):
    manager = Manager.for_path('/test/ctr', HYBRID)
    if files is not None:
        manager.files = files
    return manager


def unified(fake_files, controllers='cpuset cpu io memory pids'):
    manager = Manager.for_path('/test/ctr', [Hierarchy('/sys/fs/cgroup', '/', (), '/')])
    manager.files = fake_files({('/sys/fs/cgroup', 'cgroup.controllers'): controllers})
    return manager


def test_paths_and_state_round_trip():
    manager = hybrid()
    assert manager.dirs['memory'] == '/sys/fs/cgroup/memory/test/ctr'
    assert manager.dirs[''] == '/sys/fs/cgroup/unified/test/ctr'
    copy = Manager.from_state(manager.to_state())
    assert (copy.path, copy.dirs, copy.v2_root) == ('/test/ctr', manager.dirs, '/sys/fs/cgroup/unified')


def test_planned_directories_are_recorded_before_any_exists(tmp_path):
    """A create killed while it makes its cgroups leaves a record of every one it may have made."""
    (tmp_path / 'memory' / 'a').mkdir(parents=True)
    (tmp_path / 'pids').mkdir()
    manager = Manager.for_path('/a/b/ctr', [Hierarchy(str(tmp_path / 'memory'), '/', ('memory',), '/'),
                                            Hierarchy(str(tmp_path / 'pids'), '/', ('pids',), '/')])
    manager.plan_created()
    assert manager.created == [str(tmp_path / 'memory' / 'a' / 'b'), str(tmp_path / 'memory' / 'a' / 'b' / 'ctr'),
                               str(tmp_path / 'pids' / 'a'), str(tmp_path / 'pids' / 'a' / 'b'),
                               str(tmp_path / 'pids' / 'a' / 'b' / 'ctr')]
    (tmp_path / 'pids' / 'a' / 'b' / 'ctr').mkdir(parents=True)
    (tmp_path / 'pids' / 'a' / 'b' / 'other').mkdir()
    manager.destroy()
    # Made directories go, but a parent another cgroup sits in stays.
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*')) == [
        'memory', 'memory/a', 'pids', 'pids/a', 'pids/a/b', 'pids/a/b/other']


def test_relative_paths_go_below_the_callers_own_cgroups():
    manager = Manager.for_path('a/b', [Hierarchy('/sys/fs/cgroup/memory', '/', ('memory',), '/user/1')])
    assert manager.dirs == {'memory': '/sys/fs/cgroup/memory/user/1/a/b'}


@pytest.mark.parametrize('resources, field, controller', [
    ({'network': {'classID': 1}}, 'linux.resources.network.classID', 'net_cls'),
    ({'network': {'priorities': [{'name': 'lo', 'priority': 1}]}}, 'linux.resources.network.priorities', 'net_prio'),
    ({'hugepageLimits': [{'pageSize': '2MB', 'limit': 0}]}, 'linux.resources.hugepageLimits', 'hugetlb'),
    ({'rdma': {'mlx': {'hcaHandles': 1}}}, 'linux.resources.rdma', 'rdma'),
])
def test_a_limit_for_an_unmounted_v1_controller_names_field_and_controller(resources, field, controller, monkeypatch):
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import stats
    monkeypatch.setattr(stats, 'hugepage_sizes', lambda: ['2MB'])
    with pytest.raises(CgroupFieldError) as caught:
        hybrid().validate(resources)
    assert caught.value.field == field
    assert 'the %s cgroup controller is not mounted' % controller in str(caught.value)


def test_zero_values_ask_nothing_of_absent_controllers():
    assert hybrid().validate({'network': {'classID': 0, 'priorities': []}}) == []


def test_unified_keys_on_v1_are_refused_like_runc():
    with pytest.raises(CgroupFieldError) as caught:
        hybrid().validate({'unified': {'memory.high': '1'}})
    assert caught.value.field == 'linux.resources.unified'
    assert 'cannot use unified on cgroup v1' in str(caught.value)


def test_no_devices_controller_and_no_v2_tree_is_refused():
    manager = Manager.for_path('/x', [Hierarchy('/sys/fs/cgroup/memory', '/', ('memory',), '/')])
    with pytest.raises(CgroupFieldError) as caught:
        manager.validate({})
    assert caught.value.field == 'linux.resources.devices'


def test_an_unknown_huge_page_size_names_the_entry(monkeypatch):
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import stats
    monkeypatch.setattr(stats, 'hugepage_sizes', lambda: ['2MB', '1GB'])
    with pytest.raises(CgroupFieldError) as caught:
        Manager.for_path('/x', HYBRID + [Hierarchy('/sys/fs/cgroup/hugetlb', '/', ('hugetlb',), '/')]).validate(
            {'hugepageLimits': [{'pageSize': '2MB', 'limit': 0}, {'pageSize': '16MB', 'limit': 0}]})
    assert caught.value.field == 'linux.resources.hugepageLimits[1].pageSize'
    assert 'it has: 2MB, 1GB' in str(caught.value)


def test_bad_device_rules_fail_validation(fake_files):
    with pytest.raises(errors.ConfigError) as caught:
        hybrid().validate({'devices': [{'allow': True, 'type': 'c', 'major': 4, 'access': 'rwm'},
                                       {'allow': False, 'type': 'c', 'major': 4, 'minor': 1, 'access': 'r'}]})
    assert caught.value.field == 'linux.resources.devices[1]'


@pytest.mark.parametrize('resources, field', [
    ({'cpu': {'realtimeRuntime': 1000}}, 'linux.resources.cpu.realtimeRuntime'),
    ({'network': {'classID': 5}}, 'linux.resources.network.classID'),
])
def test_v2_refuses_what_it_cannot_express(fake_files, resources, field):
    with pytest.raises(CgroupFieldError) as caught:
        unified(fake_files).validate(resources)
    assert caught.value.field == field


def test_v2_warns_where_runc_ignores(fake_files):
    warnings = unified(fake_files).validate({'memory': {'swappiness': 10, 'kernel': 5, 'disableOOMKiller': True}})
    assert len(warnings) == 3
    assert any('swappiness' in w for w in warnings) and any('disableOOMKiller' in w for w in warnings)


def test_kernel_tcp_warns_only_where_it_cannot_be_written(fake_files):
    """v1 with memory.kmem.tcp.limit_in_bytes (in the hierarchy, before the container's cgroup exists): no warning."""
    with_file = hybrid(fake_files({('/sys/fs/cgroup/memory', 'memory.kmem.tcp.limit_in_bytes'): 'max'}))
    assert with_file.validate({'memory': {'kernelTCP': 2 ** 20}}) == []
    without = hybrid(fake_files({}))
    assert without.validate({'memory': {'kernelTCP': 2 ** 20}}) == [
        'memory.kernelTCP is ignored: this kernel has no memory.kmem.tcp.limit_in_bytes (no kernel memory accounting)']
    warnings = unified(fake_files).validate({'memory': {'kernelTCP': 2 ** 20}})
    assert warnings == ['memory.kernelTCP is not supported by cgroup v2 and is ignored']


def test_v2_controller_missing_from_the_tree_names_the_field(fake_files):
    manager = unified(fake_files, controllers='cpu memory')
    assert manager.validate({'memory': {'limit': 10 ** 8}, 'cpu': {'shares': 100}}) == []
    with pytest.raises(CgroupFieldError) as caught:
        manager.validate({'pids': {'limit': 10}})
    assert caught.value.field == 'linux.resources.pids'
    assert 'cgroup.controllers has: cpu memory' in str(caught.value)


def test_swap_with_unlimited_memory_is_for_v2_only(fake_files):
    resources = {'memory': {'limit': -1, 'swap': 10 ** 9}}
    assert unified(fake_files).validate(resources) == []
    with pytest.raises(CgroupFieldError) as caught:
        hybrid().validate(resources)
    assert caught.value.field == 'linux.resources.memory.swap'
