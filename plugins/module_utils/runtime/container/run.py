# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run: create and start; in the foreground, wait, forward signals, exit with the container's status."""

import os

from .. import errors, state as statemod
from ..linux import signals
from . import create, delete, destroy, start

# Signals `run` keeps for itself instead of forwarding (as runc's signal handler).
_NOT_FORWARDED = {signals.SIGCHLD, signals.SIGWINCH, signals.SIGURG, signals.SIGKILL, signals.SIGSTOP}


def exit_code(wait_status):
    """The shell's view of a wait status: the exit code, or 128 + signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def run(root, container_id, bundle_dir, detach=False, pid_file=None, preserve_fds=0, keep=False):
    """Returns the container's exit code (0 when detached)."""
    state = create.create(root, container_id, bundle_dir, pid_file=pid_file, preserve_fds=preserve_fds)
    container_dir = statemod.ContainerDir(root, container_id)
    try:
        start.start(root, container_id)
    except BaseException:
        _remove(root, container_id)
        raise
    if detach:
        return 0
    init_pid = state.pid
    previous = {}

    def forward(signum, _frame):
        try:
            destroy.signal_process(init_pid, state.init_start, signum)
        except (errors.RuntimeErrorBase, OSError):
            pass

    for signum in range(1, signals.NSIG):
        if signum in _NOT_FORWARDED:
            continue
        try:
            previous[signum] = signals.signal(signum, forward)
        except (OSError, ValueError, RuntimeError):
            continue
    try:
        status = _wait_for(init_pid)
    finally:
        for signum, handler in previous.items():
            signals.signal(signum, handler)
    if not keep:
        with container_dir:
            destroy.destroy(container_dir, container_dir.load())
    return exit_code(status)


def _wait_for(pid):
    """Reap children (orphans reparented to us included) until `pid` exits."""
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255 << 8
        if reaped == pid:
            return status


def _remove(root, container_id):
    try:
        delete.delete(root, container_id, force=True)
    except errors.RuntimeErrorBase:
        pass
