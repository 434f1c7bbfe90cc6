# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container supervision: one monitor process for all the containers of a host.

The monitor creates (and starts) each container through the runtime's
command line with pipes as the container's stdout and stderr, writes what
comes out of them to the container's log file, records its exit code and
times, and applies its restart policy with back-off.

Every container also has a holder: a process that runs `sleep` and so costs
next to nothing (about 0.1 MiB of its own). The monitor forks it, it sets
itself child subreaper, runs the runtime's `create` (or `restore`) and
reports its exit status to the monitor, then execs `sleep` keeping the read
ends of the container's output pipes as its fds 3 and 4. So the holder,
not the monitor, is the parent of the container's init, and it never reaps
it. Whatever happens to the monitor, the container keeps running, its
output pipes keep a reader (a write blocks once 64 KiB wait, it never gets
SIGPIPE), and when the init exits its exit status waits in the kernel, in
the zombie, until a monitor reads it from /proc/<pid>/stat. A new monitor
re-adopts every container whose status names a monitor that is gone: it
reopens the pipes through /proc/<holder>/fd and watches the init through a
pidfd.

Each container's folder holds settings.json (what the module wants),
status.json (what happened; written atomically) and, while the module asks
for something, a request file: request.launch, request.start,
request.stop, request.reload. The module writes the file and sends the
monitor SIGUSR1; the monitor looks at every folder on each such signal.
A stop stops the container (stop signal, then SIGKILL after the stop
timeout) without a restart; status.json's supervisor_pid goes null when a
container is done with for good (exited without restart, stopped, failed,
checkpointed).

Two ways to run it:

    supervise --root <root> --tag <tag>  the host's monitor (one per root and
                                         version of this code, the tag; found in
                                         <root>/monitor-<tag>.json; it exits when
                                         it has nothing left to watch)
    supervise <folder>                   one container's monitor in the
                                         foreground (a systemd unit's main
                                         process); SIGTERM stops the container

SIGTERM to either stops its containers and exits.

Checkpoint and restore (oci_checkpoint): settings may carry `restore_args`,
the runtime's `restore -d` arguments: the first launch then restores the
container from its checkpoint instead of creating it, with the same pipes as
its stdio (CRIU hands them to the restored processes in place of the ones
they had), so its output goes on into the same log; later restarts create
it afresh from the bundle. While oci_checkpoint dumps a container it keeps
the file `checkpoint.json` in the folder: an exit of the init while that
file exists is the dump's end, recorded as state `checkpointed`, never
restarted.

