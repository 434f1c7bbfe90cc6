# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime's one seam to the kernel.

Every system call the standard library does not offer goes through this
module, by ctypes. Failures raise OSError with errno set, like the os module,
so callers handle both the same way.

Callers reach these functions through the module (`syscalls.mount(...)`,
never `from .syscalls import mount`; tests/unit/plugins/test_code_rules.py
holds them to it), so a unit test can put a recording double in their place:
tests/unit/plugins/module_utils/runtime/fakekernel.py does, for the mount
and namespace steps (test_mount_steps.py, test_namespace_steps.py).
"""

import ctypes
import errno
import os

from . import consts

_libc = ctypes.CDLL(None, use_errno=True)

# Syscall numbers for calls glibc has no wrapper for (or had none in the
# oldest glibc we support). Calls added since Linux 5.1 share one number on
# every architecture.
_NUMBERS = {
    'x86_64': {
        'pivot_root': 155, 'capget': 125, 'capset': 126, 'seccomp': 317,
        'personality': 135, 'bpf': 321,
    },
    'aarch64': {
        'pivot_root': 41, 'capget': 90, 'capset': 91, 'seccomp': 277,
        'personality': 92, 'bpf': 280,
    },
}
_COMMON = {
    'pidfd_send_signal': 424, 'pidfd_open': 434, 'close_range': 436, 'openat2': 437, 'faccessat2': 439,
    'mount_setattr': 442,
}

MACHINE = os.uname().machine
if MACHINE == 'arm64':
    MACHINE = 'aarch64'


def syscall_number(name):
    """The number of syscall `name` on this machine's architecture."""
    if name in _COMMON:
        return _COMMON[name]
    try:
        return _NUMBERS[MACHINE][name]
    except KeyError:
        raise OSError(errno.ENOSYS, 'syscall %s is not known on %s' % (name, MACHINE))


_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

AT_FDCWD = -100
AT_EACCESS = 0x200
AT_RECURSIVE = 0x8000


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (what, os.strerror(err)))
    return result


def _raw(name, *args):
    return _check(_syscall(ctypes.c_long(syscall_number(name)), *args), name)


def _path(path):
    if path is None:
        return None
    return os.fsencode(path)


def mount(source, target, fstype, flags=0, data=None):
    """mount(2). `data` is a str of comma-separated options or None."""
    result = _libc.mount(_path(source), _path(target), _path(fstype),
                         ctypes.c_ulong(flags), _path(data))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, 'mount %s to %s (type %s, flags %#x, data %r): %s'
                      % (source, target, fstype, flags, data, os.strerror(err)))


def umount2(target, flags=0):
    result = _libc.umount2(_path(target), ctypes.c_int(flags))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, 'umount %s: %s' % (target, os.strerror(err)))


def unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)), 'unshare')


def setns(fd, nstype=0):
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), 'setns')


def pivot_root(new_root, put_old):
    _raw('pivot_root', ctypes.c_char_p(_path(new_root)), ctypes.c_char_p(_path(put_old)))


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                              ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)), 'prctl')


def sethostname(name):
    raw = name.encode()
    _check(_libc.sethostname(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw))), 'sethostname')


def setdomainname(name):
    raw = name.encode()
    _check(_libc.setdomainname(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw))), 'setdomainname')


def personality(persona):
    return _raw('personality', ctypes.c_ulong(persona))


class CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32),
                ('inheritable', ctypes.c_uint32)]


def capget(pid=0):
    """(effective, permitted, inheritable) of `pid` as 64-bit masks."""
    header = CapHeader(consts.LINUX_CAPABILITY_VERSION_3, pid)
    data = (CapData * 2)()
    _raw('capget', ctypes.byref(header), ctypes.byref(data))
    return tuple(getattr(data[0], f) | (getattr(data[1], f) << 32)
                 for f in ('effective', 'permitted', 'inheritable'))


def capset(effective, permitted, inheritable):
    """Set this thread's effective, permitted and inheritable sets (64-bit masks)."""
    header = CapHeader(consts.LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xffffffff
        data[i].permitted = (permitted >> shift) & 0xffffffff
        data[i].inheritable = (inheritable >> shift) & 0xffffffff
    _raw('capset', ctypes.byref(header), ctypes.byref(data))


def seccomp(operation, flags, prog_address):
    return _raw('seccomp', ctypes.c_uint(operation), ctypes.c_uint(flags), ctypes.c_void_p(prog_address))


def bpf(cmd, attr):
    """bpf(2) with `attr` a ctypes object (union bpf_attr's part for `cmd`); returns the result."""
    return _raw('bpf', ctypes.c_int(cmd), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)))


