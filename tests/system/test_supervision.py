# -*- coding: utf-8 -*-
"""Supervision with one monitor per host (supervisor/main.py): real containers, real kills.

What a user relies on: a container outlives its monitor (kill -9 included), its
output written meanwhile reaches its log, its exit code while no monitor ran is
recorded and its restart policy applied when a new monitor takes it over, and
nothing is left behind: no holder, no monitor, no runtime state.
"""

import os
import shutil
import sys
import time

import pytest

from systemlib import import_collection, new_id, runtime_factory

import_collection()

from ansible_collections.runcible.oci.plugins.module_utils.driver import persist  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client, main, records  # noqa: E402

RUNTIMES = ['runcible', 'runc']


@pytest.fixture
def supervision(tmp_path, request):
    """(launch(name, args, **settings) -> Supervision, the runtime, the supervisor root, the monitor command)."""
    runtime = runtime_factory(request.param, str(tmp_path / 'state'))
    root = str(tmp_path / 'supervisors')
    command = persist.supervisor_command(str(tmp_path / 'lib'))
    launched = []

    def launch(bundle, name, **settings):
        wanted = {'id': name, 'bundle': bundle.path, 'runtime': runtime.argv + ['--root', runtime.root],
                  'log_path': str(tmp_path / 'logs' / (name + '.log')), 'start': True, 'stop_timeout': 2}
        wanted.update(settings)
        supervised = client.Supervision(os.path.join(root, name))
        launched.append(supervised)
        supervised.launch(wanted, command)
        assert supervised.wait(lambda s: s and s['state'] != 'created', 10)['state'] == 'running'
        return supervised

    yield launch, runtime, root, command
    for supervised in launched:
        supervised.stop(10)
        supervised.remove(with_logs=True)
    runtime.cleanup()
    _wait(lambda: records.monitor_alive(root, records.monitor_tag(command)) is None, 10)


