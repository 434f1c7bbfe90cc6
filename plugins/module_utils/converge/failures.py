# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Library errors as the message a module fails with: it names the module parameter at fault.

A ConfigError already names its field (`name: invalid image reference ...`,
`process.rlimits[0].soft: must be an integer ...`). Any other error raised
while the module works on one parameter is tagged with that parameter by
`about(...)`, so `failure_message` can say `import_from: ... is not a tar
archive` or `username/password: the registry refused ...`.
"""

import contextlib
import errno
import os

from ..runtime.errors import ConfigError, RuntimeErrorBase


@contextlib.contextmanager
def about(parameter, by_type=()):
    """Tag library errors raised inside the block with `parameter` (or the one `by_type` gives their class)."""
    try:
        yield
    except ConfigError:
        raise
    except (RuntimeErrorBase, OSError) as exc:
        if getattr(exc, 'parameter', None) is None:
            exc.parameter = parameter
            for error_type, specific in by_type:
                if isinstance(exc, error_type):
                    exc.parameter = specific
                    break
        raise


def failure_message(exc):
    """The fail_json message for a library error: '<parameter>: <what went wrong and the fix>'."""
    parameter = getattr(exc, 'parameter', None)
    if isinstance(exc, OSError) and not isinstance(exc, RuntimeErrorBase):
        message = '%s: %s' % (exc.filename, exc.strerror) if exc.filename and exc.strerror else str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
            message += (' (the module runs as user %d, not root: give that user access to it, or run the task with '
                        'become: true; the container modules need root)' % os.geteuid())
    else:
        message = getattr(exc, 'message', None) or str(exc) or type(exc).__name__
    if isinstance(exc, ConfigError) or not parameter:
        return message
    return '%s: %s' % (parameter, message)
