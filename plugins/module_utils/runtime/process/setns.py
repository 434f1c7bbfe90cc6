# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The processes `exec` forks to join a running container.

intermediate: made non-dumpable first (a process in the container must not
  reach the host's interpreter through /proc/<pid>/exe: CVE-2019-5736), joins
  the container's namespaces (user first, mount last; without a mount
  namespace it chroots to the init's root), forks for the PID namespace,
  reports the PID and exits.
exec process: takes the terminal if asked, applies the process' security
  settings (finalize.prepare) and execs. The runtime learns the exec worked
  when the channel closes without an error message (close-on-exec).
"""

import os

from ..linux import consts as c
from ..linux import syscalls
from ..spec.config import NAMESPACE_FLAGS
from . import finalize


class ExecPlan:
    """What the forked processes need: the namespaces to join and the process to run."""

    def __init__(self, process, linux, caps, ns_fds, preserve_fds=0, console_fd=None, setgroups_allowed=True,
                 close_in_child=(), stdio=None):
        self.process = process
        self.linux = finalize.with_compiled_seccomp(linux)
        self.caps = caps
        self.ns_fds = ns_fds
        self.preserve_fds = preserve_fds
        self.console_fd = console_fd
        self.setgroups_allowed = setgroups_allowed
        self.close_in_child = close_in_child
        self.stdio = stdio


def join_namespaces(joins):
    """setns into each namespace of `joins` ({type: fd}, the user namespace already entered), the mount one last.

    Last because entering it changes what the process sees of files: the
    others are still reached through the fds opened on the host's side.
    `joins` may instead hold "root", an fd of the root of a container that
    has no mount namespace of its own (exec): the process chroots there, so
    that it runs the container's programs, not the host's.
    """
    for kind, fd in joins.items():
        if kind not in ('mount', 'root'):
            syscalls.setns(fd, NAMESPACE_FLAGS[kind])
    if 'mount' in joins:
        syscalls.setns(joins['mount'], c.CLONE_NEWNS)
    if 'root' in joins:
        os.fchdir(joins['root'])
        os.chroot('.')


def _die_with(channel, exc):
    exc = finalize.explain(exc)
    try:
        channel.send_error(exc)
    finally:
        os._exit(1)


def intermediate(plan, channel):
    """Join the namespaces and fork the exec process. Never returns."""
    try:
        syscalls.prctl(c.PR_SET_DUMPABLE, 0)
        for fd in plan.close_in_child:
            os.close(fd)
        channel.expect('go')
        joins = dict(plan.ns_fds)
        if 'user' in joins:
            syscalls.setns(joins.pop('user'), c.CLONE_NEWUSER)
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        join_namespaces(joins)
        pid = os.fork()
        if pid == 0:
            exec_process(plan, channel)
        channel.send('pid', pid=pid)
    except BaseException as exc:  # pylint: disable=broad-except
        _die_with(channel, exc)
    os._exit(0)


def exec_process(plan, channel):
    """In the container's namespaces: terminal, security settings, exec. Never returns."""
    try:
        os.setsid()
        finalize.use_stdio(plan.stdio)
        if plan.console_fd is not None:
            from . import terminal  # imported by the runtime already: a look-up in sys.modules
            terminal.setup(plan.console_fd, plan.process)
        prepared = finalize.prepare(plan.process, plan.linux, plan.caps, plan.preserve_fds, plan.setgroups_allowed)
        finalize.execute(prepared, plan.process)
    except BaseException as exc:  # pylint: disable=broad-except
        _die_with(channel, exc)
    os._exit(127)
