# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container state kept under the root directory, one folder per container.

<root>/<id>/cleanup.json what `delete --force` needs when state.json is missing
                         or damaged: the cgroups, the init's PID, the bundle
<root>/<id>/state.json   what the runtime knows about the container
<root>/<id>/exec.fifo    exists from create until start (the init waits on it)
<root>/<id>/init.error   why the init failed after create returned, if it did

Writes are atomic (temporary file, rename); a container's own files are not
fsync'd, as runc's are not: they describe processes that a crash of the host
ends anyway, and a state file a crash left empty is one `delete --force`
removes like any damaged one. Commands that change a container hold an
exclusive flock on its folder. The status is never stored:
it is derived from the init process (alive, and the same process by its start
time), the exec FIFO and the freezer.

A command killed at any moment leaves something `delete --force` can remove:
create locks the folder it made and records cleanup.json, then state.json,
before it makes anything else (the cgroups, the FIFO, a process), and removing
a container deletes those two files last. A folder without them therefore
holds nothing else, and every folder named like an ID is a container, listed
even when half-made.
"""

import errno
import fcntl
import os
import stat
import time

from . import errors, jsonc
from .spec.config import validate_id, validate_recorded

STATE_FILE = 'state.json'
CLEANUP_FILE = 'cleanup.json'
EXEC_FIFO = 'exec.fifo'
INIT_ERROR = 'init.error'


def rfc3339_nano(ns):
    """A Unix time in nanoseconds as Go's RFC3339Nano (trailing zeros trimmed)."""
    seconds, nanos = divmod(ns, 1000000000)
    text = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))
    if nanos:
        text += ('.%09d' % nanos).rstrip('0')
    return text + 'Z'


def process_start_time(pid):
    """Field 22 of /proc/<pid>/stat, or None when the process is gone or a zombie."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rindex(b')') + 2:].split()
    if fields[0] in (b'Z', b'X', b'x'):
        return None
    return int(fields[19])


def fd_targets(pid, count):
    """What fds 0..count-1 of process `pid` are, as /proc names them ("/dev/null", "pipe:[123]").

    A checkpoint records them (runc's descriptors.json), so that a restore can
    hand the restored process new pipes in place of the ones it had.
    """
    targets = []
    for fd in range(count):
        try:
            targets.append(os.readlink('/proc/%d/fd/%d' % (pid, fd)))
        except OSError:
            targets.append('')
    return targets


def atomic_write(path, data, mode=0o600, durable=True):
    """Write bytes `data` to `path` via a temporary file and rename (fsync'd first when `durable`)."""
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temporary, path)


class ContainerState:
    """What state.json holds about one container.

    Never saved: `damage` says why state.json could not be used when the
    state was read from cleanup.json or is only the ID (ContainerDir.load_remains),
    `damaged_files` which of the two files exist but are unusable.
    """

    # host_mounts: for a container without a mount namespace of its own, the
    # mounts under its rootfs before create (rootfs/hostmounts.py).
    FIELDS = ('id', 'pid', 'init_start', 'bundle', 'rootfs', 'created', 'annotations',
              'config', 'cgroup', 'started', 'rootless', 'external_descriptors', 'host_mounts')
    # What cleanup.json keeps: enough to find the container's processes, cgroups and mounts.
    CLEANUP_FIELDS = ('id', 'pid', 'init_start', 'bundle', 'rootfs', 'created', 'cgroup', 'rootless',
                      'host_mounts')

    def __init__(self, **values):
        for name in self.FIELDS:
            setattr(self, name, values.get(name))
        self.damage = None
        self.damaged_files = ()

    def to_json(self, fields=FIELDS):
        return jsonc.dumps({name: getattr(self, name) for name in fields}).encode()

    @classmethod
    def from_json(cls, raw, container_id=None, fields=FIELDS):
        """The state in `raw`; ValueError saying what is wrong when it is not a state (of `container_id`).

        Later commands act on it (signal the pid, kill the processes of the
        cgroup directories, run the recorded hooks), so a record of the wrong
        shape is refused rather than half-used. `fields`: what the file
        holds (CLEANUP_FIELDS for cleanup.json, which has no config).
        """
        try:
            data = jsonc.loads(raw)
        except ValueError as exc:
            raise ValueError('not valid JSON: %s' % exc)
        if not isinstance(data, dict):
            raise ValueError('not a JSON object')
        state = cls(**{name: data.get(name) for name in fields})
        problem = state.type_problem(container_id)
        if not problem and 'config' in fields and state.config is None:
            problem = 'config is missing'
        if problem:
            raise ValueError(problem)
        return state

    def type_problem(self, container_id=None):
        """What makes these values unusable as a state (None when nothing does)."""
        if container_id is not None and self.id != container_id:
            return 'id is %r, not %r' % (self.id, container_id)
        for name in ('pid', 'init_start'):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or value <= 0):
                return '%s is %r, not a positive number' % (name, value)
        for name, kind in (('bundle', str), ('rootfs', str), ('created', str), ('config', dict),
                           ('annotations', dict), ('external_descriptors', list), ('host_mounts', dict),
                           ('started', bool), ('rootless', bool)):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), kind):
                return '%s is not a %s' % (name, {str: 'string', bool: 'boolean'}.get(kind, 'JSON ' + kind.__name__))
        for name, items in (('annotations', (self.annotations or {}).items()),
                            ('external_descriptors', enumerate(self.external_descriptors or ()))):
            if not all(isinstance(key, (str, int)) and isinstance(item, str) for key, item in items):
                return '%s holds something other than strings' % name
        if self.config is not None:
            try:
                validate_recorded(self.config)
            except errors.ConfigError as exc:
                return 'config.%s' % exc.message
        return _cgroup_problem(self.cgroup) or _host_mounts_problem(self.host_mounts, self.rootfs)

    def init_alive(self):
        """The recorded init is still this container's (same PID and start time)."""
        return bool(self.pid) and self.init_start is not None and process_start_time(self.pid) == self.init_start


