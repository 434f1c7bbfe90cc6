# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restore: bring a checkpointed container back from its image folder with CRIU.

Everything that can be checked is checked before anything is made: the
flags, the bundle (as `create` checks it), the image (a checkpoint, taken
from a container with this config), CRIU itself (`criu check`). Then, as
runc: a state folder, the container's cgroups made again from the config
(CRIU is put into them and told to restore there), mount points in the
rootfs, and CRIU restores the processes with the external mounts mapped to
this host's sources, namespaces given by path handed in, and stdio pipes of
the checkpoint replaced by ours. On CRIU's "setup-namespaces" the loopback
of the new network namespace comes up and the prestart and createRuntime
hooks run, as runc runs them. The state records the restored init, so
state, list, exec, kill and delete work. A failed restore removes what it
made: processes, cgroups, state folder.
"""

import contextlib
import copy
import os

from .. import errors, hooks, log, state as statemod
from ..criu import binary, externals, image, messages, mountpoints, swrk
from ..linux import consts as c
from ..linux import syscalls
from ..spec import config as specconfig
from . import checkpoint, create, destroy, run as runmod

LOG_FILE = 'restore.log'
# CRIU's fds: 0-2 stdio, 3 the RPC socket, then the extra files we hand it.
FIRST_EXTRA_FD = 4


def check_image(options, bundle):
    """The image's descriptors; CriuError if it is no checkpoint or one of a container with another config."""
    image.require_checkpoint(options.image_path)
    descriptors = image.read_descriptors(options.image_path)
    recorded = image.read_metadata(options.image_path)
    if recorded and isinstance(recorded.get('fingerprint'), dict):
        difference = image.mismatch(recorded['fingerprint'], bundle.config)
        if difference:
            field, theirs, ours = difference
            raise errors.CriuError(
                'the checkpoint in %s is of container %s, whose %s differs from the bundle\'s (checkpoint: %s, '
                'bundle %s: %s): restore it with the bundle it was checkpointed from'
                % (options.image_path, recorded.get('id', '?'), field, _short(theirs), bundle.path, _short(ours)))
    return descriptors


def _short(value):
    from .. import jsonc
    text = jsonc.dumps(value, compact=True)
    return text if len(text) <= 120 else text[:117] + '...'


def restore(root, container_id, bundle_dir, options, criu='criu', detach=False, pid_file=None, console_socket=None,
            no_subreaper=False, stdio=(0, 1, 2)):
    """Restore `container_id` from `options.image_path` with the bundle at `bundle_dir`.

    Returns the container's exit code in the foreground (the container is
    removed once it exits, as `run` does), 0 when detached. `stdio`: the
    three fds that replace the checkpointed init's stdio pipes (default ours,
    as runc's; a caller whose own stdio must not reach the container passes others).
    """
    options.validate()
    specconfig.validate_id(container_id)
    bundle = specconfig.load_bundle(bundle_dir)
    create.check_bundle(bundle)
    terminal_wanted = bool(bundle.process.get('terminal'))
    if terminal_wanted and detach and not console_socket:
        raise errors.UsageError('cannot allocate tty if runcible will detach without setting console socket')
    if not terminal_wanted and console_socket:
        raise errors.UsageError('cannot use console socket if runcible will not detach or allocate tty')
    descriptors = check_image(options, bundle)
    tool = binary.find(criu, binary.cache_file(root))
    terminal = _Terminal(console_socket) if terminal_wanted else None
    forwarding = contextlib.ExitStack()
    try:
        if not detach and not no_subreaper:
            syscalls.prctl(c.PR_SET_CHILD_SUBREAPER, 1)
        if detach:
            _restore(root, container_id, bundle, options, tool, descriptors, terminal, pid_file, stdio)
            return 0
        with runmod.blocking_signals():
            state = _restore(root, container_id, bundle, options, tool, descriptors, terminal, pid_file, stdio)
            # In place while signals are held back: none sent once the container runs is lost.
            forwarding.enter_context(runmod.forwarding_signals(state.pid, state.init_start))
        with forwarding:
            if terminal is not None and terminal.master is not None:
                from ..process import terminal as terminalmod
                terminalmod.proxy(terminal.master, lambda: statemod.process_start_time(state.pid) is None)
            status = runmod.wait_for(state.pid)
        container_dir = statemod.ContainerDir(root, container_id)
        with container_dir:
            destroy.destroy(container_dir, container_dir.load_remains())
        return runmod.exit_code(status)
    finally:
        forwarding.close()
        if terminal is not None:
            terminal.close()


