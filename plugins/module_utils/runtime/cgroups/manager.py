# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container's cgroups on every mounted hierarchy (v1 controllers and/or the v2 tree).

One Manager drives both layouts: on a unified host everything goes to one
cgroup v2 directory (fs2); on a legacy or hybrid host limits go to the v1
controllers (fs1) and the v2 directory, when there is one, only tracks the
processes (and carries the eBPF device filter if no v1 devices controller
is mounted).
"""

import errno
import os
import time

from .. import errors
from . import devices, fs1, fs2, freezer, resources as resources_mod
from .fsio import CgroupFieldError, CgroupFiles, join, unique_dirs

# Fields whose 0/false is still a request (runc passes them as pointers).
_ZERO_IS_A_VALUE = frozenset(['swappiness', 'idle', 'burst', 'useHierarchy'])

# linux.resources sections and the v2 controller each needs.
_V2_CONTROLLER_OF_SECTION = (
    (('pids',), 'pids'),
    (('memory', 'limit'), 'memory'),
    (('memory', 'swap'), 'memory'),
    (('memory', 'reservation'), 'memory'),
    (('blockIO',), 'io'),
    (('cpu', 'shares'), 'cpu'),
    (('cpu', 'quota'), 'cpu'),
    (('cpu', 'period'), 'cpu'),
    (('cpu', 'burst'), 'cpu'),
    (('cpu', 'idle'), 'cpu'),
    (('cpu', 'cpus'), 'cpuset'),
    (('cpu', 'mems'), 'cpuset'),
    (('hugepageLimits',), 'hugetlb'),
    (('rdma',), 'rdma'),
)


def _requested(value, key=None):
    """Whether a spec value asks the host for something (runc skips zero values)."""
    if isinstance(value, dict):
        return any(_requested(v, k) for k, v in value.items())
    if isinstance(value, list):
        return bool(value)
    if key in _ZERO_IS_A_VALUE:
        return value is not None
    return value not in (None, 0, '', False)


def _needs_domain_controllers(resources):
    """Whether v2 limits need memory, io, cpu or hugetlb, which threaded cgroups cannot have (runc's check)."""
    resources = resources or {}
    cpu = dict((k, v) for k, v in (resources.get('cpu') or {}).items() if k not in ('cpus', 'mems'))
    sections = (resources.get('memory'), resources.get('blockIO'), cpu, resources.get('hugepageLimits'))
    return any(_requested(section) for section in sections)


def _field(path):
    return 'linux.resources.' + '.'.join(path)


class Manager:
    """The cgroup directories of one container.

    `dirs` maps a hierarchy key to its host directory: a v1 subsystem name
    ("memory", "name=systemd") or "" for the v2 tree. Several v1 keys may
    share one directory when controllers are co-mounted. `v2_root` is the
    mount point of the v2 tree, `created` the directories create() made
    (destroy() removes them again, deepest first).
    """

    def __init__(self, path, dirs, v2_root=None, created=None, files=None):
        self.path = path
        self.dirs = dirs
        self.v2_root = v2_root
        self.created = list(created or [])
        self.files = files or CgroupFiles()

    @classmethod
    def for_path(cls, path, hierarchies):
        dirs = {}
        v2_root = None
        for hierarchy in hierarchies:
            if os.path.isabs(path):
                cgroup_path = path
            else:
                cgroup_path = os.path.join(hierarchy.own_path, path)
            directory = hierarchy.directory(cgroup_path)
            for key in hierarchy.subsystems or ('',):
                dirs[key] = directory
            if hierarchy.unified:
                v2_root = hierarchy.mountpoint
        return cls(path, dirs, v2_root)

    def to_state(self):
        return {'path': self.path, 'dirs': self.dirs, 'v2_root': self.v2_root, 'created': self.created}

    @classmethod
    def from_state(cls, data):
        return cls(data['path'], dict(data['dirs']), data.get('v2_root'), data.get('created'))

    @property
    def unified_only(self):
        return list(self.dirs) == ['']

    def _unique_dirs(self):
        return unique_dirs(self.dirs)

    # Creating, joining and removing

    def create(self, resources=None):
        """Make every directory (parents included); fill v1 cpuset before use.

        Real-time CPU limits in `resources` are written right away: a
        process with a real-time policy cannot join a v1 cpu cgroup that has
        no real-time runtime (runc does the same).
        """
        made = []
        try:
            for key, directory in sorted(self.dirs.items()):
                if key == '' and self.unified_only:
                    fs2.create_path(self.v2_root or os.path.dirname(directory), directory, self.files, made,
                                    domain_limits=_needs_domain_controllers(resources))
                elif key == 'cpuset':
                    _make_cpuset(directory, made)
                else:
                    _makedirs(directory, made)
        except OSError as exc:
            raise errors.CgroupError('cannot create cgroup %s: %s' % (exc.filename or self.path, exc.strerror or exc))
        finally:
            self.created.extend(d for d in made if d not in self.created)
        if resources and 'cpu' in self.dirs and not self.unified_only:
            fs1.set_realtime(self.files, self.dirs['cpu'], resources)

    def plan_created(self):
        """Count every directory create() may make as made by it (parents included).

        Recorded before create() runs, so that a command killed while it runs
        leaves no cgroup delete cannot find; destroy() removes parents only
        while they are empty, so one another container made since is kept.
        """
        for directory in self._unique_dirs():
            missing = []
            while not os.path.isdir(directory) and os.path.dirname(directory) != directory:
                missing.append(directory)
                directory = os.path.dirname(directory)
            self.created.extend(path for path in reversed(missing) if path not in self.created)

    def apply(self, pid):
        """Move process `pid` into the container's cgroups."""
        join(self.dirs, pid)

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
        for directory in _walk_dirs(top):
            try:
                with open(os.path.join(directory, 'cgroup.procs')) as handle:
                    found.extend(int(line) for line in handle if line.strip())
            except OSError:
                continue
        return found

    def exists(self):
        return any(os.path.isdir(d) for d in self._unique_dirs())

    def destroy(self, timeout=5.0):
        """Remove the container's directories (and any children it made), then the parents create() made."""
        deadline = time.monotonic() + timeout
        failures = []
        for directory in self._unique_dirs():
            error = _remove_tree(directory, deadline)
            if error:
                failures.append('%s: %s' % (directory, error))
        if failures:
            raise errors.CgroupError('cannot remove cgroup: %s' % '; '.join(failures))
        # Parents go only while empty: another container may have made its cgroup there since.
        for directory in sorted(self.created, key=lambda d: d.count(os.sep), reverse=True):
            try:
                os.rmdir(directory)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
                    failures.append('%s: %s' % (directory, exc.strerror))
        self.created = []
        if failures:
            raise errors.CgroupError('cannot remove cgroup: %s' % '; '.join(failures))

    # Limits

    def validate(self, resources, linux_devices=None):
        """Check linux.resources against the spec and this host without changing anything.

        Returns warnings for settings that are ignored (as runc ignores them);
        raises ConfigError for bad input and CgroupFieldError for a setting
        this host cannot apply (an unmounted controller, a missing huge page
        size, unified keys on cgroup v1).
        """
        resources = resources or {}
        warnings = resources_mod.check(resources)
        devices.Emulator.from_rules(devices.container_rules(resources.get('devices'), linux_devices))
        self._check_hugepages(resources)
        if self.unified_only:
            warnings.extend(self._check_v2(resources))
        else:
            self._check_v1(resources)
            if (resources.get('memory') or {}).get('kernelTCP') and \
                    not fs1.kernel_tcp_supported(self.files, self.dirs['memory']):
                warnings.append(fs1.KMEM_TCP_MISSING)
        return warnings

    def _check_v1(self, resources):
        memory = resources.get('memory') or {}
        if memory.get('limit') == -1 and (memory.get('swap') or 0) > 0:
            raise CgroupFieldError('linux.resources.memory.swap', 'cgroup v1 limits memory+swap, which cannot be below '
                                   'an unlimited memory limit: give memory.limit too, or -1 for unlimited swap')
        if resources.get('unified'):
            raise CgroupFieldError('linux.resources.unified', 'cannot use unified on cgroup v1: this host has the '
                                   'cgroup v1 controllers mounted (unified keys need a cgroup v2 host)')
        for path, controller in fs1.CONTROLLER_OF_SECTION:
            value = resources_mod.get(resources, *path)
            if _requested(value, path[-1]) and controller not in self.dirs:
                hint = 'mkdir -p /sys/fs/cgroup/{0} && mount -t cgroup -o {0} cgroup /sys/fs/cgroup/{0}'.format(controller)
                raise CgroupFieldError(_field(path), 'the %s cgroup controller is not mounted on this host, so this '
                                       'limit cannot be applied (mount it, for example: %s)' % (controller, hint))
        if 'devices' not in self.dirs and '' not in self.dirs:
            raise CgroupFieldError('linux.resources.devices', 'the devices cgroup controller is not mounted and there '
                                   'is no cgroup v2 tree for an eBPF device filter: refusing to run a container '
                                   'without device restrictions')

    def _check_v2(self, resources):
        warnings = []
        for path, reason in fs2.UNSUPPORTED:
            if _requested(resources_mod.get(resources, *path), path[-1]):
                raise CgroupFieldError(_field(path), reason)
        for path, ignored, warning in fs2.IGNORED:
            if ignored(resources_mod.get(resources, *path)):
                warnings.append(warning)
        available = self._v2_controllers()
        if available is not None:
            for path, controller in _V2_CONTROLLER_OF_SECTION:
                if _requested(resources_mod.get(resources, *path), path[-1]) and controller not in available:
                    raise CgroupFieldError(_field(path), 'the %s controller is not available in the cgroup v2 tree '
                                           '(%s/cgroup.controllers has: %s)'
                                           % (controller, self.v2_root, ' '.join(sorted(available)) or 'none'))
        return warnings

    def _v2_controllers(self):
        root = self.v2_root or os.path.dirname(self.dirs[''])
        try:
            return set(self.files.read(root, 'cgroup.controllers').split())
        except OSError:
            return None

    def _check_hugepages(self, resources):
        limits = resources.get('hugepageLimits') or []
        if not limits:
            return
        from . import stats as stats_mod
        sizes = stats_mod.hugepage_sizes()
        for index, limit in enumerate(limits):
            if limit['pageSize'] not in sizes:
                raise CgroupFieldError('linux.resources.hugepageLimits[%d].pageSize' % index,
                                       'this host has no %s huge pages (it has: %s)'
                                       % (limit['pageSize'], ', '.join(sizes) or 'none'))

    def set(self, resources, linux_devices=None, skip_devices=False):
        """Apply linux.resources; returns warnings. `skip_devices` leaves device rules as they are (update).

        `linux_devices` (linux.devices) only decides which of runc's default
        device rules a spec device replaces.
        """
        resources = resources or {}
        warnings = self.validate(resources, linux_devices)
        rules = None if skip_devices else devices.container_rules(resources.get('devices'), linux_devices)
        if self.unified_only:
            fs2.set_all(self.files, self.dirs[''], resources, rules)
            return warnings
        for controller, setter in fs1.SETTERS:
            if controller in self.dirs:
                setter(self.files, self.dirs[controller], resources)
            if controller == 'cpuset' and rules is not None:
                self._set_devices_v1(rules)
        return warnings

    def _set_devices_v1(self, rules):
        if 'devices' in self.dirs:
            devices.set_v1(self.files, self.dirs['devices'], rules)
        else:
            fs2.set_devices(self.dirs[''], rules)

    def update(self, current, changes):
        """`runc update`: merge `changes` into `current` resources and apply them (devices untouched).

        Returns (merged resources to record in the state, warnings).
        """
        merged = resources_mod.merge_update(current, changes)
        return merged, self.set(merged, skip_devices=True)

    # Freezing

    def freeze(self, timeout=10.0):
        """Freeze every process (v1 freezer when mounted, as runc; else cgroup.freeze); wait until frozen."""
        try:
            if 'freezer' in self.dirs:
                freezer.freeze_v1(self.files, self.dirs['freezer'], timeout)
            elif '' in self.dirs:
                freezer.set_v2(self.files, self.dirs[''], True, timeout)
            else:
                raise errors.CgroupError('cannot freeze: the container has no freezer cgroup')
        except OSError as exc:
            raise errors.CgroupError('cannot freeze the container: %s' % (exc.strerror or exc))

    def thaw(self, timeout=10.0):
        """Let the processes run again; wait until the kernel reports them thawed."""
        try:
            if 'freezer' in self.dirs:
                freezer.thaw_v1(self.files, self.dirs['freezer'])
            elif '' in self.dirs:
                freezer.set_v2(self.files, self.dirs[''], False, timeout)
            else:
                raise errors.CgroupError('cannot thaw: the container has no freezer cgroup')
        except OSError as exc:
            raise errors.CgroupError('cannot thaw the container: %s' % (exc.strerror or exc))

    def freezer_state(self):
        """'FROZEN', 'THAWED', 'FREEZING' (v2, still settling) or '' when there is no freezer."""
        return freezer.state_of(self.files, self.dirs)

    # Usage

    def stats(self):
        """The `data` of `runc events --stats` for the cgroup parts (network_interfaces left None)."""
        from . import stats as stats_mod
        sizes = stats_mod.hugepage_sizes()
        if self.unified_only:
            return stats_mod.read_v2(self.files, self.dirs[''], sizes)
        return stats_mod.read_v1(self.files, self.dirs, sizes)


def _walk_dirs(top, topdown=True):
    """Every directory below `top` (itself included)."""
    return [entry[0] for entry in os.walk(top, topdown=topdown)]


def _makedirs(directory, made):
    """os.makedirs that appends the directories it makes to `made`, top first."""
    missing = []
    current = directory
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o755)
            made.append(path)
        except FileExistsError:
            continue


def _remove_tree(top, deadline):
    """rmdir `top` depth first, retrying EBUSY while processes leave."""
    if not os.path.isdir(top):
        return None
    for directory in _walk_dirs(top, topdown=False):
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


def _make_cpuset(directory, made):
    """mkdir -p where each new v1 cpuset level inherits cpus and mems from its parent.

    A v1 cpuset starts with empty cpuset.cpus/cpuset.mems, and no process can
    join it until they are set. The directories it makes go to `made`, top first.
    """
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        _make_cpuset(parent, made)
    try:
        os.mkdir(directory)
        made.append(directory)
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
