# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""flock(2)-based locks between processes (and threads: each holder opens its own descriptor).

Here, in the lowest layer, for every store that needs one (images, networks).
"""

import contextlib
import fcntl
import os


@contextlib.contextmanager
def flocked(path, exclusive=True):
    """Hold a shared or exclusive flock on `path` (created if missing) for the with-block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)