It imports little on purpose: its memory is part of the cost of every container.
"""

import fcntl
import os
import resource
import select
import sys
import time

from ..runtime.linux import signals
from . import records
from .watch import RUNTIME_TIMEOUT, Watch


def find_sleep():
    """The `sleep` program a holder becomes; None when the host has none (the holder then waits in Python)."""
    for directory in ('/usr/bin', '/bin', '/usr/local/bin', '/sbin', '/usr/sbin'):
        path = os.path.join(directory, 'sleep')
        if os.access(path, os.X_OK):
            return path
    return None


class Monitor:
    """The process that watches containers: every folder under `root`, or just `only`."""

    def __init__(self, root=None, only=None, tag=None):
        self.root = root
        self.only = only
        self.tag = tag
        self.pid = os.getpid()
        self.start = records.start_time(self.pid)
        self.watches = {}
        self.reaped = {}
        self.terminating = False
        self.woken = True
        # A unit's monitor makes its container afresh when it starts (its unit deleted any before).
        self.first = only is not None
        self.sleep = find_sleep()
        self.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)

    # -- the holder ----------------------------------------------------------------

    def fork_holder(self, argv, out_w, err_w, out_r, err_r, directory):
        """Fork a holder that runs `argv` with the pipes as its stdout and stderr, reports its exit status, then
        keeps `out_r` and `err_r` as fds 3 and 4 in `sleep`, in `directory` (so that a holder whose folder was
        removed can be told: stray_holders): (holder pid, the report's read end)."""
        result_r, result_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                self._holder(argv, out_w, err_w, out_r, err_r, result_w, directory)
            finally:
                os._exit(127)
        os.close(result_w)
        os.set_blocking(result_r, False)
        return pid, result_r

    def _holder(self, argv, out_w, err_w, out_r, err_r, result_w, directory):
        from ..runtime.linux import consts, spawn, syscalls
        try:
            signals.set_wakeup_fd(-1)
            # The runtime and the container get the open-file limit the module had, not the monitor's.
            resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)
            syscalls.prctl(consts.PR_SET_CHILD_SUBREAPER, 1)
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            code = spawn.run(argv, stdio=(null, out_w, err_w), timeout=RUNTIME_TIMEOUT).returncode
            report = str(code)
        except Exception as exc:  # pylint: disable=broad-except
            report = 'error: %s' % exc
            code = None
        signals.write_no_sigpipe(result_w, report.encode())
        if code != 0:
            return
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (out_r, err_r)]
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for fd, target in zip(high, records.HOLDER_FDS):
            os.dup2(fd, target)
        os.closerange(max(records.HOLDER_FDS) + 1, 65536)
        os.chdir(directory)
        if self.sleep:
            try:
                os.execv(self.sleep, ['sleep', records.SLEEP_SECONDS])
            except OSError:
                pass
        while True:
            time.sleep(3600)

    # -- the loop --------------------------------------------------------------------

    def reap(self):
        """Reap every child that exited (holders, inits whose holder is gone), keeping inits' statuses."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for watch in self.watches.values():
                if watch.status.get('pid') == pid:
                    self.reaped[pid] = wait_status

    def folders(self):
        if self.only:
            return [self.only]
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return [os.path.join(self.root, name) for name in names
                if os.path.isfile(os.path.join(self.root, name, records.SETTINGS))]

    def scan(self):
        """Take the launch requests addressed to this monitor and containers whose monitor is gone.

        A monitor holds the lock file of each folder it watches: of two that
        find the same orphan, one takes it.
        """
        for directory in self.folders():
            if directory in self.watches:
                continue
            launch = self.first or self._addressed(directory)
            status = None
            if not launch:
                try:
                    status = records.read_json(os.path.join(directory, records.STATUS))
                except (OSError, ValueError):
                    continue
                if not records.orphaned(status):
                    continue
            lock = records.lock_folder(directory)
            if lock is None:
                continue
            try:
                if not launch:
                    # Read again under the lock: it may have been taken over and let go meanwhile.
                    status = records.read_json(os.path.join(directory, records.STATUS))
                    if not records.orphaned(status):
                        os.close(lock)
                        continue
                watch = Watch(self, directory, lock)
            except (OSError, ValueError, KeyError) as exc:
                os.close(lock)
                self.log('%s: cannot watch it: %s' % (directory, exc))
                continue
            self.watches[directory] = watch
            try:
                if launch:
                    watch.requested('launch')
                    watch.launch()
                else:
                    watch.adopt(status)
            except Exception as exc:  # pylint: disable=broad-except
                watch.fail(exc)
        self.first = False

    def _addressed(self, directory):
        """Does the folder hold a launch request for this monitor (its file names our tag)?"""
        try:
            with open(os.path.join(directory, 'request.launch')) as handle:
                return handle.read().strip() == self.tag
        except OSError:
            return False

    def step(self, ready, woken):
        """One turn for every container: output, reports, exits, requests, deadlines."""
        self.reap()
        for watch in list(self.watches.values()):
            try:
                self._step(watch, ready, woken)
            except Exception as exc:  # pylint: disable=broad-except
                try:
                    watch.fail(exc)
                except Exception as again:  # pylint: disable=broad-except
                    self.log('%s: %s; then %s' % (watch.directory, exc, again))
                    watch.drop()
            if watch.done:
                del self.watches[watch.directory]
                # A launch request may wait for this folder to be free.
                self.woken = True

    def _step(self, watch, ready, woken):
        for fd in (watch.out_r, watch.err_r):
            if fd is not None and fd in ready:
                watch.read(fd)
        if watch.result_r is not None and watch.result_r in ready:
            watch.launched()
        if woken:
            watch.serve_requests()
        if self.terminating and not watch.stopping and not watch.done:
            watch.stop()
        if watch.done:
            return
        if watch.kill_deadline is not None and time.monotonic() >= watch.kill_deadline:
            watch.kill_deadline = None
            watch.runtime('kill', watch.settings['id'], 'SIGKILL')
        if watch.status.get('pid') and watch.result_r is None:
            wait_status = watch.exited()
            if wait_status is not False:
                watch.on_exit(wait_status)
        if not watch.done and watch.restart_at is not None and time.monotonic() >= watch.restart_at:
            watch.restart()

    def timeout(self):
        timeout = None
        for watch in self.watches.values():
            deadlines = [watch.restart_at, watch.kill_deadline]
            if watch.status.get('pid') and watch.init_fd is None and watch.result_r is None:
                deadlines.append(time.monotonic() + 0.5)
            for deadline in deadlines:
                if deadline is not None:
                    left = max(0.0, deadline - time.monotonic())
                    timeout = left if timeout is None else min(timeout, left)
        return timeout

    def log(self, text):
        sys.stderr.write('%s monitor %d: %s\n' % (records.now(), self.pid, text))
        sys.stderr.flush()

    def run(self):
        from ..runtime.linux import consts, syscalls
        syscalls.prctl(consts.PR_SET_CHILD_SUBREAPER, 1)
        # Six fds per container (pipes, pidfds, lock, log): more than 1024 for a host with many containers.
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile[1], self.nofile[1]))
        # Handlers first: a module sends SIGUSR1 as soon as monitor-<tag>.json names us.
        wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        signals.set_wakeup_fd(wake_w)
        signals.signal(signals.SIGTERM, self._flag('terminating'))
        for name in ('SIGUSR1', 'SIGHUP'):
            signals.signal(signals.number(name), self._flag('woken'))
        signals.signal(signals.SIGCHLD, lambda *args: None)
        lock = None
        if self.only is None:
            lock = self.take_root()
            if lock is None:
                return 0
        ready = set()
        while True:
            woken, self.woken = self.woken, False
            if woken:
                self.scan()
            self.step(ready, woken)
            if not self.watches:
                if self.only is not None or self.terminating or not self.still_needed():
                    break
            poller = select.poll()
            for watch in self.watches.values():
                for fd in watch.fds():
                    poller.register(fd, select.POLLIN)
            poller.register(wake_r, select.POLLIN)
            timeout = self.timeout()
            try:
                events = poller.poll(None if timeout is None else int(timeout * 1000) + 1)
            except InterruptedError:
                events = []
            ready = {fd for fd, _event in events}
            if wake_r in ready:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
        if lock is not None:
            os.close(lock)
        return 0

    def take_root(self):
        """Become the root's monitor (a lock held while it runs); None when another one serves the root."""
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        deadline = time.monotonic() + 30
        while True:
            lock = records.try_lock(os.path.join(self.root, records.MONITOR_LOCK % self.tag))
            if lock is not None:
                break
            # The monitor holding it may be on its way out: wait, unless it serves the root.
            if records.monitor_alive(self.root, self.tag) or time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        self.announce()
        for pid in stray_holders(self.root):
            self.log('holder %d of a container whose folder was removed: killed' % pid)
            try:
                os.kill(pid, signals.SIGKILL)
            except ProcessLookupError:
                pass
        return lock

    def announce(self):
        """Name this process in monitor-<tag>.json: modules send their requests to it."""
        records.write_json(os.path.join(self.root, records.MONITOR_FILE % self.tag), {'pid': self.pid, 'start': self.start})

    def still_needed(self):
        """Nothing to watch: give up the root, unless a launch request came in meanwhile."""
        try:
            os.unlink(os.path.join(self.root, records.MONITOR_FILE % self.tag))
        except FileNotFoundError:
            pass
        self.scan()
        if self.watches:
            self.announce()
            return True
        return False

    def _flag(self, name):
        def handler(_signum, _frame):
            setattr(self, name, True)
            if name == 'terminating':
                self.woken = True
        return handler


def stray_holders(root, proc='/proc'):
    """Holders left by a monitor that died before their containers' folders were removed (by hand, or by a
    module that found no monitor): `sleep` processes of ours whose working folder under `root` is gone."""
    found = []
    prefix = os.path.abspath(root) + '/'
    wanted = b'sleep\0' + records.SLEEP_SECONDS.encode() + b'\0'
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, 'cmdline'), 'rb') as handle:
                if handle.read() != wanted:
                    continue
            cwd = os.readlink(os.path.join(proc, name, 'cwd'))
        except OSError:
            continue
        if cwd.startswith(prefix) and (cwd.endswith(' (deleted)') or not os.path.isdir(cwd)):
            found.append(int(name))
    return found


def main(argv=None):
    """supervise --root <root> --tag <tag> | supervise <folder>."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 4 and argv[0] == '--root' and argv[2] == '--tag':
        monitor = Monitor(root=argv[1], tag=argv[3])
    elif len(argv) == 1 and not argv[0].startswith('-'):
        monitor = Monitor(only=os.path.abspath(argv[0]))
    else:
        sys.stderr.write('usage: supervise --root <supervisor root> --tag <tag> | supervise <container folder>\n')
        return 2
    return monitor.run()
