# -*- coding: utf-8 -*-
"""Faults: commands killed at any moment, a damaged state.json, every command in every state.

Whatever moment a command is SIGKILLed at, `list` shows what it left, `delete
--force` removes every trace (state folder, cgroups, processes) and the ID can
be created again; a container whose state.json is damaged is listed with a
warning and removed from what cleanup.json recorded; every command answers
every state of a container with an error line and runc's exit code, never a
traceback. The kill points come from strace's fault injection (on entry to
the n-th call of a system call, before it runs).
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from systemlib import REPO, cgroup_dirs, error_message, new_id, processes_with_cgroup

STRACE = shutil.which('strace')
needs_strace = pytest.mark.skipif(STRACE is None, reason='strace is not installed (apt-get install strace)')


def killed_at(runtime, args, syscall, when=1, path=None):
    """Run the runtime under strace, SIGKILLed on entry to the `when`-th `syscall` (on `path` only, if given)."""
    argv = [STRACE, '-qq', '-o', '/dev/null'] + (['-P', path] if path else []) + [
        '-e', 'trace=' + syscall, '-e', 'inject=%s:signal=KILL:when=%d' % (syscall, when)]
    result = subprocess.run(argv + runtime.argv + ['--root', runtime.root] + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60, check=False)
    assert result.returncode in (137, -9), 'not killed (%d): %s' % (result.returncode, result.stderr)


def traces(runtime, container_id):
    """What is left of a container on the host: its state folder, cgroups, processes."""
    left = {}
    if os.path.lexists(os.path.join(runtime.root, container_id)):
        left['folder'] = os.listdir(os.path.join(runtime.root, container_id))
    if cgroup_dirs(container_id):
        left['cgroups'] = cgroup_dirs(container_id)
    deadline = time.monotonic() + 5
    while processes_with_cgroup(container_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    if processes_with_cgroup(container_id):
        left['processes'] = processes_with_cgroup(container_id)
    return left


def listed(runtime):
    result = runtime.cmd('list', '--format', 'json')
    assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr
    return {item['id']: item for item in json.loads(result.stdout) or []}, result.stderr


def assert_removable(runtime, bundle, container_id):
    """delete --force leaves nothing, and the ID can be used again."""
    result = runtime.cmd('delete', '--force', container_id)
    assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr
    assert traces(runtime, container_id) == {}
    runtime.cmd('create', '--bundle', bundle.path, container_id, check=True)
    assert runtime.state(container_id)['status'] == 'created'
    runtime.cmd('delete', '--force', container_id, check=True)
    assert traces(runtime, container_id) == {}


# The moments of `create` worth killing it at, in order, and what it has made by then.
CREATE_KILL_POINTS = [
    ('mkdir', 2, 'nothing: the state folder is the second mkdir (after the root\'s)'),
    ('flock', 1, 'the state folder alone'),
    ('rename', 1, 'the folder and a temporary cleanup.json'),
    ('rename', 2, 'cleanup.json, no state.json yet'),
    ('mknodat', 1, 'both state files, no exec FIFO yet'),
    ('mkdir', 4, 'the issue\'s case: state files, FIFO, some of the cgroups'),
    ('clone', 1, 'every cgroup, no process yet'),
    ('rename', 3, 'the init, waiting for its PID to be recorded'),
    ('rename', 4, 'the init recorded in cleanup.json, not yet in state.json'),
]


@needs_strace
@pytest.mark.parametrize('syscall, when, made', CREATE_KILL_POINTS, ids=['%s%d' % p[:2] for p in CREATE_KILL_POINTS])
def test_create_killed_at_any_moment_is_listed_and_removable(runcible, bundle, syscall, when, made):
    """Issue 14 #6: a create killed half-way left an ID no delete could remove or create reuse."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    killed_at(runcible, ['create', '--bundle', bundle.path, container_id], syscall, when)
    containers, warnings = listed(runcible)
    if os.path.isdir(os.path.join(runcible.root, container_id)):
        assert containers[container_id]['status'] == 'stopped', (made, containers)
        assert containers[container_id]['pid'] == 0
    else:
        assert container_id not in containers
    assert 'Traceback' not in warnings
    assert_removable(runcible, bundle, container_id)


