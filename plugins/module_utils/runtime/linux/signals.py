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
valid_signals = _impl.valid_signals
set_wakeup_fd = _impl.set_wakeup_fd


def number(name):
    """The number of signal `name` ("SIGTERM"), or None if this system has no such signal."""
    if not name.startswith('SIG') or name.startswith('SIG_'):
        return None
    value = getattr(_impl, name, None)
    return value if isinstance(value, int) else None


def write_to_peer(fd, data):
    """os.write to a pipe whose reader may be gone: BrokenPipeError, never death by SIGPIPE.

    The command line keeps SIGPIPE's default action, as runc (Go) has it for
    stdout and stderr, so that `runcible list | head` ends quietly. A hook
    that exits without reading its stdin, or an init that dies mid-message,
    must instead be an error the runtime reports. Go writes to other fds this
    way; here SIGPIPE is blocked for the write and a pending one drained.
    """
    previous = pthread_sigmask(SIG_BLOCK, [SIGPIPE])
    try:
        return os.write(fd, data)
    except BrokenPipeError:
        _impl.sigtimedwait([SIGPIPE], 0)
        raise
    finally:
        pthread_sigmask(SIG_SETMASK, previous)
