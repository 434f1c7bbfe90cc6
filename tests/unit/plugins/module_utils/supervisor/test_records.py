# -*- coding: utf-8 -*-
"""What supervision reads from its folders and /proc: orphans, zombies' exit codes, locks, stray holders."""

import os

from ansible_collections.runcible.oci.plugins.module_utils.supervisor import main, records


def _zombie(code):
    """A child that exited with `code` and is not reaped yet: (pid, its start time)."""
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    while True:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
        if data[data.rindex(b')') + 2:].split()[0] == b'Z':
            return pid, records.start_time(pid, zombie=True)
        os.sched_yield()


def test_the_exit_status_of_a_zombie_is_read_from_proc():
    pid, started = _zombie(42)
    try:
        status = records.zombie_status(pid, started)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 42
        # Another start time: a recycled PID, not this process.
        assert records.zombie_status(pid, started + 1) is None
        assert records.start_time(pid) is None
    finally:
        os.waitpid(pid, 0)
    assert records.zombie_status(pid, started) is None


def test_a_live_process_has_no_zombie_status():
    assert records.zombie_status(os.getpid(), records.start_time(os.getpid())) is None


def test_orphaned_means_unfinished_and_its_monitor_gone():
    me = {'supervisor_pid': os.getpid(), 'supervisor_start': records.start_time(os.getpid())}
    gone = {'supervisor_pid': 2 ** 22 + 1, 'supervisor_start': 1}
    assert records.orphaned(dict(gone, state='running'))
    assert records.orphaned(dict(gone, state='restarting'))
    assert not records.orphaned(dict(gone, state='exited'))
    assert not records.orphaned(dict(me, state='running'))
    # A recycled PID: the start time differs.
    assert records.orphaned(dict(me, state='running', supervisor_start=me['supervisor_start'] + 1))
    assert not records.orphaned({'state': 'stopped', 'supervisor_pid': None})


def test_a_folder_is_watched_by_one_monitor_at_a_time(tmp_path):
    first = records.lock_folder(str(tmp_path))
    assert first is not None
    try:
        assert records.lock_folder(str(tmp_path)) is None
    finally:
        os.close(first)
    again = records.lock_folder(str(tmp_path))
    assert again is not None
    os.close(again)
    assert records.lock_folder(str(tmp_path / 'missing')) is None


def test_the_monitor_tag_names_the_command():
    assert records.monitor_tag(['python3', '/a/supervise']) != records.monitor_tag(['python3', '/b/supervise'])
    assert records.monitor_tag(['python3', '/a/supervise']) == records.monitor_tag(['python3', '/a/supervise'])


def _process(proc, pid, cmdline, cwd):
    folder = proc / str(pid)
    folder.mkdir()
    (folder / 'cmdline').write_bytes(cmdline)
    os.symlink(cwd, str(folder / 'cwd'))


def test_stray_holders_are_our_sleeps_whose_folder_is_gone(tmp_path):
    proc, root = tmp_path / 'proc', tmp_path / 'root'
    proc.mkdir()
    (root / 'kept').mkdir(parents=True)
    holder = b'sleep\0' + records.SLEEP_SECONDS.encode() + b'\0'
    _process(proc, 10, holder, str(root / 'removed') + ' (deleted)')
    _process(proc, 11, holder, str(root / 'kept'))
    _process(proc, 12, holder, str(root / 'missing'))
    _process(proc, 13, b'sleep\x00600\x00', str(root / 'removed') + ' (deleted)')
    _process(proc, 14, holder, '/elsewhere (deleted)')
    (proc / 'self').mkdir()
    assert sorted(main.stray_holders(str(root), proc=str(proc))) == [10, 12]
