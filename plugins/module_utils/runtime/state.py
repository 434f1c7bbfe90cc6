# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container state kept under the root directory, one folder per container.

<root>/<id>/state.json   what the runtime knows about the container
<root>/<id>/exec.fifo    exists from create until start (the init waits on it)
<root>/<id>/init.error   why the init failed after create returned, if it did

Writes are atomic (temporary file, fsync, rename). Commands that change a
container hold an exclusive flock on its folder. The status is never stored:
it is derived from the init process (alive, and the same process by its start
time), the exec FIFO and the freezer.
"""

import errno
import fcntl
import os
import time

from . import errors, jsonc
from .spec.config import validate_id, validate_recorded

STATE_FILE = 'state.json'
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


def atomic_write(path, data, mode=0o600):
    """Write bytes `data` to `path` via a temporary file, fsync and rename."""
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temporary, path)


class ContainerState:
    """What state.json holds about one container."""

    FIELDS = ('id', 'pid', 'init_start', 'bundle', 'rootfs', 'created', 'annotations',
              'config', 'cgroup', 'started', 'rootless', 'external_descriptors')

    def __init__(self, **values):
        for name in self.FIELDS:
            setattr(self, name, values.get(name))

    def to_json(self):
        return jsonc.dumps({name: getattr(self, name) for name in self.FIELDS}).encode()

    @classmethod
    def from_json(cls, raw):
        """The state in `raw`; ValueError naming the field when it is not what this runtime writes.

        Later commands act on it (signal the pid, kill the processes of the
        cgroup directories, run the recorded hooks), so a damaged record is
        refused rather than half-used.
        """
        data = jsonc.loads(raw)
        if not isinstance(data, dict):
            raise ValueError('not a JSON object')
        values = {name: data.get(name) for name in cls.FIELDS}
        for name, kinds in _FIELD_TYPES.items():
            value = values[name]
            if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
                raise ValueError('%s: must be %s, not %s' % (name, kinds[0].__name__, type(value).__name__))
        if values['config'] is None:
            raise ValueError('config: missing')
        if values['pid'] is not None and values['pid'] < 0:
            raise ValueError('pid: must not be negative')
        _check_strings(values['annotations'], 'annotations')
        _check_strings(values['external_descriptors'], 'external_descriptors')
        _check_cgroup(values['cgroup'])
        try:
            validate_recorded(values['config'] or {})
        except errors.ConfigError as exc:
            raise ValueError('config.%s' % exc.message)
        return cls(**values)

    def init_alive(self):
        """The recorded init is still this container's (same PID and start time)."""
        return bool(self.pid) and self.init_start is not None and process_start_time(self.pid) == self.init_start


_FIELD_TYPES = {
    'id': (str,), 'pid': (int,), 'init_start': (int,), 'bundle': (str,), 'rootfs': (str,), 'created': (str,),
    'annotations': (dict,), 'config': (dict,), 'cgroup': (dict,), 'started': (bool,), 'rootless': (bool,),
    'external_descriptors': (list,),
}
_CGROUP_ROOT = '/sys/fs/cgroup/'


def _check_strings(value, field):
    items = value.items() if isinstance(value, dict) else enumerate(value or ())
    for key, item in items:
        if not isinstance(key, (str, int)) or not isinstance(item, str):
            raise ValueError('%s: must hold strings' % field)


def _check_cgroup(cgroup):
    """The recorded cgroup directories lie below /sys/fs/cgroup, and none is a hierarchy's root (a mount point)."""
    if cgroup is None:
        return
    dirs, created = cgroup.get('dirs'), cgroup.get('created') or []
    if not isinstance(cgroup.get('path'), str) or not isinstance(dirs, dict) or not isinstance(created, list) \
            or not isinstance(cgroup.get('v2_root') or '', str):
        raise ValueError('cgroup: must have a path, dirs, created and v2_root as this runtime writes them')
    for directory in list(dirs.values()) + created:
        if not isinstance(directory, str) or os.path.normpath(directory) != directory \
                or not directory.startswith(_CGROUP_ROOT) or os.path.ismount(directory):
            raise ValueError('cgroup: %r is not a container\'s cgroup directory' % (directory,))


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
        """Create the folder; ContainerExists if it is there already."""
        ensure_root(self.root)
        try:
            os.mkdir(self.path, 0o711)
        except FileExistsError:
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

    def load(self):
        try:
            with open(self.state_file, 'rb') as handle:
                state = ContainerState.from_json(handle.read())
            if state.id != self.id:
                raise ValueError('id: %r is not the folder\'s' % (state.id,))
            return state
        except FileNotFoundError:
            raise errors.ContainerNotExist(self.id)
        except ValueError as exc:
            raise errors.StateError('state of container %s is corrupt (%s): %s' % (self.id, exc, self.state_file))

    def save(self, state):
        atomic_write(self.state_file, state.to_json())

    def remove(self):
        """Remove the folder and everything in it."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return
        for name in names:
            try:
                os.unlink(os.path.join(self.path, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass


def ensure_root(root):
    try:
        os.makedirs(root, 0o700)
    except FileExistsError:
        pass


def list_ids(root):
    """The container IDs under `root` (folders with a state file)."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [n for n in names if os.path.exists(os.path.join(root, n, STATE_FILE))]


def status(state, container_dir, cgroup_manager=None):
    """creating | created | running | paused | stopped, as runc derives it.

    A state without an init PID was saved early by a create that is still
    running (it holds the folder's lock: "creating") or that died half-way
    ("stopped", so that delete cleans up what it left).
    """
    if not state.pid:
        return 'creating' if container_dir.locked_by_other() else 'stopped'
    if not state.init_alive():
        return 'stopped'
    if os.path.exists(container_dir.fifo):
        return 'created'
    if cgroup_manager is not None and cgroup_frozen(cgroup_manager):
        return 'paused'
    return 'running'


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
