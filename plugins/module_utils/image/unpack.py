# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply image layers to a root filesystem, the way the OCI image-spec says, and safely.

Two ways to apply a layer:
- onto a root filesystem that holds the layers below it (`copy` rootfs mode):
  whiteouts remove what lower layers put there;
- into an empty directory of its own (`overlay` rootfs mode, one directory
  per layer in the layer cache): whiteouts become overlayfs whiteouts (a 0/0
  character device) and opaque directories get trusted.overlay.opaque=y, so
  that an overlay mount of the layer directories shows the same tree.

Either way, every entry is written through directory fds resolved inside
the root (runtime.rootfs.securejoin.RootDir): no entry, symlink, hardlink or whiteout can
create, change or remove anything outside it. Files are created with
O_EXCL | O_NOFOLLOW after whatever was at their name is removed, then
owned, moded, given their xattrs and times through their own fd. Directory
modes and times are applied at the end of each layer, after their contents.
"""

import errno
import os
import stat

from ..runtime.rootfs.securejoin import ABSENT, Missing, RootDir, display, remove_tree
from . import layers as L
from .errors import LayerError, UnsafeEntryError

COPY_BUFFER = 1 << 20
OPAQUE_XATTR = 'trusted.overlay.opaque'
# Labels belong to the host's policy and NFSv4 ACLs to the host's server;
# overlayfs's own attributes in an image would steer the overlay mount.
_HOST_XATTRS = ('security.selinux', 'system.nfs4_acl')
_OVERLAY_XATTR_PREFIXES = ('trusted.overlay.', 'user.overlay.')

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnpackStats:
    """What unpacking did: counts, bytes written and the warnings given."""

    def __init__(self):
        self.entries = 0
        self.bytes = 0
        self.layers = 0
        self.warnings = []


def is_whiteout_device(info):
    """True for overlayfs's whiteout: a character device with number 0/0."""
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def _same(info_a, info_b):
    return (info_a.st_dev, info_a.st_ino) == (info_b.st_dev, info_b.st_ino)


class Warner:
    """Warnings for the user, each kind given once per unpack so a big layer cannot flood the log."""

    def __init__(self, stats, warn):
        self._stats = stats
        self._warn = warn
        self._seen = set()

    def __call__(self, message, kind=None):
        if kind is not None:
            if kind in self._seen:
                return
            self._seen.add(kind)
        self._stats.warnings.append(message)
        if self._warn:
            self._warn(message)


