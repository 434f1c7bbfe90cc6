# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""flock(2)-based locks between processes (and threads: each holder opens its own descriptor)."""

import contextlib
import fcntl
import os
import time

from .errors import StoreError


@contextlib.contextmanager
def flocked(path, exclusive=True, timeout=None):
    """Hold a shared or exclusive flock on `path` (created if missing) for the with-block.

    With a timeout (seconds), give up with StoreError instead of waiting forever for a
    holder that does not let go.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if timeout is None:
            fcntl.flock(fd, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreError('timed out after %ss waiting for the lock %s' % (timeout, path))
                    time.sleep(0.05)
        yield fd
    finally:
        os.close(fd)


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
