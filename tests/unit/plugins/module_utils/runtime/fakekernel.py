# -*- coding: utf-8 -*-
"""A recording double of the runtime's kernel seam (runtime/linux/syscalls.py) for unit tests.

It stands in for the calls that change mounts and namespaces: each call is
recorded in order, and a mount(2) target given as /proc/self/fd/N is
recorded as the path that fd names at that moment (the fd is closed right
after), so a test can check where a mount would have landed. Files and
folders are real: the code under test makes mount points in a temporary
rootfs as it would in a real one. `fail` makes the next matching call raise
OSError, as the kernel would.
"""

import errno
import os

from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import syscalls

FAKED = ('mount', 'umount2', 'mount_setattr', 'pivot_root', 'setns', 'unshare', 'prctl')


class Call:
    """One recorded call: its name and arguments (a /proc/self/fd/N path already resolved)."""

    def __init__(self, name, args):
        self.name = name
        self.args = args

    def __repr__(self):
        return '%s%r' % (self.name, self.args)


class FakeKernel:
    """Installed over syscalls' functions with monkeypatch; `calls` holds what the code asked the kernel for."""

    def __init__(self, monkeypatch):
        self.calls = []
        self._failures = []
        for name in FAKED:
            monkeypatch.setattr(syscalls, name, self._recorder(name))

    def fail(self, name, error=errno.EPERM, when=None):
        """Make the next `name` call (whose Call `when` accepts, if given) raise OSError(error)."""
        self._failures.append((name, error, when))

    def named(self, name):
        return [call for call in self.calls if call.name == name]

    def _recorder(self, name):
        def record(*args):
            call = Call(name, tuple(_resolved(arg) for arg in args))
            for failure in self._failures:
                if failure[0] == name and (failure[2] is None or failure[2](call)):
                    self._failures.remove(failure)
                    raise OSError(failure[1], '%s: %s' % (name, os.strerror(failure[1])))
            self.calls.append(call)
        return record


def _resolved(arg):
    if isinstance(arg, str) and arg.startswith('/proc/self/fd/'):
        return os.readlink(arg)
    return arg
