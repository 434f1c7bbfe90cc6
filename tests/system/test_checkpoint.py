# -*- coding: utf-8 -*-
"""checkpoint and restore with a real CRIU: what a user checks after moving a container through an image.

Every container here counts with a token drawn at start and kept in memory:
after a restore, the same token with a count that went on proves that the
processes kept their memory and did not start again.
"""

import json
import os
import select
import socket
import subprocess
import threading
import time

import pytest

from criulib import (Checkpointer, counter_bundle, image_files, log_message, parse_count, read_count,
                     skip_unless_criu_dumps_sockets, wait_until, STDOUT_COUNTER)
from criulib import criu  # noqa: F401  pylint: disable=unused-import
from systemlib import cgroup_dirs, error_message, new_id, processes_with_cgroup


@pytest.fixture
def cr(runcible, criu, tmp_path):  # noqa: F811 (criu is a fixture)
    return Checkpointer(runcible, criu, str(tmp_path / 'runtime.log'))


def start(cr, bundle, container_id, **kwargs):
    result = cr.detached('run', '-d', '--bundle', bundle.path, container_id, **kwargs)
    assert result.returncode == 0, result.log
    return result


def counted_past(path, minimum):
    value = read_count(path)
    return value if value and value[1] > minimum else None


def exec_count(cr, container_id, minimum=0):
    value = parse_count(cr.exec_output(container_id, 'cat', '/tmp/count'))
    return value if value and value[1] > minimum else None


def settled_count(path):
    """The count of a container that no longer runs: the same when read twice a while apart."""
    first = read_count(path)
    time.sleep(0.3)
    second = read_count(path)
    assert first == second, 'the counter still runs after the checkpoint: %s, then %s' % (first, second)
    return first


def test_counter_continues_after_restore(cr, make_bundle, tmp_path):
    """Checkpoint stops and removes the container; restore brings it back counting, as a running container."""
    data = tmp_path / 'data'
    bundle = counter_bundle(make_bundle(), data)
    config_file = tmp_path / 'settings'
    config_file.write_text('answer=42\n')
    bundle.config['mounts'].append({'destination': '/etc/settings', 'type': 'bind', 'source': str(config_file),
                                    'options': ['bind', 'ro']})
    bundle.write()
    container_id = new_id()
    image = tmp_path / 'image'
    start(cr, bundle, container_id)
    assert wait_until(lambda: counted_past(data / 'count', 5))

    result = cr.checkpoint(container_id, image)
    assert result.returncode == 0, result.stderr
    assert container_id not in cr.ids()
    assert cgroup_dirs(container_id) == []
    token, stopped_at = settled_count(data / 'count')
    assert {'inventory.img', 'descriptors.json', 'runcible.json'} <= set(os.listdir(image))

    result = cr.restore(container_id, image, bundle)
    assert result.returncode == 0, result.log
    state = cr.state(container_id)
    assert state['status'] == 'running' and state['pid'] > 0
    went_on = wait_until(lambda: counted_past(data / 'count', stopped_at + 5))
    assert went_on and went_on[0] == token, (went_on, token, stopped_at)

    # The restored container is an ordinary running one: exec, ps, kill, delete.
    assert cr.exec_output(container_id, 'cat', '/etc/settings') == 'answer=42\n'
    mounts = cr.exec_output(container_id, 'cat', '/proc/self/mountinfo')
    assert any(line.split()[4] == '/etc/settings' and 'ro' in line.split()[5].split(',')
               for line in mounts.splitlines())
    # exec joins every namespace of the restored init, the time namespace CRIU restores into as well.
    namespaces = cr.exec_output(container_id, 'sh', '-c', 'for ns in mnt pid net uts ipc time; do '
                                'echo $(readlink /proc/self/ns/$ns) $(readlink /proc/1/ns/$ns); done')
    assert [line.split()[0] for line in namespaces.splitlines()] == \
        [line.split()[1] for line in namespaces.splitlines()], namespaces
    ps = cr.runtime.cmd('ps', '--format', 'json', container_id)
    assert state['pid'] in json.loads(ps.stdout)
    assert cr.runtime.cmd('kill', container_id, 'KILL').returncode == 0
    assert wait_until(lambda: cr.status(container_id) == 'stopped')
    assert cr.runtime.cmd('delete', container_id).returncode == 0
    assert cgroup_dirs(container_id) == []


