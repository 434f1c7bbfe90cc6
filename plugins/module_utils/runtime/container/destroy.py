# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tear a container down: its processes, cgroups, state, and the poststop hooks."""

import errno
import os
import select
import time

from .. import errors, hooks, log
from ..linux import signals
from ..state import STATE_FILE, process_start_time


def open_pidfd(pid, start_time):
    """A pidfd for `pid` if it is still the process that started at `start_time`, else None."""
    try:
        fd = signals.pidfd_open(pid)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return None
        raise
    if start_time is not None and process_start_time(pid) != start_time:
        os.close(fd)
        return None
    return fd


def wait_gone(pid, start_time, timeout=10.0):
    """Wait until `pid` exits (or becomes a zombie); False on timeout."""
    try:
        fd = signals.pidfd_open(pid)
    except OSError:
        return True
    try:
        if start_time is not None and process_start_time(pid) != start_time:
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(int(timeout * 1000)))
    finally:
        os.close(fd)


def signal_process(pid, start_time, signum):
    """Send `signum` to the container's init, never to a recycled PID."""
    fd = open_pidfd(pid, start_time)
    if fd is None:
        raise errors.ContainerNotRunning()
    try:
        signals.pidfd_send_signal(fd, signum)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            raise errors.ContainerNotRunning()
        raise
    finally:
        os.close(fd)


def kill_cgroup(manager, signum=signals.SIGKILL):
    """Signal every process in the container's cgroups (frozen ones are thawed to die)."""
    freeze = getattr(manager, 'freeze', None)
    thaw = getattr(manager, 'thaw', None)
    frozen = False
    if freeze is not None and signum == signals.SIGKILL:
        try:
            freeze()
            frozen = True
        except (OSError, errors.RuntimeErrorBase):
            frozen = False
    try:
        for pid in manager.pids():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                continue
    finally:
        if thaw is not None and (frozen or signum == signals.SIGKILL):
            try:
                thaw()
            except (OSError, errors.RuntimeErrorBase):
                pass


def wait_cgroup_empty(manager, timeout=5.0):
    deadline = time.monotonic() + timeout
    while manager.pids() and time.monotonic() < deadline:
        time.sleep(0.005)


def undo_setup(pids, manager, container_dir, what):
    """Remove what a failed create or restore (`what`) made: its processes, cgroups and state folder."""
    if manager is not None:
        kill_cgroup(manager)
    for pid in pids:
        if not pid:
            continue
        try:
            os.kill(pid, signals.SIGKILL)
        except ProcessLookupError:
            continue
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            wait_gone(pid, None, timeout=5.0)
    if manager is not None:
        wait_cgroup_empty(manager)
        try:
            manager.destroy()
        except errors.RuntimeErrorBase as exc:
            log.warning('cannot remove the cgroups of the failed %s: %s' % (what, exc.message))
    container_dir.remove()


def destroy(container_dir, state, run_hooks=True):
    """Remove a stopped container: leftover processes, cgroups, state folder; then poststop hooks."""
    # Here: exec and run import this module for its waits, and need no cgroup manager.
    from ..cgroups.manager import Manager  # pylint: disable=import-outside-toplevel
    config = state.config or {}
    manager = Manager.from_state(state.cgroup) if state.cgroup else None
    failure = None
    if manager is not None:
        kill_cgroup(manager)
        wait_cgroup_empty(manager)
        try:
            manager.destroy()
        except errors.RuntimeErrorBase as exc:
            failure = exc
    if state.host_mounts is not None:
        from ..rootfs import hostmounts
        for warning in hostmounts.remove_new(state.rootfs, state.host_mounts):
            log.warning(warning)
    if os.path.isdir(os.path.join(container_dir.path, 'criu-root')):
        from ..criu import mountpoints
        mountpoints.remove_leftover_root(container_dir.path)
    container_dir.remove()
    log.debug('container %s destroyed: cgroups and state removed' % state.id)
    if state.damaged_files and state.cgroup is None and state.pid is None:
        log.warning('container %s: no record of its cgroups or processes was left; if it ran, look for them '
                    'in the cgroup its bundle\'s linux.cgroupsPath names (default: its ID)' % state.id)
    if run_hooks and STATE_FILE in state.damaged_files:
        log.warning('container %s: its poststop hooks were not run: only its damaged %s recorded them'
                    % (state.id, STATE_FILE))
    if run_hooks:
        stopped = {'ociVersion': config.get('ociVersion', '1.0.2-dev'), 'id': state.id, 'status': 'stopped',
                   'pid': 0, 'bundle': state.bundle}
        if state.annotations:
            stopped['annotations'] = state.annotations
        hooks.run(config.get('hooks'), 'poststop', stopped)
    if failure is not None:
        raise failure