def _wait(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _alive(pid):
    return records.start_time(pid) is not None


def _reaped(pid):
    """Gone from /proc: not even a zombie (one that waited for init, which reaps late on some hosts)."""
    return _wait(lambda: not os.path.exists('/proc/%d' % pid), 2)


def _log(supervised):
    with open(supervised.settings()['log_path']) as handle:
        return handle.read()


@pytest.mark.parametrize('supervision', RUNTIMES, indirect=True)
def test_one_monitor_and_a_sleeping_holder_per_container(supervision, make_bundle):
    launch, _runtime, root, command = supervision
    bundle = make_bundle().write(['sh', '-c', 'echo up; exec sleep 600'])
    first = launch(bundle, new_id('a'))
    second = launch(bundle, new_id('b'))
    one, two = first.status(), second.status()
    assert one['supervisor_pid'] == two['supervisor_pid'] == records.monitor_alive(root, records.monitor_tag(command))
    for status in (one, two):
        with open('/proc/%d/cmdline' % status['holder_pid'], 'rb') as handle:
            assert handle.read() == b'sleep\0' + records.SLEEP_SECONDS.encode() + b'\0'
        # The holder, not the monitor, is the init's parent.
        with open('/proc/%d/stat' % status['pid']) as handle:
            assert int(handle.read().rsplit(')', 1)[1].split()[1]) == status['holder_pid']
    assert _wait(lambda: 'stdout F up' in _log(first), 5)
    # Stopped: the monitor reaps the holder and then the init (its zombie comes to the monitor, the subreaper).
    first.stop(10)
    assert first.status()['state'] == 'stopped'
    assert _reaped(one['holder_pid']) and _reaped(one['pid'])


@pytest.mark.parametrize('supervision', RUNTIMES, indirect=True)
def test_kill_9_of_the_monitor_loses_no_container_output_or_exit_code(supervision, make_bundle):
    launch, _runtime, root, command = supervision
    # One writes a line every 50 ms: with its pipes' only reader gone it would die of SIGPIPE.
    talker = launch(make_bundle().write(['sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done']),
                    new_id('t'))
    # One exits with 42 while no monitor runs; its policy restarts it once.
    quitter = launch(make_bundle().write(['sh', '-c', 'echo hello; sleep 1; echo bye; exit 42']), new_id('q'),
                     restart_policy='on-failure', restart_max=1)
    before = talker.status()
    monitor, exiting = before['supervisor_pid'], quitter.status()['pid']
    os.kill(monitor, 9)
    assert _wait(lambda: records.zombie_status(exiting, quitter.status()['pid_start']) is not None, 10), \
        'the init that exited waits, a zombie of its holder, for a monitor to read its code'
    assert _alive(before['pid']) and _alive(before['holder_pid'])
    time.sleep(0.5)

    assert client.wake_monitor(root, command) not in (None, monitor)
    assert quitter.wait(lambda s: s['restart_count'] == 1, 10)['last_exit_code'] == 42
    after = talker.status()
    assert after['supervisor_pid'] not in (None, monitor) and after['pid'] == before['pid']
    assert after['state'] == 'running'
    with open(os.path.join(quitter.directory, records.SUPERVISOR_LOG)) as handle:
        record = handle.read()
    assert 'taken over from monitor %d' % monitor in record
    assert 'exited with code 42; restart policy on-failure:1: restart 1' in record
    assert 'stdout F bye' in _log(quitter)
    # Lines the talker wrote while no monitor ran are in its log, none missing.
    assert _wait(lambda: _log(talker).count('stdout F line') > 40, 10)
    numbers = [int(line.rsplit(' ', 1)[1]) for line in _log(talker).splitlines() if 'stdout F line' in line]
    assert numbers == list(range(len(numbers)))

    talker.stop(10)
    quitter.stop(10)
    assert talker.status()['state'] == 'stopped' and talker.status()['supervisor_pid'] is None
    # Its second run exits with 42 a second after it began (then: not restarted), or is stopped first.
    assert quitter.status()['state'] in ('exited', 'stopped') and quitter.status()['supervisor_pid'] is None
    assert not _alive(after['holder_pid']) and not _alive(after['pid'])


def _deleted_behind_a_dead_monitor(supervision, make_bundle):
    """A container whose monitor was killed, then deleted with the runtime: (its Supervision, its last status)."""
    launch, runtime, _root, _command = supervision
    name = new_id('d')
    supervised = launch(make_bundle().write(['sleep', '600']), name)
    status = supervised.status()
    os.kill(status['supervisor_pid'], 9)
    assert _wait(lambda: not supervised.alive(), 5)
    runtime.cmd('delete', '--force', name, check=True)
    return supervised, status


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_a_holder_whose_folder_was_removed_is_killed_by_the_next_monitor(supervision, make_bundle):
    _launch, _runtime, root, command = supervision
    supervised, status = _deleted_behind_a_dead_monitor(supervision, make_bundle)
    # By hand, as a reboot script might: the folder goes, the holder (and its zombie init) stay.
    shutil.rmtree(supervised.directory)
    assert _alive(status['holder_pid'])
    assert main.stray_holders(root) == [status['holder_pid']]
    client.wake_monitor(root, command)
    assert _wait(lambda: not _alive(status['holder_pid']), 5)


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_removing_a_folder_whose_monitor_died_kills_its_holder(supervision, make_bundle):
    supervised, status = _deleted_behind_a_dead_monitor(supervision, make_bundle)
    supervised.remove()
    assert _wait(lambda: not _alive(status['holder_pid']), 5)


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_each_version_of_the_code_has_its_own_monitor(supervision, make_bundle):
    launch, _runtime, root, command = supervision
    bundle = make_bundle().write(['sleep', '600'])
    first = launch(bundle, new_id('v'))
    other = records.monitor_tag(command + ['another version'])
    assert other != records.monitor_tag(command)
    # A launch addressed to another version's monitor is left to it.
    name = new_id('w')
    waiting = client.Supervision(os.path.join(root, name))
    waiting.write_settings(dict(first.settings(), id=name))
    waiting._mark('launch', other)  # pylint: disable=protected-access
    client.wake_monitor(root, command)
    time.sleep(0.5)
    assert waiting.status() is None
    assert os.path.exists(os.path.join(waiting.directory, 'request.launch'))
    waiting.remove()


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_sigterm_to_a_units_monitor_stops_its_container(supervision, make_bundle, tmp_path):
    """`supervise <folder>`: a systemd unit's main process, in the foreground."""
    import subprocess
    _launch, runtime, root, command = supervision
    name = new_id('u')
    folder = os.path.join(root, name)
    supervised = client.Supervision(folder)
    bundle = make_bundle().write(['sleep', '600'])
    supervised.write_settings({'id': name, 'bundle': bundle.path, 'runtime': runtime.argv + ['--root', runtime.root],
                               'log_path': str(tmp_path / 'unit.log'), 'start': True, 'stop_timeout': 2})
    process = subprocess.Popen(command + [folder])
    try:
        status = supervised.wait(lambda s: s and s['state'] == 'running', 10)
        assert status['supervisor_pid'] == process.pid
        holder, init = status['holder_pid'], status['pid']
        process.terminate()
        assert process.wait(timeout=15) == 0
        status = supervised.status()
        assert status['state'] == 'stopped' and status['supervisor_pid'] is None
        assert _reaped(holder) and _reaped(init)
    finally:
        process.kill()
        process.wait()
        runtime.cmd('delete', '--force', name)
        supervised.remove()


def test_a_module_run_after_the_monitor_died_takes_the_container_over_first(make_bundle, tmp_path):
    """`state: stopped` of a container with restart policy `always` whose monitor was killed: it stays
    stopped (were it stopped behind the monitor's back, the next monitor would restart it)."""
    from ansible_collections.runcible.oci.plugins.module_utils.converge.container import Converger
    root, lib = str(tmp_path / 'supervisors'), str(tmp_path / 'lib')
    bundle = make_bundle().write(['sleep', '600'])
    name = new_id('m')

    def converge(state):
        params = dict(name=name, bundle=bundle.path, state=state, runtime='runcible',
                      runtime_root=str(tmp_path / 'state'), restart_policy='always', stop_signal=None,
                      stop_timeout=2, restart=False, recreate=False, log_path=str(tmp_path / 'm.log'),
                      log_max_size=1048576, log_max_files=2, log_lines=5)
        return Converger(params, supervisor_root=root, lib_root=lib).run()

    try:
        assert converge('running')['status'] == 'running'
        supervised = client.Supervision(client.folder_for(str(tmp_path / 'state'), name, root))
        before = supervised.status()
        os.kill(before['supervisor_pid'], 9)
        assert _wait(supervised.orphaned, 5)
        result = converge('stopped')
        assert result['changed'] and result['status'] == 'stopped'
        status = supervised.status()
        assert status['state'] == 'stopped' and status['supervisor_pid'] is None
        assert not _alive(before['holder_pid']) and not _alive(before['pid'])
        # A monitor that starts now finds nothing to take over, so nothing restarts it.
        client.wake_monitor(root, persist.supervisor_command(lib))
        time.sleep(0.5)
        assert supervised.status()['state'] == 'stopped'
        assert converge('stopped')['changed'] is False
    finally:
        converge('absent')


LAUNCH_ELSEWHERE = '''
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client
settings, command = json.loads(sys.argv[2]), json.loads(sys.argv[3])
supervised = client.Supervision(sys.argv[4])
supervised.launch(settings, command)
print(json.dumps(supervised.wait(lambda s: s and s['state'] != 'created', 10)))
'''


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_a_module_in_another_network_namespace_has_a_monitor_of_its_own(supervision, make_bundle, tmp_path):
    """A container that makes no network namespace of its own lives in the network of the module that
    launched it, as it did under a supervisor per container: monitors are per set of namespaces."""
    import json
    import subprocess
    launch, runtime, root, command = supervision
    bundle = make_bundle()
    bundle.config['linux']['namespaces'] = [entry for entry in bundle.config['linux']['namespaces']
                                            if entry['type'] != 'network']
    bundle.write(['sleep', '600'])
    here = launch(bundle, new_id('h')).status()
    name = new_id('n')
    folder = os.path.join(root, name)
    settings = {'id': name, 'bundle': bundle.path, 'runtime': runtime.argv + ['--root', runtime.root],
                'log_path': str(tmp_path / 'n.log'), 'start': True, 'stop_timeout': 2}
    try:
        done = subprocess.run(['unshare', '--net', sys.executable, '-c', LAUNCH_ELSEWHERE, json.dumps(sys.path),
                               json.dumps(settings), json.dumps(command), folder],
                              capture_output=True, text=True, timeout=60, check=True)
        there = json.loads(done.stdout)
        assert there['state'] == 'running'
        assert there['supervisor_pid'] != here['supervisor_pid']
        own = os.readlink('/proc/self/ns/net')
        assert os.readlink('/proc/%d/ns/net' % here['pid']) == own
        assert os.readlink('/proc/%d/ns/net' % there['pid']) != own
        assert os.readlink('/proc/%d/ns/net' % there['pid']) == os.readlink('/proc/%d/ns/net' % there['supervisor_pid'])
    finally:
        elsewhere = client.Supervision(folder)
        elsewhere.stop(10)
        elsewhere.remove()


@pytest.mark.parametrize('supervision', ['runcible'], indirect=True)
def test_a_container_without_rlimits_gets_the_modules_open_file_limit(supervision, make_bundle):
    """The monitor raises its own open-file limit (six fds per container it watches); the runtime and the
    container it starts get the one the module had, as under a supervisor per container."""
    import resource
    launch, _runtime, _root, _command = supervision
    bundle = make_bundle()
    bundle.config['process'].pop('rlimits', None)
    bundle.write(['sh', '-c', 'echo "nofile $(ulimit -n)"; exec sleep 600'])
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    # A soft limit under the hard one, so that the monitor's raise shows (the monitor inherits it from us).
    soft = min(1000, before[0])
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        supervised = launch(bundle, new_id('l'))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
    assert _wait(lambda: 'stdout F nofile ' in _log(supervised), 5)
    assert 'stdout F nofile %d\n' % soft in _log(supervised)
    with open('/proc/%d/limits' % supervised.status()['supervisor_pid']) as handle:
        line = [row for row in handle if row.startswith('Max open files')][0]
    assert int(line.split()[3]) == int(line.split()[4]) == before[1]