def test_leave_running_keeps_the_container(cr, make_bundle, tmp_path):
    data = tmp_path / 'data'
    bundle = counter_bundle(make_bundle(), data)
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: counted_past(data / 'count', 3))
    pid = cr.state(container_id)['pid']

    work = tmp_path / 'work'
    result = cr.checkpoint(container_id, tmp_path / 'image', '--leave-running', '--work-path', str(work),
                           '--manage-cgroups-mode', 'soft', '--empty-ns', 'network')
    assert result.returncode == 0, result.stderr
    state = cr.state(container_id)
    assert (state['status'], state['pid']) == ('running', pid)
    assert os.path.exists(work / 'dump.log') and not os.path.exists(tmp_path / 'image' / 'dump.log')
    now = read_count(data / 'count')[1]
    assert wait_until(lambda: counted_past(data / 'count', now + 3))


def test_clone_restored_under_a_second_id(cr, make_bundle, tmp_path):
    """A checkpoint taken with --leave-running restored as another container: two counters with one past."""
    bundle = counter_bundle(make_bundle())
    first, second = new_id(), new_id()
    start(cr, bundle, first)
    assert wait_until(lambda: exec_count(cr, first, 3))
    image = tmp_path / 'image'
    assert cr.checkpoint(first, image, '--leave-running').returncode == 0
    token, at_checkpoint = exec_count(cr, first)

    result = cr.restore(second, image, bundle, '--pid-file', str(tmp_path / 'clone.pid'))
    assert result.returncode == 0, result.log
    assert cr.status(first) == cr.status(second) == 'running'
    assert cr.state(first)['pid'] != cr.state(second)['pid']
    assert (tmp_path / 'clone.pid').read_text() == str(cr.state(second)['pid'])
    taken = cr.restore(second, image, bundle)
    assert taken.returncode == 1 and log_message(taken.log) == 'container with given ID already exists'
    assert cr.status(second) == 'running'
    clone = wait_until(lambda: exec_count(cr, second, at_checkpoint))
    assert clone and clone[0] == token
    # Each counts on in its own tmpfs; stopping the first leaves the clone alone.
    assert cr.runtime.cmd('delete', '--force', first).returncode == 0
    later = wait_until(lambda: exec_count(cr, second, clone[1] + 3))
    assert later and later[0] == token
    assert cgroup_dirs(first) == []


def test_readonly_root_and_tmpfs_come_back(cr, make_bundle, tmp_path):
    """A read-only root stays read-only, and a tmpfs keeps its files through the image."""
    bundle = counter_bundle(make_bundle(), readonly_root=True)
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: exec_count(cr, container_id, 3))
    assert cr.exec_output(container_id, 'sh', '-c', 'echo kept > /tmp/note') == ''
    image = tmp_path / 'image'
    assert cr.checkpoint(container_id, image, '--leave-running').returncode == 0
    token, at_checkpoint = exec_count(cr, container_id)
    assert cr.runtime.cmd('delete', '--force', container_id).returncode == 0

    result = cr.restore(container_id, image, bundle)
    assert result.returncode == 0, result.log
    assert cr.exec_output(container_id, 'cat', '/tmp/note') == 'kept\n'
    write = cr.runtime.cmd('exec', container_id, 'touch', '/new-file')
    assert write.returncode != 0 and 'Read-only file system' in write.stderr
    went_on = wait_until(lambda: exec_count(cr, container_id, at_checkpoint))
    assert went_on and went_on[0] == token


