# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mounts of a container that has no mount namespace of its own.

runtime-spec: without a "mount" entry in linux.namespaces the container
shares the runtime's mount namespace. runc 1.1 and crun 1.8 then mount
config.json's mounts under the rootfs in that namespace, chroot into it, and
leave every mount behind after `delete`. runcible mounts them the same way,
records which mounts were at or below the rootfs before `create`, and
removes the others when the container is deleted (or its create fails).
"""

import errno
import os

from ..linux import consts as c
from ..linux import mountinfo, syscalls


def _namespace():
    return os.stat('/proc/self/ns/mnt').st_ino


def mounts_below(rootfs):
    """[(mount ID, mount point)] of the mounts at or below `rootfs`, in mountinfo's order."""
    prefix = rootfs.rstrip('/') + '/'
    found = []
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            fields = line.split(' ', 5)
            mountpoint = mountinfo.unescape(fields[4])
            if mountpoint == rootfs or mountpoint.startswith(prefix):
                found.append((int(fields[0]), mountpoint))
    return found


def snapshot(rootfs):
    """What `remove_new` needs to tell the container's mounts from those that were there before."""
    return {'mnt_ns': _namespace(), 'before': sorted(mount_id for mount_id, _path in mounts_below(rootfs))}


def remove_new(rootfs, recorded):
    """Detach every mount at or below `rootfs` not in `recorded` (a snapshot); returns warnings.

    Only in the mount namespace the snapshot was taken in: another one does
    not hold the container's mounts.
    """
    if _namespace() != recorded.get('mnt_ns'):
        return ['the container\'s mounts under %s are in another mount namespace (%s) than this command\'s: '
                'unmount them there' % (rootfs, recorded.get('mnt_ns'))]
    before = set(recorded.get('before') or ())
    for mount_id, mountpoint in reversed(mounts_below(rootfs)):
        if mount_id in before:
            continue
        try:
            syscalls.umount2(mountpoint, c.MNT_DETACH)
        except OSError as exc:
            # EINVAL: already gone with a mount above it.
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                return ['cannot unmount %s: %s' % (mountpoint, exc.strerror)]
    left = [path for mount_id, path in mounts_below(rootfs) if mount_id not in before]
    if left:
        return ['mounts left under %s: %s' % (rootfs, ', '.join(left))]
    return []
