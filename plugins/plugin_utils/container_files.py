# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy files into and out of a running container through /proc/<pid>/root.

The connection plugin runs on the container's host, so it reaches the
container's file system directly: /proc/<pid>/root is the root of the
container's mount namespace, with the container's mounts (tmpfs, volumes,
read-only binds) in place. Paths come from the playbook and the container's
content is not trusted, so every path is resolved inside that root
(runtime.rootfs.securejoin: symlinks and ".." never lead out of it), and the
final open is relative to the directory fd that resolution returned.

A file put into the container is written to a hidden temporary name in the
destination folder, owned by the remote user, then renamed over the
destination: a reader never sees half a file, and a failure leaves nothing.
"""

import binascii
import os
import posixpath
import stat

from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import securejoin

CHUNK = 1 << 20
# Mode of a file put into the container: Ansible chmods what it needs (u+x for
# modules, the task's `mode` for copy and template) as the remote user, who owns it.
PUT_MODE = 0o600


def container_root(pid):
    """The host path of the root of the container whose init is `pid`."""
    # The trailing slash follows the magic link even where a later open says O_NOFOLLOW.
    return '/proc/%d/root/' % pid


def container_path(path):
    """`path` as an absolute, normalized container path (relative paths start at "/", as exec's cwd)."""
    # normpath keeps a leading "//" (POSIX leaves its meaning open); the container's "/" is meant.
    return posixpath.normpath('/' + path.lstrip('/'))


def split_destination(path):
    """(parent, name) of a container path; ValueError if it names no file."""
    parent, name = posixpath.split(container_path(path))
    if not name:
        raise ValueError('%r names the root folder, not a file' % path)
    return parent, name


def _temporary_name(name):
    return '.%s.runcible-%s' % (name[:200], binascii.hexlify(os.urandom(6)).decode())


def put_file(root, source, destination, uid, gid):
    """Copy host file `source` to `destination` inside the container root `root`, owned by uid:gid (host ids)."""
    parent, name = split_destination(destination)
    dir_fd = securejoin.open_in_root(root, parent, strict=False)
    try:
        if not stat.S_ISDIR(os.fstat(dir_fd).st_mode):
            raise NotADirectoryError('%s is not a folder in the container' % parent)
        temporary = _temporary_name(name)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PUT_MODE,
                     dir_fd=dir_fd)
        try:
            with os.fdopen(fd, 'wb') as target, open(source, 'rb') as origin:
                os.fchown(target.fileno(), uid, gid)
                while True:
                    chunk = origin.read(CHUNK)
                    if not chunk:
                        break
                    target.write(chunk)
            os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=dir_fd)
            except OSError:
                pass
            raise
    finally:
        os.close(dir_fd)


def fetch_file(root, source, destination):
    """Copy regular file `source` inside the container root `root` to host path `destination`."""
    path_fd = securejoin.open_in_root(root, container_path(source), strict=False)
    try:
        if not stat.S_ISREG(os.fstat(path_fd).st_mode):
            raise IsADirectoryError('%s is not a regular file in the container' % source)
        # Reopen exactly the inode that resolution found (no second lookup by name).
        fd = os.open(securejoin.fd_path(path_fd), os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(path_fd)
    with os.fdopen(fd, 'rb') as origin, open(destination, 'wb') as target:
        while True:
            chunk = origin.read(CHUNK)
            if not chunk:
                break
            target.write(chunk)


def host_id(id_map, inner_id, kind='uid'):
    """The host id of `inner_id` by a /proc/<pid>/uid_map or gid_map text ("inside outside count" lines)."""
    for line in id_map.splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        inside, outside, count = (int(field) for field in fields)
        if inside <= inner_id < inside + count:
            return outside + inner_id - inside
    raise ValueError('%s %d is not mapped in the container\'s user namespace' % (kind, inner_id))


def process_ids(status_text):
    """(real uid, real gid) from a /proc/<pid>/status text, as the host sees them."""
    ids = {}
    for line in status_text.splitlines():
        key, _unused, value = line.partition(':')
        if key in ('Uid', 'Gid'):
            ids[key] = int(value.split()[0])
    if 'Uid' not in ids or 'Gid' not in ids:
        raise ValueError('no Uid or Gid line in the process status')
    return ids['Uid'], ids['Gid']
