# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One tar archive that carries a checkpoint to another host, and its import.

Layout (uncompressed tar, or gzip when the name ends in .gz or .tgz):

  runcible-checkpoint.json   the manifest, first member: format, the container ID,
                             the checkpoint's ID, the config digest, the CRIU version,
                             the rootfs kind (`full` or `overlay-changes`) and the
                             bundle's image digest when it has one
  checkpoint/...             the checkpoint image folder (CRIU's files, descriptors.json,
                             runcible.json, oci_checkpoint.json)
  bundle/config.json         the container's config.json (and runcible.json if any)
  rootfs/...                 the rootfs changes a restore elsewhere needs: a bundle whose
                             rootfs is an overlay (oci_bundle mode overlay) carries only its
                             upper directory; any other rootfs has no base to compare
                             with and travels whole

Import extracts every member under its destination folder through the
runtime's one in-root path helper (rootfs/securejoin.py) and refuses what an
archive oci_checkpoint wrote never holds: absolute names, `..`, a member
reached through a symlink, hard links out of their folder, and anything but
regular files, folders, symlinks, hard links and the overlay whiteouts
(character device 0:0).

It lives beside the CRIU image code (criu/image.py) because it carries that
image folder, and inside the runtime because it needs nothing from outside
it; the runtime's command line does not use it (runc has no archive format):
oci_checkpoint (converge/checkpoint.py) does.
"""

import errno
import io
import json
import os
import shutil
import stat
import tarfile

from .. import errors
from ..rootfs import securejoin
from ..rootfs.securejoin import RootDir, split_path

MANIFEST = 'runcible-checkpoint.json'
FORMAT = 1
CHECKPOINT_DIR = 'checkpoint'
BUNDLE_DIR = 'bundle'
ROOTFS_DIR = 'rootfs'
ROOTFS_FULL = 'full'
ROOTFS_CHANGES = 'overlay-changes'
BUNDLE_FILES = ('config.json', 'runcible.json')
# In a bundle that import made or brought up to date: which checkpoint it holds the rootfs of.
IMPORTED = 'checkpoint-import.json'

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class CheckpointArchiveError(errors.RuntimeErrorBase):
    """A checkpoint archive that is not one of ours, or has a member that would write outside its destination."""


def tar_mode(path, writing):
    """tarfile's mode for `path`: gzip by its suffix."""
    gz = path.endswith('.gz') or path.endswith('.tgz')
    if writing:
        return 'w:gz' if gz else 'w'
    return 'r:gz' if gz else 'r'


def bundle_rootfs_changes(bundle):
    """(kind, folder) of what a bundle's rootfs contributes: the overlay upper directory, or the whole rootfs."""
    try:
        with open(os.path.join(bundle, 'runcible.json'), 'rb') as handle:
            record = json.loads(handle.read().decode('utf-8'))
    except (OSError, ValueError):
        record = {}
    upper = os.path.join(bundle, 'overlay', 'upper')
    if (record.get('rootfs') or {}).get('mode') == 'overlay' and os.path.isdir(upper):
        return ROOTFS_CHANGES, upper
    return ROOTFS_FULL, os.path.join(bundle, 'rootfs')


def bundle_image_digest(bundle):
    """The image digest oci_bundle recorded for the bundle's rootfs, or None."""
    try:
        with open(os.path.join(bundle, 'runcible.json'), 'rb') as handle:
            record = json.loads(handle.read().decode('utf-8'))
    except (OSError, ValueError):
        return None
    rootfs = record.get('rootfs') or {}
    return rootfs.get('image')


