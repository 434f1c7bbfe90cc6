# -*- coding: utf-8 -*-
"""The container lifecycle under bin/runcible: create/start split, hooks, namespaces, clean-up."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from systemlib import PYTHON, RUNCIBLE, Bundle, cgroup_dirs, error_message, new_id, processes_with_cgroup


def wait_status(runtime, container_id, wanted, timeout=5.0):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = runtime.state(container_id)['status']
        if status == wanted:
            return status
        time.sleep(0.02)
    return status


def assert_nothing_left(runtime, container_id):
    assert not os.path.exists(os.path.join(runtime.root, container_id))
    assert cgroup_dirs(container_id) == []
    assert processes_with_cgroup(container_id) == []


def test_create_does_not_start_the_process(runcible, bundle, tmp_path):
    """After create the namespaces and rootfs exist but the program has not run; start runs it."""
    marks = tmp_path / 'marks'
    marks.mkdir()
    bundle.config['mounts'].append({'destination': '/marks', 'type': 'bind', 'source': str(marks),
                                    'options': ['bind']})
    bundle.write(['sh', '-c', 'echo started > /marks/started; sleep 30'])
    container_id = new_id()
    runcible.cmd('create', '--bundle', bundle.path, container_id, check=True)
    state = runcible.state(container_id)
    assert state['status'] == 'created'
    pid = state['pid']
    for ns in ('mnt', 'pid', 'net', 'ipc', 'uts'):
        assert os.readlink('/proc/%d/ns/%s' % (pid, ns)) != os.readlink('/proc/self/ns/%s' % ns), ns
    time.sleep(0.2)
    assert not (marks / 'started').exists()
    runcible.cmd('start', container_id, check=True)
    deadline = time.monotonic() + 5
    while not (marks / 'started').exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (marks / 'started').read_text() == 'started\n'
    assert runcible.state(container_id)['status'] == 'running'
    runcible.cmd('delete', '--force', container_id, check=True)
    assert_nothing_left(runcible, container_id)


def test_run_detached_pid_file_and_stdio(runcible, bundle, tmp_path):
    """run -d gives the container the caller's stdout, writes the pid file (no newline)."""
    bundle.write(['sh', '-c', 'echo to-caller-stdout; sleep 30'])
    container_id = new_id()
    pid_file = tmp_path / 'pid'
    out_path = tmp_path / 'out'
    with open(out_path, 'w') as out, open(tmp_path / 'err', 'w') as err:
        result = subprocess.run([PYTHON, RUNCIBLE, '--root', runcible.root, 'run', '-d', '--pid-file', str(pid_file),
                                 '--bundle', bundle.path, container_id], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, timeout=30, check=False)
    assert result.returncode == 0, (tmp_path / 'err').read_text()
    pid = int(pid_file.read_text())
    assert pid_file.read_text() == str(pid)
    assert runcible.state(container_id)['pid'] == pid
    deadline = time.monotonic() + 5
    while 'to-caller-stdout' not in out_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out_path.read_text() == 'to-caller-stdout\n'