class _Terminal:
    """Where the restored terminal's master goes: the --console-socket, or us (foreground)."""

    def __init__(self, console_socket):
        from ..process import terminal as terminalmod
        self.socket = terminalmod.connect_console_socket(console_socket) if console_socket else None
        self.master = None

    def received(self, fds):
        if not fds:
            raise errors.CriuError('criu sent no terminal with its orphan-pts-master notice')
        if self.socket is not None:
            from ..process import terminal as terminalmod
            terminalmod.send_master(self.socket.fileno(), fds[0])
        else:
            self.master = os.dup(fds[0])

    def close(self):
        if self.socket is not None:
            self.socket.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None


class _Notifications:
    """CRIU's notices during a restore: namespaces ready (loopback, hooks), the restored PID, a terminal."""

    def __init__(self, container_id, bundle, terminal):
        self.container_id = container_id
        self.bundle = bundle
        self.terminal = terminal
        self.pid = None

    def __call__(self, script, pid, fds):
        if script == 'setup-namespaces':
            self.pid = pid
            if self.bundle.has_namespace('network') and not dict(self.bundle.namespaces()).get('network'):
                _loopback_up(pid)
            creating = create.oci_state(self.container_id, 'creating', pid, self.bundle.path,
                                        self.bundle.config.get('annotations'), self.bundle.config['ociVersion'])
            hooks.run(self.bundle.config.get('hooks'), 'prestart', creating)
            hooks.run(self.bundle.config.get('hooks'), 'createRuntime', creating)
        elif script == 'post-restore':
            self.pid = pid
        elif script == 'orphan-pts-master' and self.terminal is not None:
            self.terminal.received(fds)


