# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a helper program (a hook, ps) with input, captured output and a time limit.

fork, exec and pipes directly: the subprocess module costs every command
start-up time, and this is all the runtime needs of it.
"""

import os
import select
import time

from . import migration_lock, signals

_RESET = (signals.number('SIGPIPE'), signals.number('SIGXFSZ'))


class Result:
    def __init__(self, returncode, stdout, stderr, timed_out=False):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out


def run(argv, executable=None, env=None, input_bytes=b'', timeout=None, stdio=None):
    """Run `argv` (found on PATH unless `executable` is given); returncode < 0 means killed by that signal.

    With `stdio` (three fds) the program gets those as its stdin, stdout and
    stderr and nothing is captured (stdout and stderr come back empty).
    """
    if stdio is not None:
        return _run_with_stdio(argv, executable, env, timeout, stdio)
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    environment = dict(os.environ) if env is None else env
    try:
        pid = _start(argv, executable, environment, (in_r, out_w, err_w))
    except BaseException:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    outputs, timed_out = communicate(pid, in_w, out_r, err_r, input_bytes, timeout)
    _pid, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return Result(code, outputs[out_r], outputs[err_r], timed_out)


def _start(argv, executable, environment, stdio):
    """Fork and exec with `stdio`; OSError (as exec raised it) when the program cannot run."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    migration_lock.stop()
    pid = os.fork()
    if pid == 0:
        _child(argv, executable, environment, stdio, report_w)
    os.close(report_w)
    failure = os.read(report_r, 1024)
    os.close(report_r)
    if failure:
        os.waitpid(pid, 0)
        code, _sep, message = failure.decode('utf-8', 'replace').partition(':')
        raise OSError(int(code), message)
    return pid


def _run_with_stdio(argv, executable, env, timeout, stdio):
    pid = _start(argv, executable, dict(os.environ) if env is None else env, stdio)
    timed_out = False
    if timeout is not None:
        pidfd = signals.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(int(timeout * 1000)):
                os.kill(pid, signals.SIGKILL)
                timed_out = True
        finally:
            os.close(pidfd)
    _pid, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return Result(code, b'', b'', timed_out)


def _child(argv, executable, environment, stdio, report_w):
    """In the fork: stdio from the pipes, default SIGPIPE/SIGXFSZ, exec; report why exec failed."""
    try:
        for target, fd in enumerate(stdio):
            if fd == target:
                os.set_inheritable(fd, True)
            else:
                os.dup2(fd, target)
        for signum in _RESET:
            signals.signal(signum, signals.SIG_DFL)
        if executable:
            os.execve(executable, argv, environment)
        os.execvpe(argv[0], argv, environment)
    except OSError as exc:
        os.write(report_w, ('%d:%s' % (exc.errno or 0, exc.strerror or exc)).encode())
    finally:
        os._exit(127)


def communicate(pid, in_w, out_r, err_r, data, timeout):
    """Feed `data` to process `pid` and collect its output: ({fd: bytes}, timed out).

    Closes all three pipe ends; kills the process at the deadline.
    """
    try:
        return _exchange(pid, in_w, out_r, err_r, data, timeout)
    finally:
        for fd in (out_r, err_r):
            os.close(fd)


def _exchange(pid, in_w, out_r, err_r, data, timeout):
    deadline = None if timeout is None else time.monotonic() + timeout
    outputs = {out_r: b'', err_r: b''}
    readers = [out_r, err_r]
    writers = [in_w] if data else []
    if not data:
        os.close(in_w)
    while readers or writers:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if wait == 0.0:
            os.kill(pid, signals.SIGKILL)
            if writers:
                os.close(in_w)
            return outputs, True
        readable, writable, _failed = select.select(readers, writers, [], wait)
        if writable:
            try:
                written = signals.write_no_sigpipe(in_w, data[:65536])
            except BrokenPipeError:
                written = len(data)
            data = data[written:]
            if not data:
                writers = []
                os.close(in_w)
        for fd in readable:
            chunk = os.read(fd, 65536)
            if chunk:
                outputs[fd] += chunk
            else:
                readers.remove(fd)
    return outputs, False
