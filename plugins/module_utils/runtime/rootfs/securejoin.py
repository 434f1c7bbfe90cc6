# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve paths inside a root directory as if it were "/", race-free.

A mount destination, device path or masked path comes from a user or an
image and is hostile: `..` and symlinks in the rootfs must never lead out of
it, and a directory swapped for a symlink between check and use must not
redirect a mount (CVE-2021-30465). So we walk one component at a time with
openat(O_PATH|O_NOFOLLOW) from a directory fd, read symlinks ourselves and
interpret them inside the root, keep the fds of the parents instead of
following "..", and hand back an O_PATH fd of the result: callers mount onto
/proc/self/fd/N, which names exactly the object we checked.
"""

import errno
import os
import stat

from ..linux import consts

MAX_SYMLINKS = 40


class EscapeError(OSError):
    """The path climbs out of the root through '..' or a symlink."""

    def __init__(self, path, via):
        super().__init__(errno.EXDEV, '%s resolves outside the root filesystem (through %s)' % (path, via))
        self.via = via


def _components(path):
    return [part for part in path.split('/') if part and part != '.']


def open_in_root(root, path, create=None, strict=True, mode=0o755):
    """An O_PATH fd of `path` resolved inside `root` (a path or an fd).

    `create` makes what is missing: None (nothing: FileNotFoundError),
    'dir' (every missing component a directory) or 'file' (parents as
    directories, the last an empty file). With `strict`, a ".." or a symlink
    that would climb above the root raises EscapeError instead of stopping
    at the root as the kernel does for chroot.
    """
    if isinstance(root, int):
        root_fd = os.dup(root)
    else:
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    stack = [root_fd]
    pending = _components(path)
    links = 0
    try:
        while pending:
            name = pending.pop(0)
            if name == '..':
                if len(stack) == 1:
                    if strict:
                        raise EscapeError(path, "'..'")
                    continue
                os.close(stack.pop())
                continue
            last = not pending
            try:
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            except FileNotFoundError:
                if create is None:
                    raise
                _make(stack[-1], name, 'file' if (last and create == 'file') else 'dir', mode)
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            info = os.fstat(fd)
            if stat.S_ISLNK(info.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    os.close(fd)
                    raise OSError(errno.ELOOP, 'too many levels of symbolic links resolving %s' % path)
                target = os.readlink(name, dir_fd=stack[-1])
                os.close(fd)
                if target.startswith('/'):
                    while len(stack) > 1:
                        os.close(stack.pop())
                elif strict and _climbs_above(len(stack) - 1, target):
                    raise EscapeError(path, 'symlink %s -> %s' % (name, target))
                pending = target.split('/') + pending
                pending = [p for p in pending if p and p != '.']
                continue
            if not last and not stat.S_ISDIR(info.st_mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, '%s: a component of the path is not a directory' % path)
            stack.append(fd)
        return os.dup(stack[-1])
    finally:
        for fd in stack:
            os.close(fd)


def _climbs_above(depth, target):
    for part in target.split('/'):
        if part == '..':
            depth -= 1
            if depth < 0:
                return True
        elif part and part != '.':
            depth += 1
    return False


def _make(dir_fd, name, kind, mode):
    try:
        if kind == 'dir':
            os.mkdir(name, mode, dir_fd=dir_fd)
        else:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644, dir_fd=dir_fd))
    except FileExistsError:
        pass


def check_in_root(root, path):
    """Raise EscapeError if `path` inside `root` would climb out; touch nothing.

    Missing components are fine (they would be created); this is the check
    that runs before anything is changed on the host.
    """
    resolve_in_root(root, path)


def resolve_in_root(root, path):
    """The container path ('/proc/sys') that `path` names inside `root`, symlinks followed as open_in_root does.

    Touches nothing: from the first component that is missing (or not a
    directory) on, the rest is taken as written. EscapeError if it would
    climb out of `root`; OSError(ELOOP) for a symlink loop.
    """
    if _climbs_above(0, path):
        raise EscapeError(path, "'..'")
    names = []
    pending = _components(path)
    links = 0
    while pending:
        name = pending.pop(0)
        if name == '..':
            if not names:
                raise EscapeError(path, "'..'")
            names.pop()
            continue
        try:
            info = os.lstat(os.path.join(root, *(names + [name])))
        except (FileNotFoundError, NotADirectoryError):
            info = None
        if info is None or not stat.S_ISLNK(info.st_mode):
            names.append(name)
            if info is None or not stat.S_ISDIR(info.st_mode):
                break
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, 'too many levels of symbolic links resolving %s' % path)
        target = os.readlink(os.path.join(root, *(names + [name])))
        if target.startswith('/'):
            names = []
        elif _climbs_above(len(names), target):
            raise EscapeError(path, 'symlink %s -> %s' % (name, target))
        pending = _components(target) + pending
    for name in pending:
        if name == '..':
            if not names:
                raise EscapeError(path, "'..'")
            names.pop()
        else:
            names.append(name)
    return '/' + '/'.join(names)


def fd_path(fd):
    """The magic link naming open file `fd` (for mount(2) targets and sources)."""
    return '/proc/self/fd/%d' % fd


def is_procfs(path='/proc'):
    from ..linux import syscalls
    try:
        return syscalls.fs_type(path) == consts.PROC_SUPER_MAGIC
    except OSError:
        return False
