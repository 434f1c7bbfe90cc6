# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two processes `create` forks: the intermediate and the container's init.

intermediate: enters the namespaces (user first, so it owns the others),
  then forks once more, because a new PID namespace only applies to children.
  It reports the init's PID to the runtime and exits.
init: PID 1 of the container. Builds the rootfs, pivots into it, opens the
  exec FIFO, drops to the process user and capabilities, reports "done",
  waits until the runtime recorded it, then waits for `start` to write to the
  FIFO, and execs the program.

Both never return: they exit or exec. Every failure is sent to the runtime
over the channel before exiting.
"""

import os

from .. import errors, hooks
from ..linux import consts as c
from ..linux import signals, syscalls
from ..rootfs import devices, mount, paths, securejoin
from . import finalize, setns

_TERMINATING = ('SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM')


class InitPlan:
    """Everything the forked processes need, decided by the runtime before fork.

    `join_fds`: [(type, fd)] namespaces to enter with setns;
    `unshare_flags`: CLONE_NEW* flags of the namespaces to create;
    `new_userns`: the intermediate creates a user namespace and waits for its
    ID maps; `state_dir_fd`: the container's state folder (for the exec FIFO);
    `rootfs_context`: what rootfs set-up needs; `caps`: resolved capability sets;
    `linux`: the config's linux section with its seccomp filter compiled (the
    init cannot import the compiler once inside the container's mount namespace);
    `close_in_child`: the runtime's fds the children must not keep (the state
    lock: a forked copy would hold the flock until the init execs); `stdio`:
    three fds to become the container's 0, 1, 2 instead of the caller's.
    """

    def __init__(self, bundle, container_id, state_dir_fd, join_fds, unshare_flags, new_userns,
                 rootfs_context, caps, linux, preserve_fds=0, setgroups_allowed=True, close_in_child=(), console_fd=None,
                 stdio=None):
        self.bundle = bundle
        self.linux = linux
        self.container_id = container_id
        self.state_dir_fd = state_dir_fd
        self.join_fds = join_fds
        self.unshare_flags = unshare_flags
        self.new_userns = new_userns
        self.rootfs_context = rootfs_context
        self.caps = caps
        self.preserve_fds = preserve_fds
        self.setgroups_allowed = setgroups_allowed
        self.close_in_child = close_in_child
        self.console_fd = console_fd
        self.stdio = stdio
        if console_fd is not None:
            # Here, in the runtime: the init sets the terminal up after pivot_root, where our files are out of
            # reach, and a container without one needs neither this module nor termios.
            from . import terminal  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import


def _die_with(channel, exc, error_fd=None):
    exc = finalize.explain(exc)
    try:
        if channel.write_fd is not None:
            channel.send_error(exc)
        elif error_fd is not None:
            os.write(error_fd, errors.describe(exc).encode())
    finally:
        os._exit(1)


def intermediate(plan, channel):
    """First child: namespaces, then fork the init. Never returns."""
    try:
        for fd in plan.close_in_child:
            os.close(fd)
        channel.expect('go')
        _set_oom_score(plan.bundle.process)
        joins = dict(plan.join_fds)
        if 'user' in joins:
            syscalls.setns(joins.pop('user'), c.CLONE_NEWUSER)
        if plan.new_userns:
            syscalls.unshare(c.CLONE_NEWUSER)
            channel.send('idmap')
            channel.expect('idmap-done')
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        setns.join_namespaces(joins)
        if plan.unshare_flags:
            syscalls.unshare(plan.unshare_flags)
        _set_time_offsets(plan.bundle.linux.get('timeOffsets'))
        # Until it execs, the init runs the host's interpreter: nothing in the
        # container (an exec'd process) may reach it through /proc/1/exe. Not
        # earlier: an unprivileged runtime must still write our ID maps.
        syscalls.prctl(c.PR_SET_DUMPABLE, 0)
        pid = os.fork()
        if pid == 0:
            container_init(plan, channel)
        channel.send('pid', pid=pid)
    except BaseException as exc:  # pylint: disable=broad-except
        _die_with(channel, exc)
    os._exit(0)


def _set_time_offsets(offsets):
    """Offsets of a new time namespace, before its first process (our fork) enters it."""
    if not offsets:
        return
    lines = ''.join('%s %d %d\n' % (clock, value.get('secs', 0), value.get('nanosecs', 0))
                    for clock, value in sorted(offsets.items()))
    with open('/proc/self/timens_offsets', 'w') as handle:
        handle.write(lines)


def _set_oom_score(process):
    if 'oomScoreAdj' in process:
        with open('/proc/self/oom_score_adj', 'w') as handle:
            handle.write(str(process['oomScoreAdj']))


def _exit_on_signal(signum, _frame):
    os._exit(128 + signum)


def container_init(plan, channel):
    """The container's PID 1 until it execs the user program. Never returns.

    After "done" the runtime no longer listens: a later failure is written to
    the state folder's init.error, where `start` finds it.
    """
    error_fd = None
    try:
        for name in _TERMINATING:
            signals.signal(signals.number(name), _exit_on_signal)
        os.setsid()
        finalize.use_stdio(plan.stdio)
        error_fd = os.open('init.error', os.O_WRONLY | os.O_CLOEXEC, dir_fd=plan.state_dir_fd)
        _run_init(plan, channel)
    except BaseException as exc:  # pylint: disable=broad-except
        _die_with(channel, exc, error_fd)
    os._exit(127)


def _run_init(plan, channel):
    bundle = plan.bundle
    config = bundle.config
    process = bundle.process
    if plan.unshare_flags & c.CLONE_NEWNET:
        syscalls.interface_up('lo')
    root_fd = mount.prepare(bundle, plan.rootfs_context)
    cwd = process['cwd']
    os.close(securejoin.open_in_root(root_fd, cwd, create='dir', strict=False))
    os.close(root_fd)
    if hooks.has(config.get('hooks'), 'prestart', 'createRuntime', 'createContainer'):
        channel.send('hooks')
        reply = channel.expect('hooks-done')
        hooks.run(config.get('hooks'), 'createContainer', reply['state'])
    mount.enter_root(bundle, plan.rootfs_context)
    if plan.console_fd is not None:
        # Loaded by InitPlan, in the runtime, before the fork.
        from . import terminal  # pylint: disable=import-outside-toplevel
        mount.console(terminal.setup(plan.console_fd, process))
    mount.finalize(bundle, plan.rootfs_context)
    devices.reopen_dev_null()
    if config.get('hostname') is not None and (plan.unshare_flags & c.CLONE_NEWUTS):
        syscalls.sethostname(config['hostname'])
    if config.get('domainname') is not None and (plan.unshare_flags & c.CLONE_NEWUTS):
        syscalls.setdomainname(config['domainname'])
    linux = plan.linux
    _apply_sysctl(linux.get('sysctl') or {})
    paths.make_readonly(linux.get('readonlyPaths'))
    paths.mask(linux.get('maskedPaths'))
    mount.apply_root_propagation(bundle, plan.rootfs_context)
    # Read and write, so that no writer coming and going (a `start` killed
    # before it wrote, a `state` looking) ever gives us end-of-file; opened
    # before the process' user and seccomp filter apply, which may forbid it.
    # Held (close-on-exec) until the program runs: while the init holds it,
    # the container is "created" (state.status), and `start` sees the last
    # holder go exactly when the exec happened.
    fifo = os.open('exec.fifo', os.O_RDWR | os.O_CLOEXEC, dir_fd=plan.state_dir_fd)
    os.close(plan.state_dir_fd)
    prepared = finalize.prepare(process, linux, plan.caps, plan.preserve_fds, plan.setgroups_allowed,
                                before_filter=lambda: channel.send('seccomp'))
    channel.send('done')
    # A runtime killed before it recorded our PID ends the channel: exit
    # rather than wait for a `start` no one could send.
    channel.expect('recorded')
    channel.close()
    os.read(fifo, 1)
    if (config.get('hooks') or {}).get('startContainer'):
        state = {'ociVersion': config['ociVersion'], 'id': plan.container_id, 'status': 'created',
                 'pid': os.getpid(), 'bundle': bundle.path}
        hooks.run(config['hooks'], 'startContainer', state)
    finalize.execute(prepared, process)


def _apply_sysctl(sysctl):
    for key, value in sysctl.items():
        path = '/proc/sys/' + key.replace('.', '/')
        try:
            with open(path, 'w') as handle:
                handle.write(value)
        except OSError as exc:
            raise errors.SetupError('linux.sysctl.%s: cannot write %s: %s' % (key, path, exc.strerror))