def write(path, manifest, image_path, bundle):
    """Write the archive `path` (through a temporary file renamed into place); returns its size in bytes."""
    kind, rootfs = bundle_rootfs_changes(bundle)
    manifest = dict(manifest, format=FORMAT, rootfs=kind, image_digest=bundle_image_digest(bundle))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
    try:
        with tarfile.open(temporary, tar_mode(path, True), format=tarfile.PAX_FORMAT) as archive:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
            archive.add(image_path, CHECKPOINT_DIR)
            for name in BUNDLE_FILES:
                if os.path.isfile(os.path.join(bundle, name)):
                    archive.add(os.path.join(bundle, name), '%s/%s' % (BUNDLE_DIR, name))
            archive.add(rootfs, ROOTFS_DIR)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return os.path.getsize(path)


def read_manifest(path):
    """The manifest of the archive `path`; CheckpointArchiveError if it is not an archive oci_checkpoint wrote."""
    try:
        with tarfile.open(path, tar_mode(path, False)) as archive:
            member = archive.next()
            if member is None or member.name != MANIFEST or not member.isfile():
                raise CheckpointArchiveError('%s is not a checkpoint archive written by oci_checkpoint export (its '
                                             'first member is not %s)' % (path, MANIFEST))
            manifest = json.loads(archive.extractfile(member).read().decode('utf-8'))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CheckpointArchiveError('%s cannot be read as a tar archive: %s' % (path, exc))
    except ValueError as exc:
        raise CheckpointArchiveError('%s has a damaged %s: %s' % (path, MANIFEST, exc))
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        found = manifest.get('format') if isinstance(manifest, dict) else None
        raise CheckpointArchiveError('%s has a %s of another format (%r, this collection reads %d)'
                                     % (path, MANIFEST, found, FORMAT))
    return manifest


def member_parts(name, prefix):
    """The path (a tuple of byte names) of member `name` below `prefix/`, () for `prefix` itself, None if it
    is elsewhere; CheckpointArchiveError if it is absolute or climbs with "..": an archive we wrote has neither."""
    if name.startswith('/') or '..' in name.split('/'):
        raise CheckpointArchiveError('member %r would be written outside its destination' % name)
    if name.split('/')[0] != prefix:
        return None
    try:
        parts, _climbed = split_path(name)
    except ValueError as exc:
        raise CheckpointArchiveError('member %r: %s' % (name, exc))
    return parts[1:]


def _is_whiteout(member):
    return member.ischr() and member.devmajor == 0 and member.devminor == 0


def extract(path, prefix, destination):
    """Extract the members under `prefix/` into the folder `destination` (made if missing); returns their count.

    Members are written through directory fds of `destination` (securejoin.RootDir) that follow no
    symlink: an archive we wrote never reaches a member through one, so a member whose path
    passes through a symlink (one the archive planted, or one swapped in meanwhile) is refused.
    """
    count = 0
    os.makedirs(destination, exist_ok=True)
    with tarfile.open(path, tar_mode(path, False)) as archive, RootDir(destination, follow=False) as root:
        for member in archive:
            root.trim()
            parts = member_parts(member.name, prefix)
            if parts is None:
                continue
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk() or _is_whiteout(member)):
                kind = 'device' if member.ischr() or member.isblk() else 'special file'
                raise CheckpointArchiveError('member %r is a %s, which a checkpoint archive does not hold'
                                             % (member.name, kind))
            try:
                _extract_member(archive, member, parts, prefix, root)
            except OSError as exc:
                raise CheckpointArchiveError('member %r cannot be extracted into %s: %s'
                                             % (member.name, destination, errors.describe(exc)))
            count += 1
    return count