@needs_strace
def test_delete_killed_half_way_can_be_repeated(runcible, bundle):
    """Killed after it removed the cgroups, before the state files: the next delete finishes the job."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    state_file = os.path.join(runcible.root, container_id, 'state.json')
    killed_at(runcible, ['delete', '--force', container_id], 'unlink', path=state_file)
    assert listed(runcible)[0][container_id]['status'] == 'stopped'
    assert cgroup_dirs(container_id) == []
    assert_removable(runcible, bundle, container_id)


@needs_strace
def test_start_killed_before_it_wrote_leaves_the_container_created(runcible, bundle):
    """The init waits on: the next start starts it."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('create', '--bundle', bundle.path, container_id, check=True)
    fifo = os.path.join(runcible.root, container_id, 'exec.fifo')
    killed_at(runcible, ['start', container_id], 'write', path=fifo)
    assert runcible.state(container_id)['status'] == 'created'
    runcible.cmd('start', container_id, check=True, timeout=10)
    assert runcible.state(container_id)['status'] == 'running'
    assert_removable(runcible, bundle, container_id)


@needs_strace
def test_start_killed_after_it_released_the_init_leaves_it_running(runcible, bundle):
    """Killed before it removed the exec FIFO: the container runs, and says so (it read "created" for ever,
    and the next start waited for ever)."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('create', '--bundle', bundle.path, container_id, check=True)
    fifo = os.path.join(runcible.root, container_id, 'exec.fifo')
    killed_at(runcible, ['start', container_id], 'unlink', path=fifo)
    deadline = time.monotonic() + 5
    while runcible.state(container_id)['status'] != 'running' and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runcible.state(container_id)['status'] == 'running'
    again = runcible.cmd('start', container_id, timeout=10)
    assert again.returncode == 1
    assert error_message(again.stderr) == 'cannot start an already running container'
    assert_removable(runcible, bundle, container_id)


def _slow_create_hook(bundle, tmp_path):
    """A createRuntime hook that blocks until the test releases it (at most 30 s); (started, release) paths."""
    started, release = tmp_path / 'hook-started', tmp_path / 'hook-release'
    hook = tmp_path / 'wait-hook.sh'
    hook.write_text('#!/bin/sh\ntouch %s\ni=0\nwhile [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n'
                    % (started, release))
    hook.chmod(0o755)
    bundle.config['hooks'] = {'createRuntime': [{'path': str(hook)}]}
    return started, release


def _wait_for(path, timeout=10):
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.exists(), path


def test_lock_taking_commands_wait_for_create(runcible, bundle, tmp_path):
    """start and delete --force during a create act once it has returned, on what it made."""
    started, release = _slow_create_hook(bundle, tmp_path)
    bundle.write(['sleep', '30'])
    ids = [new_id(), new_id()]
    creates = [subprocess.Popen(runcible.argv + ['--root', runcible.root, 'create', '--bundle', bundle.path, i],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in ids]
    results = {}
    try:
        _wait_for(started)
        deadline = time.monotonic() + 10
        while not all(os.path.exists(os.path.join(runcible.root, i, 'state.json')) for i in ids) and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        threads = [threading.Thread(target=lambda: results.update(start=runcible.cmd('start', ids[0]))),
                   threading.Thread(target=lambda: results.update(delete=runcible.cmd('delete', '-f', ids[1])))]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        assert results == {}, 'returned while create ran'
        release.touch()
        for thread in threads:
            thread.join(30)
    finally:
        release.touch()
        for process in creates:
            process.wait(30)
    assert results['start'].returncode == 0, results['start'].stderr
    assert runcible.state(ids[0])['status'] == 'running'
    assert results['delete'].returncode == 0, results['delete'].stderr
    assert traces(runcible, ids[1]) == {}


DAMAGES = {
    'truncated': lambda raw: raw[:len(raw) // 2],
    'empty': lambda raw: b'',
    'zeros': lambda raw: b'\0' * len(raw),
    'not an object': lambda raw: b'[]',
    'wrong types': lambda raw: json.dumps(dict(json.loads(raw), pid='12', cgroup='x')).encode(),
    'missing': None,
}


@pytest.mark.parametrize('damage', sorted(DAMAGES))
def test_damaged_state_is_listed_and_removed(runcible, bundle, damage):
    """Issue 14 #7: a damaged state.json hid the container, and nothing could remove it, its process or cgroups."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    pid = runcible.state(container_id)['pid']
    state_file = os.path.join(runcible.root, container_id, 'state.json')
    if DAMAGES[damage] is None:
        os.unlink(state_file)
    else:
        with open(state_file, 'rb') as handle:
            raw = handle.read()
        with open(state_file, 'wb') as handle:
            handle.write(DAMAGES[damage](raw))
    containers, warnings = listed(runcible)
    assert containers[container_id]['status'] == 'running'
    assert containers[container_id]['pid'] == pid
    assert containers[container_id]['bundle'] == bundle.path
    assert 'level=warning' in warnings and '`delete --force %s`' % container_id in warnings
    shown = runcible.cmd('state', container_id)
    assert shown.returncode == 0 and json.loads(shown.stdout)['status'] == 'running'
    refused = runcible.cmd('exec', container_id, 'true')
    assert refused.returncode == 255 and 'delete --force' in error_message(refused.stderr)
    not_stopped = runcible.cmd('delete', container_id)
    assert not_stopped.returncode == 1 and 'not stopped: running' in error_message(not_stopped.stderr)
    result = runcible.cmd('delete', '--force', container_id)
    assert result.returncode == 0, result.stderr
    assert traces(runcible, container_id) == {}
    assert not os.path.exists('/proc/%d' % pid) or open('/proc/%d/stat' % pid).read().split()[2] == 'Z'
    assert_removable(runcible, bundle, container_id)