def test_stdout_pipe_is_handed_to_the_restore(cr, make_bundle, tmp_path):
    """A container writing to a pipe writes, after restore, to the pipe the restore was given."""
    bundle = make_bundle().write(['sh', '-c', STDOUT_COUNTER])
    container_id = new_id()
    first = subprocess.Popen(cr.runtime.argv + ['--root', cr.runtime.root, 'run', '-d', '--bundle', bundle.path,
                                                container_id], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        assert first.wait(timeout=60) == 0
        before = _read_lines(first.stdout, 3)
        assert len(before) == 3
        assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
        rest = _read_lines(first.stdout, 10 ** 6, timeout=10)
        token, last = parse_count(rest[-1] if rest else before[-1])
    finally:
        first.stdout.close()
    second = subprocess.Popen(cr.runtime.argv + ['--root', cr.runtime.root, '--criu', cr.criu, 'restore', '-d',
                                                 '--image-path', str(tmp_path / 'image'), '--bundle', bundle.path,
                                                 container_id], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:
        assert second.wait(timeout=60) == 0
        after = [parse_count(line) for line in _read_lines(second.stdout, 3)]
    finally:
        cr.runtime.cmd('delete', '--force', container_id)
        second.stdout.close()
    assert len(after) == 3 and all(t == token for t, _n in after), (token, after)
    assert after[0][1] == last + 1, (last, after)


def _read_lines(stream, count, timeout=10.0):
    """Up to `count` lines from a pipe, until end-of-file or `timeout` (bounded)."""
    lines = []
    buffer = b''
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while len(lines) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _w, _x = select.select([fd], [], [], remaining)
        if not readable:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b'\n')
        lines.extend(line.decode() for line in complete)
    return lines[:count]


def test_foreground_restore_waits_and_returns_the_exit_code(cr, make_bundle, tmp_path):
    """restore without -d: waits for the restored container, returns its status, removes it."""
    data = tmp_path / 'data'
    data.mkdir()
    bundle = make_bundle()
    bundle.config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(data),
                                    'options': ['rbind', 'rw']})
    bundle.write(['sh', '-c', 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo $i > /data/n.new && mv /data/n.new /data/n; '
                              'sleep 0.05; done; exit 7'])
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until((data / 'n').exists)
    assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
    assert int((data / 'n').read_text()) < 40

    result = cr.restore(container_id, tmp_path / 'image', bundle, detach=False)
    assert result.returncode == 7, result.log
    assert (data / 'n').read_text() == '40\n'
    assert container_id not in cr.ids()
    assert cgroup_dirs(container_id) == []


def test_restore_runs_prestart_and_create_runtime_hooks(cr, make_bundle, tmp_path):
    """As runc: prestart and createRuntime hooks run again at restore, with the restored init's PID."""
    records = tmp_path / 'hooks'
    records.mkdir()
    hook = tmp_path / 'hook.sh'
    hook.write_text('#!/bin/sh\ncat > "%s/$1"\n' % records)
    hook.chmod(0o755)
    bundle = counter_bundle(make_bundle())
    bundle.write(hooks={'prestart': [{'path': str(hook), 'args': ['hook', 'prestart']}],
                        'createRuntime': [{'path': str(hook), 'args': ['hook', 'createRuntime']}]})
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: exec_count(cr, container_id, 1))
    assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
    for name in os.listdir(records):
        os.unlink(records / name)

    assert cr.restore(container_id, tmp_path / 'image', bundle).returncode == 0
    pid = cr.state(container_id)['pid']
    for name in ('prestart', 'createRuntime'):
        seen = json.loads((records / name).read_text())
        assert (seen['id'], seen['pid'], seen['bundle']) == (container_id, pid, bundle.path)


def assert_nothing_left(cr, container_id):
    """No trace of a container whose restore failed: state, cgroups, processes, CRIU's root mount."""
    assert container_id not in cr.ids()
    assert not os.path.exists(os.path.join(cr.runtime.root, container_id))
    assert cgroup_dirs(container_id) == []
    assert processes_with_cgroup(container_id) == []
    with open('/proc/self/mountinfo') as handle:
        assert '/%s/criu-root' % container_id not in handle.read()


def test_failed_restore_leaves_nothing(cr, make_bundle, tmp_path):
    """CRIU restores the processes, then a createRuntime hook fails: everything made is removed."""
    hook = tmp_path / 'hook.sh'
    switch = tmp_path / 'fail-now'
    hook.write_text('#!/bin/sh\n[ -e "%s" ] && { echo "restore refused by the hook" >&2; exit 3; }\nexit 0\n' % switch)
    hook.chmod(0o755)
    bundle = counter_bundle(make_bundle())
    bundle.write(hooks={'createRuntime': [{'path': str(hook)}]})
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: exec_count(cr, container_id, 1))
    assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
    switch.write_text('')

    result = cr.restore(container_id, tmp_path / 'image', bundle)
    assert result.returncode == 1
    assert 'restore refused by the hook' in log_message(result.log)
    assert_nothing_left(cr, container_id)
    switch.unlink()
    assert cr.restore(container_id, tmp_path / 'image', bundle).returncode == 0
    assert wait_until(lambda: exec_count(cr, container_id, 1))


