# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""checkpoint: dump a running container's processes to an image folder with CRIU.

As runc: CRIU freezes the container through its freezer cgroup, dumps the
process tree with the container's bind mounts, cgroup binds, devices and
masked files as external mounts (connected again at restore), and then
kills the processes unless --leave-running; the container is then destroyed
(cgroups, state, poststop hooks). Before anything is touched the flags, the
container's status and CRIU itself (`criu check`) are checked. A failed dump
leaves the container running as it was, and an image folder that held a
checkpoint keeps it: a dump into a non-empty folder is written beside it
and swapped in only when it succeeded.
"""

import os
import time

from .. import cgroups, errors, log, state as statemod
from ..cgroups.manager import Manager
from ..criu import binary, externals, image, messages, swrk
from ..spec import config as specconfig
from . import create, destroy, query

LOG_FILE = 'dump.log'
# CRIU reads this configuration file if it exists (runc's is /etc/criu/runc.conf); the
# annotation "org.criu.config" names another one, or none when empty.
DEFAULT_CRIU_CONFIG = '/etc/criu/runcible.conf'


class CheckpointResult:
    """What a checkpoint produced: the image folder, its size in bytes, the time CRIU took."""

    def __init__(self, image_path, size, seconds, criu_version, left_running):
        self.image_path = image_path
        self.size = size
        self.seconds = seconds
        self.criu_version = criu_version
        self.left_running = left_running


def criu_config_file(config):
    annotations = config.get('annotations') or {}
    if 'org.criu.config' in annotations:
        return annotations['org.criu.config'] or None
    return DEFAULT_CRIU_CONFIG


def _check_status(container_dir, state):
    status = query.container_status(container_dir, state)
    if status not in ('running', 'paused'):
        raise errors.StateError('Container cannot be checkpointed in %s state' % status)
    if state.rootless or not state.cgroup:
        raise errors.CriuError('a rootless container cannot be checkpointed: CRIU needs root and the '
                               'container\'s own cgroups')
    return status


def _image_folder(path):
    """(folder CRIU writes to, whether it is a staging folder beside a non-empty `path`)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise errors.UsageError('--image-path %s exists and is not a folder' % path)
    try:
        os.makedirs(path, 0o700, exist_ok=True)
    except OSError as exc:
        raise errors.UsageError('--image-path %s: cannot create it: %s' % (path, errors.strerror(exc)))
    if not os.listdir(path):
        return path, False
    staging = os.path.join(os.path.dirname(path), '.%s.dump-%d' % (os.path.basename(path), os.getpid()))
    if os.path.lexists(staging):
        _remove_tree(staging)
    os.mkdir(staging, 0o700)
    return staging, True


def _remove_tree(path):
    """rm -rf of an image folder (CRIU writes files only; a user's subfolders are followed, links not)."""
    if not os.path.isdir(path) or os.path.islink(path):
        os.unlink(path)
        return
    for name in os.listdir(path):
        _remove_tree(os.path.join(path, name))
    os.rmdir(path)


def _swap_in(staging, target):
    """Replace the files of `target` with those of `staging` (same file system), then drop `staging`."""
    for name in os.listdir(target):
        path = os.path.join(target, name)
        if not os.path.isdir(path) or os.path.islink(path):
            os.unlink(path)
    for name in os.listdir(staging):
        os.rename(os.path.join(staging, name), os.path.join(target, name))
    os.rmdir(staging)


def _discard(folder, target, staged, log_dir):
    """After a failed dump: drop the partial image, keep CRIU's log where the user will look."""
    log_path = os.path.join(log_dir, LOG_FILE)
    if log_dir == folder and os.path.exists(log_path):
        kept = os.path.join(target, LOG_FILE)
        os.rename(log_path, kept)
        log_path = kept
    if staged:
        _remove_tree(folder)
    else:
        for name in os.listdir(folder):
            if name != LOG_FILE:
                path = os.path.join(folder, name)
                _remove_tree(path)
    return log_path


