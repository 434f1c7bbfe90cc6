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

# Beside the runtime's default root (/run/runcible), not in it: a folder there would be listed as a container.
DEFAULT_NETNS_DIR = '/run/runcible-netns'


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
    """Make the persistent namespace `folder/name` (loopback up) unless it exists; (path, created).

    As `ip netns add`, without a process: this thread unshares a new
    network namespace, binds it onto the file, brings its loopback up and
    returns to its own namespace (a fork of a Python process costs tens of
    milliseconds; this costs well under one)."""
    path = os.path.join(folder, name)
    if _is_mounted(path):
        return path, False
    os.makedirs(folder, mode=0o755, exist_ok=True)
    _share(folder)
    with open(path, 'a'):
        pass
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            syscalls.unshare(consts.CLONE_NEWNET)
        except OSError as exc:
            _remove_file(path)
            raise errors.SetupError('cannot create the network namespace %s: %s' % (path, errors.describe(exc)))
        failure = None
        try:
            syscalls.mount('/proc/thread-self/ns/net', path, None, consts.MS_BIND)
            syscalls.interface_up('lo')
        except OSError as exc:
            failure = exc
        finally:
            try:
                syscalls.setns(own, consts.CLONE_NEWNET)
            except OSError as exc:
                raise errors.SetupError('cannot return to our own network namespace after creating %s: %s'
                                        % (path, errors.describe(exc)))
    finally:
        os.close(own)
    if failure is not None:
        remove(name, folder)
        raise errors.SetupError('cannot create the network namespace %s: %s' % (path, errors.describe(failure)))
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