def test_restore_killed_half_way_is_cleaned_up_by_delete(cr, make_bundle, tmp_path):
    """runcible killed while CRIU restores (a prestart hook holds it there): `delete` removes every trace."""
    hook = tmp_path / 'hook.sh'
    switch = tmp_path / 'hold'
    hook.write_text('#!/bin/sh\n[ -e "%s" ] && sleep 5\nexit 0\n' % switch)
    hook.chmod(0o755)
    bundle = counter_bundle(make_bundle())
    bundle.write(hooks={'prestart': [{'path': str(hook)}]})
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: exec_count(cr, container_id, 1))
    assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
    switch.write_text('')
    restoring = subprocess.Popen(cr.runtime.argv + ['--root', cr.runtime.root, '--criu', cr.criu, 'restore', '-d',
                                                    '--image-path', str(tmp_path / 'image'), '--bundle', bundle.path,
                                                    container_id],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mount = '/%s/criu-root' % container_id
    try:
        assert wait_until(lambda: mount in open('/proc/self/mountinfo').read(), timeout=30, interval=0.01)
    finally:
        restoring.kill()
        restoring.wait()
    assert cr.status(container_id) == 'stopped'
    deleted = cr.runtime.cmd('delete', container_id)
    assert deleted.returncode == 0, deleted.stderr
    assert_nothing_left(cr, container_id)


def test_established_tcp_connection_survives_with_tcp_established(cr, criu, make_bundle, tmp_path):  # noqa: F811
    """A client and a server in the container's network namespace keep their connection across the restore.

    Without --tcp-established the dump fails, and the container runs on untouched.
    """
    skip_unless_criu_dumps_sockets(criu)
    data = tmp_path / 'data'
    data.mkdir()
    bundle = make_bundle()
    bundle.config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(data),
                                    'options': ['rbind', 'rw']})
    # Bounded: the client sends at most 100000 lines; the server's stdin never ends (sleep).
    bundle.write(['sh', '-c', 'sleep 100000 | nc -l -p 7000 > /data/received & sleep 0.3; '
                              'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo $i; sleep 0.05; done '
                              '| nc 127.0.0.1 7000'])
    container_id = new_id()
    start(cr, bundle, container_id)
    received = data / 'received'

    def lines_past(minimum):
        text = received.read_text() if received.exists() else ''
        numbers = [int(n) for n in text[:text.rfind('\n') + 1].split()]
        return numbers if numbers and numbers[-1] > minimum else None

    assert wait_until(lambda: lines_past(3))
    image = tmp_path / 'image'
    refused = cr.checkpoint(container_id, image)
    assert refused.returncode == 1
    assert '--tcp-established' in error_message(refused.stderr)
    assert 'the container still runs' in error_message(refused.stderr)
    assert cr.status(container_id) == 'running'
    now = lines_past(0)[-1]
    assert wait_until(lambda: lines_past(now + 3))

    assert cr.checkpoint(container_id, image, '--tcp-established').returncode == 0
    time.sleep(0.3)
    before = lines_past(0)
    failed = cr.restore(container_id, image, bundle)
    assert failed.returncode == 1, 'restored established connections without --tcp-established'
    assert_nothing_left(cr, container_id)
    result = cr.restore(container_id, image, bundle, '--tcp-established')
    assert result.returncode == 0, result.log
    after = wait_until(lambda: lines_past(before[-1] + 5))
    assert after, 'no data over the restored connection'
    # One connection from first to last line: no number is missing or repeated.
    assert after == list(range(1, len(after) + 1))


def test_refused_flags_say_why(cr, make_bundle, tmp_path):
    bundle = counter_bundle(make_bundle())
    container_id = new_id()
    start(cr, bundle, container_id)
    for flags, reason in ((['--pre-dump'], 'soft-dirty'), (['--lazy-pages'], 'lazy'),
                          (['--page-server', '127.0.0.1:9999'], '--page-server is not supported'),
                          (['--manage-cgroups-mode', 'bogus'], 'manage-cgroups-mode'),
                          (['--empty-ns', 'pid'], 'not supported')):
        result = cr.checkpoint(container_id, tmp_path / 'image', *flags)
        assert result.returncode == 1
        assert reason in error_message(result.stderr), (flags, result.stderr)
    assert cr.status(container_id) == 'running'
    assert not (tmp_path / 'image').exists()


