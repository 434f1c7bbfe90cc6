# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime's side of `create`: fork the intermediate and serve its requests.

It stays in the host's namespaces: puts the child into the container's
cgroups before the child does any work, writes the user-namespace ID maps,
runs the runtime-side hooks, and learns the init's PID. It returns when the
init reports "done" (blocked on the exec FIFO) and raises if anything failed.
"""

import os

from .. import errors
from ..linux import migration_lock
from ..linux import consts as c
from ..linux import syscalls
from . import init
from .channel import Channel, ChannelClosed


class InitProcess:
    """The forked init as the runtime sees it: its PID, once known."""

    def __init__(self):
        self.intermediate_pid = None
        self.pid = None


def write_id_maps(pid, linux, rootless):
    """Write uid_map/gid_map (and setgroups when unprivileged) of process `pid`."""
    def lines(mappings):
        return ''.join('%d %d %d\n' % (m['containerID'], m['hostID'], m['size']) for m in mappings)

    try:
        if rootless:
            with open('/proc/%d/setgroups' % pid, 'w') as handle:
                handle.write('deny')
        with open('/proc/%d/uid_map' % pid, 'w') as handle:
            handle.write(lines(linux.get('uidMappings') or []))
        with open('/proc/%d/gid_map' % pid, 'w') as handle:
            handle.write(lines(linux.get('gidMappings') or []))
    except OSError as exc:
        raise errors.ConfigError('linux.uidMappings', 'cannot write the user namespace ID maps: %s '
                                 '(an unprivileged user can only map its own uid and gid, with size 1)'
                                 % exc.strerror)


def spawn(plan, process, cgroup_manager, on_hooks, on_done):
    """Fork the intermediate (and through it the init) and drive them until "done".

    `on_hooks(pid)` runs the runtime-side hooks and returns the state to send
    to the createContainer hooks; `on_done(pid)` records the init, which
    waits for that before it waits for `start`. Fills `process` as PIDs
    become known, so the caller can clean up whatever exists if this raises.
    """
    runtime_end, child_end = Channel.pair()
    syscalls.prctl(c.PR_SET_CHILD_SUBREAPER, 1)
    migration_lock.stop()
    pid = os.fork()
    if pid == 0:
        try:
            runtime_end.close()
            init.intermediate(plan, child_end)
        finally:
            os._exit(1)
    child_end.close()
    process.intermediate_pid = pid
    try:
        if cgroup_manager is not None:
            cgroup_manager.apply(pid)
        runtime_end.send('go')
        serve(runtime_end, plan, process, on_hooks, on_done)
    finally:
        runtime_end.close()


# What the runtime knows when the init ends without a word after loading the filter (it could not
# even write its error): the profile refuses a call the init makes between loading it and exec.
FILTER_SILENCED = ('the container init process ended right after loading this filter, before it could say why: the '
                   'profile refuses a system call the runtime makes between loading it and running the program: '
                   'allow write, read, close, execve and exit_group (and, without process.noNewPrivileges, which '
                   'loads the filter last, capset, setgroups, setresuid and setresgid too)')


def serve(runtime_end, plan, process, on_hooks, on_done):
    """Answer the intermediate and the init over `runtime_end` until the init is "done" and recorded."""
    deferred = []
    filter_loaded = False
    while True:
        try:
            message = deferred.pop() if deferred and process.pid else runtime_end.recv()
        except ChannelClosed:
            if filter_loaded:
                raise errors.ConfigError('linux.seccomp', FILTER_SILENCED)
            raise
        kind = message['type']
        if kind in ('hooks', 'done') and not process.pid:
            # The init shares the channel with the intermediate and may get
            # this far before the intermediate reported the init's PID.
            deferred.append(message)
        elif kind == 'idmap':
            write_id_maps(process.intermediate_pid, plan.bundle.linux, os.geteuid() != 0)
            runtime_end.send('idmap-done')
        elif kind == 'pid':
            process.pid = message['pid']
            os.waitpid(process.intermediate_pid, 0)
            process.intermediate_pid = None
        elif kind == 'hooks':
            runtime_end.send('hooks-done', state=on_hooks(process.pid))
        elif kind == 'done':
            on_done(process.pid)
            runtime_end.send('recorded')
            return
        elif kind == 'seccomp':
            filter_loaded = True
        elif kind == 'error':
            from .channel import raise_remote
            raise_remote(message)
        else:
            raise errors.SetupError('protocol error: unexpected message %r' % kind)
