# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""create: validate the bundle, then make the container up to the exec FIFO.

Validation happens before anything touches the host. A create that fails
afterwards removes what it made: the init, the cgroups, the state folder.
"""

import os
import time

from .. import cgroups, errors, hooks, log, state as statemod
from ..cgroups import fsio
from ..linux import consts as c
from ..linux import syscalls
from ..process import finalize, init, main
from ..rootfs import securejoin
from ..rootfs.mount import RootfsContext
from ..security import capabilities, lsm
from ..spec import config as specconfig
from . import destroy


def oci_state(container_id, status, pid, bundle, annotations=None, oci_version=None):
    """The runtime-spec state object hooks receive."""
    data = {'ociVersion': oci_version or '1.0.2-dev', 'id': container_id, 'status': status,
            'pid': pid, 'bundle': bundle}
    if annotations:
        data['annotations'] = annotations
    return data


def check_bundle(bundle):
    """Checks that need the rootfs or the host but change nothing.

    Mount destinations resolve inside the rootfs and not into /proc (the
    namespace files were checked by load_bundle). Returns the resolved
    capability sets and `linux` with its seccomp profile compiled (the
    filter the container's init loads).
    """
    for index, mount in enumerate(bundle.config.get('mounts') or []):
        _check_mount_target(bundle, mount, 'mounts[%d].destination' % index)
    caps = capabilities.resolve(bundle.process.get('capabilities'))
    lsm.validate(bundle.process, bundle.linux)
    return caps, finalize.with_compiled_seccomp(bundle.linux)


def _check_mount_target(bundle, mount, field):
    destination = mount['destination']
    try:
        resolved = securejoin.resolve_in_root(bundle.rootfs, destination)
    except securejoin.EscapeError as exc:
        raise errors.ConfigError(field, exc.strerror)
    except OSError as exc:
        raise errors.ConfigError(field, 'cannot resolve %s in the rootfs %s: %s'
                                 % (destination, bundle.rootfs, errors.describe(exc)))
    source_is_procfs = None
    if resolved == '/proc' and specconfig.is_bind(mount):
        source = os.path.join(bundle.path, mount.get('source') or '')
        try:
            source_is_procfs = syscalls.fs_type(source) == c.PROC_SUPER_MAGIC
        except OSError:
            source_is_procfs = None  # a missing source is reported when it is mounted
    problem = specconfig.mount_target_problem(mount, resolved, source_is_procfs)
    if problem:
        raise errors.ConfigError(field, problem)


def _open_namespaces(bundle):
    """[(type, fd)] of the namespaces to join, each checked (again: these fds are what counts) to be one."""
    joins = []
    try:
        for index, (kind, path) in enumerate(bundle.namespaces()):
            if path:
                field = 'linux.namespaces[%d].path' % index
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError as exc:
                    raise errors.ConfigError(field, 'cannot open %s: %s' % (path, exc.strerror))
                joins.append((kind, fd))
                specconfig.check_namespace_file(path, kind, field, fd)
    except BaseException:
        for _kind, fd in joins:
            os.close(fd)
        raise
    return joins


def cgroup_binds(hierarchies, dirs):
    """[(name under /sys/fs/cgroup, host directory, subsystems)] for a v1 "cgroup" mount."""
    binds = []
    for hierarchy in hierarchies:
        if hierarchy.subsystems and hierarchy.subsystems[0] in dirs:
            binds.append((os.path.basename(hierarchy.mountpoint), dirs[hierarchy.subsystems[0]], hierarchy.subsystems))
    return binds


class CgroupPlan:
    """The container's cgroups before they exist: the Manager (its future directories
    counted as made by it, so that a record of it finds them) and the host's hierarchies."""

    def __init__(self, bundle, container_id):
        from ..cgroups.manager import Manager
        self.hierarchies = cgroups.discover()
        self.unified = cgroups.layout() == 'unified'
        path = cgroups.clean_path(bundle.linux.get('cgroupsPath')) or container_id
        self.manager = Manager.for_path(path, self.hierarchies)
        log.debug('cgroup %s: %s' % (self.manager.path, ', '.join(fsio.unique_dirs(self.manager.dirs))))
        # Before plan_created: a refused cgroup is not the container's to remove.
        _refuse_occupied(self.manager, bundle.linux.get('cgroupsPath'))
        for warning in self.manager.validate(bundle.linux.get('resources') or {}, bundle.linux.get('devices')) or []:
            log.warning(warning)
        self.manager.plan_created()

    def make(self, bundle, rootless):
        """Create the cgroups: (Manager or None, the binds for a cgroup mount, unified layout).

        Rootless, as runc: when the caller may not create cgroups, the
        container stays in the caller's own cgroups (Manager None), unless it
        asks for resource limits, which need a delegated cgroup.
        """
        manager = self.manager
        try:
            manager.create(bundle.linux.get('resources') or {})
        except errors.CgroupError as exc:
            if not rootless:
                raise
            if _limits_requested(bundle):
                raise errors.CgroupError('%s; a rootless container with linux.resources needs a cgroup its user '
                                         'may write (delegate one and point linux.cgroupsPath at it, or drop the '
                                         'limits)' % exc.message)
            log.debug('rootless: staying in the caller\'s cgroups (%s)' % exc)
            own = {key: hierarchy.directory(hierarchy.own_path)
                   for hierarchy in self.hierarchies for key in hierarchy.subsystems or ('',)}
            return None, cgroup_binds(self.hierarchies, own), self.unified
        return manager, cgroup_binds(self.hierarchies, manager.dirs), self.unified


