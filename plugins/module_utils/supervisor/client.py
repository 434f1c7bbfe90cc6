# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' side of supervision: ask the host's monitor (supervisor/main.py) for things, read its records.

A request is a file in the container's folder (request.launch, .start, .stop,
.reload) and SIGUSR1 to the monitor named in its status (or, for a launch, in
the root's monitor-<tag>.json; one is started when there is none).
"""

import hashlib
import os
import select
import shutil
import time

from ..runtime import errors
from ..runtime.linux import signals
from . import logs, records

SUPERVISOR_ROOT = '/run/runcible-supervisor'
SETTLED = ('created', 'running', 'exited', 'stopped', 'failed', 'restarting', 'checkpointed')
# The supervisor's states between two runs of a container: it deletes the old one, then creates the new, and
# in between the runtime knows no such container.
BETWEEN_RUNS = ('restarting', 'starting')


def folder_for(runtime_root, container_id, root=SUPERVISOR_ROOT):
    """The supervisor folder of a container: its runtime's root is part of the name."""
    tag = hashlib.sha256(os.path.abspath(runtime_root).encode()).hexdigest()[:8]
    return os.path.join(root, '%s-%s' % (tag, container_id))


class Supervision:
    """One container's supervisor folder and process."""

    def __init__(self, directory):
        self.directory = directory

    @property
    def settings_path(self):
        return os.path.join(self.directory, records.SETTINGS)

    def settings(self):
        try:
            return records.read_json(self.settings_path)
        except (OSError, ValueError):
            return None

    def status(self):
        try:
            return records.read_json(os.path.join(self.directory, records.STATUS))
        except (OSError, ValueError):
            return None

    def exists(self):
        return os.path.isdir(self.directory)

    def alive(self, status=None):
        status = status or self.status()
        if not status or not status.get('supervisor_pid'):
            return False
        return records.start_time(status['supervisor_pid']) == status.get('supervisor_start')

    def state_between_runs(self, read_state, timeout=10.0):
        """The runtime's state of the container (`read_state()`), waited for while its supervisor is between two
        runs of it (BETWEEN_RUNS): a module or oci_container_info that looks then sees the container, not nothing."""
        state = read_state()
        deadline = time.monotonic() + timeout
        while state is None and time.monotonic() < deadline:
            status = self.status()
            if not (status and status.get('state') in BETWEEN_RUNS and self.alive(status)):
                break
            time.sleep(0.02)
            state = read_state()
        return state

    def orphaned(self, status=None):
        """Is the container left by a monitor that died (not done with, its monitor gone)?"""
        status = status or self.status()
        return bool(status) and records.orphaned(status)

    def take_over(self, command, timeout=30.0):
        """Have a monitor (started with `command` if none runs) take over the container from one that died, so
        that what the module does next goes through it (a stop is not undone by a restart policy later)."""
        wake_monitor(os.path.dirname(self.directory), command)
        return self.wait(lambda s: not s or not records.orphaned(s), timeout)

    def write_settings(self, settings):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        records.write_json(self.settings_path, settings)

    def launch(self, settings, command, timeout=60.0):
        """Write `settings`, ask the root's monitor (started with `command` if none runs) to create the
        container, wait until it settles."""
        self.write_settings(settings)
        try:
            os.unlink(os.path.join(self.directory, records.STATUS))
        except FileNotFoundError:
            pass
        # Addressed to the monitor of this version of the code: another version's may run beside it.
        self._mark('launch', records.monitor_tag(command))
        wake_monitor(os.path.dirname(self.directory), command)
        status = self.wait(lambda s: s and s.get('state') in SETTLED, timeout)
        if status is None or status.get('state') not in SETTLED:
            raise errors.SetupError('the supervisor of %s did not report within %ds (see %s)'
                                    % (settings['id'], timeout, self.directory))
        if status['state'] == 'failed':
            raise errors.SetupError(status.get('error') or 'the supervisor failed')
        return status

    def wait(self, condition, timeout):
        deadline = time.monotonic() + timeout
        status = self.status()
        while not condition(status) and time.monotonic() < deadline:
            time.sleep(0.01)
            status = self.status()
        return status

    def _mark(self, name, text=''):
        with open(os.path.join(self.directory, 'request.' + name), 'w') as handle:
            handle.write(text)

    def request(self, name):
        """Ask the container's monitor for `name` (start, stop, reload); False when no monitor watches it."""
        status = self.status()
        if not self.alive(status):
            return False
        if 'holder_pid' not in status:
            # A supervisor of a version before the host monitor (one process per container) takes signals.
            signum = {'start': 'SIGUSR1', 'stop': 'SIGTERM', 'reload': 'SIGHUP'}[name]
        else:
            self._mark(name)
            signum = 'SIGUSR1'
        try:
            os.kill(status['supervisor_pid'], signals.number(signum))
        except ProcessLookupError:
            return False
        return True

    def start(self, timeout=30.0):
        """Ask the monitor to start the container it created."""
        self.request('start')
        return self.wait(lambda s: s and s.get('state') != 'created', timeout)

    def stop(self, timeout):
        """Ask the monitor to stop the container; waits (at most `timeout` seconds) until it is done with it."""
        status = self.status()
        if not self.alive(status):
            return status
        # Opened before the request: the wait ends if this monitor dies, even if its PID is recycled later.
        pidfd = records.pidfd(status['supervisor_pid'])
        try:
            if self.request('stop'):
                self._wait_done(pidfd, timeout)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        return self.status()

    def _wait_done(self, pidfd, timeout):
        """Return once the monitor is done with the container (or has died), or after `timeout`."""
        poller = None
        if pidfd is not None:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            if poller is not None and poller.poll(10):
                return
            if poller is None:
                time.sleep(0.01)

    def reload(self, settings):
        self.write_settings(settings)
        self.request('reload')

    def remove(self, with_logs=False):
        """Remove the folder (and the container's log files: they go with the container); a holder left by a
        monitor that died goes too."""
        settings = self.settings() or {}
        status = self.status() or {}
        holder = status.get('holder_pid')
        if holder and not self.alive(status) and records.start_time(holder) == status.get('holder_start'):
            try:
                os.kill(holder, signals.SIGKILL)
            except ProcessLookupError:
                pass
        if with_logs and settings.get('log_path'):
            for index in range(int(settings.get('log_max_files') or 3)):
                try:
                    os.unlink(settings['log_path'] + ('.%d' % index if index else ''))
                except OSError:
                    pass
        shutil.rmtree(self.directory, ignore_errors=True)

    def logs(self, count=20):
        settings = self.settings() or {}
        path = settings.get('log_path')
        if not path:
            return []
        return logs.tail(path, count, settings.get('log_max_files') or 3)


def wake_monitor(root, command, timeout=30.0):
    """SIGUSR1 to the monitor of `root` that `command` runs; one is started when none runs."""
    tag = records.monitor_tag(command)
    deadline = time.monotonic() + timeout
    spawned = None
    while True:
        pid = records.monitor_alive(root, tag)
        if pid:
            try:
                os.kill(pid, signals.number('SIGUSR1'))
                return pid
            except ProcessLookupError:
                pass
        elif spawned is None:
            os.makedirs(root, mode=0o700, exist_ok=True)
            spawned = spawn_detached(list(command) + ['--root', root, '--tag', tag],
                                     os.path.join(root, records.MONITOR_LOG))
            spawned_start = records.start_time(spawned)
        elif records.start_time(spawned) != spawned_start or spawned_start is None:
            # It came and went: it scanned the folders when it started and found nothing for it.
            return None
        if time.monotonic() > deadline:
            raise errors.SetupError('no supervisor monitor came up for %s within %ds (see %s)'
                                    % (root, timeout, os.path.join(root, records.MONITOR_LOG)))
        time.sleep(0.005)


def spawn_detached(argv, output):
    """Start `argv` in its own session, its parent gone (so init or a subreaper adopts it).

    Its stdout and stderr are appended to the file `output`. Returns its PID.
    """
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            child = os.fork()
            if child:
                os.write(report_w, str(child).encode())
            else:
                os.chdir('/')
                null = os.open(os.devnull, os.O_RDONLY)
                log = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.closerange(3, 65536)
                os.execv(argv[0], argv)
        finally:
            os._exit(0)
    os.close(report_w)
    try:
        report = os.read(report_r, 64)
    finally:
        os.close(report_r)
    os.waitpid(pid, 0)
    return int(report) if report else None


def describe(status):
    """The supervisor's view as module results show it."""
    if not status:
        return {}
    return {key: status.get(key) for key in ('state', 'pid', 'started_at', 'finished_at', 'exit_code',
                                             'last_exit_code', 'oom_killed', 'last_oom_killed', 'restart_count',
                                             'error', 'log_path')}
