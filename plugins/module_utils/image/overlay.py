# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layer cache and overlayfs root filesystems.

Each layer is unpacked once, in overlay form (whiteouts as 0/0 character
devices, opaque directories marked trusted.overlay.opaque=y), into
<cache>/layers/<chain id>/root. A layer is keyed by its chain ID (the
image-spec's digest of the DiffIDs of it and every layer below), because an
overlay layer's contents depend on what is below it (directories it only
passes through take their attributes from below, hardlinks may point down).
Images that share base layers share their directories, so a second bundle
of an image costs one mount. The cache is only ever written by moving a
finished directory into place, so concurrent unpackers of one layer are
safe (the first one wins) and a crash leaves only a temporary directory.

An overlay root filesystem is the mount of those layers (top first) with a
per-bundle upper and work directory. The mount's source names a hash of its
lower directories, which is how `overlay_state` tells a current mount from
a stale one or a missing one (after a reboot).
"""

import hashlib
import json
import os
import stat
import tempfile

from .errors import LayerError

# The unpacker (with the layer readers and their decompressors) and the mount system calls (ctypes) are
# imported where they are used: a bundle whose rootfs is current only asks mount_at (docs/benchmarks.md).

MOUNT_SOURCE_PREFIX = 'runcible-'
# The mount(2) data page: longer option strings are cut by the kernel.
_MAX_MOUNT_DATA = 4000


def chain_ids(diff_ids):
    """The image-spec ChainIDs of a list of DiffIDs, bottom layer first."""
    chain = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            chain.append('sha256:' + hashlib.sha256(('%s %s' % (chain[-1], diff_id)).encode()).hexdigest())
    return chain


def layer_keys(image):
    """The identities that name an image's layers: DiffIDs, or blob digests when the config has none."""
    if image.diff_ids:
        return list(image.diff_ids)
    return [descriptor['digest'] for descriptor in image.layers]


class LayerCache:
    """Unpacked layers in overlay form, one read-only directory per chain ID, shared by bundles."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        for sub in ('', 'layers', 'tmp'):
            os.makedirs(os.path.join(self.path, sub), mode=0o700, exist_ok=True)

    def layer_path(self, chain_id):
        """The directory holding the layer's `root` and `layer.json`."""
        return os.path.join(self.path, 'layers', chain_id.partition(':')[2] or chain_id)

    def root_of(self, chain_id):
        return os.path.join(self.layer_path(chain_id), 'root')

    def has(self, chain_id):
        return os.path.isdir(self.root_of(chain_id))

    def empty_root(self):
        """An empty directory to mount as the only lower layer of an image with no layers."""
        path = os.path.join(self.path, 'empty')
        os.makedirs(path, mode=0o755, exist_ok=True)
        return path

    def ensure(self, layout, image, warn=None):
        """Unpack the layers of `image` that are not cached yet; return (layer roots bottom first, UnpackStats).

        The stats are None when every layer was cached already: then the unpacker is not even imported.
        """
        chain = chain_ids(layer_keys(image))
        if all(self.has(chain_id) for chain_id in chain):
            return [self.root_of(chain_id) for chain_id in chain], None
        from .unpack import UnpackStats, Warner  # pylint: disable=import-outside-toplevel
        stats = UnpackStats()
        warner = Warner(stats, warn)
        roots = []
        for index, chain_id in enumerate(chain):
            if not self.has(chain_id):
                self._unpack(layout, image, index, chain_id, list(reversed(roots)), warner, stats)
            roots.append(self.root_of(chain_id))
        return roots, stats

    def _unpack(self, layout, image, index, chain_id, lower_roots, warner, stats):
        from . import layers as L  # pylint: disable=import-outside-toplevel
        from .unpack import apply_layer  # pylint: disable=import-outside-toplevel
        descriptor = image.layers[index]
        diff_ids = image.diff_ids
        work = tempfile.mkdtemp(prefix='layer-', dir=os.path.join(self.path, 'tmp'))
        try:
            root = os.path.join(work, 'root')
            os.mkdir(root, 0o755)
            _copy_root_attributes(lower_roots[0] if lower_roots else None, root)
            with L.LayerReader(layout, descriptor, diff_ids[index] if index < len(diff_ids) else None) as reader:
                apply_layer(reader, root, warner, overlay=True, lower_paths=lower_roots, stats=stats)
                meta = {'chain_id': chain_id, 'digest': descriptor['digest'], 'diff_id': reader.diff_digest,
                        'compression': reader.compression}
            with open(os.path.join(work, 'layer.json'), 'w') as handle:
                json.dump(meta, handle, sort_keys=True)
            try:
                os.rename(work, self.layer_path(chain_id))
                work = None
            except OSError as exc:
                if not self.has(chain_id):
                    raise LayerError('cannot move unpacked layer into %s: %s' % (self.layer_path(chain_id), exc.strerror))
                # Another unpacker finished the same layer first: use theirs.
        finally:
            if work is not None:
                _remove(work)

    def tree_digest(self, chain_id):
        """The cached tree digest of the union of layers up to `chain_id`, or None."""
        try:
            with open(os.path.join(self.layer_path(chain_id), 'tree-digest')) as handle:
                return handle.read().strip() or None
        except OSError:
            return None

    def remember_tree_digest(self, chain_id, digest):
        path = os.path.join(self.layer_path(chain_id), 'tree-digest')
        temporary = path + '.%d' % os.getpid()
        with open(temporary, 'w') as handle:
            handle.write(digest + '\n')
        os.rename(temporary, path)


