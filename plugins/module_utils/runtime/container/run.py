# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run: create and start; in the foreground, wait, forward signals, exit with the container's status."""

import contextlib
import os

from .. import errors, state as statemod
from ..linux import signals
from ..process import terminal
from . import create, delete, destroy, start

# Signals `run` keeps for itself instead of forwarding (as runc's signal handler).
_NOT_FORWARDED = {signals.SIGCHLD, signals.SIGWINCH, signals.SIGURG, signals.SIGKILL, signals.SIGSTOP}


def exit_code(wait_status):
    """The shell's view of a wait status: the exit code, or 128 + signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def forwarded_signals():
    return sorted(int(signum) for signum in signals.valid_signals() if signum not in _NOT_FORWARDED)


@contextlib.contextmanager
def blocking_signals():
    """Hold back the signals `forwarding_signals` will forward until it is in place."""
    previous = signals.pthread_sigmask(signals.SIG_BLOCK, forwarded_signals())
    try:
        yield
    finally:
        signals.pthread_sigmask(signals.SIG_SETMASK, previous)


@contextlib.contextmanager
def forwarding_signals(pid, start_time):
    """Forward every catchable signal this process gets to `pid` while the block runs."""
    def forward(signum, _frame):
        try:
            destroy.signal_process(pid, start_time, signum)
        except (errors.RuntimeErrorBase, OSError):
            pass

    previous = {}
    for signum in forwarded_signals():
        try:
            previous[signum] = signals.signal(signum, forward)
        except (OSError, ValueError, RuntimeError):
            continue
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signals.signal(signum, handler)


def wait_for(pid):
    """Reap children (orphans reparented to us included) until `pid` exits; its wait status."""
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255 << 8
        if reaped == pid:
            return status


def run(root, container_id, bundle_dir, detach=False, pid_file=None, preserve_fds=0, keep=False,
        console_socket=None):
    """Returns the container's exit code (0 when detached)."""
    ours = console = None
    if not detach and not console_socket and _wants_terminal(bundle_dir):
        ours, console = terminal.socket_pair()
    try:
        state = create.create(root, container_id, bundle_dir, pid_file=pid_file, preserve_fds=preserve_fds,
                              console_socket=console_socket, console=console, detach=detach)
    finally:
        if console is not None:
            console.close()
    master = None
    forwarding = contextlib.ExitStack()
    try:
        if ours is not None:
            master = terminal.receive_master(ours)
        if not detach:
            # In place before the program starts: a signal sent once it runs must reach it.
            forwarding.enter_context(forwarding_signals(state.pid, state.init_start))
        start.start(root, container_id)
    except BaseException:
        forwarding.close()
        if master is not None:
            os.close(master)
        _remove(root, container_id)
        raise
    finally:
        if ours is not None:
            ours.close()
    if detach:
        return 0
    with forwarding:
        if master is not None:
            try:
                terminal.proxy(master, lambda: statemod.process_start_time(state.pid) is None)
            finally:
                os.close(master)
        status = wait_for(state.pid)
    if not keep:
        container_dir = statemod.ContainerDir(root, container_id)
        with container_dir:
            destroy.destroy(container_dir, container_dir.load_remains())
    return exit_code(status)


def _wants_terminal(bundle_dir):
    from ..spec import config as specconfig
    try:
        return bool(specconfig.load_bundle(bundle_dir).process.get('terminal'))
    except errors.RuntimeErrorBase:
        return False


def _remove(root, container_id):
    try:
        delete.delete(root, container_id, force=True)
    except errors.RuntimeErrorBase:
        pass
