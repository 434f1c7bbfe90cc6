# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signal numbers and handlers from CPython's C module.

The `signal` module wraps `_signal` in enum classes, and importing enum costs
every runcible command milliseconds of start-up; the C module has the same
functions and integer constants.
"""

import os

try:
    import _signal as _impl
except ImportError:  # pragma: no cover - interpreters without the C module
    import signal as _impl

NSIG = _impl.NSIG
SIG_DFL = _impl.SIG_DFL
SIG_SETMASK = _impl.SIG_SETMASK
SIG_BLOCK = _impl.SIG_BLOCK
SIGKILL = _impl.SIGKILL
SIGSTOP = _impl.SIGSTOP
SIGTERM = _impl.SIGTERM
SIGCHLD = _impl.SIGCHLD
SIGWINCH = _impl.SIGWINCH
SIGURG = _impl.SIGURG
SIGPIPE = _impl.SIGPIPE

signal = _impl.signal
pthread_sigmask = _impl.pthread_sigmask
sigtimedwait = _impl.sigtimedwait
valid_signals = _impl.valid_signals
set_wakeup_fd = _impl.set_wakeup_fd


def number(name):
    """The number of signal `name` ("SIGTERM"), or None if this system has no such signal."""
    if not name.startswith('SIG') or name.startswith('SIG_'):
        return None
    value = getattr(_impl, name, None)
    return value if isinstance(value, int) else None


def write_no_sigpipe(fd, data):
    """os.write that fails with BrokenPipeError, never dies of SIGPIPE, when no one reads the pipe.

    bin/runcible keeps SIGPIPE's default action (a closed stdout ends it
    quietly, as it ends runc); the runtime's own pipes (to the init, a hook,
    the exec FIFO) must report a reader that died instead of killing us
    half-way through a command.
    """
    previous = pthread_sigmask(SIG_BLOCK, [SIGPIPE])
    try:
        return os.write(fd, data)
    except BrokenPipeError:
        if SIGPIPE in _impl.sigpending():
            _impl.sigtimedwait([SIGPIPE], 0)
        raise
    finally:
        pthread_sigmask(SIG_SETMASK, previous)