_CGROUP_ROOT = '/sys/fs/cgroup/'


def _cgroup_problem(cgroup):
    """None when `cgroup` is absent or a record delete can act on (Manager.to_state)."""
    if cgroup is None:
        return None
    bad = 'cgroup is not a cgroup record (a path, absolute dirs and created folders)'
    if not isinstance(cgroup, dict) or not isinstance(cgroup.get('path'), str):
        return bad
    dirs, created = cgroup.get('dirs'), cgroup.get('created') or []
    if not isinstance(dirs, dict) or not dirs or not isinstance(created, list):
        return bad
    checked = set()
    for directory in list(dirs.values()) + created:
        if isinstance(directory, str) and directory in checked:
            continue
        # Delete kills every process below these: never a hierarchy's root (a mount point) or a path outside.
        if not isinstance(directory, str) or os.path.normpath(directory) != directory \
                or not directory.startswith(_CGROUP_ROOT) or _is_mount(directory):
            return 'cgroup holds %r, which is not a container\'s cgroup directory' % (directory,)
        checked.add(directory)
    return None


def _host_mounts_problem(host_mounts, rootfs):
    """None when `host_mounts` is absent or what rootfs/hostmounts.snapshot() records.

    Delete detaches every mount under the rootfs whose ID is not in `before`:
    a damaged list would take mounts that were there before the container.
    """
    if host_mounts is None:
        return None
    namespace, before = host_mounts.get('mnt_ns'), host_mounts.get('before')
    if not isinstance(rootfs, str) or not _is_number(namespace) or not isinstance(before, list) \
            or not all(_is_number(mount_id) for mount_id in before):
        return 'host_mounts is not a record of mounts (a mount namespace, mount IDs and the rootfs)'
    return None