def test_restore_from_a_missing_image_path_makes_nothing(cr, make_bundle, tmp_path):
    bundle = counter_bundle(make_bundle())
    container_id = new_id()
    result = cr.restore(container_id, tmp_path / 'nowhere', bundle)
    assert result.returncode == 1
    assert 'does not exist' in log_message(result.log)
    assert not (tmp_path / 'nowhere').exists()
    assert cr.ids() == [] and cgroup_dirs(container_id) == []


def test_restore_of_another_containers_image_is_refused(cr, make_bundle, tmp_path):
    """An image restored with a bundle it was not taken from: a clear error, nothing made, the image kept."""
    original = counter_bundle(make_bundle())
    container_id = new_id()
    start(cr, original, container_id)
    assert wait_until(lambda: exec_count(cr, container_id, 1))
    image = tmp_path / 'image'
    assert cr.checkpoint(container_id, image).returncode == 0
    kept = image_files(image)
    other = counter_bundle(make_bundle())
    other.write(['sleep', '1000'])

    result = cr.restore(new_id(), image, other)
    assert result.returncode == 1
    message = log_message(result.log)
    assert container_id in message and 'process.args' in message, message
    assert cr.ids() == []
    assert image_files(image) == kept

    assert cr.restore(container_id, image, original).returncode == 0
    assert wait_until(lambda: exec_count(cr, container_id, 1))


