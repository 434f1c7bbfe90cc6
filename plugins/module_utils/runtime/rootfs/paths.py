# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux.maskedPaths and linux.readonlyPaths, applied after pivot_root."""

import errno
import os
import stat

from .. import errors
from ..linux import consts as c
from ..linux import syscalls
from . import mount, securejoin


def _open_existing(path):
    try:
        return securejoin.open_in_root('/', path, strict=False)
    except (FileNotFoundError, NotADirectoryError):
        return None


def open_dev_null():
    """An O_PATH fd of the container's /dev/null, checked to be the real device.

    A process that can write /dev could swap it for a symlink or another node
    so that masking binds something else over the masked paths
    (CVE-2025-31133): we refuse anything but character device 1:3.
    """
    fd = os.open('/dev/null', os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    info = os.fstat(fd)
    if not stat.S_ISCHR(info.st_mode) or info.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise errors.SetupError('/dev/null in the container is not the null device (char 1:3); '
                                'refusing to use it to mask paths')
    return fd


def mask(masked_paths):
    """Hide each path: /dev/null over files, an empty read-only tmpfs over directories."""
    if not masked_paths:
        return
    null_fd = None
    try:
        for index, path in enumerate(masked_paths):
            fd = _open_existing(path)
            if fd is None:
                continue
            try:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    syscalls.mount('tmpfs', securejoin.fd_path(fd), 'tmpfs', c.MS_RDONLY, None)
                else:
                    if null_fd is None:
                        null_fd = open_dev_null()
                    syscalls.mount(securejoin.fd_path(null_fd), securejoin.fd_path(fd), '', c.MS_BIND, None)
            except OSError as exc:
                raise errors.SetupError('linux.maskedPaths[%d]: cannot mask %s: %s' % (index, path, exc.strerror))
            finally:
                os.close(fd)
    finally:
        if null_fd is not None:
            os.close(null_fd)


def make_readonly(readonly_paths):
    """Bind each existing path onto itself and remount it read-only."""
    for index, path in enumerate(readonly_paths or []):
        fd = _open_existing(path)
        if fd is None:
            continue
        try:
            syscalls.mount(securejoin.fd_path(fd), securejoin.fd_path(fd), '', c.MS_BIND | c.MS_REC, None)
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.ENOENT:
                continue
            raise errors.SetupError('linux.readonlyPaths[%d]: cannot bind %s: %s' % (index, path, exc.strerror))
        os.close(fd)
        fd = _open_existing(path)
        try:
            mount.remount_bind(securejoin.fd_path(fd), c.MS_RDONLY | c.MS_REC,
                               keep=c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC)
        except OSError as exc:
            raise errors.SetupError('linux.readonlyPaths[%d]: cannot make %s read-only: %s'
                                    % (index, path, exc.strerror))
        finally:
            os.close(fd)
