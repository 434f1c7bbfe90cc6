# -*- coding: utf-8 -*-
"""The modules' side of a supervisor of a version before the host monitor (one process per container, whose
status has no holder_pid; such supervisors run on after an upgrade): it gets signals, and stopping one waits for
its exit, not for its parent to reap it."""

import os
import subprocess
import sys

from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client, records

# Stands in for a supervisor: exits on SIGTERM, as the real one does once its container is gone.
FAKE_SUPERVISOR = ('import signal, sys, time\n'
                   'signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))\n'
                   'print("ready", flush=True)\n'
                   'time.sleep(120)\n')


def _process_state(pid):
    with open('/proc/%d/stat' % pid, 'rb') as handle:
        data = handle.read()
    return data[data.rindex(b')') + 2:].split()[0].decode()


def _supervised(tmp_path):
    """(Supervision, the fake supervisor's Popen), its status.json written as a real supervisor writes it."""
    process = subprocess.Popen([sys.executable, '-c', FAKE_SUPERVISOR], stdout=subprocess.PIPE)
    assert process.stdout.readline() == b'ready\n'
    records.write_json(str(tmp_path / records.STATUS), {'supervisor_pid': process.pid, 'state': 'running',
                                                        'supervisor_start': records.start_time(process.pid)})
    return client.Supervision(str(tmp_path)), process


def test_stop_returns_once_the_supervisor_exited_though_nobody_reaped_it(tmp_path):
    # A detached supervisor's parent is init, which on some hosts reaps seconds late: `state: absent`
    # waited for the reaping (about 2 s per container here) where the exit is what counts.
    supervision, process = _supervised(tmp_path)
    try:
        assert supervision.alive()
        supervision.stop(20)
        assert _process_state(process.pid) == 'Z', 'the test needs the exited supervisor still unreaped'
        assert not supervision.alive()
    finally:
        process.kill()
        process.wait()


def test_a_zombie_has_no_start_time(tmp_path):
    supervision, process = _supervised(tmp_path)
    try:
        os.kill(process.pid, 15)
        while _process_state(process.pid) != 'Z':
            os.sched_yield()
        assert records.start_time(process.pid) is None
        assert not supervision.alive()
    finally:
        process.wait()


def test_stop_of_a_supervisor_that_is_gone_returns_its_last_status(tmp_path):
    records.write_json(str(tmp_path / records.STATUS), {'supervisor_pid': 2 ** 22 + 1, 'supervisor_start': 1,
                                                        'state': 'exited', 'exit_code': 3})
    assert client.Supervision(str(tmp_path)).stop(5)['exit_code'] == 3


def _status(tmp_path, state, pid=None):
    pid = pid or os.getpid()
    records.write_json(str(tmp_path / records.STATUS), {'supervisor_pid': pid, 'state': state,
                                                        'supervisor_start': records.start_time(pid)})
    return client.Supervision(str(tmp_path))


def test_a_container_between_two_runs_is_waited_for_not_reported_missing(tmp_path):
    # The supervisor deletes the old container before it creates the new one: oci_container_info
    # asked in between found nothing (an integration run failed on it). Here the runtime knows the
    # container again at the third look.
    supervision = _status(tmp_path, 'restarting')
    answers = [None, None, {'id': 'c', 'status': 'created'}]
    assert supervision.state_between_runs(lambda: answers.pop(0), timeout=10) == {'id': 'c', 'status': 'created'}
    assert answers == []


def test_no_wait_when_the_supervisor_is_not_between_runs(tmp_path):
    looks = []

    def read_state():
        looks.append(1)

    for state in ('exited', 'stopped', 'failed', 'running'):
        assert _status(tmp_path, state).state_between_runs(read_state, timeout=10) is None
    assert len(looks) == 4
    # Nor when the supervisor that wrote "restarting" is gone: nobody will make the container again.
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    records.write_json(str(tmp_path / records.STATUS), {'supervisor_pid': gone.pid, 'state': 'restarting',
                                                        'supervisor_start': 1})
    assert client.Supervision(str(tmp_path)).state_between_runs(read_state, timeout=10) is None
    assert len(looks) == 5
