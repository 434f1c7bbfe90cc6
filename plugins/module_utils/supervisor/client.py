# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' side of a supervisor: launch it detached, read its status, signal it."""

import hashlib
import os
import select
import shutil
import time

from ..runtime import errors
from ..runtime.linux import signals, syscalls
from . import logs, main

SUPERVISOR_ROOT = '/run/runcible-supervisor'
SETTLED = ('created', 'running', 'exited', 'stopped', 'failed', 'restarting', 'checkpointed')


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
        return os.path.join(self.directory, main.SETTINGS)

    def settings(self):
        try:
            return main.read_json(self.settings_path)
        except (OSError, ValueError):
            return None

    def status(self):
        try:
            return main.read_json(os.path.join(self.directory, main.STATUS))
        except (OSError, ValueError):
            return None

    def exists(self):
        return os.path.isdir(self.directory)

    def alive(self, status=None):
        status = status or self.status()
        if not status or not status.get('supervisor_pid'):
            return False
        return main.start_time(status['supervisor_pid']) == status.get('supervisor_start')

    def write_settings(self, settings):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        main.write_json(self.settings_path, settings)

    def launch(self, settings, command, timeout=60.0):
        """Write `settings`, start the supervisor (`command` + folder) detached, wait until it settles."""
        self.write_settings(settings)
        try:
            os.unlink(os.path.join(self.directory, main.STATUS))
        except FileNotFoundError:
            pass
        spawn_detached(command + [self.directory], os.path.join(self.directory, 'supervisor.log'))
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

    def signal(self, signum):
        status = self.status()
        if not self.alive(status):
            return False
        try:
            os.kill(status['supervisor_pid'], signum)
        except ProcessLookupError:
            return False
        return True

    def start(self, timeout=30.0):
        """Ask the supervisor to start the container it created."""
        self.signal(signals.number('SIGUSR1'))
        return self.wait(lambda s: s and s.get('state') != 'created', timeout)

    def stop(self, timeout):
        """Ask the supervisor to stop the container and exit; waits (at most `timeout` seconds) for it."""
        status = self.status()
        if not self.alive(status):
            return status
        # Opened before the signal, so the wait is for this process even if its PID is recycled later.
        pidfd = _pidfd(status['supervisor_pid'])
        try:
            if self.signal(signals.SIGTERM):
                self._wait_exit(pidfd, timeout)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        return self.status()

    def _wait_exit(self, pidfd, timeout):
        """Return once the supervisor has exited, zombie or reaped (a pidfd polls readable then), or after `timeout`."""
        if pidfd is not None:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.poll(int(timeout * 1000))
            return
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)

    def reload(self, settings):
        self.write_settings(settings)
        self.signal(signals.number('SIGHUP'))

    def remove(self, with_logs=False):
        """Remove the folder (and the container's log files: they go with the container)."""
        settings = self.settings() or {}
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


def _pidfd(pid):
    """A pidfd of `pid`, or None (the process is gone, or the kernel predates pidfd_open: Linux 5.3)."""
    try:
        return syscalls.pidfd_open(pid)
    except OSError:
        return None


def spawn_detached(argv, output):
    """Start `argv` in its own session, its parent gone (so init or a subreaper adopts it).

    Its stdout and stderr are appended to the file `output`.
    """
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
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
    os.waitpid(pid, 0)


def describe(status):
    """The supervisor's view as module results show it."""
    if not status:
        return {}
    return {key: status.get(key) for key in ('state', 'pid', 'started_at', 'finished_at', 'exit_code',
                                             'last_exit_code', 'oom_killed', 'last_oom_killed', 'restart_count',
                                             'error', 'log_path')}
