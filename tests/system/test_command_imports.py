# -*- coding: utf-8 -*-
"""What each bin/runcible command imports: only what its work needs (issue 12, docs/benchmarks.md).

Every module a command imports is start-up time paid on every call; these are the
ones that were taken out of a command's path and must stay out. The imports are
read from `python3 -X importtime` of the real command on a real container.
"""

import pytest

from systemlib import PYTHON, RUNCIBLE, Runtime

# Nothing a command does without a terminal, a merge or a host mount snapshot needs these.
NEVER = {'contextlib', 'copy', 'termios', 'runtime.process.terminal', 'runtime.rootfs.hostmounts'}
# Reading a container's state needs neither ctypes nor the cgroup manager nor create's set-up.
READERS = NEVER | {'ctypes', 'runtime.linux.syscalls', 'runtime.cgroups.manager', 'runtime.container.create',
                   'runtime.process.init'}
# exec joins a container: none of create's rootfs, init and cgroup planning, nor the cgroup manager.
EXEC = NEVER | {'runtime.container.create', 'runtime.process.init', 'runtime.rootfs.mount',
                'runtime.rootfs.devices', 'runtime.cgroups.manager'}


@pytest.fixture
def traced(tmp_path):
    """runcible under `python3 -S -X importtime`, with its own --root."""
    return Runtime('runcible', [PYTHON, '-S', '-X', 'importtime', RUNCIBLE], str(tmp_path / 'root'))


def imported(result):
    """The modules a command imported, from its -X importtime lines on stderr."""
    return {line.rsplit('|', 1)[1].strip() for line in result.stderr.splitlines() if line.startswith('import time:')}


def test_a_foreground_run_without_a_terminal(traced, bundle):
    bundle.write(['/bin/true'])
    result = traced.cmd('run', '--bundle', bundle.path, 'imports-run')
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported(result)
    assert 'runtime.container.create' in modules  # the trace is read: a run creates
    assert not modules & NEVER


def test_each_command_on_a_running_container(traced, bundle):
    bundle.write(['/bin/sleep', '100'])
    try:
        assert traced.cmd('create', '--bundle', bundle.path, 'imports-c').returncode == 0
        for args, unwanted in ((('start', 'imports-c'), READERS), (('state', 'imports-c'), READERS),
                               (('list',), READERS), (('exec', 'imports-c', '/bin/true'), EXEC),
                               (('ps', 'imports-c'), NEVER | {'runtime.container.create', 'ctypes'})):
            result = traced.cmd(*args)
            assert result.returncode == 0, (args, result.stderr[-2000:])
            modules = imported(result)
            assert 'runtime.cli.main' in modules
            assert not modules & unwanted, (args, sorted(modules & unwanted))
    finally:
        result = traced.cmd('delete', '--force', 'imports-c')
    assert result.returncode == 0, result.stderr[-2000:]
    assert not imported(result) & (NEVER | {'runtime.container.create'})