def test_a_damaged_container_can_still_be_stopped(runcible, bundle):
    """kill finds the init from cleanup.json (a supervisor stops its container with kill)."""
    bundle.write(['sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done'])
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    time.sleep(0.2)
    with open(os.path.join(runcible.root, container_id, 'state.json'), 'w') as handle:
        handle.write('{"id": ')
    result = runcible.cmd('kill', container_id, 'TERM')
    assert result.returncode == 0, result.stderr
    assert 'state.json is damaged' in result.stderr
    deadline = time.monotonic() + 5
    while runcible.state(container_id)['status'] != 'stopped' and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runcible.state(container_id)['status'] == 'stopped'
    runcible.cmd('delete', container_id, check=True)
    assert traces(runcible, container_id) == {}


def test_both_state_files_damaged_is_removed_with_a_warning(runcible, bundle):
    """Nothing says where its cgroups are: delete --force removes the folder and says what it could not do."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    folder = os.path.join(runcible.root, container_id)
    try:
        for name in ('state.json', 'cleanup.json'):
            with open(os.path.join(folder, name), 'w') as handle:
                handle.write('{')
        containers, warnings = listed(runcible)
        assert containers[container_id]['status'] == 'stopped' and 'cleanup.json is damaged' in warnings
        result = runcible.cmd('delete', '--force', container_id)
        assert result.returncode == 0, result.stderr
        assert not os.path.exists(folder)
        assert 'no record of its cgroups or processes' in result.stderr
    finally:
        for pid in processes_with_cgroup(container_id):
            os.kill(pid, 9)
        deadline = time.monotonic() + 5
        while processes_with_cgroup(container_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        for directory in sorted(cgroup_dirs(container_id), key=len, reverse=True):
            os.rmdir(directory)


# -- every command against every state -----------------------------------------------------------

# Commands that leave a container as it was (run one after another on one container) and those
# that change it (each gets a container of its own).
LOOKING = [('state',), ('ps',), ('events', '--stats'), ('exec', 'true'), ('update', '--pids-limit', '50'),
           ('--criu', '/nonexistent/criu', 'checkpoint', '--image-path', 'IMAGE')]
CHANGING = [('kill',), ('kill', 'KILL'), ('delete',), ('delete', '--force'), ('start',), ('pause',), ('resume',)]


def _command_args(command, container_id, tmp_path):
    args = [str(tmp_path / 'image') if part == 'IMAGE' else part for part in command]
    if command[0] == 'exec':
        return ['exec', container_id] + args[1:]
    if command[0] == 'kill':
        return args + [container_id] if len(args) == 1 else ['kill', container_id] + args[1:]
    return args + [container_id]


def _name(command):
    return ' '.join(part for part in command if part not in ('--criu', '/nonexistent/criu', '--image-path', 'IMAGE'))


def _bring_to(runtime, bundle, state):
    container_id = new_id()
    if state == 'created':
        runtime.cmd('create', '--bundle', bundle.path, container_id, check=True)
        return container_id
    runtime.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    if state == 'paused':
        runtime.cmd('pause', container_id, check=True)
    elif state == 'stopped':
        runtime.cmd('kill', container_id, 'KILL', check=True)
        deadline = time.monotonic() + 5
        while runtime.state(container_id)['status'] != 'stopped' and time.monotonic() < deadline:
            time.sleep(0.02)
    elif state == 'damaged':
        with open(os.path.join(runtime.root, container_id, 'state.json'), 'r+b') as handle:
            handle.truncate(40)
    return container_id


def _half_made(runtime, bundle, state):
    """half-made: create killed while making its cgroups; no state: killed before its first state file."""
    container_id = new_id()
    point = ('mkdir', 4) if state == 'half-made' else ('flock', 1)
    killed_at(runtime, ['create', '--bundle', bundle.path, container_id], *point)
    return container_id


def _answers(runtime, bundle, state, tmp_path):
    """{command: (exit code, error message)} of every command against a container in `state`."""
    make = _half_made if state in ('half-made', 'no state') else _bring_to
    answers = {}
    made = []
    try:
        shared = make(runtime, bundle, state)
        made.append(shared)
        for command in LOOKING:
            result = runtime.cmd(*_command_args(command, shared, tmp_path))
            answers[_name(command)] = (result.returncode, error_message(result.stderr), result.stderr)
        for command in CHANGING:
            container_id = make(runtime, bundle, state)
            made.append(container_id)
            result = runtime.cmd(*_command_args(command, container_id, tmp_path))
            answers[_name(command)] = (result.returncode, error_message(result.stderr), result.stderr)
    finally:
        for container_id in made:
            runtime.cmd('delete', '--force', container_id)
    for name, (code, message, stderr) in answers.items():
        assert 'Traceback' not in stderr, (state, name, stderr)
        assert code == 0 or message, (state, name, 'failed without an error line', stderr)
    return {name: (code, message) for name, (code, message, _stderr) in answers.items()}


def _codes(answers):
    return {name: code for name, (code, _message) in answers.items()}


@pytest.mark.parametrize('state', ['created', 'running', 'paused', 'stopped'])
def test_every_command_in_every_state_answers_as_runc(pair, bundle, tmp_path, state):
    """Issue 14 #8: exit codes as runc's, an error line and no traceback, for each command and status."""
    bundle.write(['sleep', '30'])
    ours, theirs = (_answers(runtime, bundle, state, tmp_path) for runtime in pair)
    assert _codes(ours) == _codes(theirs), (ours, theirs)


