# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device nodes and the /dev symlinks every container gets."""

import os
import stat

from .. import errors
from ..linux import consts as c
from ..linux import syscalls
from ..spec.config import DEVICE_TYPE_BITS
from . import securejoin

# runc's default devices, in runc's order.
DEFAULT_DEVICES = (
    {'path': '/dev/null', 'type': 'c', 'major': 1, 'minor': 3},
    {'path': '/dev/random', 'type': 'c', 'major': 1, 'minor': 8},
    {'path': '/dev/full', 'type': 'c', 'major': 1, 'minor': 7},
    {'path': '/dev/tty', 'type': 'c', 'major': 5, 'minor': 0},
    {'path': '/dev/zero', 'type': 'c', 'major': 1, 'minor': 5},
    {'path': '/dev/urandom', 'type': 'c', 'major': 1, 'minor': 9},
)


def device_list(bundle):
    """[(field, device)]: the defaults the config does not override, then linux.devices."""
    configured = list(bundle.linux.get('devices') or [])
    paths = {d['path'] for d in configured}
    defaults = [('default device %s' % d['path'], dict(d, fileMode=0o666, uid=0, gid=0))
                for d in DEFAULT_DEVICES if d['path'] not in paths]
    return defaults + [('linux.devices[%d]' % i, d) for i, d in enumerate(configured)]


def create(root_fd, bundle, bind):
    """Make each device under the rootfs (bind-mount the host's in a user namespace)."""
    old_umask = os.umask(0)
    try:
        for field, device in device_list(bundle):
            _create_one(root_fd, device, bind, field)
    finally:
        os.umask(old_umask)


def _create_one(root_fd, device, bind, field):
    path = device['path']
    parent, name = os.path.split(path)
    try:
        dir_fd = securejoin.open_in_root(root_fd, parent, create='dir')
    except OSError as exc:
        raise errors.SetupError('%s.path: cannot create %s: %s' % (field, parent, errors.describe(exc)))
    try:
        if bind:
            _bind_host_device(dir_fd, name, path, field)
            return
        # fileMode may carry st_mode's file-type bits (podman's do); validation made sure they match type.
        mode = device.get('fileMode', 0o666) & 0o7777 | DEVICE_TYPE_BITS[device['type']]
        number = os.makedev(device.get('major', 0), device.get('minor', 0))
        try:
            os.mknod(name, mode, number, dir_fd=dir_fd)
        except FileExistsError:
            return
        except PermissionError:
            _bind_host_device(dir_fd, name, path, field)
            return
        except OSError as exc:
            raise errors.SetupError('%s: mknod %s: %s' % (field, path, exc.strerror))
        os.chown(name, device.get('uid', 0), device.get('gid', 0), dir_fd=dir_fd, follow_symlinks=False)
    finally:
        os.close(dir_fd)


def _bind_host_device(dir_fd, name, path, field):
    try:
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644, dir_fd=dir_fd))
        target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        raise errors.SetupError('%s: cannot create %s: %s' % (field, path, exc.strerror))
    try:
        syscalls.mount(path, securejoin.fd_path(target), 'bind', c.MS_BIND, None)
    except OSError as exc:
        raise errors.SetupError('%s: bind mount of host device %s: %s' % (field, path, exc.strerror))
    finally:
        os.close(target)


def _symlink(root_fd, target, link):
    parent, name = os.path.split(link)
    dir_fd = securejoin.open_in_root(root_fd, parent, create='dir')
    try:
        os.symlink(target, name, dir_fd=dir_fd)
    except FileExistsError:
        pass
    finally:
        os.close(dir_fd)


def setup_ptmx(root_fd):
    """/dev/ptmx -> pts/ptmx, so each container uses its own devpts instance."""
    dir_fd = securejoin.open_in_root(root_fd, '/dev', create='dir')
    try:
        try:
            os.unlink('ptmx', dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        os.symlink('pts/ptmx', 'ptmx', dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def setup_symlinks(root_fd):
    links = [('/proc/self/fd', '/dev/fd'), ('/proc/self/fd/0', '/dev/stdin'),
             ('/proc/self/fd/1', '/dev/stdout'), ('/proc/self/fd/2', '/dev/stderr')]
    if os.path.exists('/proc/kcore'):
        links.append(('/proc/kcore', '/dev/core'))
    for target, link in links:
        _symlink(root_fd, target, link)


def reopen_dev_null():
    """Stdio that is the host's /dev/null becomes the container's (runc's reOpenDevNull).

    A file of the host's mount namespace cannot be checkpointed (CRIU finds
    no mount for it in the container), and in a user namespace it would not
    even be writable. Runs in the init after pivot_root.
    """
    try:
        null = os.open('/dev/null', os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        device = os.fstat(null)
        if not stat.S_ISCHR(device.st_mode) or device.st_rdev != os.makedev(1, 3):
            return
        for fd in (0, 1, 2):
            try:
                info = os.fstat(fd)
            except OSError:
                continue
            if stat.S_ISCHR(info.st_mode) and info.st_rdev == device.st_rdev:
                os.dup2(null, fd)
    finally:
        os.close(null)