def new_state(container_id, bundle, manager, rootless, started):
    """The state a create or restore records before it makes anything: no init yet."""
    return statemod.ContainerState(
        id=container_id, pid=None, init_start=None, bundle=bundle.path, rootfs=bundle.rootfs,
        created=statemod.rfc3339_nano(time.time_ns()), annotations=bundle.config.get('annotations'),
        config=bundle.config, cgroup=manager.to_state() if manager else None, started=started, rootless=rootless)


def _refuse_occupied(manager, cgroups_path):
    """A cgroup that already holds processes is not the container's: refuse it (as runc 1.2 does).

    Every process in the container's cgroup is killed when the container is
    deleted or its create fails, so joining another's cgroup (or the root,
    through linux.cgroupsPath) would kill what runs there.
    """
    pids = manager.pids()
    if not pids:
        return
    message = ('cgroup %s already holds %d process(es) (%s): a container needs a cgroup of its own'
               % (manager.path, len(pids), ', '.join(str(pid) for pid in sorted(pids)[:5])))
    if cgroups_path:
        raise errors.ConfigError('linux.cgroupsPath', message)
    raise errors.CgroupError(message)


def _limits_requested(bundle):
    resources = dict(bundle.linux.get('resources') or {})
    resources.pop('devices', None)
    return any(resources.values())


def create(root, container_id, bundle_dir, pid_file=None, preserve_fds=0, console_socket=None, console=None,
           detach=True, rootless=None, stdio=None, bundle=None):
    """Create container `container_id` from `bundle_dir`; returns its ContainerState.

    With process.terminal the container's pty master is sent over the unix
    socket at `console_socket`, or over `console` (a connected socket) when
    the caller proxies the terminal itself (a foreground run). `rootless`
    (default: not root) tolerates having no cgroups of its own. `stdio`:
    three fds for the container's stdin, stdout and stderr (default: ours,
    as runc passes its caller's). `bundle`: `bundle_dir` loaded already.
    """
    if rootless is None:
        rootless = os.geteuid() != 0
    specconfig.validate_id(container_id)
    if bundle is None:
        bundle = specconfig.load_bundle(bundle_dir)
    caps, linux = check_bundle(bundle)
    terminal_wanted = bool(bundle.process.get('terminal'))
    if terminal_wanted and console is None and not console_socket:
        raise errors.UsageError('cannot allocate tty if runcible will detach without setting console socket')
    if not terminal_wanted and (console_socket or console is not None) and detach:
        raise errors.UsageError('cannot use console socket if runcible will not detach or allocate tty')
    if terminal_wanted and console is None:
        from ..process import terminal
        console = terminal.connect_console_socket(console_socket)
        try:
            return _create(root, container_id, bundle, caps, linux, pid_file, preserve_fds, console, rootless, stdio)
        finally:
            console.close()
    return _create(root, container_id, bundle, caps, linux, pid_file, preserve_fds, console if terminal_wanted else None,
                   rootless, stdio)


