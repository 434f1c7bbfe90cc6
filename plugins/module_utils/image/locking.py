# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A flock(2) on a file that other holders may replace (runtime/linux/locks.py has the plain lock)."""

import fcntl
import os

from .errors import StoreError


def lock_open_file(path, flags, mode=0o644):
    """Open `path` and hold an exclusive flock on it, making sure the locked inode is still the one at `path`.

    Another holder may unlink or rename the file while we wait for the lock; then
    the lock we got is on an orphan and we try again on what is there now.
    Returns the open, locked descriptor.
    """
    for _attempt in range(100):
        fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, mode)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            locked = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise StoreError('could not lock %s: it keeps being replaced' % path)
