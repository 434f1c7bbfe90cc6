# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exec: run a new process in a running container.

The process joins every namespace of the container's init (through
/proc/<init>/ns/*) and its cgroups, and gets the container's security
settings unless the process given overrides them.
"""

import os

from .. import errors, log, state as statemod
from ..cgroups import fsio
from ..linux import consts as c
from ..linux import migration_lock, syscalls
from ..process import setns
from ..process.channel import Channel, ChannelClosed, raise_remote
from ..security import capabilities, lsm
from ..spec import config as specconfig
from . import destroy, query, run as runmod


def process_from_flags(base, args, env=(), cwd=None, user=None, additional_gids=(), caps=(), no_new_privs=False,
                       tty=False):
    """runc exec's process: the container's process with the command line's changes."""
    process = dict(base)
    process['args'] = list(args)
    process['terminal'] = bool(tty)
    process['env'] = list(base.get('env') or []) + list(env)
    if cwd:
        process['cwd'] = cwd
    if user:
        uid, _sep, gid = user.partition(':')
        try:
            process['user'] = {'uid': int(uid), 'gid': int(gid) if gid else 0}
        except ValueError:
            raise errors.UsageError('--user %s: expected uid[:gid] as numbers' % user)
    elif base.get('user'):
        process['user'] = dict(base['user'])
    if additional_gids:
        try:
            process.setdefault('user', {})['additionalGids'] = [int(g) for g in additional_gids]
        except ValueError:
            raise errors.UsageError('--additional-gids takes numbers')
    if caps:
        sets = dict(base.get('capabilities') or {})
        for name in ('bounding', 'effective', 'permitted'):
            sets[name] = list(sets.get(name) or []) + [cap for cap in caps if cap not in (sets.get(name) or [])]
        process['capabilities'] = sets
    if no_new_privs:
        process['noNewPrivileges'] = True
    return process


def _namespace_fds(state):
    """Open /proc/<init>/ns/<type> for each namespace the container has.

    A container without a mount namespace of its own gets ("root", fd of
    /proc/<init>/root) instead: the process is chrooted there, so that it
    runs the container's programs, not the host's (runc and crun leave it
    in the host's root).
    """
    opened = []
    try:
        types = [ns['type'] for ns in (state.config.get('linux') or {}).get('namespaces') or []]
        for kind in types:
            name = specconfig.NAMESPACE_PROC_NAMES[kind]
            opened.append((kind, os.open('/proc/%d/ns/%s' % (state.pid, name), os.O_RDONLY | os.O_CLOEXEC)))
        if 'mount' not in types:
            opened.append(('root', os.open('/proc/%d/root' % state.pid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
    except OSError as exc:
        for _kind, fd in opened:
            os.close(fd)
        raise errors.ContainerNotRunning() if exc.errno == 2 else exc
    if statemod.process_start_time(state.pid) != state.init_start:
        for _kind, fd in opened:
            os.close(fd)
        raise errors.ContainerNotRunning()
    return opened


def execute(root, container_id, process, detach=False, pid_file=None, console_socket=None, preserve_fds=0,
            stdio=None, return_pid=False, state=None):
    """Run `process` in the container; returns its exit code (0 when detached).

    `stdio`: three fds for the process' stdin, stdout and stderr (default:
    ours). With `return_pid` (and `detach`) the PID is returned instead: the
    caller, our child's reaper, waits for it. `state`: the container's state,
    when the caller has read it already.
    """
    container_dir = statemod.ContainerDir(root, container_id)
    if state is None:
        state = container_dir.load()
    status = query.container_status(container_dir, state)
    if status == 'creating':
        raise errors.ContainerCreating()
    if status == 'stopped':
        raise errors.StateError('cannot exec in a stopped container')
    if status == 'paused':
        raise errors.StateError('cannot exec in a paused container (resume it first)')
    specconfig.validate_process(process)
    if process.get('terminal') and detach and not console_socket:
        raise errors.UsageError('cannot allocate tty if runcible will detach without setting console socket')
    if console_socket and not process.get('terminal'):
        raise errors.UsageError('cannot use console socket if runcible will not detach or allocate tty')
    caps = capabilities.resolve(process.get('capabilities'))
    lsm.validate(process, {})
    linux = state.config.get('linux') or {}
    ns_fds = _namespace_fds(state)
    console = ours = None
    forwarding = None
    try:
        if process.get('terminal'):
            from ..process import terminal
            if console_socket:
                console = terminal.connect_console_socket(console_socket)
            else:
                ours, console = terminal.socket_pair()
        userns = any(kind == 'user' for kind, _fd in ns_fds)
        plan = setns.ExecPlan(process, linux, caps, ns_fds, preserve_fds=preserve_fds,
                              console_fd=console.fileno() if console else None,
                              setgroups_allowed=not (userns and state.rootless), stdio=stdio)
        with runmod.blocking_signals():
            pid = _spawn(plan, state.cgroup['dirs'] if state.cgroup else None)
            if not detach:
                # In place while signals are held back: none sent once the process runs is lost.
                forwarding = runmod.SignalForwarding(pid, statemod.process_start_time(pid))
    except BaseException:
        if forwarding is not None:
            forwarding.stop()
        if ours is not None:
            ours.close()
        raise
    finally:
        for _kind, fd in ns_fds:
            os.close(fd)
        if console is not None:
            console.close()
    try:
        log.debug('exec in %s: process %s runs %s' % (container_id, pid, process['args']))
        if pid_file:
            from .create import write_pid_file
            write_pid_file(pid_file, pid)
        if detach:
            return pid if return_pid else 0
        if ours is not None:
            from ..process import terminal
            master = terminal.receive_master(ours)
            ours.close()
            try:
                terminal.proxy(master, lambda: statemod.process_start_time(pid) is None)
            finally:
                os.close(master)
        return runmod.exit_code(runmod.wait_for(pid))
    finally:
        if forwarding is not None:
            forwarding.stop()


def run_captured(root, container_id, process, input_bytes=b'', timeout=None):
    """Run `process` in the container with its output captured: (exit code, stdout, stderr, timed out)."""
    from ..linux import spawn
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = execute(root, container_id, process, detach=True, stdio=(in_r, out_w, err_w), return_pid=True)
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    outputs, timed_out = spawn.communicate(pid, in_w, out_r, err_r, input_bytes, timeout)
    status = runmod.wait_for(pid)
    return runmod.exit_code(status), outputs[out_r], outputs[err_r], timed_out


def _spawn(plan, cgroup_dirs):
    """Fork the joining processes (into the container's cgroups `cgroup_dirs`); returns the exec process' PID once
    it has exec'd."""
    runtime_end, child_end = Channel.pair()
    syscalls.prctl(c.PR_SET_CHILD_SUBREAPER, 1)
    migration_lock.stop()
    intermediate = os.fork()
    if intermediate == 0:
        try:
            runtime_end.close()
            setns.intermediate(plan, child_end)
        finally:
            os._exit(1)
    child_end.close()
    pid = None
    try:
        if cgroup_dirs is not None:
            fsio.join(cgroup_dirs, intermediate)
        runtime_end.send('go')
        while True:
            try:
                message = runtime_end.recv()
            except ChannelClosed:
                if pid is None:
                    raise
                return pid
            if message['type'] == 'pid':
                pid = message['pid']
                os.waitpid(intermediate, 0)
                intermediate = None
            elif message['type'] == 'error':
                raise_remote(message)
    except BaseException:
        for victim in (intermediate, pid):
            if victim:
                try:
                    os.kill(victim, 9)
                    os.waitpid(victim, 0)
                except (ProcessLookupError, ChildProcessError):
                    destroy.wait_gone(victim, None, timeout=2.0)
        raise
    finally:
        runtime_end.close()