class LayerWriter:
    """Applies the entries of one layer to directory `target`; a context manager.

    With `overlay`, `target` is the layer's own empty directory and `lower`
    (a LowerLayers, or None for the bottom layer) shows the layers below.
    """

    def __init__(self, target, warn, overlay=False, lower=None, owners=None):
        self.warn = warn
        self.overlay = overlay
        self.lower = lower
        self.owners = (os.geteuid() == 0) if owners is None else owners
        self.written = 0
        # Physical paths this layer made or changed, and all their parents:
        # a whiteout in this layer never removes them (image-spec, "Whiteouts").
        self._touched = set()
        # Directory (mode or None, (atime_ns, mtime_ns)) to set at the end of the layer.
        self._dir_meta = {}
        self._opaque = set()
        self._whiteouts = set()
        self.root = RootDir(target, lower=self._union if overlay else None, make_dir=self._make_dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.root.close()

    # -- entry points -----------------------------------------------------

    def apply(self, entry, data=None):
        """Apply one Entry; `data` is a FILE entry's content (a file object)."""
        self.root.trim()
        try:
            if entry.kind == L.WHITEOUT:
                self._whiteout(entry)
            elif entry.kind == L.OPAQUE:
                self._opaque_dir(entry)
            elif not entry.parts:
                self._root_entry(entry)
            else:
                self._entry(entry, data)
        except LayerError:
            raise
        except NotADirectoryError as exc:
            raise LayerError('entry %r: a parent is not a directory (%s)' % (entry.name, exc.strerror))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeEntryError('entry %r: too many levels of symbolic links in its path (a symlink loop)'
                                       % entry.name)
            raise LayerError('entry %r: %s' % (entry.name, os.strerror(exc.errno) if exc.errno else exc))

    def finish(self):
        """Overlay whiteouts and opaque marks, then directory modes and times (after their contents)."""
        if self.overlay:
            self._finish_overlay()
        for path in sorted(self._dir_meta, key=len, reverse=True):
            mode, times = self._dir_meta[path]
            try:
                fd = self.root.open_physical(path)
            except OSError:
                continue  # removed or replaced later in the layer
            try:
                if mode is not None:
                    os.fchmod(fd, mode)
                os.utime(fd, ns=times)
            finally:
                os.close(fd)
        self.root.trim(0)

    # -- helpers ----------------------------------------------------------

    def _touch(self, path):
        while path and path not in self._touched:
            self._touched.add(path)
            path = path[:-1]

    def _keep_dir_times(self, directory):
        """Remember a directory's times before this layer changes its contents."""
        if directory.path not in self._dir_meta:
            info = os.fstat(directory.fd)
            self._dir_meta[directory.path] = (None, (info.st_atime_ns, info.st_mtime_ns))

    def _parent(self, entry, parts):
        try:
            return self.root.lookup(parts, create=True)
        except FileExistsError:
            raise LayerError('entry %r: cannot make its parent directory %s' % (entry.name, display(parts)))

    def _owner(self, entry, fd=None, name=None, dir_fd=None):
        if not self.owners:
            return
        try:
            if fd is not None:
                os.fchown(fd, entry.uid, entry.gid)
            else:
                os.chown(name, entry.uid, entry.gid, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EINVAL):
                raise
            self.owners = False
            self.warn('cannot set file owners (%s; in a user namespace without the ids mapped?): files keep the '
                      "unpacking user's owner" % os.strerror(exc.errno), 'chown')

    def _xattrs(self, entry, target):
        for key, value in entry.xattrs.items():
            if key in _HOST_XATTRS:
                continue
            if key.startswith(_OVERLAY_XATTR_PREFIXES):
                self.warn('entry %r carries overlayfs attribute %s: ignored' % (entry.name, key))
                continue
            try:
                os.setxattr(target, key, value)
            except OSError as exc:
                if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    self.warn('the file system does not support extended attributes such as %s: they are not set' % key,
                              'xattr-' + key.split('.')[0])
                elif exc.errno == errno.EPERM:
                    self.warn('not allowed to set extended attribute %s (needs privileges): not set' % key,
                              'xattr-perm-' + key.split('.')[0])
                else:
                    raise

    def _clear(self, parent, name, entry):
        """Remove what is at `name` unless it and the entry are both directories; return its stat or None."""
        try:
            info = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if entry.kind == L.DIR and stat.S_ISDIR(info.st_mode):
            return info
        remove_tree(parent.fd, name)
        if stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode):
            self.root.forget()
        return None

    # -- entries ----------------------------------------------------------

    def _root_entry(self, entry):
        self._owner(entry, fd=self.root.fd)
        self._xattrs(entry, self.root.fd)
        self._dir_meta[()] = (entry.mode, (entry.atime_ns, entry.mtime_ns))

    def _entry(self, entry, data):
        parent = self._parent(entry, entry.parts[:-1])
        name = entry.parts[-1]
        path = parent.path + (name,)
        self._keep_dir_times(parent)
        existing = self._clear(parent, name, entry)
        kind = entry.kind
        if kind == L.FILE:
            self._file(parent, name, entry, data)
        elif kind == L.DIR:
            self._dir(parent, name, entry, existing)
        elif kind == L.SYMLINK:
            os.symlink(entry.link, name, dir_fd=parent.fd)
            self._owner(entry, name=name, dir_fd=parent.fd)
            if entry.xattrs:
                self.warn('entry %r: extended attributes on symlinks are not set' % entry.name, 'symlink-xattr')
            os.utime(name, ns=(entry.atime_ns, entry.mtime_ns), dir_fd=parent.fd, follow_symlinks=False)
        elif kind == L.HARDLINK:
            self._hardlink(parent, name, entry)
        elif not self._node(parent, name, entry):
            return
        self._touch(path)

    def _file(self, parent, name, entry, data):
        fd = os.open(name, _CREATE_FLAGS, 0o600, dir_fd=parent.fd)
        try:
            remaining = entry.size
            while remaining > 0:
                chunk = data.read(min(COPY_BUFFER, remaining))
                if not chunk:
                    raise LayerError('entry %r: the layer ends inside its data' % entry.name)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
                remaining -= len(chunk)
            self.written += entry.size
            self._owner(entry, fd=fd)
            # After chown, which clears setuid and setgid bits.
            os.fchmod(fd, entry.mode)
            self._xattrs(entry, fd)
            os.utime(fd, ns=(entry.atime_ns, entry.mtime_ns))
        finally:
            os.close(fd)

    def _dir(self, parent, name, entry, existing):
        if existing is None:
            os.mkdir(name, 0o700, dir_fd=parent.fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
        try:
            self._owner(entry, fd=fd)
            if existing is not None:
                self._drop_xattrs(fd, entry)
            self._xattrs(entry, fd)
        finally:
            os.close(fd)
        self._dir_meta[parent.path + (name,)] = (entry.mode, (entry.atime_ns, entry.mtime_ns))

    def _drop_xattrs(self, fd, entry):
        """A directory entry over a directory replaces its attributes: drop xattrs it does not carry."""
        try:
            names = os.listxattr(fd)
        except OSError:
            return
        for key in names:
            if key in entry.xattrs or key in _HOST_XATTRS or key.startswith(_OVERLAY_XATTR_PREFIXES):
                continue
            try:
                os.removexattr(fd, key)
            except OSError:
                pass

    def _node(self, parent, name, entry):
        kinds = {L.CHAR: stat.S_IFCHR, L.BLOCK: stat.S_IFBLK, L.FIFO: stat.S_IFIFO}
        try:
            os.mknod(name, kinds[entry.kind] | 0o600, os.makedev(entry.devmajor, entry.devminor), dir_fd=parent.fd)
        except PermissionError:
            self.warn('cannot make device nodes here (no CAP_MKNOD, or in a user namespace): %r and other '
                      'devices are skipped' % entry.name, 'mknod')
            return False
        self._owner(entry, name=name, dir_fd=parent.fd)
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent.fd)
        try:
            # An O_PATH fd cannot be fchmod'ed, but its /proc magic link names
            # exactly this inode, whatever happens to the name.
            os.chmod('/proc/self/fd/%d' % fd, entry.mode)
            if entry.xattrs:
                self._xattrs(entry, '/proc/self/fd/%d' % fd)
        finally:
            os.close(fd)
        os.utime(name, ns=(entry.atime_ns, entry.mtime_ns), dir_fd=parent.fd, follow_symlinks=False)
        return True

    def _hardlink(self, parent, name, entry):
        source_fd, source_name, owned = self._link_source(entry)
        try:
            info = os.stat(source_name, dir_fd=source_fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                raise UnsafeEntryError('entry %r is a hardlink to directory %s' % (entry.name, display(entry.link)))
            os.link(source_name, name, src_dir_fd=source_fd, dst_dir_fd=parent.fd, follow_symlinks=False)
        finally:
            if owned is not None:
                os.close(owned)

    def _link_source(self, entry):
        """(dir fd, name, fd to close or None) of a hardlink's target, in this layer or (overlay) one below."""
        parts = entry.link
        missing = LayerError('entry %r is a hardlink to %s, which does not exist in this or an earlier layer'
                             % (entry.name, display(parts)))
        try:
            directory = self.root.lookup(parts[:-1], create=self.overlay)
        except (FileNotFoundError, NotADirectoryError):
            raise missing
        try:
            os.stat(parts[-1], dir_fd=directory.fd, follow_symlinks=False)
            return directory.fd, parts[-1], None
        except FileNotFoundError:
            pass
        path = directory.path + (parts[-1],)
        if self.overlay and self.lower is not None and not self.hidden_here(path):
            found = self.lower.locate(path)
            if found is not None:
                return found[0], found[1], found[0]
        raise missing

    # -- whiteouts --------------------------------------------------------

    def _whiteout(self, entry):
        if self.overlay:
            parent = self._parent(entry, entry.parts[:-1])
            self._keep_dir_times(parent)
            self._whiteouts.add(parent.path + (entry.parts[-1],))
            return
        try:
            parent = self.root.lookup(entry.parts[:-1])
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing below to hide
        self._keep_dir_times(parent)
        self._remove_lower(parent.path + (entry.parts[-1],), keep_top=False)

    def _opaque_dir(self, entry):
        if self.overlay:
            directory = self._parent(entry, entry.parts)
            self._opaque.add(directory.path)
            self._touch(directory.path)
            return
        try:
            directory = self.root.lookup(entry.parts)
        except (FileNotFoundError, NotADirectoryError):
            return
        self._keep_dir_times(directory)
        self._remove_lower(directory.path, keep_top=True)

    def _remove_lower(self, path, keep_top):
        """Remove what lower layers put at `path` (only below it with `keep_top`), sparing this layer's entries."""
        pending = [(path, keep_top)]
        while pending:
            here, keep = pending.pop()
            if not keep and here not in self._touched:
                try:
                    parent_fd = self.root.open_physical(here[:-1])
                except OSError:
                    continue
                try:
                    remove_tree(parent_fd, here[-1])
                finally:
                    os.close(parent_fd)
                self.root.forget()
                continue
            try:
                fd = self.root.open_physical(here)
            except OSError:
                continue  # not a directory: a file this layer wrote stays
            try:
                names = os.listdir(fd)
                info = os.fstat(fd)
            finally:
                os.close(fd)
            if here not in self._dir_meta:
                self._dir_meta[here] = (None, (info.st_atime_ns, info.st_mtime_ns))
            pending.extend((here + (os.fsencode(child),), False) for child in names)

    def _finish_overlay(self):
        for path in sorted(self._whiteouts):
            try:
                parent_fd = self.root.open_physical(path[:-1])
            except OSError:
                continue
            try:
                try:
                    info = os.stat(path[-1], dir_fd=parent_fd, follow_symlinks=False)
                except FileNotFoundError:
                    os.mknod(path[-1], stat.S_IFCHR | 0o600, 0, dir_fd=parent_fd)
                    continue
                if stat.S_ISDIR(info.st_mode):
                    # Removed and made again in this layer: hide what was below.
                    self._opaque.add(path)
            finally:
                os.close(parent_fd)
        for path in sorted(self._opaque):
            try:
                fd = self.root.open_physical(path)
            except OSError:
                continue
            try:
                os.setxattr(fd, OPAQUE_XATTR, b'y')
            finally:
                os.close(fd)

    # -- the union view for overlay layers ----------------------------------

    def hidden_here(self, path):
        """True if this layer hides `path` in the layers below (a whiteout or opaque directory above it)."""
        if path in self._whiteouts:
            return True
        for cut in range(len(path)):
            prefix = path[:cut]
            if prefix in self._opaque or prefix in self._whiteouts:
                return True
        return False

    def _union(self, path):
        """The RootDir `lower` hook: what the layers below show at a name missing from this layer."""
        if self.lower is None or self.hidden_here(path):
            return ABSENT
        found = self.lower.locate(path)
        if found is None:
            return ABSENT
        fd, name, info = found
        try:
            if stat.S_ISLNK(info.st_mode):
                return Missing('symlink', target=os.readlink(name, dir_fd=fd))
            if stat.S_ISDIR(info.st_mode):
                return Missing('dir', info=info)
            return Missing('file', info=info)
        finally:
            os.close(fd)

    def _make_dir(self, parent, name, info):
        """The RootDir `make_dir` hook: a directory no entry names (yet).

        In an overlay layer it takes the attributes of the directory the
        layers below show there, so that the union looks the same as if
        this layer did not have it.
        """
        self._keep_dir_times(parent)
        os.mkdir(name, 0o755, dir_fd=parent.fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
        try:
            if info is not None:
                if self.owners:
                    os.fchown(fd, info.st_uid, info.st_gid)
                os.fchmod(fd, stat.S_IMODE(info.st_mode))
                times = (info.st_atime_ns, info.st_mtime_ns)
            else:
                now = os.fstat(fd)
                times = (now.st_atime_ns, now.st_mtime_ns)
        finally:
            os.close(fd)
        self._dir_meta[parent.path + (name,)] = (None, times)


class LowerLayers:
    """The union of overlay layer directories below the one being unpacked (top first)."""

    def __init__(self, paths):
        self.fds = []
        try:
            for path in paths:
                self.fds.append(os.open(path, _DIR_FLAGS))
        except BaseException:
            self.close()
            raise

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    def locate(self, path):
        """(parent fd, name, stat) of what the union shows at physical `path`, or None; close the fd."""
        for layer_fd in self.fds:
            found, hidden = self._in_layer(layer_fd, path)
            if found is not None or hidden:
                return found
        return None

    @staticmethod
    def _in_layer(layer_fd, path):
        """((parent fd, name, stat) or None, whether this layer hides the layers below)."""
        fd = os.dup(layer_fd)
        hides = False
        try:
            for depth, name in enumerate(path):
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    return None, hides
                if is_whiteout_device(info):
                    return None, True
                if depth == len(path) - 1:
                    found, fd = (fd, name, info), -1
                    return found, True
                if not stat.S_ISDIR(info.st_mode):
                    return None, True
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                if not hides:
                    try:
                        hides = os.getxattr(fd, OPAQUE_XATTR) == b'y'
                    except OSError:
                        pass
            return None, hides
        finally:
            if fd >= 0:
                os.close(fd)


def apply_layer(reader, target, warn=None, overlay=False, lower_paths=(), stats=None):
    """Apply the layer `reader` (a layers.LayerReader) to directory `target`; return UnpackStats.

    For copy mode `target` is the rootfs holding the layers below; with
    `overlay` it is the layer's own empty directory and `lower_paths` the
    directories of the layers below it, top first. Both digests are checked
    at the end: on a mismatch the caller must discard `target`.
    """
    stats = stats or UnpackStats()
    warner = warn if isinstance(warn, Warner) else Warner(stats, warn)
    lower = LowerLayers(lower_paths) if overlay and lower_paths else None
    try:
        with LayerWriter(target, warner, overlay=overlay, lower=lower) as writer:
            reader.warn = warner
            for entry in reader.entries():
                writer.apply(entry, reader.data(entry) if entry.kind == L.FILE else None)
                stats.entries += 1
            reader.finish()
            writer.finish()
            stats.bytes += writer.written
            stats.layers += 1
    finally:
        if lower is not None:
            lower.close()
    return stats


def unpack_image(layout, image, rootfs, warn=None):
    """Unpack every layer of `image` (a layout_reader.Image of `layout`) into new directory `rootfs`.

    The directory is made (mode 0755, owned by root, mtime the epoch, as
    umoci does, since images rarely say what their root looks like). On any
    error the caller should remove it: a half-applied rootfs is no rootfs.
    """
    stats = UnpackStats()
    warner = Warner(stats, warn)
    os.mkdir(rootfs, 0o755)
    os.chmod(rootfs, 0o755)
    if os.geteuid() == 0:
        os.chown(rootfs, 0, 0)
    os.utime(rootfs, ns=(0, 0))
    diff_ids = image.diff_ids
    for index, descriptor in enumerate(image.layers):
        diff_id = diff_ids[index] if index < len(diff_ids) else None
        with L.LayerReader(layout, descriptor, diff_id) as reader:
            apply_layer(reader, rootfs, warner, stats=stats)
    return stats
