# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container's cgroups on every mounted hierarchy (v1 controllers and/or the v2 tree)."""

import errno
import os
import time

from .. import errors


class Manager:
    """The cgroup directories of one container.

    `dirs` maps a hierarchy key to its host directory: a v1 subsystem name
    ("memory", "name=systemd") or "" for the v2 tree. Several v1 keys may
    share one directory when controllers are co-mounted.
    """

    def __init__(self, path, dirs):
        self.path = path
        self.dirs = dirs

    @classmethod
    def for_path(cls, path, hierarchies):
        dirs = {}
        for hierarchy in hierarchies:
            if os.path.isabs(path):
                cgroup_path = path
            else:
                cgroup_path = os.path.join(hierarchy.own_path, path)
            directory = hierarchy.directory(cgroup_path)
            for key in hierarchy.subsystems or ('',):
                dirs[key] = directory
        return cls(path, dirs)

    def to_state(self):
        return {'path': self.path, 'dirs': self.dirs}

    @classmethod
    def from_state(cls, data):
        return cls(data['path'], dict(data['dirs']))

    @property
    def unified_only(self):
        return list(self.dirs) == ['']

    def _unique_dirs(self):
        return sorted(set(self.dirs.values()))

    def create(self):
        """Make every directory (parents included); fill cpuset before use."""
        for key, directory in sorted(self.dirs.items()):
            try:
                if key == 'cpuset':
                    _make_cpuset(directory)
                else:
                    os.makedirs(directory, exist_ok=True)
            except OSError as exc:
                raise errors.CgroupError('cannot create cgroup %s: %s' % (directory, exc.strerror or exc))
        if '' in self.dirs and self.unified_only:
            _enable_controllers(self.dirs[''])

    def apply(self, pid):
        """Move process `pid` into the container's cgroups."""
        for directory in self._unique_dirs():
            try:
                with open(os.path.join(directory, 'cgroup.procs'), 'w') as handle:
                    handle.write(str(pid))
            except OSError as exc:
                raise errors.CgroupError('cannot add process %d to cgroup %s: %s'
                                         % (pid, directory, exc.strerror or exc))

    def _tracking_dir(self):
        for key in ('freezer', 'pids', '', 'memory', 'devices'):
            if key in self.dirs:
                return self.dirs[key]
        return next(iter(self.dirs.values()), None)

    def pids(self):
        """Every process in the container's cgroup tree."""
        top = self._tracking_dir()
        found = []
        if top is None or not os.path.isdir(top):
            return found
        for directory, _subdirs, _files in os.walk(top):
            try:
                with open(os.path.join(directory, 'cgroup.procs')) as handle:
                    found.extend(int(line) for line in handle if line.strip())
            except OSError:
                continue
        return found

    def exists(self):
        return any(os.path.isdir(d) for d in self._unique_dirs())

    def destroy(self, timeout=5.0):
        """Remove the container's directories (and any children it made)."""
        deadline = time.monotonic() + timeout
        failures = []
        for directory in self._unique_dirs():
            error = _remove_tree(directory, deadline)
            if error:
                failures.append('%s: %s' % (directory, error))
        if failures:
            raise errors.CgroupError('cannot remove cgroup: %s' % '; '.join(failures))


def _remove_tree(top, deadline):
    """rmdir `top` depth first, retrying EBUSY while processes leave."""
    if not os.path.isdir(top):
        return None
    for directory, subdirs, _files in os.walk(top, topdown=False):
        while True:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno not in (errno.EBUSY, errno.EAGAIN) or time.monotonic() > deadline:
                    return exc.strerror
                time.sleep(0.01)
    return None


def _make_cpuset(directory):
    """mkdir -p where each new v1 cpuset level inherits cpus and mems from its parent.

    A v1 cpuset starts with empty cpuset.cpus/cpuset.mems, and no process can
    join it until they are set.
    """
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        _make_cpuset(parent)
    try:
        os.mkdir(directory)
    except FileExistsError:
        pass
    for name in ('cpuset.cpus', 'cpuset.mems'):
        target = os.path.join(directory, name)
        try:
            with open(target) as handle:
                if handle.read().strip():
                    continue
            with open(os.path.join(parent, name)) as handle:
                value = handle.read().strip()
            with open(target, 'w') as handle:
                handle.write(value)
        except FileNotFoundError:
            continue


def _enable_controllers(directory):
    """On a pure v2 host, enable every available controller down to `directory`'s parent."""
    root = '/sys/fs/cgroup'
    parts = os.path.relpath(os.path.dirname(directory), root).split(os.sep)
    current = root
    for part in [''] + [p for p in parts if p and p != '.']:
        current = os.path.join(current, part) if part else current
        try:
            with open(os.path.join(current, 'cgroup.controllers')) as handle:
                available = handle.read().split()
            with open(os.path.join(current, 'cgroup.subtree_control'), 'w') as handle:
                handle.write(' '.join('+' + c for c in available))
        except OSError:
            continue
