# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mounts a restore needs: mount points in the rootfs, and the root CRIU restores into.

CRIU restores mounts onto mount points that must exist in the rootfs; a
rootfs copied to another host may lack those `create` made (runc's
prepareCriuRestoreMounts). A forked child in a private mount namespace makes
them, binding bind-mount sources so that nested mount points can be made;
nothing of that reaches the host's namespace. CRIU's root must be a mount
point whose parent is not over-mounted: a bind of the rootfs in the host's
namespace while CRIU runs, as runc makes it.
"""

import contextlib
import os
import stat

from .. import errors
from ..linux import consts as c
from ..linux import syscalls
from ..rootfs import securejoin
from . import externals


def _under(path, prefixes):
    return any(path.startswith(prefix.rstrip('/') + '/') for prefix in prefixes)


def _make_private():
    syscalls.unshare(c.CLONE_NEWNS)
    syscalls.mount(None, '/', None, c.MS_SLAVE | c.MS_REC, None)


def _create_all(bundle):
    """In the child: each mount point of config.json `mounts` (not those on a tmpfs CRIU restores whole)."""
    mounts = bundle.config.get('mounts') or []
    tmpfs = [m['destination'] for m in mounts if m.get('type') == 'tmpfs']
    root_fd = os.open(bundle.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, mount in enumerate(mounts):
            destination = mount['destination']
            if mount.get('type') == 'cgroup' or _under(destination, tmpfs):
                continue
            kind = 'dir'
            source = None
            if externals.is_bind(mount):
                source = externals.bind_source(bundle.path, mount)
                if not stat.S_ISDIR(os.stat(source).st_mode):
                    kind = 'file'
            try:
                fd = securejoin.open_in_root(root_fd, destination, create=kind)
            except OSError as exc:
                raise errors.SetupError('mounts[%d].destination: cannot create mount point %s for the restore: %s'
                                        % (index, destination, errors.describe(exc)))
            try:
                if source is not None:
                    # Mount points of later mounts may lie inside this one.
                    syscalls.mount(source, securejoin.fd_path(fd), '', c.MS_BIND | c.MS_REC, None)
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)


def prepare(bundle):
    """Create the mount points a restore needs in the rootfs; SetupError naming the mount if one cannot be made."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report_r)
            _make_private()
            _create_all(bundle)
        except BaseException as exc:  # pylint: disable=broad-except
            try:
                os.write(report_w, errors.describe(exc).encode('utf-8', 'replace'))
            finally:
                os._exit(1)
        os._exit(0)
    os.close(report_w)
    try:
        failure = b''
        while True:
            chunk = os.read(report_r, 4096)
            if not chunk:
                break
            failure += chunk
    finally:
        os.close(report_r)
        os.waitpid(pid, 0)
    if failure:
        raise errors.SetupError(failure.decode('utf-8', 'replace'))


# The folder in the container's state folder where CRIU's root is bound during a restore.
CRIU_ROOT = 'criu-root'


def remove_leftover_root(container_path):
    """Unmount and remove a CRIU root a restore killed half-way left in the state folder."""
    path = os.path.join(container_path, CRIU_ROOT)
    try:
        syscalls.umount2(path, c.MNT_DETACH)
    except OSError:
        pass
    try:
        os.rmdir(path)
    except OSError:
        pass


@contextlib.contextmanager
def criu_root(rootfs, path):
    """`path` as a bind mount of the rootfs while the block runs: the root CRIU restores into.

    In the host's mount namespace, as runc does: CRIU works in the image
    folder we opened, and a mount namespace of its own would not contain that
    folder's mount (its cgroup yard could not be mounted there).
    """
    os.mkdir(path, 0o700)
    try:
        syscalls.mount(rootfs, path, 'bind', c.MS_BIND | c.MS_REC, None)
        try:
            syscalls.mount(None, path, None, c.MS_PRIVATE | c.MS_REC, None)
            yield path
        finally:
            syscalls.umount2(path, c.MNT_DETACH)
    finally:
        os.rmdir(path)
