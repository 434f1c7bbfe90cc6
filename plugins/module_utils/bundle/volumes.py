# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bundle's directories for image Volumes, seeded from the image like a new Docker volume.

generate_config turns each `Volumes` entry of the image into a bind mount of
<bundle>/volumes/<name> (config.volume_source). `prepare_volumes` makes the
directories that are missing and copies into each what the image has at
that path (owner, mode and contents), once: an existing volume directory is
the container's data and is never touched again, not even when the image
changes. The copy reads the rootfs through fds resolved inside it and never
follows a symlink; device nodes are not copied.
"""

import os
import stat

from ..runtime.rootfs.securejoin import RootDir, split_path

VOLUMES_DIR = 'volumes'
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def image_volume_mounts(config):
    """The mounts of `config` whose source is a bundle volume directory (volumes/...)."""
    return [m for m in config.get('mounts') or []
            if isinstance(m, dict) and isinstance(m.get('source'), str) and m['source'].startswith(VOLUMES_DIR + '/')]


def prepare_volumes(bundle, config, rootfs, check_mode=False):
    """Create and seed missing volume directories; return the list of directories made (or to make)."""
    made = []
    for mount in image_volume_mounts(config):
        target = os.path.join(bundle, mount['source'])
        if os.path.lexists(target):
            continue
        made.append(target)
        if check_mode:
            continue
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        os.mkdir(target, 0o755)
        _seed(rootfs, mount['destination'], target)
    return made


def _seed(rootfs, destination, target):
    parts, _unused = split_path(destination)
    with RootDir(rootfs) as root:
        try:
            source = root.lookup(parts)
        except (FileNotFoundError, NotADirectoryError):
            return
        target_fd = os.open(target, _DIR_FLAGS)
        try:
            _copy_attributes(os.fstat(source.fd), target_fd)
            _copy_tree(source.fd, target_fd)
        finally:
            os.close(target_fd)


def _copy_attributes(info, fd=None, name=None, dir_fd=None):
    if os.geteuid() == 0:
        if fd is not None:
            os.fchown(fd, info.st_uid, info.st_gid)
        else:
            os.chown(name, info.st_uid, info.st_gid, dir_fd=dir_fd, follow_symlinks=False)
    if fd is not None:
        os.fchmod(fd, stat.S_IMODE(info.st_mode))
        os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))
    else:
        os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=dir_fd, follow_symlinks=False)


def _copy_tree(source_fd, target_fd):
    """Copy the contents of directory `source_fd` into `target_fd` (files, directories, symlinks)."""
    pending = [(os.dup(source_fd), os.dup(target_fd))]
    try:
        while pending:
            src, dst = pending.pop()
            try:
                for name in os.listdir(src):
                    info = os.stat(name, dir_fd=src, follow_symlinks=False)
                    mode = info.st_mode
                    if stat.S_ISDIR(mode):
                        os.mkdir(name, 0o700, dir_fd=dst)
                        child_src = os.open(name, _DIR_FLAGS, dir_fd=src)
                        child_dst = os.open(name, _DIR_FLAGS, dir_fd=dst)
                        _copy_attributes(info, fd=child_dst)
                        pending.append((child_src, child_dst))
                    elif stat.S_ISREG(mode):
                        _copy_file(src, dst, name, info)
                    elif stat.S_ISLNK(mode):
                        os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
                        _copy_attributes(info, name=name, dir_fd=dst)
                    elif stat.S_ISFIFO(mode):
                        os.mkfifo(name, 0o600, dir_fd=dst)
                        _copy_attributes(info, name=name, dir_fd=dst)
            finally:
                os.close(src)
                os.close(dst)
    finally:
        for src, dst in pending:
            os.close(src)
            os.close(dst)


def _copy_file(src_dir, dst_dir, name, info):
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir)
    try:
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dst_dir)
        try:
            while True:
                chunk = os.read(source, 1 << 20)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(target, view):]
            _copy_attributes(info, fd=target)
        finally:
            os.close(target)
    finally:
        os.close(source)
