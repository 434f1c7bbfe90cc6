# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What supervision keeps on disk and reads from /proc: the files of a supervisor root and of each
container's folder there (supervisor/main.py says what they mean), and the facts about processes
that tell a live monitor, holder or init from one that is gone."""

import fcntl
import os

from ..runtime import jsonc
from ..runtime.linux import signals
from . import logs

SETTINGS = 'settings.json'
STATUS = 'status.json'
RUNTIME_LOG = 'runtime.log'
SUPERVISOR_LOG = 'supervisor.log'
PID_FILE = 'init.pid'
CHECKPOINT_MARK = 'checkpoint.json'
# A root's monitors, one per version of this code (the tag names the command that runs it).
MONITOR_FILE = 'monitor-%s.json'
MONITOR_LOCK = 'monitor-%s.lock'
MONITOR_LOG = 'monitor.log'
WATCH_LOCK = 'watch.lock'
# The holder's fds for the read ends of the container's stdout and stderr pipes.
HOLDER_FDS = (3, 4)
# What the holder runs once the container exists: `sleep` for ever (68 years; busybox takes no "infinity").
SLEEP_SECONDS = '2147483647'
# States a container's monitor may leave behind when it dies: a new monitor takes them over.
UNFINISHED = ('starting', 'created', 'running', 'restarting')


def now():
    return logs.timestamp()


def write_json(path, data):
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(temporary, 'w') as handle:
        handle.write(jsonc.dumps(data))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_json(path):
    with open(path, 'rb') as handle:
        return jsonc.loads(handle.read())


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (field 3 first), or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rindex(b')') + 2:].split()


def start_time(pid, zombie=False):
    """Field 22 of /proc/<pid>/stat: tells a recycled PID apart.

    None when the process is gone or (unless `zombie`) has exited and waits, a
    zombie, for its parent to reap it: a detached process's parent is init,
    which may reap late.
    """
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b'X', b'x') or fields[0] == b'Z' and not zombie:
        return None
    return int(fields[19])


def zombie_status(pid, started):
    """The wait status of process `pid` (started at `started`) that exited and waits to be reaped, from field 52
    of /proc/<pid>/stat (Linux 3.5); None when it is not such a zombie."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] != b'Z' or int(fields[19]) != started or len(fields) < 50:
        return None
    return int(fields[49])


def orphaned(status):
    """Is this container left by a monitor that died: not done with, its monitor gone?"""
    pid = status.get('supervisor_pid')
    if status.get('state') not in UNFINISHED or not pid:
        return False
    return start_time(pid) != status.get('supervisor_start')


def try_lock(path):
    """The fd holding an exclusive flock on `path` (made if missing), or None when another process holds it (or
    its folder is gone). The lock lasts until the fd is closed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def lock_folder(directory):
    """The fd holding `directory`'s watch lock, or None when another monitor holds it."""
    return try_lock(os.path.join(directory, WATCH_LOCK))


def pidfd(pid):
    """A pidfd of `pid`, or None (the process is gone, or the kernel predates pidfd_open: Linux 5.3)."""
    try:
        return signals.pidfd_open(pid)
    except OSError:
        return None


def monitor_tag(command):
    """The tag of the monitor `command` runs for this process: each version of the code has its own monitor, and
    so has each set of namespaces the modules run in (a holder runs the runtime in its monitor's namespaces, and a
    container inherits those it does not make anew: the host's network, say)."""
    import hashlib
    namespaces = []
    for kind in ('mnt', 'net', 'pid', 'uts', 'ipc', 'cgroup', 'user'):
        try:
            namespaces.append(os.readlink('/proc/self/ns/' + kind))
        except OSError:
            namespaces.append('')
    return hashlib.sha256('\0'.join(list(command) + namespaces).encode()).hexdigest()[:12]


def monitor_alive(root, tag):
    """The PID of the monitor `tag` serving `root`, or None."""
    try:
        info = read_json(os.path.join(root, MONITOR_FILE % tag))
    except (OSError, ValueError):
        return None
    pid = info.get('pid')
    if pid and start_time(pid) == info.get('start'):
        return pid
    return None
