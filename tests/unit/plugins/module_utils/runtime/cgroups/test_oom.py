# -*- coding: utf-8 -*-
"""OOM kill counters: found from a process' /proc/<pid>/cgroup on v1, v2 and hybrid hosts, and read."""

import os

from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import Hierarchy, oom
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.manager import Manager

V1_CONTROL = 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'
V2_EVENTS = 'low 0\nhigh 0\nmax 7\noom 3\noom_kill 3\noom_group_kill 0\n'


def _proc(tmp_path, pid, text):
    folder = tmp_path / 'proc' / str(pid)
    folder.mkdir(parents=True)
    (folder / 'cgroup').write_text(text)
    return str(tmp_path / 'proc')


def _cgroup_file(tmp_path, relative, name, text):
    path = tmp_path / relative
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
    return str(path / name)


def test_hybrid_host_counts_on_the_v1_memory_hierarchy(tmp_path):
    proc = _proc(tmp_path, 42, '4:memory:/runc-ctr\n3:cpu,cpuacct:/runc-ctr\n0::/runc-ctr\n')
    expected = _cgroup_file(tmp_path, 'memory/runc-ctr', oom.V1_FILE, V1_CONTROL)
    _cgroup_file(tmp_path, 'unified/runc-ctr', 'cgroup.procs', '')
    hierarchies = [Hierarchy(str(tmp_path / 'unified'), '/', (), '/'),
                   Hierarchy(str(tmp_path / 'memory'), '/', ('memory',), '/')]
    path = oom.counter_file(42, hierarchies, proc)
    assert path == expected
    assert oom.kills(path) == 2


def test_unified_host_counts_in_memory_events(tmp_path):
    proc = _proc(tmp_path, 7, '0::/system.slice/crun-ctr\n')
    expected = _cgroup_file(tmp_path, 'cg/system.slice/crun-ctr', oom.V2_FILE, V2_EVENTS)
    path = oom.counter_file(7, [Hierarchy(str(tmp_path / 'cg'), '/', (), '/')], proc)
    assert path == expected
    assert oom.kills(path) == 3


def test_a_bind_mounted_hierarchy_is_followed_from_its_mount_root(tmp_path):
    proc = _proc(tmp_path, 9, '5:memory:/outer/ctr\n')
    expected = _cgroup_file(tmp_path, 'memory/ctr', oom.V1_FILE, V1_CONTROL)
    path = oom.counter_file(9, [Hierarchy(str(tmp_path / 'memory'), '/outer', ('memory',), '/outer')], proc)
    assert path == expected


def test_nothing_to_count(tmp_path):
    # The v2 tree of a hybrid host without the memory controller, a process that is gone, a kernel before 4.13.
    proc = _proc(tmp_path, 8, '0::/ctr\n')
    _cgroup_file(tmp_path, 'unified/ctr', 'cgroup.procs', '')
    assert oom.counter_file(8, [Hierarchy(str(tmp_path / 'unified'), '/', (), '/')], proc) is None
    assert oom.counter_file(9, [], proc) is None
    old = _cgroup_file(tmp_path, 'memory/old', oom.V1_FILE, 'oom_kill_disable 0\nunder_oom 0\n')
    assert oom.kills(old) is None
    assert oom.kills(None) is None
    assert oom.kills(os.path.join(str(tmp_path), 'removed', oom.V1_FILE)) is None


def test_a_managers_counter_file():
    hybrid = Manager.for_path('/ctr', [Hierarchy('/sys/fs/cgroup/memory', '/', ('memory',), '/'),
                                       Hierarchy('/sys/fs/cgroup/unified', '/', (), '/')])
    assert oom.manager_counter_file(hybrid) == '/sys/fs/cgroup/memory/ctr/memory.oom_control'
    unified = Manager.for_path('/ctr', [Hierarchy('/sys/fs/cgroup', '/', (), '/')])
    assert oom.manager_counter_file(unified) == '/sys/fs/cgroup/ctr/memory.events'
    no_memory = Manager.for_path('/ctr', [Hierarchy('/sys/fs/cgroup/pids', '/', ('pids',), '/'),
                                          Hierarchy('/sys/fs/cgroup/unified', '/', (), '/')])
    assert oom.manager_counter_file(no_memory) is None
