# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistent network namespaces: a file under a runcible-owned folder with the namespace bind-mounted on it.

A container whose config.json names such a file (`linux.namespaces: [{type:
network, path: ...}]`) joins it with setns, under runcible, runc or crun.
The namespace outlives the container's processes, so a restart by the
supervisor keeps its interfaces, addresses and routes; it goes when the file
is unmounted and no process uses it (`remove`).
"""

import os

from ..runtime import errors
from ..runtime.linux import consts, syscalls

DEFAULT_NETNS_DIR = '/run/runcible/netns'


def pid_path(pid):
    """The network namespace of a running process, as a path."""
    return '/proc/%d/ns/net' % int(pid)


def _is_mounted(path):
    try:
        with open('/proc/self/mountinfo') as handle:
            return any(line.split()[4] == path for line in handle)
    except OSError:
        return False


def _share(folder):
    """Make `folder` a shared mount point, so bind mounts under it reach the mount namespaces of
    containers created later (ip netns does the same with /run/netns)."""
    if not _is_mounted(folder):
        syscalls.mount(folder, folder, None, consts.MS_BIND | consts.MS_REC)
    syscalls.mount('none', folder, None, consts.MS_SHARED | consts.MS_REC)


def create(name, folder=DEFAULT_NETNS_DIR):
    """Make the persistent namespace `folder/name` (loopback up) unless it exists; (path, created)."""
    path = os.path.join(folder, name)
    if _is_mounted(path):
        return path, False
    os.makedirs(folder, mode=0o755, exist_ok=True)
    _share(folder)
    with open(path, 'a'):
        pass
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.close(read_end)
            syscalls.unshare(consts.CLONE_NEWNET)
            syscalls.mount('/proc/self/ns/net', path, None, consts.MS_BIND)
            syscalls.interface_up('lo')
            status = 0
        except BaseException as exc:  # pylint: disable=broad-except
            os.write(write_end, errors.describe(exc).encode('utf-8', 'replace')[:4000])
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, 'rb') as pipe:
        message = pipe.read()
    os.waitpid(child, 0)
    if message or not _is_mounted(path):
        _remove_file(path)
        raise errors.SetupError('cannot create the network namespace %s: %s'
                                % (path, message.decode('utf-8', 'replace') or 'unknown error'))
    return path, True


def _remove_file(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove(name, folder=DEFAULT_NETNS_DIR):
    """Unmount and remove `folder/name`; True if there was something to remove."""
    path = os.path.join(folder, name)
    found = os.path.lexists(path)
    while _is_mounted(path):
        syscalls.umount2(path, consts.MNT_DETACH)
    _remove_file(path)
    return found


def exists(path):
    """True if `path` is a network namespace file that can be joined."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        # A persistent namespace file that lost its bind mount is an empty regular file.
        return os.fstat(fd).st_size == 0 and (path.startswith('/proc/') or _is_mounted(path))
    finally:
        os.close(fd)