def _is_number(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_mount(path):
    """os.path.ismount for a normalized absolute path, in two stats.

    ismount resolves the parent with realpath, a stat per component (26 paths a
    state on a v1 host: most of a `list`'s time); stat() of the parent follows
    the same links at once. A symbolic link is no mount point, as there. The
    parents are the hierarchies' roots, the same for every container of a
    `list`: each is looked at once per process.
    """
    try:
        own = os.lstat(path)
        if stat.S_ISLNK(own.st_mode):
            return False
        parent_path = os.path.dirname(path)
        parent = _parent_stats.get(parent_path)
        if parent is None:
            parent = _parent_stats[parent_path] = os.stat(parent_path)
    except (OSError, ValueError):
        return False
    return own.st_dev != parent.st_dev or own.st_ino == parent.st_ino


_parent_stats = {}


class ContainerDir:
    """One container's folder under the root, and its lock."""

    def __init__(self, root, container_id):
        validate_id(container_id)
        self.root = root
        self.id = container_id
        self.path = os.path.join(root, container_id)
        self._lock_fd = None

    @property
    def state_file(self):
        return os.path.join(self.path, STATE_FILE)

    @property
    def cleanup_file(self):
        return os.path.join(self.path, CLEANUP_FILE)

    @property
    def fifo(self):
        return os.path.join(self.path, EXEC_FIFO)

    @property
    def init_error(self):
        return os.path.join(self.path, INIT_ERROR)

    def read_init_error(self):
        try:
            with open(self.init_error, 'rb') as handle:
                return handle.read().decode('utf-8', 'replace').strip()
        except OSError:
            return ''

    def make(self):
        """Create the folder and lock it (returns self); ContainerExists if it is there already."""
        ensure_root(self.root)
        # A `delete --force` may remove the new folder before it is locked (it holds
        # nothing yet): make it again. Another create may then have made it first.
        for _attempt in range(3):
            try:
                os.mkdir(self.path, 0o711)
            except FileExistsError:
                raise errors.ContainerExists(self.id)
            try:
                self.lock()
            except errors.ContainerNotExist:
                continue
            if os.listdir(self.path):
                self.unlock()
                raise errors.ContainerExists(self.id)
            return self
        raise errors.ContainerExists(self.id)

    def lock(self):
        """Hold an exclusive lock on the folder; ContainerNotExist if it vanished."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errors.ContainerNotExist(self.id)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink == 0:
            os.close(fd)
            raise errors.ContainerNotExist(self.id)
        self._lock_fd = fd
        return self

    def locked_by_other(self):
        """Another process holds this folder's lock right now."""
        if self._lock_fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    @property
    def lock_fd(self):
        return self._lock_fd

    def unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self.lock() if self._lock_fd is None else self

    def __exit__(self, *exc):
        self.unlock()

    def _read(self, path):
        """The ContainerState in `path`: FileNotFoundError, or ValueError saying what is wrong."""
        try:
            with open(path, 'rb') as handle:
                raw = handle.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ValueError(errors.strerror(exc))
        if not raw:
            raise ValueError('empty')
        fields = ContainerState.CLEANUP_FIELDS if path == self.cleanup_file else ContainerState.FIELDS
        return ContainerState.from_json(raw, self.id, fields)

    def load(self):
        """The container's state; ContainerNotExist without a folder, StateError without a usable state."""
        try:
            return self._read(self.state_file)
        except FileNotFoundError:
            if not os.path.isdir(self.path):
                raise errors.ContainerNotExist(self.id)
            if self.locked_by_other():
                # Its create has only just begun (or a delete is about to end).
                raise errors.ContainerCreating()
            raise errors.StateError(self.damage_message('%s is missing' % STATE_FILE)) from None
        except ValueError as exc:
            raise self.damaged(exc) from None

    def damaged(self, problem):
        """The StateError for a state.json that is there but unusable because of `problem`."""
        return errors.StateError(self.damage_message('%s is damaged (%s)' % (STATE_FILE, problem)))

    def damage_message(self, damage):
        """What to tell a user about a container whose state is `damage`, and the fix."""
        return ('container %s has no usable state: %s (a create or delete was interrupted, or the file was '
                'damaged); `delete --force %s` removes what is left of it' % (self.id, damage, self.id))

    def load_remains(self):
        """What is known of the container even when state.json is missing or damaged.

        Then the state comes from cleanup.json, or is only the ID when that is
        unusable too, and its `damage` says what is wrong. ContainerNotExist
        only when there is no folder.
        """
        problems = []
        damaged = []
        state = None
        for path in (self.state_file, self.cleanup_file):
            try:
                state = self._read(path)
                break
            except FileNotFoundError:
                if not problems and not os.path.isdir(self.path):
                    raise errors.ContainerNotExist(self.id)
                problems.append('%s is missing' % os.path.basename(path))
            except ValueError as exc:
                problems.append('%s is damaged (%s)' % (os.path.basename(path), exc))
                damaged.append(os.path.basename(path))
        if not problems:
            return state
        state = state or ContainerState(id=self.id)
        state.damage = ', '.join(problems)
        state.damaged_files = tuple(damaged)
        return state

    def save(self, state):
        atomic_write(self.state_file, state.to_json(), durable=False)

    def record(self, state):
        """Save cleanup.json, then state.json: what `delete --force` needs is in place first."""
        atomic_write(self.cleanup_file, state.to_json(ContainerState.CLEANUP_FIELDS), durable=False)
        self.save(state)

    def remove(self):
        """Remove the folder and everything in it, state.json and then cleanup.json last."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return
        last = [name for name in (STATE_FILE, CLEANUP_FILE) if name in names]
        for name in [name for name in names if name not in last] + last:
            path = os.path.join(self.path, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise errors.StateError('cannot remove %s: %s' % (path, errors.strerror(exc)))
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise errors.StateError('cannot remove %s: %s' % (self.path, errors.strerror(exc)))


def ensure_root(root):
    try:
        os.makedirs(root, 0o700)
    except FileExistsError:
        pass


def list_ids(root):
    """The container IDs under `root`: every folder named like an ID, half-made ones included."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        try:
            validate_id(name)
        except errors.InvalidContainerID:
            continue
        path = os.path.join(root, name)
        if os.path.isdir(path) and not os.path.islink(path):
            found.append(name)
    return found


def status(state, container_dir, cgroup_manager=None):
    """creating | created | running | paused | stopped, as runc derives it.

    `cgroup_manager` is anything with freezer_state(): a cgroups Manager, or a freezer.Reader.

    A state without an init PID was saved early by a create that is still
    running (it holds the folder's lock: "creating") or that died half-way
    ("stopped", so that delete cleans up what it left).
    """
    if not state.pid:
        return 'creating' if container_dir.locked_by_other() else 'stopped'
    if not state.init_alive():
        return 'stopped'
    # Frozen first, as runc: a created container can be paused too.
    if cgroup_manager is not None and cgroup_frozen(cgroup_manager):
        return 'paused'
    if init_holds_fifo(container_dir.fifo):
        return 'created'
    return 'running'


def init_holds_fifo(fifo):
    """The init still holds the exec FIFO: it has not exec'd the program yet.

    Not whether the FIFO exists: a `start` killed after it released the init
    leaves it behind.
    """
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return False
        # Not ours to open (a `state` by another user): the FIFO's presence is all we can see.
        return os.path.exists(fifo)
    os.close(fd)
    return True


def cgroup_frozen(manager):
    freezer = getattr(manager, 'freezer_state', None)
    if freezer is None:
        return False
    try:
        return freezer() == 'FROZEN'
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENODEV):
            return False
        raise