# The states only runcible shows (runc hides the first three, and has no "creating" state it
# reports): its answers, exit codes first. 0 where the command acts on what is left.
STOPPED_ANSWERS = {'state': 0, 'ps': 0, 'events --stats': 1, 'exec true': 255, 'update --pids-limit 50': 1,
                   'checkpoint': 1, 'kill': 1, 'kill KILL': 1, 'delete': 0, 'delete --force': 0, 'start': 1,
                   'pause': 1, 'resume': 1}
RUNCIBLE_ONLY = {
    'half-made': STOPPED_ANSWERS,
    'no state': dict(STOPPED_ANSWERS, ps=1),
    'damaged': dict(STOPPED_ANSWERS, ps=1, kill=0, **{'kill KILL': 0, 'delete': 1}),
}


@needs_strace
@pytest.mark.parametrize('state', sorted(RUNCIBLE_ONLY))
def test_every_command_answers_a_half_made_or_damaged_container(runcible, bundle, tmp_path, state):
    bundle.write(['sleep', '30'])
    answers = _answers(runcible, bundle, state, tmp_path)
    assert _codes(answers) == RUNCIBLE_ONLY[state], answers
    for name in ('start', 'exec true', 'pause', 'update --pids-limit 50'):
        if state != 'half-made':
            assert 'delete --force' in answers[name][1], (name, answers[name])


