# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run: create and start; in the foreground, wait, forward signals, exit with the container's status."""

import os

from .. import errors, state as statemod
from ..linux import signals
from . import destroy, start

# Signals `run` keeps for itself instead of forwarding (as runc's signal handler).
_NOT_FORWARDED = {signals.SIGCHLD, signals.SIGWINCH, signals.SIGURG, signals.SIGKILL, signals.SIGSTOP}


def exit_code(wait_status):
    """The shell's view of a wait status: the exit code, or 128 + signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def forwarded_signals():
    return sorted(int(signum) for signum in signals.valid_signals() if signum not in _NOT_FORWARDED)


# Context managers as small classes rather than contextlib's: contextlib imports
# collections and functools, a tenth of a foreground run's imports.
class blocking_signals:  # pylint: disable=invalid-name
    """`with blocking_signals():` holds back the signals `SignalForwarding` will forward until it is in place."""

    def __init__(self):
        self.previous = None

    def __enter__(self):
        self.previous = signals.pthread_sigmask(signals.SIG_BLOCK, forwarded_signals())
        return self

    def __exit__(self, *exc):
        signals.pthread_sigmask(signals.SIG_SETMASK, self.previous)


class SignalForwarding:
    """From its making until `stop()` (or the end of a `with` block), forward every catchable
    signal this process gets to `pid`."""

    def __init__(self, pid, start_time):
        def forward(signum, _frame):
            try:
                destroy.signal_process(pid, start_time, signum)
            except (errors.RuntimeErrorBase, OSError):
                pass

        self.previous = {}
        for signum in forwarded_signals():
            try:
                self.previous[signum] = signals.signal(signum, forward)
            except (OSError, ValueError, RuntimeError):
                continue

    def stop(self):
        """Put the previous handlers back (once)."""
        previous, self.previous = self.previous, {}
        for signum, handler in previous.items():
            signals.signal(signum, handler)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


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
    from . import create  # here: exec imports this module for its signal handling, and needs none of create
    ours = console = None
    bundle = _bundle_or_none(bundle_dir)
    if not detach and not console_socket and bundle is not None and bundle.process.get('terminal'):
        from ..process import terminal
        ours, console = terminal.socket_pair()
    try:
        state = create.create(root, container_id, bundle_dir, pid_file=pid_file, preserve_fds=preserve_fds,
                              console_socket=console_socket, console=console, detach=detach, bundle=bundle)
    finally:
        if console is not None:
            console.close()
    master = None
    forwarding = None
    try:
        if ours is not None:
            from ..process import terminal
            master = terminal.receive_master(ours)
        if not detach:
            # In place before the program starts: a signal sent once it runs must reach it.
            forwarding = SignalForwarding(state.pid, state.init_start)
        start.start(root, container_id)
    except BaseException:
        if forwarding is not None:
            forwarding.stop()
        if master is not None:
            os.close(master)
        _remove(root, container_id)
        raise
    finally:
        if ours is not None:
            ours.close()
    if detach:
        return 0
    with forwarding:  # pylint: disable=not-context-manager
        if master is not None:
            from ..process import terminal
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


def _bundle_or_none(bundle_dir):
    """The bundle, read once for `run` and its create; None when it is unusable (create says why)."""
    from ..spec import config as specconfig
    try:
        return specconfig.load_bundle(bundle_dir)
    except errors.RuntimeErrorBase:
        return None


def _remove(root, container_id):
    from . import delete
    try:
        delete.delete(root, container_id, force=True)
    except errors.RuntimeErrorBase:
        pass