def _loopback_up(pid):
    """Bring up "lo" in the restored network namespace, as create does in a new one.

    CRIU creates the namespace empty (runc's choice: interfaces belong to
    whoever made them), so its loopback is down until someone brings it up;
    established TCP connections over 127.0.0.1 need it.
    """
    netns = os.open('/proc/%d/ns/net' % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        child = os.fork()
        if child == 0:
            try:
                syscalls.setns(netns, c.CLONE_NEWNET)
                syscalls.interface_up('lo')
                os._exit(0)
            except BaseException:  # pylint: disable=broad-except
                os._exit(1)
        _pid, status = os.waitpid(child, 0)
    finally:
        os.close(netns)
    if status:
        raise errors.SetupError('cannot bring up the loopback in the restored network namespace')


def _cgroup_roots(pid):
    """criu_opts.cg_root: the cgroups process `pid` (CRIU, moved into the container's) sits in."""
    roots = []
    with open('/proc/%d/cgroup' % pid) as handle:
        for line in handle:
            _hierarchy, controllers, path = line.rstrip('\n').split(':', 2)
            if not controllers:
                roots.append({'path': path})
            for controller in controllers.split(','):
                if controller:
                    roots.append({'ctrl': controller, 'path': path})
    return roots


def _request(bundle, options, image_fd, work_fd, criu_root, ext_mnt, inherit, join_ns):
    opts = options.rpc_opts()
    opts.update({
        'images_dir_fd': image_fd,
        'log_file': LOG_FILE,
        'root': criu_root,
        'evasive_devices': True,
        'rst_sibling': True,
        'ext_mnt': ext_mnt,
        'inherit_fd': inherit,
        'join_ns': join_ns,
        'config_file': checkpoint.criu_config_file(bundle.config),
    })
    if work_fd is not None:
        opts['work_dir_fd'] = work_fd
    return {'type': messages.RESTORE, 'opts': opts}


def _restore(root, container_id, bundle, options, tool, descriptors, terminal, pid_file, stdio):
    container_dir = statemod.ContainerDir(root, container_id).make()
    manager = session = None
    opened = []
    stack = contextlib.ExitStack()
    notices = _Notifications(container_id, bundle, terminal)
    criu_root = os.path.join(container_dir.path, mountpoints.CRIU_ROOT)
    try:
        cgroup_plan = create.CgroupPlan(bundle, container_id)
        manager = cgroup_plan.manager
        state = create.new_state(container_id, bundle, manager, False, started=True)
        # Before anything else exists (see state.py): a restore killed from here
        # on leaves a state `delete --force` cleans up.
        container_dir.record(state)
        manager, binds, unified = cgroup_plan.make(bundle, False)
        for warning in manager.set(bundle.linux.get('resources') or {}, bundle.linux.get('devices')) or []:
            log.warning(warning)
        cgroupns = any(kind == 'cgroup' and not path for kind, path in bundle.namespaces())
        destinations = externals.cgroup_bind_destinations(bundle.config, binds, unified, cgroupns)
        ext_mnt = externals.restore_mounts(bundle, destinations)
        inherit, join_ns, ns_fds = externals.restore_namespaces(bundle, FIRST_EXTRA_FD)
        opened.extend(ns_fds)
        inherit += [{'key': target, 'fd': fd} for fd, target in enumerate(descriptors[:3]) if 'pipe:' in target]
        mountpoints.prepare(bundle)
        stack.enter_context(mountpoints.criu_root(bundle.rootfs, criu_root))
        if options.work_path:
            os.makedirs(options.work_path, 0o700, exist_ok=True)
        image_fd = os.open(options.image_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        opened.append(image_fd)
        work_fd = None
        if options.work_path:
            work_fd = os.open(options.work_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            opened.append(work_fd)
        session = swrk.Swrk(tool, stdio=stdio, extra_fds=ns_fds).start()
        manager.apply(session.pid)
        request = _request(bundle, options, image_fd, work_fd, criu_root, ext_mnt, inherit, join_ns)
        request['opts']['cg_root'] = _cgroup_roots(session.pid)
        log.debug('restoring %s from %s with criu %s' % (container_id, options.image_path, tool.version_text))
        response = session.call(request, notices)
        exit_status = session.close()
        session = None
        pid = (response.get('restore') or {}).get('pid') or notices.pid
        if exit_status or not pid:
            raise errors.CriuError('criu exited with status %d after the restore' % ((exit_status or 0) >> 8))
        notices.pid = pid
        state.pid = pid
        state.init_start = statemod.process_start_time(pid)
        state.external_descriptors = statemod.fd_targets(pid, len(descriptors))
        state.config = _with_time_namespace(bundle.config, pid)
        container_dir.record(state)
        if pid_file:
            create.write_pid_file(pid_file, pid)
        log.debug('container %s restored: init pid %d' % (container_id, pid))
        return state
    except BaseException as exc:
        if session is not None:
            session.close()
        stack.close()
        destroy.undo_setup((notices.pid,), manager, container_dir, 'restore')
        if isinstance(exc, errors.CriuError):
            log_path = os.path.join(options.work_path or options.image_path, LOG_FILE)
            raise errors.CriuError('restore of container %s failed: %s (CRIU log: %s)' % (
                container_id, image.failure_reason(exc, log_path), log_path))
        raise
    finally:
        for fd in opened:
            os.close(fd)
        stack.close()
        container_dir.unlock()


def _with_time_namespace(config, pid):
    """The config to record: with a time namespace if CRIU restored into one, so that exec joins it too."""
    try:
        theirs = os.stat('/proc/%d/ns/time' % pid).st_ino
        ours = os.stat('/proc/self/ns/time').st_ino
    except OSError:
        return config
    namespaces = (config.get('linux') or {}).get('namespaces') or []
    if theirs == ours or any(ns.get('type') == 'time' for ns in namespaces):
        return config
    recorded = copy.deepcopy(config)
    recorded.setdefault('linux', {}).setdefault('namespaces', []).append({'type': 'time'})
    return recorded
