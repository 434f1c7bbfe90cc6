# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warm the kernel's lock for moving processes between cgroups while a command starts.

Moving a process into a cgroup (a PID written to cgroup.procs) takes a lock of
the kernel's (cgroup_threadgroup_rwsem) whose first writer after a quiet spell
waits for an RCU grace period: 6 to 15 ms on the project's machines, the
longest single wait of a `run` (runc and crun pay it too). A writer that comes
within about one grace period of the one before does not wait.

So `create`, `run` and `exec` start a thread that moves this process into the
cgroup it is already in (which changes nothing) every few milliseconds while
the interpreter imports and the bundle is read, and stop it just before they
fork: the container's processes are then moved within the window, each write
in a fraction of a millisecond. The thread is a speed-up only: any failure
(not root, no cgroup file system, a layout it does not know) ends it quietly,
and it stops by itself after LIFETIME seconds. Nothing forks while it runs:
every fork of those commands calls stop() first (tests/unit hold that). One
side effect is possible: a process that moved this one to another cgroup in
those milliseconds would see it moved back by the next write (nothing moves a
runtime command while it starts; the write is to the cgroup it started in).
"""

import _thread
import os
import time

PERIOD = 0.003
LIFETIME = 0.5
CGROUP_ROOT = '/sys/fs/cgroup'

_running = []  # [stop lock, done lock] of the running thread


def own_procs_files(proc_cgroup='/proc/self/cgroup', root=CGROUP_ROOT):
    """Paths of the cgroup.procs files of the cgroups this process is in, by the usual mount points."""
    try:
        with open(proc_cgroup, 'rb') as handle:
            lines = handle.read().decode('utf-8', 'replace').splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        fields = line.split(':', 2)
        if len(fields) != 3 or '..' in fields[2].split('/'):
            continue
        _number, controllers, path = fields
        path = path.rstrip('/')
        if controllers:
            paths.append('%s/%s%s/cgroup.procs' % (root, controllers.replace('name=', ''), path))
        else:
            paths += ['%s/unified%s/cgroup.procs' % (root, path), '%s%s/cgroup.procs' % (root, path)]
    return paths


def start(candidates=None):
    """Start the warming thread (once; not when the process is not root)."""
    if _running or os.geteuid() != 0:
        return
    for path in own_procs_files() if candidates is None else candidates:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError:
            continue
        break
    else:
        return
    stop_lock = _thread.allocate_lock()
    done = _thread.allocate_lock()
    stop_lock.acquire()
    done.acquire()
    try:
        _thread.start_new_thread(_warm, (fd, b'%d' % os.getpid(), stop_lock, done))
    except RuntimeError:
        os.close(fd)
        return
    _running[:] = [stop_lock, done]


def stop():
    """Stop the thread and wait for it: call before any fork."""
    if not _running:
        return
    stop_lock, done = _running
    del _running[:]
    stop_lock.release()
    done.acquire()


def running():
    return bool(_running)


def _warm(fd, pid, stop_lock, done):
    try:
        deadline = time.monotonic() + LIFETIME
        while True:
            os.write(fd, pid)
            if stop_lock.acquire(True, PERIOD) or time.monotonic() > deadline:
                break
    except OSError:
        pass
    finally:
        os.close(fd)
        done.release()
