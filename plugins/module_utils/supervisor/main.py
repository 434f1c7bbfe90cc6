# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's supervisor: a small process that outlives the Ansible task.

It creates (and starts) the container through the runtime's command line
with pipes as the container's stdout and stderr, writes what comes out of
them to the log file, reaps the container's init (it is the child
subreaper, so the init becomes its child), records the exit code and times,
and applies the restart policy with back-off.

Its folder holds settings.json (what the module wants; re-read on SIGHUP,
and its log settings applied at once)
and status.json (what happened; written atomically). SIGTERM stops the
container (stop signal, then SIGKILL after the stop timeout) without a
restart; SIGUSR1 starts a container it only created.

Checkpoint and restore (oci_checkpoint): settings may carry `restore_args`,
the runtime's `restore -d` arguments: the first launch then restores the
container from its checkpoint instead of creating it, with the same pipes as
its stdio (CRIU hands them to the restored processes in place of the ones
they had), so its output goes on into the same log; later restarts create
it afresh from the bundle. While oci_checkpoint dumps a container it keeps
the file `checkpoint.json` in the folder: an exit of the init while that
file exists is the dump's end, recorded as state `checkpointed`, never
restarted.

It imports little on purpose: its memory is the cost of every container.
"""

import os
import select
import sys
import time

from ..runtime import jsonc
from ..runtime import log as runtime_log
from ..runtime.linux import signals
from . import logs

SETTINGS = 'settings.json'
STATUS = 'status.json'
RUNTIME_LOG = 'runtime.log'
PID_FILE = 'init.pid'
CHECKPOINT_MARK = 'checkpoint.json'
QUICK_EXIT = 10.0
MAX_BACKOFF = 30.0


def now():
    return logs.timestamp()


def write_json(path, data):
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(temporary, 'w') as handle:
        handle.write(jsonc.dumps(data))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_json(path):
    with open(path, 'rb') as handle:
        return jsonc.loads(handle.read())


def start_time(pid):
    """Field 22 of /proc/<pid>/stat: tells a recycled PID apart.

    None when the process is gone or has exited and waits, a zombie, for its
    parent to reap it: a detached supervisor's parent is init, which may reap late.
    """
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b')') + 2:].split()
    if fields[0] in (b'Z', b'X', b'x'):
        return None
    return int(fields[19])


class Supervisor:

    def __init__(self, directory):
        self.directory = directory
        self.settings = read_json(os.path.join(directory, SETTINGS))
        self.status = {'supervisor_pid': os.getpid(), 'supervisor_start': start_time(os.getpid()),
                       'state': 'starting', 'pid': None, 'started_at': None, 'finished_at': None,
                       'exit_code': None, 'last_exit_code': None, 'oom_killed': None, 'last_oom_killed': None,
                       'restart_count': 0, 'error': None, 'log_path': self.settings['log_path']}
        self.stopping = False
        self.want_start = False
        self.reload = False
        self.restart_at = None
        self.quick_failures = 0
        self.run_began = None
        self.restore_pending = bool(self.settings.get('restore_args'))
        self.oom_file = None
        self.oom_before = None

    # -- status and settings -------------------------------------------------

    def save(self, **changes):
        self.status.update(changes)
        write_json(os.path.join(self.directory, STATUS), self.status)

    def runtime(self, *args, stdio=None):
        """Run the runtime's command line; (exit code, its last error message)."""
        from ..runtime.linux import spawn
        log = os.path.join(self.directory, RUNTIME_LOG)
        # settings['runtime'] is the runtime's argv up to and including its global flags.
        command = list(self.settings['runtime']) + ['--log', log, '--log-format', 'json'] + list(args)
        if stdio is None:
            with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
                result = spawn.run(command, stdio=(null_in.fileno(), null_out.fileno(), null_out.fileno()),
                                   timeout=120)
        else:
            result = spawn.run(command, stdio=stdio, timeout=120)
        return result.returncode, runtime_log.last_error(log)

    # -- the container ---------------------------------------------------------

    def launch(self):
        """create (and start) the container; the init becomes our child."""
        settings = self.settings
        pid_file = os.path.join(self.directory, PID_FILE)
        if self.restore_pending:
            self.restore_pending = False
            self.restore(pid_file)
            return
        code, message = self.runtime('create', '--bundle', settings['bundle'], '--pid-file', pid_file,
                                     settings['id'], stdio=(self.stdin, self.out_w, self.err_w))
        if code != 0:
            raise RuntimeError('create failed: %s' % (message or '%s exited with status %d and logged no error'
                                                      % (self.settings['runtime'][0], code)))
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        self.watch_oom(pid)
        self.save(state='created', pid=pid, exit_code=None, oom_killed=None, finished_at=None, error=None)
        if settings.get('start', True):
            self.start()

    def restore(self, pid_file):
        """Restore the container from its checkpoint (settings['restore_args']); it runs at once."""
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        code, message = self.runtime(*(list(self.settings['restore_args']) + ['--pid-file', pid_file, self.settings['id']]),
                                     stdio=(self.stdin, self.out_w, self.err_w))
        if code != 0:
            raise RuntimeError('restore failed: %s' % (message or '%s exited with status %d and logged no error'
                                                       % (self.settings['runtime'][0], code)))
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        self.watch_oom(pid)
        self.run_began = time.monotonic()
        self.save(state='running', pid=pid, started_at=now(), exit_code=None, oom_killed=None, finished_at=None,
                  error=None)

    def start(self):
        code, message = self.runtime('start', self.settings['id'])
        if code != 0:
            raise RuntimeError('start failed: %s' % (message or '%s exited with status %d and logged no error'
                                                     % (self.settings['runtime'][0], code)))
        self.run_began = time.monotonic()
        self.save(state='running', started_at=now())

    def watch_oom(self, pid):
        """Find the memory cgroup of the container's init and its OOM kill count now (its cgroup is new, but
        linux.cgroupsPath may name one that exists)."""
        from ..runtime.cgroups import oom
        try:
            self.oom_file = oom.counter_file(pid)
        except (OSError, ValueError):
            # The host's cgroup layout could not be read: the exits are reported without it.
            self.oom_file = None
        self.oom_before = oom.kills(self.oom_file)

    def oom_killed(self):
        """Did the kernel's OOM killer end a process of the container since it was launched? None: cannot tell."""
        if self.oom_before is None:
            return None
        from ..runtime.cgroups import oom
        count = oom.kills(self.oom_file)
        return None if count is None else count > self.oom_before

    def on_exit(self, wait_status):
        code = 128 + os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else os.WEXITSTATUS(wait_status)
        # Read before anything else: a restart deletes the container and its cgroup, and the count with it.
        oom_killed = self.oom_killed()
        self.drain()
        ran = time.monotonic() - self.run_began if self.run_began else 0.0
        self.quick_failures = self.quick_failures + 1 if ran < QUICK_EXIT else 0
        exited = dict(exit_code=code, last_exit_code=code, oom_killed=oom_killed, last_oom_killed=oom_killed,
                      finished_at=now(), pid=None)
        if os.path.exists(os.path.join(self.directory, CHECKPOINT_MARK)):
            self.save(state='checkpointed', **exited)
            return False
        if self.stopping:
            self.report_exit(code, oom_killed, 'stopped on request, not restarted')
            self.save(state='stopped', **exited)
            return False
        if self.should_restart(code):
            delay = min(0.1 * (2 ** max(self.quick_failures - 1, 0)), MAX_BACKOFF)
            self.restart_at = time.monotonic() + delay
            self.report_exit(code, oom_killed, 'restart %d in %.1f s' % (self.status['restart_count'] + 1, delay))
            self.save(state='restarting', **exited)
            return True
        self.report_exit(code, oom_killed, 'not restarted')
        self.save(state='exited', **exited)
        return False

    def report_exit(self, code, oom_killed, decision):
        """One line in the supervisor's log (its stderr) per exit: the code, why if known, what the policy did."""
        policy = self.settings.get('restart_policy') or 'no'
        if self.settings.get('restart_max'):
            policy += ':%d' % self.settings['restart_max']
        sys.stderr.write('%s container %s exited with code %d%s; restart policy %s: %s\n' % (
            now(), self.settings['id'], code,
            ' (killed by the kernel\'s OOM killer: the container reached its memory limit)' if oom_killed else '',
            policy, decision))
        sys.stderr.flush()

    def should_restart(self, code):
        policy = self.settings.get('restart_policy') or 'no'
        limit = self.settings.get('restart_max') or 0
        if policy in ('always', 'unless-stopped'):
            return True
        if policy == 'on-failure' and code != 0:
            return not limit or self.status['restart_count'] < limit
        return False

    def restart(self):
        self.restart_at = None
        self.runtime('delete', '--force', self.settings['id'])
        self.save(restart_count=self.status['restart_count'] + 1)
        self.launch()

    def stop(self):
        """Stop signal, then SIGKILL after the stop timeout; the exit is recorded by the main loop."""
        self.stopping = True
        if self.restart_at is not None or self.status['state'] != 'running' and self.status['state'] != 'created':
            self.restart_at = None
            self.save(state='stopped', pid=None)
            return
        self.runtime('kill', self.settings['id'], self.settings.get('stop_signal') or 'SIGTERM')
        self.kill_deadline = time.monotonic() + float(self.settings.get('stop_timeout', 10))

    # -- the loop --------------------------------------------------------------

    def drain(self):
        for fd, stream in ((self.out_r, 'stdout'), (self.err_r, 'stderr')):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                self.log.feed(stream, chunk)
        self.log.flush()

    def reap(self):
        """Reap every child that exited; True if the container's init was among them."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            if pid == self.status.get('pid'):
                return wait_status

    def run(self):
        from ..runtime.linux import consts, syscalls
        syscalls.prctl(consts.PR_SET_CHILD_SUBREAPER, 1)
        wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        signals.set_wakeup_fd(wake_w)
        for signum, flag in ((signals.SIGTERM, 'stopping'), (signals.number('SIGHUP'), 'reload'),
                             (signals.number('SIGUSR1'), 'want_start')):
            signals.signal(signum, self._flagger(flag))
        signals.signal(signals.SIGCHLD, lambda *args: None)
        self.out_r, self.out_w = os.pipe2(os.O_CLOEXEC)
        self.err_r, self.err_w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self.out_r, False)
        os.set_blocking(self.err_r, False)
        self.stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.log = logs.LogWriter(self.settings['log_path'], self.settings.get('log_max_size') or 10485760,
                                  self.settings.get('log_max_files') or 3)
        self.kill_deadline = None
        try:
            self.launch()
        except Exception as exc:  # pylint: disable=broad-except
            self.save(state='failed', error=str(exc))
            return 1
        stop_requested = False
        while True:
            timeout = None
            for deadline in (self.restart_at, self.kill_deadline):
                if deadline is not None:
                    left = max(0.0, deadline - time.monotonic())
                    timeout = left if timeout is None else min(timeout, left)
            try:
                ready, _writable, _failed = select.select([self.out_r, self.err_r, wake_r], [], [], timeout)
            except InterruptedError:
                ready = []
            for fd, stream in ((self.out_r, 'stdout'), (self.err_r, 'stderr')):
                if fd in ready:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        chunk = b''
                    if chunk:
                        self.log.feed(stream, chunk)
            if wake_r in ready:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            if self.reload:
                self.reload = False
                self.settings = read_json(os.path.join(self.directory, SETTINGS))
                self.reconfigure_log()
            if self.stopping and not stop_requested:
                stop_requested = True
                self.stop()
                if self.status['state'] == 'stopped':
                    break
            if self.want_start:
                self.want_start = False
                if self.status['state'] == 'created':
                    try:
                        self.start()
                    except RuntimeError as exc:
                        self.save(error=str(exc))
            if self.kill_deadline is not None and time.monotonic() >= self.kill_deadline:
                self.kill_deadline = None
                self.runtime('kill', self.settings['id'], 'SIGKILL')
            wait_status = self.reap()
            if wait_status is not None:
                self.kill_deadline = None
                if not self.on_exit(wait_status):
                    break
            if self.restart_at is not None and time.monotonic() >= self.restart_at:
                try:
                    self.restart()
                except Exception as exc:  # pylint: disable=broad-except
                    self.save(state='failed', error=str(exc))
                    break
        self.drain()
        self.log.close()
        return 0

    def reconfigure_log(self):
        """Apply the log settings just re-read: the container's output goes on into the new path at once."""
        try:
            self.log.reconfigure(self.settings['log_path'], self.settings.get('log_max_size') or 10485760,
                                 self.settings.get('log_max_files') or 3)
        except OSError as exc:
            self.save(error='log_path %s: %s (the log stays at %s)'
                      % (self.settings['log_path'], exc.strerror, self.log.path))
            return
        self.save(log_path=self.log.path)

    def _flagger(self, name):
        def handler(_signum, _frame):
            setattr(self, name, True)
        return handler


def main(argv=None):
    """supervise <folder>: run until the container is gone for good."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write('usage: supervise <supervisor folder>\n')
        return 2
    try:
        return Supervisor(argv[0]).run()
    except Exception as exc:  # pylint: disable=broad-except
        # Whatever went wrong, the module waiting for us must learn it.
        write_json(os.path.join(argv[0], STATUS), {'state': 'failed', 'error': 'supervisor: %r' % exc,
                                                   'supervisor_pid': os.getpid()})
        raise
