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

Import extracts every member under its destination folder after checking
that its name stays inside it (no absolute paths, no `..`, links only
inside), and takes only regular files, folders, symlinks, hard links and
the overlay whiteouts (character device 0:0).
"""

import io
import json
import os
import shutil
import stat
import tarfile

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


class ArchiveError(Exception):
    """An archive that is not one of ours, or would write outside its destination."""


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
    """The manifest of the archive `path`; ArchiveError if it is not an archive oci_checkpoint wrote."""
    try:
        with tarfile.open(path, tar_mode(path, False)) as archive:
            member = archive.next()
            if member is None or member.name != MANIFEST or not member.isfile():
                raise ArchiveError('%s is not a checkpoint archive written by oci_checkpoint export (its first member '
                                   'is not %s)' % (path, MANIFEST))
            manifest = json.loads(archive.extractfile(member).read().decode('utf-8'))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError('%s cannot be read as a tar archive: %s' % (path, exc))
    except ValueError as exc:
        raise ArchiveError('%s has a damaged %s: %s' % (path, MANIFEST, exc))
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise ArchiveError('%s has a %s of another format (%r, this collection reads %d)'
                           % (path, MANIFEST, manifest.get('format') if isinstance(manifest, dict) else None, FORMAT))
    return manifest


def member_target(name, prefix):
    """The path of member `name` below `prefix/` relative to its destination, '' for `prefix` itself, None if
    it is not under `prefix`; ArchiveError if it would leave the destination."""
    parts = name.split('/')
    if parts[0] != prefix:
        return None
    rest = [part for part in parts[1:] if part not in ('', '.')]
    if name.startswith('/') or '..' in rest:
        raise ArchiveError('member %r would be written outside its destination' % name)
    return '/'.join(rest)


def _is_whiteout(member):
    return member.ischr() and member.devmajor == 0 and member.devminor == 0


def extract(path, prefix, destination):
    """Extract the members under `prefix/` into the folder `destination` (made if missing); returns their count."""
    count = 0
    os.makedirs(destination, exist_ok=True)
    with tarfile.open(path, tar_mode(path, False)) as archive:
        for member in archive:
            relative = member_target(member.name, prefix)
            if relative is None:
                continue
            target = os.path.join(destination, relative) if relative else destination
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk() or _is_whiteout(member)):
                raise ArchiveError('member %r is a %s, which a checkpoint archive does not hold'
                                   % (member.name, 'device' if member.ischr() or member.isblk() else 'special file'))
            if member.islnk():
                linked = member_target(member.linkname, prefix)
                if not linked:
                    raise ArchiveError('hard link %r points outside its folder' % member.name)
                _replace(target)
                os.link(os.path.join(destination, linked), target)
            elif member.isdir():
                os.makedirs(target, exist_ok=True)
                os.chmod(target, member.mode & 0o7777)
            elif member.issym():
                _replace(target)
                os.symlink(member.linkname, target)
            elif _is_whiteout(member):
                _replace(target)
                os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
            else:
                _replace(target)
                with archive.extractfile(member) as source, open(target, 'wb') as sink:
                    shutil.copyfileobj(source, sink)
                os.chmod(target, member.mode & 0o7777)
            if not member.issym():
                os.chown(target, member.uid, member.gid)
                if not member.isdir():
                    os.utime(target, (member.mtime, member.mtime))
            else:
                os.chown(target, member.uid, member.gid, follow_symlinks=False)
            count += 1
    return count


def remove_tree(path):
    """rm -rf `path` (a folder or a file); nothing if it is not there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def _replace(path):
    """Make room for a new entry at `path`: an existing file or link is removed, a folder with it."""
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def apply_changes(changes, rootfs):
    """Apply an overlay upper directory `changes` to the mounted rootfs: whiteouts delete, the rest is copied over."""
    for directory, subdirs, files in os.walk(changes):
        relative = os.path.relpath(directory, changes)
        target_dir = rootfs if relative == '.' else os.path.join(rootfs, relative)
        os.makedirs(target_dir, exist_ok=True)
        for name in list(subdirs) + files:
            source = os.path.join(directory, name)
            target = os.path.join(target_dir, name)
            info = os.lstat(source)
            if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                if os.path.lexists(target):
                    _replace(target)
                if name in subdirs:
                    subdirs.remove(name)
            elif stat.S_ISDIR(info.st_mode):
                if os.path.lexists(target) and not os.path.isdir(target):
                    os.unlink(target)
                os.makedirs(target, exist_ok=True)
            elif stat.S_ISLNK(info.st_mode):
                _replace(target)
                os.symlink(os.readlink(source), target)
            else:
                _replace(target)
                shutil.copy2(source, target)
