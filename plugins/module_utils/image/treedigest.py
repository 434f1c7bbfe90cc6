# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stable digest of a directory tree: what a container would see in its root filesystem.

The digest covers, for every path in byte order: its type, permission bits
(with setuid, setgid, sticky), owner and group, and its content (a regular
file's SHA-256, a symlink's target, a device's numbers). It leaves out
times, inode numbers and link counts, which change when the same tree is
unpacked again, so two unpacks of one image give the same digest whatever the
rootfs mode, and any change a user or a container makes gives another.
"""

import hashlib
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
_TYPES = ((stat.S_ISDIR, b'd'), (stat.S_ISREG, b'f'), (stat.S_ISLNK, b'l'), (stat.S_ISCHR, b'c'),
          (stat.S_ISBLK, b'b'), (stat.S_ISFIFO, b'p'), (stat.S_ISSOCK, b's'))
FORMAT = b'runcible-tree-v1\n'


def _type(mode):
    for test, letter in _TYPES:
        if test(mode):
            return letter
    return b'?'


def _file_hash(dir_fd, name):
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    try:
        digest = hashlib.sha256()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return digest.hexdigest().encode()
            digest.update(chunk)
    finally:
        os.close(fd)


def _record(path, info, content):
    fields = (path, _type(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, content)
    return b'%s\0%s\0%o\0%d\0%d\0%s\n' % fields


def tree_digest(root):
    """'sha256:<hex>' of the tree at path `root` (see the module docstring for what it covers)."""
    digest = hashlib.sha256(FORMAT)
    top = os.open(root, _DIR_FLAGS)
    digest.update(_record(b'/', os.fstat(top), b''))
    # Depth first, names in byte order; one fd per directory level in use.
    stack = [(top, b'', None)]
    try:
        while stack:
            fd, prefix, names = stack[-1]
            if names is None:
                names = sorted(os.fsencode(name) for name in os.listdir(fd))
                names.reverse()
                stack[-1] = (fd, prefix, names)
            if not names:
                os.close(fd)
                stack.pop()
                continue
            name = names.pop()
            path = prefix + b'/' + name
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            mode = info.st_mode
            if stat.S_ISREG(mode):
                content = b'%d:%s' % (info.st_size, _file_hash(fd, name))
            elif stat.S_ISLNK(mode):
                content = os.readlink(name, dir_fd=fd)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                content = b'%d:%d' % (os.major(info.st_rdev), os.minor(info.st_rdev))
            else:
                content = b''
            digest.update(_record(path, info, content))
            if stat.S_ISDIR(mode):
                stack.append((os.open(name, _DIR_FLAGS, dir_fd=fd), path, None))
    finally:
        for fd, _unused, _unused in stack:
            os.close(fd)
    return 'sha256:' + digest.hexdigest()