def _copy_root_attributes(source, target):
    """A layer's root starts as the union below shows it (or as 0755 root, time zero, at the bottom)."""
    if source is None:
        mode, uid, gid, times = 0o755, 0, 0, (0, 0)
    else:
        info = os.stat(source)
        mode, uid, gid, times = stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, (info.st_atime_ns, info.st_mtime_ns)
    if os.geteuid() == 0:
        os.chown(target, uid, gid)
    os.chmod(target, mode)
    os.utime(target, ns=times)


def _remove(path):
    from ..runtime.rootfs.securejoin import remove_tree  # pylint: disable=import-outside-toplevel
    parent, name = os.path.split(path.rstrip('/'))
    fd = os.open(parent or '.', os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        remove_tree(fd, name)
    finally:
        os.close(fd)


# -- mounts -------------------------------------------------------------------


def mount_source(lower_roots):
    """The source name an overlay rootfs of these lower directories is mounted with."""
    digest = hashlib.sha256('\n'.join(lower_roots).encode('utf-8', 'surrogateescape')).hexdigest()
    return MOUNT_SOURCE_PREFIX + digest[:24]


def _unescape_mountinfo(field):
    out = []
    index = 0
    while index < len(field):
        if field[index] == '\\' and index + 3 < len(field) and field[index + 1:index + 4].isdigit():
            out.append(chr(int(field[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return ''.join(out)


def mount_at(target):
    """(fstype, source) of the topmost mount on directory `target`, or None if it is not a mount point."""
    found = None
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            left, _unused, right = line.partition(' - ')
            fields = left.split()
            if len(fields) < 5 or _unescape_mountinfo(fields[4]) != target:
                continue
            parts = right.split()
            found = (parts[0], _unescape_mountinfo(parts[1]) if len(parts) > 1 else '')
    return found


def overlay_state(target, lower_roots):
    """'mounted' (these layers), 'stale' (another mount is there) or 'unmounted'."""
    found = mount_at(os.path.realpath(target))
    if found is None:
        return 'unmounted'
    if found == ('overlay', mount_source(lower_roots)):
        return 'mounted'
    return 'stale'


def _plain(path):
    return not any(char in path for char in ':,\\\n ')


def mount_overlay(target, lower_roots, upper, work):
    """Mount an overlay of `lower_roots` (bottom first) with `upper`/`work` on `target`.

    The lower directories are named by path when the option string fits
    in a page and the paths need no escaping; otherwise by /proc/self/fd
    links of fds opened here, which is exact and short.
    """
    from ..runtime.linux import syscalls  # pylint: disable=import-outside-toplevel
    top_first = list(reversed(lower_roots))
    source = mount_source(lower_roots)
    data = 'lowerdir=%s,upperdir=%s,workdir=%s' % (':'.join(top_first), upper, work)
    if len(data) <= _MAX_MOUNT_DATA and all(_plain(path) for path in top_first + [upper, work]):
        syscalls.mount(source, target, 'overlay', 0, data)
        return
    fds = []
    try:
        for path in top_first + [upper, work]:
            fds.append(os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        names = ['/proc/self/fd/%d' % fd for fd in fds]
        data = 'lowerdir=%s,upperdir=%s,workdir=%s' % (':'.join(names[:-2]), names[-2], names[-1])
        if len(data) > _MAX_MOUNT_DATA:
            raise LayerError('an overlay of %d layers does not fit in one mount option page: use rootfs mode copy'
                             % len(lower_roots))
        syscalls.mount(source, target, 'overlay', 0, data)
    finally:
        for fd in fds:
            os.close(fd)


def unmount(target):
    """Unmount `target`; a busy mount (a running container) is an error that says so."""
    from ..runtime.linux import syscalls  # pylint: disable=import-outside-toplevel
    try:
        syscalls.umount2(target)
    except OSError as exc:
        if exc.errno == 16:  # EBUSY
            raise LayerError('%s is in use (is a container running from it?): stop it before the rootfs changes'
                             % target)
        raise


def copy_dir_attributes(source, target):
    """Give directory `target` the owner, mode and times of directory `source`."""
    info = os.stat(source)
    if os.geteuid() == 0:
        os.chown(target, info.st_uid, info.st_gid)
    os.chmod(target, stat.S_IMODE(info.st_mode))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


def remove_dir(path):
    """Remove directory tree `path` safely (no symlink followed); missing is fine."""
    if os.path.lexists(path):
        _remove(path)