def _request(state, options, image_fd, work_fd):
    config = state.config or {}
    manager = Manager.from_state(state.cgroup)
    linux = config.get('linux') or {}
    cgroupns = any(ns.get('type') == 'cgroup' and not ns.get('path') for ns in linux.get('namespaces') or [])
    unified = cgroups.layout() == 'unified'
    binds = create.cgroup_binds(cgroups.discover(), manager.dirs)
    destinations = externals.cgroup_bind_destinations(config, binds, unified, cgroupns)
    opts = options.rpc_opts()
    opts.update({
        'images_dir_fd': image_fd,
        'log_file': LOG_FILE,
        'root': state.rootfs,
        'pid': state.pid,
        'leave_running': options.leave_running,
        'external': externals.dump_namespaces(config),
        'ext_mnt': externals.dump_mounts(config, state.rootfs, destinations, state.pid),
        'config_file': criu_config_file(config),
    })
    freezer = manager.dirs.get('freezer') or (manager.dirs.get('') if unified else None)
    if freezer:
        opts['freeze_cgroup'] = freezer
    if work_fd is not None:
        opts['work_dir_fd'] = work_fd
    return {'type': messages.DUMP, 'opts': opts}


def _check_recorded(container_dir, state):
    """A StateError, as load() gives, when the recorded mounts, root, masked paths or devices are of the wrong shape."""
    try:
        specconfig.validate_recorded_mounts(state.config or {})
    except errors.ConfigError as exc:
        raise container_dir.damaged('config.%s' % exc.message) from None


def checkpoint(root, container_id, options, criu='criu'):
    """Checkpoint container `container_id` into `options.image_path`; returns a CheckpointResult."""
    options.validate()
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state = container_dir.load()
        _check_recorded(container_dir, state)
        status = _check_status(container_dir, state)
        tool = binary.find(criu, binary.cache_file(root))
        if options.work_path:
            os.makedirs(options.work_path, 0o700, exist_ok=True)
        target = options.image_path
        folder, staged = _image_folder(target)
        descriptors = state.external_descriptors or statemod.fd_targets(state.pid, 3)
        image.write_json(folder, image.DESCRIPTORS, descriptors)
        image.write_json(folder, image.METADATA, image.metadata(container_id, state.config or {},
                                                                tool.version_text, options))
        image_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        work_fd = os.open(options.work_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if options.work_path else None
        started = time.monotonic()
        try:
            _dump(tool, _request(state, options, image_fd, work_fd))
        except BaseException as exc:
            log_path = _discard(folder, target, staged, options.work_path or folder)
            raise _failed(exc, container_id, container_dir, state, status, log_path)
        finally:
            os.close(image_fd)
            if work_fd is not None:
                os.close(work_fd)
        seconds = time.monotonic() - started
        if staged:
            _swap_in(folder, target)
        log.debug('container %s checkpointed to %s in %.3fs' % (container_id, target, seconds))
        if not options.leave_running:
            destroy.destroy(container_dir, state)
        return CheckpointResult(target, image.size(target), seconds, tool.version_text, options.leave_running)


def _dump(tool, request):
    session = swrk.Swrk(tool).start()
    try:
        session.call(request)
    finally:
        exit_status = session.close()
    if exit_status:
        raise errors.CriuError('criu exited with status %d after the dump' % (exit_status >> 8))


def _failed(exc, container_id, container_dir, state, status_before, log_path):
    """The error of a failed dump, saying where the log is and whether the container still runs."""
    if status_before == 'running':
        _thaw_if_frozen(state)
    if not isinstance(exc, errors.RuntimeErrorBase):
        return exc
    now = query.container_status(container_dir, state)
    after = 'the container still runs' if now == status_before else 'the container is now %s' % now
    return errors.CriuError('checkpoint of container %s failed: %s; %s (CRIU log: %s)' % (
        container_id, image.failure_reason(exc, log_path), after, log_path))


def _thaw_if_frozen(state):
    """CRIU thaws what it froze, even when it fails; make sure a running container is not left frozen."""
    freezer = Manager.from_state(state.cgroup).dirs.get('freezer')
    if not freezer:
        return
    path = os.path.join(freezer, 'freezer.state')
    try:
        with open(path) as handle:
            frozen = handle.read().strip() != 'THAWED'
        if frozen:
            with open(path, 'w') as handle:
                handle.write('THAWED')
    except OSError as exc:
        log.warning('cannot thaw %s after the failed checkpoint: %s' % (freezer, errors.strerror(exc)))