def _fake_criu(path):
    """A criu that exists and runs but fails `criu check`, as an old CRIU on a new kernel does."""
    path.write_text('#!/bin/sh\ncase "$1" in\n  --version) echo "Version: 4.2"; exit 0 ;;\n'
                    '  check) echo "Error (criu/kerndat.c:1): fake: this kernel lacks what CRIU needs" >&2; exit 1 ;;\n'
                    'esac\nexit 1\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize('kind', ['absent', 'fails-check'])
def test_missing_or_unusable_criu_is_reported_and_nothing_is_lost(cr, make_bundle, tmp_path, kind):
    if kind == 'absent':
        bad, expected = str(tmp_path / 'no-such-criu'), 'does not exist'
    else:
        bad, expected = _fake_criu(tmp_path / 'fake-criu'), 'fake: this kernel lacks what CRIU needs'
    data = tmp_path / 'data'
    bundle = counter_bundle(make_bundle(), data)
    container_id = new_id()
    start(cr, bundle, container_id)
    assert wait_until(lambda: counted_past(data / 'count', 1))

    failed = cr.checkpoint(container_id, tmp_path / 'bad-image', criu=bad)
    assert failed.returncode == 1
    assert expected in error_message(failed.stderr), failed.stderr
    assert cr.status(container_id) == 'running'
    now = read_count(data / 'count')[1]
    assert wait_until(lambda: counted_past(data / 'count', now + 2))
    assert not (tmp_path / 'bad-image').exists()

    image = tmp_path / 'image'
    assert cr.checkpoint(container_id, image).returncode == 0
    result = cr.restore(container_id, image, bundle, criu=bad)
    assert result.returncode == 1
    assert expected in log_message(result.log)
    assert cr.ids() == [] and cgroup_dirs(container_id) == []
    assert cr.restore(container_id, image, bundle).returncode == 0


def test_host_criu_failing_check_is_reported(cr, make_bundle, tmp_path):
    """Debian 12's CRIU 3.17 on a kernel >= 6.13: CRIU's own reason reaches the user."""
    host = '/usr/sbin/criu'
    if not os.path.exists(host):
        pytest.skip('no host criu installed')
    if subprocess.run([host, 'check'], capture_output=True, check=False).returncode == 0:
        pytest.skip('the host criu works on this kernel')
    bundle = counter_bundle(make_bundle())
    container_id = new_id()
    start(cr, bundle, container_id)
    failed = cr.checkpoint(container_id, tmp_path / 'image', criu=host)
    message = error_message(failed.stderr)
    assert failed.returncode == 1 and 'fails "criu check"' in message and 'Error (criu/' in message, message
    assert cr.status(container_id) == 'running'


@pytest.mark.parametrize('status', ['stopped', 'created'])
def test_checkpoint_of_a_container_not_running_is_refused(cr, make_bundle, tmp_path, status):
    container_id = new_id()
    if status == 'stopped':
        start(cr, make_bundle().write(['true']), container_id)
        assert wait_until(lambda: cr.status(container_id) == 'stopped')
    else:
        created = cr.detached('create', '--bundle', make_bundle().write(['true']).path, container_id)
        assert created.returncode == 0, created.log
    result = cr.checkpoint(container_id, tmp_path / 'image')
    assert result.returncode == 1
    assert error_message(result.stderr) == 'Container cannot be checkpointed in %s state' % status
    assert cr.status(container_id) == status
    assert not (tmp_path / 'image').exists()
    assert cr.runtime.cmd('delete', '--force', container_id).returncode == 0


def test_failed_dump_leaves_the_container_and_the_previous_image(cr, make_bundle, tmp_path):
    """A container whose stdout is a host file cannot be dumped; the container and an older image survive."""
    image = tmp_path / 'image'
    dumpable = new_id()
    start(cr, counter_bundle(make_bundle()), dumpable)
    assert wait_until(lambda: exec_count(cr, dumpable, 1))
    assert cr.checkpoint(dumpable, image, '--leave-running').returncode == 0
    kept = image_files(image)

    data = tmp_path / 'data'
    bundle = counter_bundle(make_bundle(), data)
    container_id = new_id()
    with open(tmp_path / 'stdout.txt', 'w') as stdout:
        start(cr, bundle, container_id, stdout=stdout)
    assert wait_until(lambda: counted_past(data / 'count', 1))
    result = cr.checkpoint(container_id, image)
    assert result.returncode == 1
    message = error_message(result.stderr)
    assert 'the container still runs' in message and 'host file' in message, message
    assert cr.status(container_id) == 'running'
    now = read_count(data / 'count')[1]
    assert wait_until(lambda: counted_past(data / 'count', now + 2))
    after = image_files(image)
    assert {k: v for k, v in after.items() if k != 'dump.log'} == {k: v for k, v in kept.items() if k != 'dump.log'}


def _terminal_receiver(path, lines_wanted):
    """A console socket server: takes one pty master, collects `lines_wanted` lines from it (bounded).

    It holds the master until `release` is set, as a real console reader
    does: with the master closed, the container's terminal is gone from its
    devpts and the bind on /dev/console points at a deleted file.
    """
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(30)
    result = {'lines': [], 'got': threading.Event(), 'release': threading.Event()}

    def serve():
        try:
            conn, _address = server.accept()
            _name, fds, _flags, _address = socket.recv_fds(conn, 4096, 1)
            conn.close()
            with os.fdopen(fds[0], 'rb', buffering=0) as master:
                result['lines'] = _read_lines(master, lines_wanted, timeout=20)
                result['got'].set()
                result['release'].wait(60)
        finally:
            result['got'].set()
            server.close()

    thread = threading.Thread(target=serve)
    thread.start()
    return thread, result


def test_terminal_container_gets_a_new_terminal_at_restore(cr, make_bundle, tmp_path):
    """--console-socket at restore receives the restored container's terminal, and the output goes on there."""
    bundle = make_bundle()
    bundle.config['process']['terminal'] = True
    bundle.write(['sh', '-c', STDOUT_COUNTER])
    container_id = new_id()
    first_thread, first = _terminal_receiver(str(tmp_path / 'first.sock'), 3)
    try:
        started = cr.detached('run', '-d', '--console-socket', str(tmp_path / 'first.sock'), '--bundle',
                              bundle.path, container_id)
        assert started.returncode == 0, started.log
        assert first['got'].wait(40) and len(first['lines']) == 3
        token, _count = parse_count(first['lines'][-1].strip())
        assert cr.checkpoint(container_id, tmp_path / 'image').returncode == 0
    finally:
        first['release'].set()
        first_thread.join(60)

    thread, second = _terminal_receiver(str(tmp_path / 'second.sock'), 3)
    try:
        restored = cr.restore(container_id, tmp_path / 'image', bundle, '--console-socket',
                              str(tmp_path / 'second.sock'))
        assert restored.returncode == 0, restored.log
        assert second['got'].wait(40)
        after = [parse_count(line.strip()) for line in second['lines']]
    finally:
        cr.runtime.cmd('delete', '--force', container_id)
        second['release'].set()
        thread.join(60)
    assert len(after) == 3 and all(value and value[0] == token for value in after), (token, second)
