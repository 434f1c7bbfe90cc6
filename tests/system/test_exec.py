# -*- coding: utf-8 -*-
"""exec and terminals: same output and exit codes as runc; the joining process is sealed off."""

import json
import os
import socket
import subprocess
import threading
import time

import pytest

from systemlib import PYTHON, RUNCIBLE, error_message, new_id


def _start(runtime, bundle, args=('sleep', '60')):
    bundle.write(list(args))
    container_id = new_id()
    runtime.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    return container_id


def _normalise(text):
    import re
    text = re.sub(r'^\S*(runc|runcible)\b', 'PROG', text or '')
    return re.sub(r'\bt[0-9a-f]{10}\b', 'ID', text)


EXEC_CASES = [
    # (flags, command, compare stderr too)
    ([], ['sh', '-c', 'echo out; echo err >&2; exit 3'], True),
    (['--user', '101:201', '--additional-gids', '7'], ['id'], True),
    (['--user', '101'], ['id'], True),
    (['--env', 'FOO=bar', '--env', 'PATH=/bin'], ['sh', '-c', 'echo $FOO $PATH'], True),
    (['--cwd', '/etc'], ['pwd'], True),
    (['--cap', 'CAP_SYS_ADMIN'], ['grep', 'Cap', '/proc/self/status'], True),
    (['--no-new-privs'], ['grep', 'NoNewPrivs', '/proc/self/status'], True),
    ([], ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; ls /proc | grep -c "^[0-9]"'], True),
    ([], ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "'], True),
    ([], ['nosuchcommand'], False),
    (['--cwd', '/nonexistent'], ['true'], False),
    ([], [], False),
]


@pytest.mark.parametrize('flags, command, with_stderr', EXEC_CASES)
def test_exec_matches_runc(pair, make_bundle, flags, command, with_stderr):
    """stdout, exit code and error message of `exec`, runcible against runc."""
    results = []
    for runtime in pair:
        container_id = _start(runtime, make_bundle())
        result = runtime.cmd('exec', *(flags + [container_id] + command))
        results.append((result.returncode, result.stdout, _normalise(error_message(result.stderr)),
                        result.stderr if with_stderr else ''))
    ours, theirs = results
    assert ours == theirs


def test_exec_joins_every_namespace_and_cgroup(runcible, bundle):
    container_id = _start(runcible, bundle)
    init = runcible.state(container_id)['pid']
    script = 'for n in mnt pid net ipc uts cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup'
    result = runcible.cmd('exec', container_id, 'sh', '-c', script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = [os.readlink('/proc/%d/ns/%s' % (init, n)) for n in ('mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup')]
    assert lines[:6] == expected
    with open('/proc/%d/cgroup' % init) as handle:
        assert sorted(lines[6:]) == sorted(handle.read().splitlines())


def test_exec_detached_with_pid_file(runcible, bundle, tmp_path):
    container_id = _start(runcible, bundle)
    pid_file = tmp_path / 'exec.pid'
    runcible.cmd('exec', '-d', '--pid-file', str(pid_file), container_id, 'sleep', '30', check=True)
    pid = int(pid_file.read_text())
    with open('/proc/%d/cmdline' % pid, 'rb') as handle:
        assert handle.read().split(b'\0')[:2] == [b'sleep', b'30']
    assert os.readlink('/proc/%d/ns/pid' % pid) == os.readlink('/proc/%d/ns/pid' % runcible.state(container_id)['pid'])


def test_exec_with_process_file(runcible, bundle, tmp_path):
    container_id = _start(runcible, bundle)
    process = {'args': ['sh', '-c', 'echo $A; id -u; pwd'], 'env': ['A=from-file', 'PATH=/bin'], 'cwd': '/bin',
               'user': {'uid': 5, 'gid': 5}, 'terminal': False}
    path = tmp_path / 'process.json'
    path.write_text(json.dumps(process))
    result = runcible.cmd('exec', '--process', str(path), container_id)
    assert (result.returncode, result.stdout) == (0, 'from-file\n5\n/bin\n'), result.stderr


def test_exec_refused_in_stopped_and_paused_states(runcible, bundle):
    container_id = _start(runcible, bundle)
    runcible.cmd('kill', container_id, 'KILL', check=True)
    for _attempt in range(100):
        if runcible.state(container_id)['status'] == 'stopped':
            break
        time.sleep(0.05)
    result = runcible.cmd('exec', container_id, 'true')
    assert result.returncode == 255
    assert error_message(result.stderr) == 'exec failed: cannot exec in a stopped container'


def test_exec_exit_code_and_signal_forwarding(runcible, bundle):
    container_id = _start(runcible, bundle)
    proc = subprocess.Popen([PYTHON, RUNCIBLE, '--root', runcible.root, 'exec', container_id, 'sh', '-c',
                             'trap "exit 9" TERM; echo ready; while true; do sleep 0.1; done'],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline() == 'ready\n'
        proc.terminate()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == 9


WATCHER_C = r'''
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
/* Look for any process in this PID namespace whose /proc/<pid>/exe resolves to
   a file outside the container (the host interpreter of a joining runtime).
   CVE-2019-5736 overwrote runc through exactly that link. */
int main(int argc, char **argv) {
    time_t end = time(NULL) + atoi(argv[1]);
    char path[64], target[4096];
    while (time(NULL) < end) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n > 0) {
                target[n] = 0;
                if (strstr(target, "python")) { printf("LEAK %s -> %s\n", path, target); fflush(stdout); return 1; }
            }
        }
        if (d) closedir(d);
    }
    printf("sealed\n");
    return 0;
}
'''


def test_joining_process_exe_is_not_reachable_from_the_container(runcible, bundle, tmp_path):
    """CVE-2019-5736: while `exec` joins, a container process must not reach /proc/<pid>/exe of it.

    Without the defence (PR_SET_DUMPABLE 0 before entering the PID namespace)
    the watcher sees the runtime's Python interpreter behind /proc/<pid>/exe
    during each exec's set-up and reports LEAK; with it, readlink fails.
    """
    import shutil
    if shutil.which('gcc') is None:
        pytest.skip('gcc is needed to build the static watcher')
    source = tmp_path / 'watcher.c'
    source.write_text(WATCHER_C.replace('#include <time.h>', '#include <time.h>\n#include <stdlib.h>'))
    binary = os.path.join(bundle.rootfs, 'bin', 'watcher')
    subprocess.run(['gcc', '-static', '-O2', '-o', binary, str(source)], check=True)
    container_id = _start(runcible, bundle, ('sh', '-c', 'watcher 20 > /dev/shm/watch.log; sleep 60'))
    deadline = time.monotonic() + 20
    for _attempt in range(40):
        if time.monotonic() > deadline:
            break
        runcible.cmd('exec', container_id, 'true', check=True)
    result = runcible.cmd('exec', container_id, 'sh', '-c', 'cat /dev/shm/watch.log; pkill watcher; true')
    assert result.stdout.strip() in ('', 'sealed'), result.stdout
    assert 'LEAK' not in result.stdout


def test_exec_does_not_leak_host_fds_or_cwd(runcible, bundle, tmp_path):
    container_id = _start(runcible, bundle)
    leaked = os.open(str(tmp_path), os.O_RDONLY)
    try:
        result = subprocess.run([PYTHON, RUNCIBLE, '--root', runcible.root, 'exec', container_id, 'sh', '-c',
                                 'ls /proc/self/fd | sort -n | tr "\\n" " "; readlink /proc/self/cwd'],
                                capture_output=True, text=True, pass_fds=(leaked,), cwd=str(tmp_path), timeout=30,
                                check=False)
    finally:
        os.close(leaked)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '0 1 2 3 /\n'


def _console_receiver(path):
    """A runc `recvtty`-like server: returns (thread, result dict) collecting the pty output."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(20)
    result = {}

    def serve():
        try:
            conn, _address = server.accept()
            name, fds, _flags, _address = socket.recv_fds(conn, 4096, 1)
            result['name'] = name
            data = b''
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(fds[0], 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            result['output'] = data
            os.close(fds[0])
            conn.close()
        finally:
            server.close()

    thread = threading.Thread(target=serve)
    thread.start()
    return thread, result


def test_console_socket_receives_the_pty_master(any_runtime, bundle, tmp_path):
    bundle.config['process']['terminal'] = True
    bundle.write(['sh', '-c', 'tty; ls -l /dev/console | cut -c1-10; echo done'])
    path = str(tmp_path / 'console.sock')
    thread, result = _console_receiver(path)
    container_id = new_id()
    any_runtime.cmd('create', '--console-socket', path, '--bundle', bundle.path, container_id, check=True)
    any_runtime.cmd('start', container_id, check=True)
    thread.join(30)
    assert result['name'] == b'/dev/ptmx'
    assert result['output'].replace(b'\r\n', b'\n') == b'/dev/pts/0\ncrw--w----\ndone\n'


def test_terminal_without_console_socket_is_refused_when_detached(pair, bundle):
    bundle.config['process']['terminal'] = True
    bundle.write(['true'])
    codes = []
    for runtime in pair:
        result = runtime.cmd('run', '-d', '--bundle', bundle.path, new_id())
        codes.append(result.returncode)
        assert 'cannot allocate tty if' in error_message(result.stderr)
        assert runtime.ids() == []
    assert codes == [1, 1]


def test_foreground_run_with_terminal_proxies_io(runcible, bundle):
    bundle.config['process']['terminal'] = True
    bundle.config['process']['consoleSize'] = {'height': 30, 'width': 100}
    bundle.write(['sh', '-c', 'read line; echo "got $line"; tty; stty size; exit 4'])
    proc = subprocess.run([PYTHON, RUNCIBLE, '--root', runcible.root, 'run', '--bundle', bundle.path, new_id()],
                          input='hello\n', capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stdout.replace('\r', '').splitlines()
    assert 'got hello' in lines and '/dev/pts/0' in lines and '30 100' in lines


def test_exec_with_tty_and_console_socket(runcible, bundle, tmp_path):
    container_id = _start(runcible, bundle)
    path = str(tmp_path / 'exec-console.sock')
    thread, result = _console_receiver(path)
    runcible.cmd('exec', '-t', '-d', '--console-socket', path, container_id, 'sh', '-c', 'tty; echo fine',
                 check=True)
    thread.join(30)
    assert result['output'].replace(b'\r\n', b'\n') == b'/dev/pts/0\nfine\n'


def test_ps_matches_runc(pair, bundle):
    """ps: the same header and one line per container process; --format json lists the PIDs."""
    shapes = []
    for runtime in pair:
        container_id = _start(runtime, bundle, ('sh', '-c', 'sleep 60 & sleep 60 & wait'))
        time.sleep(0.2)
        pids = json.loads(runtime.cmd('ps', '--format', 'json', container_id, check=True).stdout)
        table = runtime.cmd('ps', container_id, check=True).stdout.splitlines()
        custom = runtime.cmd('ps', container_id, '-o', 'pid,comm', check=True).stdout.splitlines()
        assert sorted(int(line.split()[1]) for line in table[1:]) == sorted(pids)
        shapes.append((len(pids), table[0], [line.split()[1] for line in custom[1:]], custom[0]))
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == 3 and shapes[0][2] == ['sh', 'sleep', 'sleep']


LIBRARY_SCRIPT = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from runtime.container import create, delete, exec as execmod, start
root, container_id, bundle, out_path = sys.argv[2:6]
with open('/dev/null', 'rb') as devnull, open(out_path, 'wb') as out:
    state = create.create(root, container_id, bundle, stdio=(devnull.fileno(), out.fileno(), out.fileno()))
report = {}
try:
    start.start(root, container_id)
    process = dict(state.config['process'], args=['sh', '-c', 'cat; echo to-stderr >&2; exit 6'])
    code, stdout, stderr, timed_out = execmod.run_captured(root, container_id, process, input_bytes=b'piped in\n',
                                                           timeout=20)
    report['captured'] = [code, stdout.decode(), stderr.decode(), timed_out]
    code, _out, _err, timed_out = execmod.run_captured(root, container_id, dict(process, args=['sleep', '30']),
                                                       timeout=0.5)
    report['timeout'] = [code, timed_out]
finally:
    delete.delete(root, container_id, force=True)
print(json.dumps(report))
'''


def test_library_exec_captures_output_and_create_takes_stdio(tmp_path, bundle):
    """The runtime as the modules call it: create with stdio of our choosing, exec with output captured.

    In a process of its own: the runtime forks, which a multi-threaded test runner must not.
    """
    from systemlib import REPO
    out_path = tmp_path / 'init.out'
    bundle.write(['sh', '-c', 'echo init-says-hello; sleep 30'])
    result = subprocess.run([PYTHON, '-c', LIBRARY_SCRIPT, os.path.join(REPO, 'plugins', 'module_utils'),
                             str(tmp_path / 'lib-root'), new_id(), bundle.path, str(out_path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report['captured'] == [6, 'piped in\n', 'to-stderr\n', False]
    assert report['timeout'] == [128 + 9, True]
    assert out_path.read_text() == 'init-says-hello\n'
