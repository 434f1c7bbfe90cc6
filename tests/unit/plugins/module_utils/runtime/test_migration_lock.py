# -*- coding: utf-8 -*-
"""The thread that warms the kernel's cgroup migration lock: what it writes, and that nothing forks beside it."""
import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.container import exec as execmod
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import migration_lock, spawn
from ansible_collections.runcible.oci.plugins.module_utils.runtime.process import main as processmain


def test_own_cgroups_by_the_usual_mount_points(tmp_path):
    proc = tmp_path / 'cgroup'
    proc.write_text('12:pids:/a/b\n9:name=systemd:/\n4:cpu,cpuacct:/c\n0::/d/e\nbroken\n3:memory:/../x\n')
    assert migration_lock.own_procs_files(str(proc), '/R') == [
        '/R/pids/a/b/cgroup.procs', '/R/systemd/cgroup.procs', '/R/cpu,cpuacct/c/cgroup.procs',
        '/R/unified/d/e/cgroup.procs', '/R/d/e/cgroup.procs']
    assert migration_lock.own_procs_files(str(tmp_path / 'missing')) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='the thread starts only for root, as the runtime does')
def test_the_thread_writes_our_pid_until_stopped(tmp_path):
    target = tmp_path / 'cgroup.procs'
    target.write_text('')
    migration_lock.start([str(tmp_path / 'missing'), str(target)])
    try:
        assert migration_lock.running()
    finally:
        migration_lock.stop()
    assert not migration_lock.running()
    written = target.read_text()
    assert written and set(written.split(str(os.getpid()))) == {''}
    migration_lock.stop()  # twice: nothing to stop


def test_nothing_to_write_starts_no_thread(tmp_path):
    migration_lock.start([str(tmp_path / 'missing')])
    assert not migration_lock.running()


class _Forked(Exception):
    pass


@pytest.fixture
def fork_probe(monkeypatch, tmp_path):
    """Start the thread, make os.fork record whether it still runs and abort the caller."""
    if os.geteuid() != 0:
        pytest.skip('the thread starts only for root')
    seen = []

    def fork():
        seen.append(migration_lock.running())
        raise _Forked()

    monkeypatch.setattr(os, 'fork', fork)
    target = tmp_path / 'cgroup.procs'
    target.write_text('')
    migration_lock.start([str(target)])
    assert migration_lock.running()
    yield seen
    migration_lock.stop()


class _Syscalls:
    @staticmethod
    def prctl(*_args):
        return 0


@pytest.mark.parametrize('call', [
    lambda: processmain.spawn(None, processmain.InitProcess(), None, None, None),
    lambda: execmod._spawn(None, None),
    lambda: spawn.run(['/bin/true']),
], ids=['create', 'exec', 'hooks and helpers'])
def test_every_fork_stops_the_thread_first(fork_probe, monkeypatch, call):
    monkeypatch.setattr(processmain, 'syscalls', _Syscalls)
    monkeypatch.setattr(execmod, 'syscalls', _Syscalls)
    with pytest.raises(_Forked):
        call()
    assert fork_probe == [False]