def test_foreground_run_forwards_signals(runcible, bundle):
    bundle.write(['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'])
    container_id = new_id()
    proc = subprocess.Popen([PYTHON, RUNCIBLE, '--root', runcible.root, 'run', '--bundle', bundle.path,
                             container_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout.readline() == 'ready\n'
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 7, err
    assert out == 'got-term\n'
    assert_nothing_left(runcible, container_id)


def test_foreground_exit_by_signal_is_128_plus(runcible, bundle):
    """A container init killed from the host: run exits 128 + 9."""
    bundle.write(['sh', '-c', 'echo ready; sleep 30'])
    container_id = new_id()
    proc = subprocess.Popen([PYTHON, RUNCIBLE, '--root', runcible.root, 'run', '--bundle', bundle.path,
                             container_id], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline() == 'ready\n'
        runcible.cmd('kill', container_id, 'KILL', check=True)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == 137


def test_kill_by_name_number_and_all(runcible, bundle):
    bundle.write(['sh', '-c', 'sleep 60 & sleep 60 & wait'])
    for signame in ('SIGKILL', 'KILL', '9'):
        container_id = new_id()
        runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
        assert runcible.cmd('kill', container_id, signame).returncode == 0
        assert wait_status(runcible, container_id, 'stopped') == 'stopped', signame
        runcible.cmd('delete', container_id, check=True)
        assert_nothing_left(runcible, container_id)
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    time.sleep(0.2)
    runcible.cmd('kill', '--all', container_id, 'KILL', check=True)
    assert wait_status(runcible, container_id, 'stopped') == 'stopped'
    runcible.cmd('delete', container_id, check=True)


def test_delete_force_running_and_delete_created(runcible, bundle):
    bundle.write(['sleep', '60'])
    running = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, running, check=True)
    assert runcible.cmd('delete', running).returncode == 1
    runcible.cmd('delete', '--force', running, check=True)
    assert_nothing_left(runcible, running)
    created = new_id()
    runcible.cmd('create', '--bundle', bundle.path, created, check=True)
    pid = runcible.state(created)['pid']
    runcible.cmd('delete', created, check=True)
    assert not os.path.exists('/proc/%d/ns' % pid) or _is_zombie(pid)
    assert_nothing_left(runcible, created)


def _is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True


HOOK_SCRIPT = '''#!/bin/sh
cat > "$1/$2.json"
echo "$2" >> "$1/order"
exit ${3:-0}
'''


def _hook(script, directory, name, code=0):
    return {'path': script, 'args': [script, directory, name, str(code)]}


def test_hooks_run_at_the_spec_points_with_state(runcible, bundle, tmp_path):
    script = tmp_path / 'hook.sh'
    script.write_text(HOOK_SCRIPT)
    script.chmod(0o755)
    out = tmp_path / 'hooks'
    out.mkdir()
    # startContainer and createContainer hooks run in the container's mount namespace.
    bundle.config['mounts'].append({'destination': str(tmp_path), 'type': 'bind', 'source': str(tmp_path),
                                    'options': ['rbind']})
    hook_names = ('prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop')
    bundle.config['hooks'] = {name: [_hook(str(script), str(out), name)] for name in hook_names}
    bundle.config['annotations'] = {'purpose': 'hooks'}
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('create', '--bundle', bundle.path, container_id, check=True)
    assert (out / 'order').read_text().split() == ['prestart', 'createRuntime', 'createContainer']
    pid = runcible.state(container_id)['pid']
    runcible.cmd('start', container_id, check=True)
    deadline = time.monotonic() + 5
    while len((out / 'order').read_text().split()) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    runcible.cmd('delete', '--force', container_id, check=True)
    assert (out / 'order').read_text().split() == list(hook_names)
    states = {name: json.loads((out / (name + '.json')).read_text()) for name in hook_names}
    assert {n: s['status'] for n, s in states.items()} == {
        'prestart': 'creating', 'createRuntime': 'creating', 'createContainer': 'creating',
        'startContainer': 'created', 'poststart': 'running', 'poststop': 'stopped'}
    assert states['createRuntime']['pid'] == pid and states['poststart']['pid'] == pid
    assert states['startContainer']['pid'] == 1
    assert all(s['id'] == container_id for s in states.values())
    assert states['poststart']['annotations'] == {'purpose': 'hooks'}
    assert states['prestart']['bundle'] == bundle.path


@pytest.mark.parametrize('failing', ['prestart', 'createRuntime', 'createContainer'])
def test_failing_create_hook_fails_create_and_leaves_nothing(runcible, bundle, tmp_path, failing):
    script = tmp_path / 'hook.sh'
    script.write_text(HOOK_SCRIPT)
    script.chmod(0o755)
    out = tmp_path / 'hooks'
    out.mkdir()
    bundle.config['mounts'].append({'destination': str(tmp_path), 'type': 'bind', 'source': str(tmp_path),
                                    'options': ['rbind']})
    bundle.config['hooks'] = {failing: [_hook(str(script), str(out), failing, 3)]}
    bundle.write(['sleep', '30'])
    container_id = new_id()
    result = runcible.cmd('create', '--bundle', bundle.path, container_id)
    assert result.returncode == 1
    assert 'error running %s hook #0: exit status 3' % failing in error_message(result.stderr)
    assert_nothing_left(runcible, container_id)


def test_failing_poststart_hook_only_warns(runcible, bundle, tmp_path):
    script = tmp_path / 'hook.sh'
    script.write_text(HOOK_SCRIPT)
    script.chmod(0o755)
    bundle.config['hooks'] = {'poststart': [_hook(str(script), str(tmp_path), 'poststart', 1)]}
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('create', '--bundle', bundle.path, container_id, check=True)
    result = runcible.cmd('start', container_id)
    assert result.returncode == 0
    assert 'level=warning' in result.stderr and 'poststart hook #0' in result.stderr
    assert runcible.state(container_id)['status'] == 'running'


def test_hook_that_does_not_read_the_state_does_not_kill_the_runtime(pair, bundle):
    """A hook may exit without reading its stdin: the runtime gets EPIPE, not SIGPIPE, and goes on (as runc).

    The annotations make the state larger than a pipe holds, so the runtime
    is still writing when the hook has gone.
    """
    bundle.config['hooks'] = {'createRuntime': [{'path': '/bin/true'}], 'poststop': [{'path': '/bin/true'}]}
    bundle.config['annotations'] = {'org.example.filler': 'x' * (256 << 10)}
    bundle.write(['true'])
    for runtime in pair:
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        assert (runtime.name, result.returncode) == (runtime.name, 0), result.stderr


def test_failed_create_leaves_nothing(runcible, bundle):
    bundle.write(['/no/such/program'])
    container_id = new_id()
    result = runcible.cmd('create', '--bundle', bundle.path, container_id)
    assert result.returncode == 1
    assert error_message(result.stderr) == ('runcible create failed: unable to start container process: '
                                            'exec: "/no/such/program": stat /no/such/program: '
                                            'no such file or directory')
    assert_nothing_left(runcible, container_id)


def test_rlimit_above_hard_limit_is_a_clear_error(runcible, bundle):
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    bundle.config['process']['rlimits'] = [{'type': 'RLIMIT_NOFILE', 'soft': 1024, 'hard': hard + 1000}]
    bundle.write(['true'])
    container_id = new_id()
    result = runcible.cmd('run', '--bundle', bundle.path, container_id)
    assert result.returncode == 1
    assert 'process.rlimits[0]' in result.stderr and 'operation not permitted' in result.stderr
    assert_nothing_left(runcible, container_id)


def test_mount_destination_escaping_rootfs_is_refused(runcible, bundle, tmp_path):
    """A destination that climbs out through '..' or a symlink fails naming the field; the host is untouched."""
    outside = tmp_path / 'outside'
    os.symlink('../../../../../../../../' + str(outside).lstrip('/'), os.path.join(bundle.rootfs, 'evil'))
    for destination in ('/evil/sub', '/tmp/../../../escape'):
        bundle.config['mounts'] = bundle.config['mounts'][:7] + [
            {'destination': destination, 'type': 'tmpfs', 'source': 'tmpfs'}]
        bundle.write(['true'])
        container_id = new_id()
        result = runcible.cmd('create', '--bundle', bundle.path, container_id)
        assert result.returncode == 1
        assert 'mounts[7].destination' in result.stderr and 'outside the root filesystem' in result.stderr
        assert not outside.exists()
        assert_nothing_left(runcible, container_id)


def test_symlinks_inside_rootfs_are_resolved_inside(runcible, bundle, tmp_path):
    """An absolute symlink in the image points into the rootfs, never to the host path."""
    os.symlink('/srv/data', os.path.join(bundle.rootfs, 'data'))
    host = tmp_path / 'host'
    host.mkdir()
    (host / 'f').write_text('x')
    bundle.config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(host), 'options': ['bind']})
    bundle.write(['cat', '/srv/data/f'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert (result.returncode, result.stdout) == (0, 'x')
    assert not os.path.exists('/srv/data/f') or os.path.realpath('/srv/data') != str(host)
    assert os.path.isdir(os.path.join(bundle.rootfs, 'srv', 'data'))


@pytest.fixture
def reachable_bundle(busybox_template):
    """A bundle under a world-traversable folder: an init in a user namespace must reach its rootfs."""
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix='runcible-userns-')
    os.chmod(top, 0o755)
    yield Bundle(top, busybox_template)
    shutil.rmtree(top, ignore_errors=True)


def test_user_namespace_with_mappings(runcible, reachable_bundle):
    bundle = reachable_bundle
    os.chown(bundle.rootfs, 100000, 100000)
    for directory, subdirs, files in os.walk(bundle.rootfs):
        for name in subdirs + files:
            os.lchown(os.path.join(directory, name), 100000, 100000)
    bundle.config['linux']['namespaces'].append({'type': 'user'})
    bundle.config['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
    bundle.config['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
    bundle.write(['sh', '-c', 'id -u; cat /proc/self/uid_map; ls -ln /bin/busybox | cut -d" " -f3-4'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split('\n')
    assert lines[0] == '0'
    assert lines[1].split() == ['0', '100000', '65536']


def test_join_existing_network_namespace(runcible, bundle):
    name = 'rcb' + new_id()[1:8]
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    try:
        subprocess.run(['ip', 'netns', 'exec', name, 'ip', 'link', 'add', 'dummy7', 'type', 'veth', 'peer', 'name',
                        'dummy8'], check=True)
        for ns in bundle.config['linux']['namespaces']:
            if ns['type'] == 'network':
                ns['path'] = '/run/netns/' + name
        bundle.write(['sh', '-c', 'ip link show dummy7 >/dev/null && echo joined; readlink /proc/self/ns/net'])
        result = runcible.cmd('run', '--bundle', bundle.path, new_id())
        assert result.returncode == 0, result.stderr
        expected = 'net:[%d]' % os.stat('/run/netns/' + name).st_ino
        assert result.stdout.split() == ['joined', expected]
    finally:
        subprocess.run(['ip', 'netns', 'delete', name], check=False)


def test_cgroup_namespace_hides_host_paths(runcible, bundle):
    bundle.config['linux']['namespaces'].append({'type': 'cgroup'})
    bundle.write(['cat', '/proc/self/cgroup'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert result.returncode == 0, result.stderr
    paths = {line.split(':', 2)[2] for line in result.stdout.split()}
    assert paths == {'/'}


def test_new_network_namespace_has_loopback_up(runcible, bundle):
    bundle.write(['sh', '-c', 'ip -o link show lo; ip -o link | wc -l'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert result.returncode == 0, result.stderr
    first, count = result.stdout.splitlines()
    assert '<LOOPBACK,UP,LOWER_UP>' in first
    assert count.strip() == '1'


def test_recycled_pid_is_not_mistaken_for_the_container(runcible, bundle):
    """A state whose PID now belongs to another process (other start time) reads as stopped."""
    bundle.write(['sleep', '30'])
    container_id = new_id()
    runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    state_file = os.path.join(runcible.root, container_id, 'state.json')
    with open(state_file) as handle:
        data = json.load(handle)
    stranger = subprocess.Popen(['sleep', '30'])
    try:
        real_pid = data['pid']
        data['pid'] = stranger.pid
        with open(state_file, 'w') as handle:
            json.dump(data, handle)
        assert runcible.state(container_id)['status'] == 'stopped'
        assert runcible.cmd('kill', container_id, 'KILL').returncode == 1
        assert stranger.poll() is None
        data['pid'] = real_pid
        with open(state_file, 'w') as handle:
            json.dump(data, handle)
        assert runcible.state(container_id)['status'] == 'running'
    finally:
        stranger.kill()
        stranger.wait()


def test_concurrent_commands_never_corrupt_state(runcible, bundle):
    """Parallel create/state/list/delete on the same and different IDs."""
    bundle.write(['sleep', '30'])
    ids = [new_id() for _attempt in range(6)]
    errors = []

    def worker(container_id):
        try:
            runcible.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
            for _attempt in range(3):
                runcible.state(container_id)
                json.loads(runcible.cmd('list', '--format', 'json', check=True).stdout)
            runcible.cmd('delete', '--force', container_id, check=True)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def racer(container_id):
        # Races delete --force on the same container: either may win, neither may corrupt.
        for _attempt in range(5):
            result = runcible.cmd('state', container_id)
            if result.returncode == 0:
                json.loads(result.stdout)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    threads += [threading.Thread(target=racer, args=(i,)) for i in ids[:3]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    for container_id in ids:
        assert_nothing_left(runcible, container_id)


def test_no_host_fds_or_cwd_leak_into_the_container(runcible, bundle, tmp_path):
    """CVE-2024-21626: only stdio reaches the process; its cwd is inside the rootfs."""
    bundle.write(['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo; readlink /proc/self/cwd'])
    leaked = os.open(str(tmp_path), os.O_RDONLY)
    try:
        result = subprocess.run([PYTHON, RUNCIBLE, '--root', runcible.root, 'run', '--bundle', bundle.path,
                                 new_id()], capture_output=True, text=True, pass_fds=(leaked,), timeout=30,
                                check=False)
    finally:
        os.close(leaked)
    assert result.returncode == 0, result.stderr
    fds, cwd = result.stdout.splitlines()
    # 0-2 and the fd `ls` itself opens for /proc/self/fd
    assert fds.split() == ['0', '1', '2', '3']
    assert cwd == '/'


def test_delete_cleans_up_after_a_create_killed_half_way(runcible, bundle, tmp_path):
    """create is SIGKILLed while a createRuntime hook runs: the container reads as stopped and delete removes all."""
    marker = tmp_path / 'hook-started'
    hook = tmp_path / 'slow-hook.sh'
    hook.write_text('#!/bin/sh\ntouch %s\nexec sleep 30\n' % marker)
    hook.chmod(0o755)
    bundle.config['hooks'] = {'createRuntime': [{'path': str(hook)}]}
    bundle.write(['sleep', '30'])
    container_id = new_id()
    proc = subprocess.Popen([PYTHON, RUNCIBLE, '--root', runcible.root, 'create', '--bundle', bundle.path,
                             container_id], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists()
        assert runcible.state(container_id)['status'] == 'creating'
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    subprocess.run(['pkill', '-f', str(hook)], check=False)
    assert wait_status(runcible, container_id, 'stopped') == 'stopped'
    assert cgroup_dirs(container_id) != []
    runcible.cmd('delete', container_id, check=True)
    assert_nothing_left(runcible, container_id)
