# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the container's root filesystem inside its new mount namespace.

Runs in the container's init, before pivot_root. The order follows runc's
prepareRootfs: "/" made rslave, bind the rootfs onto itself, each entry of
`mounts`, devices, /dev symlinks; then (after the createRuntime and
createContainer hooks) pivot_root, and later the read-only root, masked and
read-only paths, and last linux.rootfsPropagation on the new root.

A container without a mount namespace of its own shares the runtime's, as
runc and crun have it: no propagation change and no bind of the rootfs (it
would change the host's mount table), the mounts go under the rootfs in
that namespace (rootfs/hostmounts.py removes them at delete), and the init
chroots instead of pivoting.
"""

import errno
import os
import stat

from .. import errors
from ..linux import consts as c
from ..linux import syscalls
from ..spec import config as specconfig
from . import devices, options, securejoin

_PRESERVED_STATVFS = ((c.ST_NOSUID, c.MS_NOSUID), (c.ST_NODEV, c.MS_NODEV), (c.ST_NOEXEC, c.MS_NOEXEC),
                      (c.ST_NOATIME, c.MS_NOATIME), (c.ST_NODIRATIME, c.MS_NODIRATIME),
                      (c.ST_RELATIME, c.MS_RELATIME), (c.ST_RDONLY, c.MS_RDONLY))


class RootfsContext:
    """What rootfs set-up needs besides the bundle.

    `userns`: the container has its own user namespace (devices are bind
    mounted, not made). `cgroup_binds`: [(name, host_dir, subsystems)] for a
    v1 "cgroup" mount; `cgroup_unified`: mount cgroup2 instead; `cgroupns`:
    the container has its own cgroup namespace.
    """

    def __init__(self, userns=False, cgroup_binds=(), cgroup_unified=False, cgroupns=False, mount_ns=True):
        self.userns = userns
        self.cgroup_binds = list(cgroup_binds)
        self.cgroup_unified = cgroup_unified
        self.cgroupns = cgroupns
        self.mount_ns = mount_ns
        self.remount_dev_readonly = False


def _mount_at(source, target_fd, fstype, flags, data, field):
    try:
        syscalls.mount(source, securejoin.fd_path(target_fd), fstype, flags, data or None)
    except OSError as exc:
        raise errors.SetupError('%s: %s' % (field, exc.strerror))


def _reopen(root_fd, destination, field):
    try:
        return securejoin.open_in_root(root_fd, destination)
    except OSError as exc:
        raise errors.SetupError('%s: cannot reopen %s: %s' % (field, destination, errors.describe(exc)))


def _open_destination(root_fd, mount, kind, field, bind_source=None):
    """An O_PATH fd of `mount`'s mount point, made if missing and checked where it really is.

    The check before create (container/create.py) resolved the destination
    in the image as it was; here earlier mounts and /proc's own symlinks
    (/proc/net -> self/net) are in place, so the opened mount point is read
    back and checked again (the /proc rules of spec/config.py).
    """
    destination = mount['destination']
    try:
        fd = securejoin.open_in_root(root_fd, destination, create=kind)
    except securejoin.EscapeError as exc:
        raise errors.ConfigError(field + '.destination', exc.strerror)
    except OSError as exc:
        raise errors.SetupError('%s.destination: cannot create mount point %s: %s'
                                % (field, destination, errors.describe(exc)))
    root = os.readlink(securejoin.fd_path(root_fd)).rstrip('/')
    where = os.readlink(securejoin.fd_path(fd))
    if where.startswith(root + '/'):
        resolved = where[len(root):]
        source_is_procfs = securejoin.is_procfs(bind_source) if bind_source and resolved == '/proc' else None
        problem = specconfig.mount_target_problem(mount, resolved, source_is_procfs)
        if problem:
            os.close(fd)
            raise errors.ConfigError(field + '.destination', problem)
    return fd


def statvfs_flags(path):
    """The MS_* flags the mount at `path` has now (so remounts keep locked flags)."""
    flags = 0
    vfs = os.statvfs(path).f_flag
    for st_flag, ms_flag in _PRESERVED_STATVFS:
        if vfs & st_flag:
            flags |= ms_flag
    return flags


def remount_bind(path, flags, keep=0):
    """Bind-remount `path` with `flags`, keeping flags the kernel locked.

    `keep` lists flags (of MS_NOSUID, MS_NODEV, MS_NOEXEC...) to carry over
    from the mount as it is now.
    """
    wanted = c.MS_BIND | c.MS_REMOUNT | flags
    if keep:
        wanted |= statvfs_flags(path) & keep
    try:
        syscalls.mount(None, path, None, wanted, None)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise
        syscalls.mount(None, path, None, wanted | statvfs_flags(path), None)


def prepare(bundle, context):
    """Everything before pivot_root. Returns an O_PATH fd of the rootfs (its bind mount, with a mount namespace)."""
    if context.mount_ns:
        _bind_rootfs(bundle.rootfs, context)
    root_fd = os.open(bundle.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    setup_dev = not any(m['destination'] == '/dev' and specconfig.is_bind(m) for m in bundle.config.get('mounts') or [])
    for index, mount in enumerate(bundle.config.get('mounts') or []):
        mount_entry(root_fd, bundle, mount, context, 'mounts[%d]' % index)
    if setup_dev:
        devices.create(root_fd, bundle, context.userns)
        devices.setup_ptmx(root_fd)
        devices.setup_symlinks(root_fd)
    return root_fd


def _bind_rootfs(rootfs, context):
    """rslave "/" (runc's default), then bind the rootfs onto itself.

    As a slave nothing done in the container reaches the host, and every
    mount stays bindable: linux.rootfsPropagation applies to the new root
    after pivot_root (an unbindable "/" here would fail this bind).
    """
    syscalls.mount(None, '/', None, c.MS_SLAVE | c.MS_REC, None)
    try:
        syscalls.mount(rootfs, rootfs, 'bind', c.MS_BIND | c.MS_REC, None)
    except OSError as exc:
        hint = ''
        if context.userns and exc.errno in (errno.EACCES, errno.EPERM):
            hint = ('; in a user namespace the container\'s root must be able to reach it: '
                    'check the owner and permissions of the rootfs and of every folder above it')
        raise errors.SetupError('root.path: cannot bind-mount the rootfs %s: %s%s' % (rootfs, exc.strerror, hint))


def mount_entry(root_fd, bundle, mount, context, field):
    """Mount one entry of config.json `mounts` under the rootfs."""
    destination = mount['destination']
    fstype = mount.get('type') or ''
    source = mount.get('source') or ''
    parsed = options.parse(mount.get('options'))
    if fstype == 'bind' or parsed.is_bind:
        _bind_mount(root_fd, bundle, mount, parsed, field)
    elif fstype == 'cgroup':
        _cgroup_mount(root_fd, mount, parsed, context, field)
    else:
        flags = parsed.flags
        if fstype == 'tmpfs' and destination == '/dev' and flags & c.MS_RDONLY:
            # Devices are made after this mount: remount read-only at the end.
            flags &= ~c.MS_RDONLY
            context.remount_dev_readonly = True
        fd = _open_destination(root_fd, mount, 'dir', field)
        try:
            if fstype in ('proc', 'sysfs'):
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    raise errors.ConfigError(field + '.destination', '%s cannot be mounted on %s: not a directory'
                                             % (fstype, destination))
            mountpoint_mode = stat.S_IMODE(os.fstat(fd).st_mode)
            copyup = 'tmpcopyup' in parsed.extensions and fstype == 'tmpfs'
            if copyup:
                _tmpfs_copyup(fd, source, flags, parsed.data, field)
            else:
                _mount_at(source, fd, fstype, flags, parsed.data, field)
        finally:
            os.close(fd)
        if fstype == 'tmpfs' and not _has_data_option(parsed.data, 'mode') and not flags & c.MS_RDONLY:
            # As runc: the tmpfs takes the mode of the directory it covers
            # (1777 for an image's /tmp); an explicit mode= option wins.
            fd = _reopen(root_fd, destination, field)
            try:
                os.chmod(securejoin.fd_path(fd), mountpoint_mode)
            finally:
                os.close(fd)
    _apply_propagation(root_fd, destination, parsed.propagation, field)
    if parsed.attr_set or parsed.attr_clear:
        fd = _reopen(root_fd, destination, field)
        try:
            syscalls.mount_setattr(securejoin.fd_path(fd), parsed.attr_set, parsed.attr_clear)
        except OSError as exc:
            raise errors.SetupError('%s: recursive mount options: %s' % (field, exc.strerror))
        finally:
            os.close(fd)


def _has_data_option(data, name):
    return any(option.split('=', 1)[0] == name for option in data.split(',') if option)


def _apply_propagation(root_fd, destination, propagation, field):
    if not propagation:
        return
    fd = _reopen(root_fd, destination, field)
    try:
        for flag in propagation:
            _mount_at(None, fd, None, flag, None, field)
    finally:
        os.close(fd)


def _bind_mount(root_fd, bundle, mount, parsed, field):
    destination = mount['destination']
    source = mount.get('source') or ''
    if not os.path.isabs(source):
        source = os.path.join(bundle.path, source)
    try:
        info = os.stat(source)
    except OSError as exc:
        raise errors.ConfigError(field + '.source', 'bind mount source %s: %s' % (source, exc.strerror))
    kind = 'dir' if stat.S_ISDIR(info.st_mode) else 'file'
    fd = _open_destination(root_fd, mount, kind, field, bind_source=source)
    try:
        _mount_at(source, fd, '', c.MS_BIND | (parsed.flags & c.MS_REC), None, field)
    finally:
        os.close(fd)
    extra = parsed.flags & ~(c.MS_BIND | c.MS_REC | c.MS_REMOUNT)
    if extra:
        fd = _reopen(root_fd, destination, field)
        try:
            remount_bind(securejoin.fd_path(fd), extra | (parsed.flags & c.MS_REC))
        except OSError as exc:
            raise errors.SetupError('%s: remount %s: %s' % (field, destination, exc.strerror))
        finally:
            os.close(fd)


def _tmpfs_copyup(fd, source, flags, data, field):
    """runc's tmpcopyup: the tmpfs starts with a copy of what it hides."""
    import shutil
    staging = '/tmp/.runcible-copyup-%d' % os.getpid()
    os.mkdir(staging, 0o700)
    try:
        syscalls.mount('tmpfs', staging, 'tmpfs', flags & ~c.MS_RDONLY, data or None)
        try:
            underneath = securejoin.fd_path(fd)
            for name in os.listdir(underneath):
                source_path = os.path.join(underneath, name)
                target = os.path.join(staging, name)
                if os.path.isdir(source_path) and not os.path.islink(source_path):
                    shutil.copytree(source_path, target, symlinks=True)
                else:
                    shutil.copy2(source_path, target, follow_symlinks=False)
            syscalls.mount(staging, securejoin.fd_path(fd), None, c.MS_MOVE, None)
        except BaseException:
            syscalls.umount2(staging, c.MNT_DETACH)
            raise
    except OSError as exc:
        raise errors.SetupError('%s: tmpcopyup: %s' % (field, errors.describe(exc)))
    finally:
        os.rmdir(staging)
    if flags & c.MS_RDONLY:
        remount_bind(securejoin.fd_path(fd), c.MS_RDONLY)


def _cgroup_mount(root_fd, mount, parsed, context, field):
    destination = mount['destination']
    if context.cgroup_unified:
        fd = _open_destination(root_fd, mount, 'dir', field)
        try:
            _mount_at('cgroup', fd, 'cgroup2', parsed.flags, parsed.data, field)
        finally:
            os.close(fd)
        return
    fd = _open_destination(root_fd, mount, 'dir', field)
    try:
        _mount_at('tmpfs', fd, 'tmpfs', c.MS_NOEXEC | c.MS_NOSUID | c.MS_NODEV, 'mode=755', field)
    finally:
        os.close(fd)
    for name, host_dir, subsystems in context.cgroup_binds:
        target = destination.rstrip('/') + '/' + name
        sub_fd = _open_destination(root_fd, dict(mount, destination=target), 'dir', field)
        try:
            if context.cgroupns:
                _mount_at('cgroup', sub_fd, 'cgroup', parsed.flags, ','.join(subsystems), field)
            else:
                _mount_at(host_dir, sub_fd, '', c.MS_BIND | c.MS_REC, None, field)
        finally:
            os.close(sub_fd)
        if not context.cgroupns:
            sub_fd = _reopen(root_fd, target, field)
            try:
                remount_bind(securejoin.fd_path(sub_fd), parsed.flags | c.MS_REC)
            finally:
                os.close(sub_fd)
        if ',' in name:
            dir_fd = _reopen(root_fd, destination, field)
            try:
                for subsystem in name.split(','):
                    try:
                        os.symlink(name, subsystem, dir_fd=dir_fd)
                    except FileExistsError:
                        pass
            finally:
                os.close(dir_fd)


# linux.rootfsPropagation on the new root, as crun applies it: from a
# private root (shared: a new peer group, not the host's), except that a
# slave keeps receiving the host's mount events, as the runtime-spec says.
ROOT_PROPAGATION = {
    'shared': (c.MS_PRIVATE, c.MS_SHARED), 'rshared': (c.MS_PRIVATE | c.MS_REC, c.MS_SHARED | c.MS_REC),
    'slave': (c.MS_SLAVE,), 'rslave': (c.MS_SLAVE | c.MS_REC,),
    'private': (c.MS_PRIVATE,), 'rprivate': (c.MS_PRIVATE | c.MS_REC,),
    'unbindable': (c.MS_UNBINDABLE,), 'runbindable': (c.MS_UNBINDABLE | c.MS_REC,),
}


def enter_root(bundle, context):
    """Make the rootfs this process' root: pivot_root, or chroot without a mount namespace (runc, crun)."""
    if context.mount_ns:
        pivot_root(bundle.rootfs)
    else:
        os.chroot(bundle.rootfs)
        os.chdir('/')


def apply_root_propagation(bundle, context):
    """linux.rootfsPropagation on "/", after the last bind (a bind from an unbindable mount fails)."""
    if not context.mount_ns:
        return
    propagation = bundle.linux.get('rootfsPropagation') or ''
    for flags in ROOT_PROPAGATION.get(propagation, ()):
        try:
            syscalls.mount(None, '/', None, flags, None)
        except OSError as exc:
            raise errors.SetupError('linux.rootfsPropagation: cannot make the root %s: %s' % (propagation, exc.strerror))


def pivot_root(rootfs):
    """Make `rootfs` the root and detach the old one (runc's pivot_root(".", ".") way)."""
    old_root = os.open('/', os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        syscalls.pivot_root('.', '.')
        os.fchdir(old_root)
        # The old root must not propagate the unmount back to the host.
        syscalls.mount(None, '.', None, c.MS_SLAVE | c.MS_REC, None)
        syscalls.umount2('.', c.MNT_DETACH)
        os.chdir('/')
    finally:
        os.close(old_root)
        os.close(new_root)


def console(slave_path):
    """Bind the container's terminal onto /dev/console, as runc does."""
    try:
        fd = securejoin.open_in_root('/', '/dev/console', create='file')
    except OSError as exc:
        raise errors.SetupError('cannot create /dev/console: %s' % errors.describe(exc))
    try:
        syscalls.mount(slave_path, securejoin.fd_path(fd), '', c.MS_BIND, None)
    except OSError as exc:
        raise errors.SetupError('cannot bind %s onto /dev/console: %s' % (slave_path, exc.strerror))
    finally:
        os.close(fd)


def finalize(bundle, context):
    """After pivot_root: read-only /dev and root."""
    if context.remount_dev_readonly:
        remount_bind('/dev', c.MS_RDONLY)
    # Without a mount namespace "/" is the host's mount holding the rootfs: never remount it.
    if (bundle.config.get('root') or {}).get('readonly') and context.mount_ns:
        remount_bind('/', c.MS_RDONLY)