CREATING_MESSAGE = 'container is still being created: try again once its create has returned'


def test_every_command_answers_a_container_being_created(pair, bundle, tmp_path):
    """Issue 14 #8: `kill` while a createRuntime hook ran crashed with a TypeError. Commands that do not
    wait for create's lock answer with runc's exit codes (runc says the container does not exist yet);
    `state` shows "creating" where runc has nothing to show."""
    started, release = _slow_create_hook(bundle, tmp_path)
    bundle.write(['sleep', '30'])
    commands = [('kill',), ('kill', 'KILL'), ('exec', 'true'), ('ps',), ('events', '--stats')]
    outcomes = []
    for runtime in pair:
        for path in (started, release):
            if path.exists():
                path.unlink()
        container_id = new_id()
        creating = subprocess.Popen(runtime.argv + ['--root', runtime.root, 'create', '--bundle', bundle.path,
                                                    container_id], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(started)
            answers = {}
            for command in commands:
                result = runtime.cmd(*_command_args(command, container_id, tmp_path))
                assert 'Traceback' not in result.stderr and error_message(result.stderr), result.stderr
                answers[_name(command)] = result.returncode
                if runtime.name == 'runcible' and command[0] == 'kill':
                    assert error_message(result.stderr) == CREATING_MESSAGE
            outcomes.append(answers)
            if runtime.name == 'runcible':
                assert runtime.state(container_id)['status'] == 'creating'
        finally:
            release.touch()
            creating.wait(30)
        assert runtime.state(container_id)['status'] == 'created'
        runtime.cmd('delete', '--force', container_id, check=True)
    assert outcomes[0] == outcomes[1] == {'kill': 1, 'kill KILL': 1, 'exec true': 255, 'ps': 1, 'events --stats': 1}


# -- the fault probe, a few trials --------------------------------------------------------------

@needs_strace
def test_fault_probe_finds_nothing_stuck_or_leaked():
    """bench/faults, a few random kill points per command and a few races (the 100-trial numbers: docs/faults.md)."""
    result = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'faults'), '-n', '3', '--races', '2',
                             '--json'], capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(result.stdout)
    problems = [failure for group in ('commands', 'races') for outcome in report[group].values()
                for failure in outcome['failures']] + report['tracebacks']
    assert problems == [], (report['seed'], problems)
    assert result.returncode == 0, result.stderr
    # A kill point comes from a dry run's system calls; a run that makes fewer of them (polling loops
    # vary with load) finishes before it and is still checked. A probe that never kills proves nothing.
    assert all(outcome['killed'] >= 1 for outcome in report['commands'].values()), report['commands']
