# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One supervised container, as the monitor (supervisor/main.py) sees it: its holder and pipes, its
init, its log, its exits and restart policy, the module's requests, and taking it over from a
monitor that died."""

import os
import select
import sys
import time

from ..runtime import log as runtime_log
from ..runtime.linux import signals
from . import logs, records

QUICK_EXIT = 10.0
MAX_BACKOFF = 30.0
# A runtime command that takes longer is killed.
RUNTIME_TIMEOUT = 120
# How long a killed holder may take to be gone (it is a `sleep`: at once).
HOLDER_EXIT_WAIT = 2.0


class Watch:
    """One container: its pipes, holder, init, log and restart policy."""

    def __init__(self, monitor, directory, lock):
        self.monitor = monitor
        self.directory = directory
        self.lock = lock
        self.settings = records.read_json(os.path.join(directory, records.SETTINGS))
        self.status = {'supervisor_pid': monitor.pid, 'supervisor_start': monitor.start,
                       'state': 'starting', 'pid': None, 'pid_start': None, 'holder_pid': None,
                       'holder_start': None, 'started_at': None, 'finished_at': None,
                       'exit_code': None, 'last_exit_code': None, 'oom_killed': None, 'last_oom_killed': None,
                       'restart_count': 0, 'error': None, 'log_path': self.settings['log_path']}
        self.stopping = False
        self.done = False
        self.restart_at = None
        self.kill_deadline = None
        self.quick_failures = 0
        self.run_began = None
        self.restore_pending = bool(self.settings.get('restore_args'))
        self.oom_file = None
        self.oom_before = None
        self.out_r = self.err_r = None
        self.init_fd = None
        self.holder_fd = None
        self.result_r = None
        self.report_bytes = b''
        self.log = logs.LogWriter(self.settings['log_path'], self.settings.get('log_max_size') or 10485760,
                                  self.settings.get('log_max_files') or 3)

    # -- status and settings -------------------------------------------------

    def save(self, **changes):
        self.status.update(changes)
        try:
            records.write_json(os.path.join(self.directory, records.STATUS), self.status)
        except FileNotFoundError:
            if os.path.isdir(self.directory):
                raise
            # The module removed the folder (the container with it): nothing is left to watch.
            self.drop()

    def drop(self):
        """Let go of everything without a record: the folder is gone."""
        if self.done:
            return
        self.release()
        os.close(self.lock)

    def release(self):
        """Done with it: the holder goes, the pipes and the log are closed (the folder's lock is the caller's)."""
        self.done = True
        self.end_holder()
        self.close_pipes()
        try:
            self.log.close()
        except OSError:
            pass

    @property
    def runtime_log(self):
        return os.path.join(self.directory, records.RUNTIME_LOG)

    def runtime(self, *args):
        """Run the runtime's command line; (exit code, its last error message)."""
        from ..runtime.linux import spawn
        with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
            result = spawn.run(self.command(*args), stdio=(null_in.fileno(), null_out.fileno(), null_out.fileno()),
                               timeout=RUNTIME_TIMEOUT)
        return result.returncode, runtime_log.last_error(self.runtime_log)

    def command(self, *args):
        # settings['runtime'] is the runtime's argv up to and including its global flags.
        return list(self.settings['runtime']) + ['--log', self.runtime_log, '--log-format', 'json'] + list(args)

    def failure(self, what, code, message):
        reason = message or '%s exited with status %d and logged no error' % (self.settings['runtime'][0], code)
        return RuntimeError('%s failed: %s' % (what, reason))

    # -- the container ---------------------------------------------------------

    def launch(self):
        """Fork the holder, which creates (or restores) the container; its report comes through result_r."""
        pid_file = os.path.join(self.directory, records.PID_FILE)
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        if self.restore_pending:
            args = list(self.settings['restore_args']) + ['--pid-file', pid_file, self.settings['id']]
        else:
            args = ['create', '--bundle', self.settings['bundle'], '--pid-file', pid_file, self.settings['id']]
        self.close_pipes()
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            holder, self.result_r = self.monitor.fork_holder(self.command(*args), out_w, err_w, out_r, err_r,
                                                             self.directory)
        finally:
            os.close(out_w)
            os.close(err_w)
        self.out_r, self.err_r = out_r, err_r
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        self.holder_fd = records.pidfd(holder)
        self.save(state='starting', holder_pid=holder, holder_start=records.start_time(holder), pid=None, pid_start=None)

    def launched(self):
        """The holder's report came in (the runtime's exit status; complete when the holder closes the pipe by
        exec or exit): the container exists, or the create failed."""
        try:
            while True:
                chunk = os.read(self.result_r, 512)
                if not chunk:
                    break
                self.report_bytes += chunk
        except BlockingIOError:
            return
        os.close(self.result_r)
        self.result_r = None
        report, self.report_bytes = self.report_bytes, b''
        restoring, self.restore_pending = self.restore_pending, False
        what = 'restore' if restoring else 'create'
        text = report.decode('utf-8', 'replace')
        if not text.lstrip('-').isdigit():
            raise RuntimeError('%s failed: the holder process could not run the runtime (%s)'
                               % (what, text or 'it reported nothing'))
        code = int(text)
        if code != 0:
            raise self.failure(what, code, runtime_log.last_error(self.runtime_log))
        with open(os.path.join(self.directory, records.PID_FILE)) as handle:
            pid = int(handle.read().strip())
        # A zombie counts: a restored process may be done already; its holder keeps it until we read its code.
        started = records.start_time(pid, zombie=True)
        self.follow(pid)
        self.watch_oom(pid)
        if restoring:
            self.run_began = time.monotonic()
            self.save(state='running', pid=pid, pid_start=started, started_at=records.now(), exit_code=None,
                      oom_killed=None, finished_at=None, error=None)
        else:
            self.save(state='created', pid=pid, pid_start=started, exit_code=None, oom_killed=None,
                      finished_at=None, error=None)
            if self.settings.get('start', True) and not self.stopping:
                self.start()
        if self.stopping:
            # A stop came while it was being made.
            self.stop()

    def follow(self, pid):
        """Watch the init `pid` through a pidfd (readable once it exited); on kernels before 5.3 by polling."""
        self.init_fd = records.pidfd(pid)

    def start(self):
        code, message = self.runtime('start', self.settings['id'])
        if code != 0:
            raise self.failure('start', code, message)
        self.run_began = time.monotonic()
        self.save(state='running', started_at=records.now())

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

    def exited(self):
        """The init's wait status if it has exited (None: unknown, it was reaped by someone else), else False."""
        pid, started = self.status['pid'], self.status['pid_start']
        if pid in self.monitor.reaped:
            return self.monitor.reaped.pop(pid)
        if self.init_fd is not None:
            if not _readable(self.init_fd, 0):
                return False
        elif records.start_time(pid) == started and started is not None:
            return False
        status = records.zombie_status(pid, started)
        if status is None:
            # Our child (its holder is gone): reap it here; else someone else reaped it and its code is lost.
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
                if reaped == 0:
                    return False
            except ChildProcessError:
                status = None
        return status

    def on_exit(self, wait_status):
        """Record the exit and apply the policy; the holder goes (its zombie init with it)."""
        if wait_status is None:
            code = None
        elif os.WIFSIGNALED(wait_status):
            code = 128 + os.WTERMSIG(wait_status)
        else:
            code = os.WEXITSTATUS(wait_status)
        # Read before anything else: a restart deletes the container and its cgroup, and the count with it.
        oom_killed = self.oom_killed()
        self.drain()
        self.end_holder()
        self.kill_deadline = None
        ran = time.monotonic() - self.run_began if self.run_began else 0.0
        self.quick_failures = self.quick_failures + 1 if ran < QUICK_EXIT else 0
        exited = dict(exit_code=code, last_exit_code=code, oom_killed=oom_killed, last_oom_killed=oom_killed,
                      finished_at=records.now(), pid=None, pid_start=None)
        if os.path.exists(os.path.join(self.directory, records.CHECKPOINT_MARK)):
            self.finish(state='checkpointed', **exited)
            return
        if self.stopping:
            self.report_exit(code, oom_killed, 'stopped on request, not restarted')
            self.finish(state='stopped', **exited)
            return
        if self.should_restart(code):
            delay = min(0.1 * (2 ** max(self.quick_failures - 1, 0)), MAX_BACKOFF)
            self.restart_at = time.monotonic() + delay
            self.report_exit(code, oom_killed, 'restart %d in %.1f s' % (self.status['restart_count'] + 1, delay))
            self.save(state='restarting', **exited)
            return
        self.report_exit(code, oom_killed, 'not restarted')
        self.finish(state='exited', **exited)

    def end_holder(self):
        """Kill the holder: its zombie children go to the monitor (their subreaper), or to init after a re-adoption."""
        if self.init_fd is not None:
            os.close(self.init_fd)
            self.init_fd = None
        if self.holder_fd is not None:
            try:
                signals.pidfd_send_signal(self.holder_fd, signals.SIGKILL)
                # Until it is gone: then its zombie init is ours (we are its subreaper) and is reaped below, not
                # left to init, which may reap seconds late, or never if we exit first.
                _readable(self.holder_fd, HOLDER_EXIT_WAIT)
            except OSError:
                pass
            os.close(self.holder_fd)
            self.holder_fd = None
        elif self.status.get('holder_pid'):
            if records.start_time(self.status['holder_pid']) == self.status.get('holder_start'):
                os.kill(self.status['holder_pid'], signals.SIGKILL)
        self.status.update(holder_pid=None, holder_start=None)
        self.monitor.reap()
        if self.status.get('pid'):
            self.monitor.reaped.pop(self.status['pid'], None)

    def report_exit(self, code, oom_killed, decision):
        """One line per exit in the folder's supervisor.log: the code, why if known, what the policy did."""
        policy = self.settings.get('restart_policy') or 'no'
        if self.settings.get('restart_max'):
            policy += ':%d' % self.settings['restart_max']
        self.report('container %s exited with %s%s; restart policy %s: %s' % (
            self.settings['id'],
            'code %d' % code if code is not None else 'an unknown code (it exited while no monitor watched it, '
                                                      'and its holder was gone)',
            ' (killed by the kernel\'s OOM killer: the container reached its memory limit)' if oom_killed else '',
            policy, decision))

    def report(self, text):
        """A line in the folder's supervisor.log (and, under a systemd unit, on stderr: the journal)."""
        line = '%s %s\n' % (records.now(), text)
        try:
            with open(os.path.join(self.directory, records.SUPERVISOR_LOG), 'a') as handle:
                handle.write(line)
        except FileNotFoundError:
            pass
        if self.monitor.only:
            sys.stderr.write(line)
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
        """Stop signal, then SIGKILL after the stop timeout; the exit is recorded when the init is gone."""
        self.stopping = True
        if self.status['state'] in ('created', 'running'):
            self.runtime('kill', self.settings['id'], self.settings.get('stop_signal') or 'SIGTERM')
            self.kill_deadline = time.monotonic() + float(self.settings.get('stop_timeout', 10))
        elif self.status['state'] != 'starting':
            # Waiting to restart: there is nothing to stop.
            self.restart_at = None
            self.finish(state='stopped', pid=None, pid_start=None)

    def finish(self, **changes):
        """Done with for good: the record says so (supervisor_pid null), the pipes and the log are closed."""
        if self.done:
            return
        self.drain()
        self.release()
        changes.update(supervisor_pid=None, supervisor_start=None)
        self.status.update(changes)
        try:
            records.write_json(os.path.join(self.directory, records.STATUS), self.status)
        except FileNotFoundError:
            pass
        os.close(self.lock)

    def fail(self, exc):
        self.report('container %s: %s' % (self.settings.get('id'), exc))
        if self.status.get('pid'):
            # A start that failed leaves a created container: the module deletes it.
            self.status['pid'] = None
        self.finish(state='failed', error=str(exc))

    # -- requests ----------------------------------------------------------------

    def requested(self, name):
        """Take request file `name` (True if it was there)."""
        try:
            os.unlink(os.path.join(self.directory, 'request.' + name))
        except FileNotFoundError:
            return False
        return True

    def serve_requests(self):
        if self.requested('reload'):
            self.settings = records.read_json(os.path.join(self.directory, records.SETTINGS))
            self.reconfigure_log()
        if self.requested('stop'):
            self.stop()
        if not self.done and self.requested('start') and self.status['state'] == 'created' and not self.stopping:
            try:
                self.start()
            except RuntimeError as exc:
                self.save(error=str(exc))

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

    # -- output ------------------------------------------------------------------

    def read(self, fd):
        stream = 'stdout' if fd == self.out_r else 'stderr'
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            self.log.feed(stream, chunk)

    def drain(self):
        for fd, stream in ((self.out_r, 'stdout'), (self.err_r, 'stderr')):
            while fd is not None:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                self.log.feed(stream, chunk)
        self.log.flush()

    def close_pipes(self):
        for attribute in ('out_r', 'err_r', 'result_r'):
            fd = getattr(self, attribute)
            if fd is not None:
                os.close(fd)
                setattr(self, attribute, None)

    def fds(self):
        return [fd for fd in (self.out_r, self.err_r, self.result_r, self.init_fd) if fd is not None]

    # -- taking over from a monitor that died ------------------------------------

    def adopt(self, status):
        """Go on from `status`, written by a monitor that is gone."""
        self.status.update({key: value for key, value in status.items()
                            if key not in ('supervisor_pid', 'supervisor_start')})
        self.status['log_path'] = self.log.path
        holder = status.get('holder_pid')
        holder_alive = holder and records.start_time(holder) == status.get('holder_start')
        if holder_alive:
            self.holder_fd = records.pidfd(holder)
            try:
                self.out_r, self.err_r = [os.open('/proc/%d/fd/%d' % (holder, fd),
                                                  os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC) for fd in records.HOLDER_FDS]
            except OSError:
                self.close_pipes()
        state = status.get('state')
        self.report('container %s taken over from monitor %s (state %s%s)'
                    % (self.settings['id'], status.get('supervisor_pid'), state,
                       '' if holder_alive else '; its holder was gone: its output since then is lost'))
        if state == 'starting' or state == 'restarting' or not status.get('pid'):
            # A create that was under way, or a restart that was due: begin it again.
            self.end_holder()
            self.close_pipes()
            self.restart_at = time.monotonic()
            self.save(state='restarting')
            return
        self.follow(status['pid'])
        self.watch_oom(status['pid'])
        if state == 'running':
            self.run_began = time.monotonic()
        self.save()


def _readable(fd, timeout):
    """Is `fd` readable within `timeout` seconds? (poll: fd numbers pass select's 1024 on a host with many
    containers)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(int(timeout * 1000)))