def _create(root, container_id, bundle, caps, linux, pid_file, preserve_fds, console, rootless, stdio):
    container_dir = statemod.ContainerDir(root, container_id).make()
    process = main.InitProcess()
    manager = None
    joins = []
    state_dir_fd = None
    host_mounts = None
    try:
        cgroup_plan = CgroupPlan(bundle, container_id)
        manager = cgroup_plan.manager
        state = new_state(container_id, bundle, manager, rootless, started=False)
        # Before anything else exists (see state.py): whenever this process is
        # killed from here on, `delete --force` finds all it made.
        container_dir.record(state)
        _make_init_files(container_dir, bundle)
        manager, binds, unified = cgroup_plan.make(bundle, rootless)
        if manager is None:
            state.cgroup = None
            container_dir.record(state)
        annotations = bundle.config.get('annotations')
        mount_ns = bundle.has_namespace('mount')
        if not mount_ns:
            from ..rootfs import hostmounts  # here: only a container sharing our mount namespace needs it
            host_mounts = state.host_mounts = hostmounts.snapshot(bundle.rootfs)
            container_dir.record(state)
            _warn_shared_mount_namespace(bundle)
        joins = _open_namespaces(bundle)
        joined = {kind for kind, _fd in joins}
        unshare_flags = 0
        for kind, path in bundle.namespaces():
            if not path and kind != 'user':
                unshare_flags |= specconfig.NAMESPACE_FLAGS[kind]
        new_userns = bundle.has_namespace('user') and 'user' not in joined
        userns = new_userns or 'user' in joined
        state_dir_fd = os.open(container_dir.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        context = RootfsContext(userns=userns, cgroup_binds=binds, cgroup_unified=unified,
                                cgroupns=bool(unshare_flags & c.CLONE_NEWCGROUP), mount_ns=mount_ns)
        plan = init.InitPlan(bundle, container_id, state_dir_fd, joins, unshare_flags, new_userns,
                             context, caps, linux, preserve_fds=preserve_fds,
                             setgroups_allowed=not (new_userns and os.geteuid() != 0),
                             close_in_child=(container_dir.lock_fd,),
                             console_fd=console.fileno() if console is not None else None, stdio=stdio)

        def run_runtime_hooks(pid):
            creating = oci_state(container_id, 'creating', pid, bundle.path, annotations, bundle.config['ociVersion'])
            hooks.run(bundle.config.get('hooks'), 'prestart', creating)
            hooks.run(bundle.config.get('hooks'), 'createRuntime', creating)
            return creating

        def record_init(pid):
            # The init waits for this before it waits for `start`: had we died
            # before recording it, it exits instead of waiting forever unknown.
            state.pid = pid
            state.init_start = statemod.process_start_time(pid)
            state.external_descriptors = statemod.fd_targets(pid, 3 + preserve_fds)
            container_dir.record(state)

        log.debug('creating %s from %s: rootfs %s, new namespaces %#x, joined %s'
                  % (container_id, bundle.path, bundle.rootfs, unshare_flags, sorted(joined)))
        main.spawn(plan, process, manager, run_runtime_hooks, record_init)
        if manager is not None:
            # As runc: limits apply once set-up is over, with the init alone in the cgroup. Its
            # warnings are cgroup_setup's, logged there already.
            manager.set(bundle.linux.get('resources') or {}, bundle.linux.get('devices'))
        log.debug('container %s created: init pid %s waits on %s' % (container_id, process.pid, container_dir.fifo))
        if pid_file:
            write_pid_file(pid_file, process.pid)
        return state
    except BaseException:
        destroy.undo_setup((process.intermediate_pid, process.pid), manager, container_dir, 'create')
        if host_mounts is not None:
            from ..rootfs import hostmounts
            for warning in hostmounts.remove_new(bundle.rootfs, host_mounts):
                log.warning(warning)
        raise
    finally:
        for _kind, fd in joins:
            os.close(fd)
        if state_dir_fd is not None:
            os.close(state_dir_fd)
        container_dir.unlock()


def _warn_shared_mount_namespace(bundle):
    """What a container sharing the runtime's mount namespace cannot have (runc and crun ignore both)."""
    if (bundle.config.get('root') or {}).get('readonly'):
        log.warning('root.readonly is ignored: the container has no mount namespace of its own, and its root '
                    'is not a mount of its own to make read-only (add {"type": "mount"} to linux.namespaces)')
    if bundle.linux.get('rootfsPropagation'):
        log.warning('linux.rootfsPropagation is ignored: the container has no mount namespace of its own')


def host_id_of_root(mappings):
    """The host ID that container ID 0 maps to (0 without a user namespace)."""
    for mapping in mappings or []:
        if mapping['containerID'] <= 0 < mapping['containerID'] + mapping['size']:
            return mapping['hostID'] - mapping['containerID']
    return 0


def _make_init_files(container_dir, bundle):
    """The exec FIFO (writable by any container user) and the init's error report file.

    Both belong to the container's root, so an init in a user namespace can
    open them.
    """
    uid = host_id_of_root(bundle.linux.get('uidMappings')) if bundle.has_namespace('user') else 0
    gid = host_id_of_root(bundle.linux.get('gidMappings')) if bundle.has_namespace('user') else 0
    os.mkfifo(container_dir.fifo, 0o622)
    os.chmod(container_dir.fifo, 0o622)
    fd = os.open(container_dir.init_error, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(fd)
    if uid or gid:
        os.chown(container_dir.fifo, uid, gid)
        os.chown(container_dir.init_error, uid, gid)


def write_pid_file(path, pid):
    """Write `pid` (no newline, as runc) atomically."""
    path = os.path.abspath(path)
    statemod.atomic_write(path, str(pid).encode(), mode=0o644)