def pidfd_open(pid, flags=0):
    return _raw('pidfd_open', ctypes.c_int(pid), ctypes.c_uint(flags))


def pidfd_send_signal(pidfd, sig):
    _raw('pidfd_send_signal', ctypes.c_int(pidfd), ctypes.c_int(sig), None, ctypes.c_uint(0))


def close_range(first, last, flags=0):
    _raw('close_range', ctypes.c_uint(first), ctypes.c_uint(last), ctypes.c_uint(flags))


def eaccess(path, mode=os.X_OK):
    """access(2) with the effective IDs (runc's Eaccess); raises OSError when refused.

    faccessat2 (Linux 5.8) is the only call that checks the effective IDs.
    A seccomp profile written before it answers EPERM or ENOSYS: then, as
    Go's runc does, a process whose real and effective IDs agree asks
    access(2), and a set-ID one is let through (exec decides).
    """
    encoded = ctypes.c_char_p(_path(path))
    result = _syscall(ctypes.c_long(syscall_number('faccessat2')), ctypes.c_int(AT_FDCWD), encoded,
                      ctypes.c_int(mode), ctypes.c_int(AT_EACCESS))
    if result == 0:
        return
    err = ctypes.get_errno()
    if err not in (errno.ENOSYS, errno.EPERM):
        raise OSError(err, os.strerror(err), path)
    if os.getuid() != os.geteuid() or os.getgid() != os.getegid():
        return
    if _libc.access(encoded, ctypes.c_int(mode)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)


class MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64), ('propagation', ctypes.c_uint64),
                ('userns_fd', ctypes.c_uint64)]


def mount_setattr(path, attr_set, attr_clear, recursive=True):
    """mount_setattr(2) on the mount at `path` (and, recursively, every mount below it)."""
    attr = MountAttr(attr_set, attr_clear, 0, 0)
    _raw('mount_setattr', ctypes.c_int(AT_FDCWD), ctypes.c_char_p(_path(path)),
         ctypes.c_uint(AT_RECURSIVE if recursive else 0), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))


class OpenHow(ctypes.Structure):
    _fields_ = [('flags', ctypes.c_uint64), ('mode', ctypes.c_uint64), ('resolve', ctypes.c_uint64)]


def openat2(dirfd, path, flags, mode=0, resolve=0):
    """openat2(2); raises OSError(ENOSYS) on kernels older than 5.6."""
    how = OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return _raw('openat2', ctypes.c_int(dirfd), ctypes.c_char_p(_path(path)),
                ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))


class _StatFs(ctypes.Structure):
    # struct statfs begins with f_type (a long) on x86_64 and aarch64; the
    # rest is room for the remaining fields, which nothing here reads.
    _fields_ = [('f_type', ctypes.c_long), ('rest', ctypes.c_long * 15)]


def fs_type(path=None, fd=None):
    """The file-system magic (statfs f_type) of `path` or of open file `fd`."""
    buf = _StatFs()
    if fd is not None:
        _check(_libc.fstatfs(ctypes.c_int(fd), ctypes.byref(buf)), 'fstatfs')
    else:
        _check(_libc.statfs(_path(path), ctypes.byref(buf)), 'statfs %s' % path)
    return buf.f_type & 0xffffffff


def namespace_type(fd):
    """The CLONE_NEW* flag of the namespace open at `fd`; None if it is no namespace, 0 if the kernel cannot say."""
    import fcntl
    if fs_type(fd=fd) != consts.NSFS_MAGIC:
        return None
    try:
        return fcntl.ioctl(fd, consts.NS_GET_NSTYPE)
    except OSError as exc:
        if exc.errno in (errno.ENOTTY, errno.EINVAL):
            return 0
        raise


_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def interface_up(name='lo'):
    """Bring network interface `name` up in this network namespace (SIOCSIFFLAGS)."""
    import fcntl
    import struct
    fd = _check(_libc.socket(ctypes.c_int(2), ctypes.c_int(2 | os.O_CLOEXEC), ctypes.c_int(0)), 'socket')
    try:
        request = struct.pack('16sH22x', name.encode(), 0)
        flags = struct.unpack('16sH22x', fcntl.ioctl(fd, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(fd, _SIOCSIFFLAGS, struct.pack('16sH22x', name.encode(), flags | _IFF_UP))
    finally:
        os.close(fd)