def _extract_member(archive, member, parts, prefix, root):
    if not parts:
        if not member.isdir():
            raise CheckpointArchiveError('member %r would replace its destination folder' % member.name)
        _set_attributes(root.fd, member.uid, member.gid, member.mode)
        return
    parent = root.lookup(parts[:-1], create=True)
    name = parts[-1]
    if member.isdir():
        fd = _directory(root, parent, name)
        try:
            _set_attributes(fd, member.uid, member.gid, member.mode)
        finally:
            os.close(fd)
        return
    _clear(root, parent, name)
    if member.islnk():
        linked = member_parts(member.linkname, prefix)
        if not linked:
            raise CheckpointArchiveError('hard link %r points outside its folder' % member.name)
        source = root.lookup(linked[:-1])
        os.link(linked[-1], name, src_dir_fd=source.fd, dst_dir_fd=parent.fd, follow_symlinks=False)
    elif member.issym():
        os.symlink(member.linkname, name, dir_fd=parent.fd)
    elif _is_whiteout(member):
        os.mknod(name, 0o600 | stat.S_IFCHR, os.makedev(0, 0), dir_fd=parent.fd)
    else:
        with archive.extractfile(member) as source:
            fd = os.open(name, _CREATE_FLAGS, 0o600, dir_fd=parent.fd)
            with os.fdopen(fd, 'wb') as sink:
                shutil.copyfileobj(source, sink)
                sink.flush()
                _set_attributes(fd, member.uid, member.gid, member.mode, member.mtime)
        return
    os.chown(name, member.uid, member.gid, dir_fd=parent.fd, follow_symlinks=False)
    os.utime(name, (member.mtime, member.mtime), dir_fd=parent.fd, follow_symlinks=False)


def _set_attributes(fd, uid, gid, mode, mtime=None):
    """Owner, then mode (chown clears setuid bits), then mtime, through the fd of what was written."""
    os.fchown(fd, uid, gid)
    os.fchmod(fd, mode & 0o7777)
    if mtime is not None:
        os.utime(fd, (mtime, mtime))


def _clear(root, parent, name):
    """Make room for a new entry `name` in `parent`: whatever is there goes, a folder with its contents."""
    try:
        info = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    securejoin.remove_tree(parent.fd, name)
    if stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode):
        root.forget()


def _directory(root, parent, name):
    """An fd of directory `name` in `parent`: kept if it is one, made (after removing what is there) if not."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
        _clear(root, parent, name)
    os.mkdir(name, 0o700, dir_fd=parent.fd)
    return os.open(name, _DIR_FLAGS, dir_fd=parent.fd)


def remove_tree(path):
    """rm -rf `path` (a folder or a file); nothing if it is not there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_changes(changes, rootfs):
    """Apply an overlay upper directory `changes` to the mounted rootfs: whiteouts delete, the rest is copied over.

    `changes` is a folder extract() made; the rootfs is written through its directory fds
    (securejoin.RootDir), as an image layer is: what the image or the container left there (a
    symlink where the changes have a folder) is replaced, never written through.
    """
    top = os.fsencode(changes)
    with RootDir(rootfs) as root:
        for directory, subdirs, files in os.walk(top):
            base, _climbed = split_path(os.path.relpath(directory, top))
            parent = root.lookup(base, create=True)
            for name in list(subdirs) + files:
                source = os.path.join(directory, name)
                info = os.lstat(source)
                if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                    _clear(root, parent, name)
                    if name in subdirs:
                        subdirs.remove(name)
                elif stat.S_ISDIR(info.st_mode):
                    fd = _directory(root, parent, name)
                    try:
                        _set_attributes(fd, info.st_uid, info.st_gid, info.st_mode)
                    finally:
                        os.close(fd)
                elif stat.S_ISLNK(info.st_mode):
                    _clear(root, parent, name)
                    os.symlink(os.readlink(source), name, dir_fd=parent.fd)
                    os.chown(name, info.st_uid, info.st_gid, dir_fd=parent.fd, follow_symlinks=False)
                else:
                    _clear(root, parent, name)
                    with open(source, 'rb') as data:
                        fd = os.open(name, _CREATE_FLAGS, 0o600, dir_fd=parent.fd)
                        with os.fdopen(fd, 'wb') as sink:
                            shutil.copyfileobj(data, sink)
                            sink.flush()
                            _set_attributes(fd, info.st_uid, info.st_gid, info.st_mode, info.st_mtime)
            root.trim()
