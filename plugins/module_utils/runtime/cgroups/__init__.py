# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroups: find the host's layout and make one Manager per container.

Layouts are detected the way runc does: /sys/fs/cgroup itself a cgroup2 file
system is "unified"; a tmpfs there with cgroup2 at /sys/fs/cgroup/unified is
"hybrid" (v1 controllers plus a v2 tree for tracking); anything else "legacy".

manager.py drives the rest: resources.py checks linux.resources, fs1.py and
fs2.py write it to v1 controllers or a v2 directory, devices.py and ebpf.py
handle device rules, freezer.py pauses, stats.py reads usage, update.py
parses `runc update` flags. See docs/cgroups.md.
"""

import os

from .. import errors
from ..linux import consts, mountinfo, syscalls

CGROUP_ROOT = '/sys/fs/cgroup'


class Hierarchy:
    """One mounted cgroup hierarchy.

    `subsystems` lists the v1 controllers (and "name=..." of named
    hierarchies) it holds, or is empty for the v2 tree. `mount_root` is the
    cgroup path the mount exposes (not "/" when a cgroup directory is
    bind-mounted, as inside a container). `own_path` is the cgroup this
    process sits in on that hierarchy.
    """

    def __init__(self, mountpoint, mount_root, subsystems, own_path):
        self.mountpoint = mountpoint
        self.mount_root = mount_root
        self.subsystems = subsystems
        self.own_path = own_path

    @property
    def unified(self):
        return not self.subsystems

    def directory(self, cgroup_path):
        """Host directory of `cgroup_path` (absolute cgroup path) on this hierarchy."""
        relative = os.path.relpath(cgroup_path, self.mount_root) if self.mount_root != '/' else cgroup_path
        return os.path.normpath(os.path.join(self.mountpoint, relative.lstrip('/')))


def _own_cgroups():
    """{subsystem-or-'': path} from /proc/self/cgroup."""
    own = {}
    with open('/proc/self/cgroup') as handle:
        for line in handle:
            controllers, path = line.rstrip('\n').split(':', 2)[1:]
            if not controllers:
                own[''] = path
            for name in controllers.split(','):
                own[name] = path
    return own


def discover():
    """Every cgroup hierarchy mounted in this mount namespace, first mount wins."""
    own = _own_cgroups()
    found = []
    seen = set()
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index('-')
            fstype = fields[sep + 1]
            if fstype not in ('cgroup', 'cgroup2'):
                continue
            mountpoint = mountinfo.unescape(fields[4])
            mount_root = mountinfo.unescape(fields[3])
            if fstype == 'cgroup2':
                key = ('',)
                subsystems = ()
            else:
                options = fields[sep + 3].split(',')
                subsystems = tuple(o for o in options if o in KNOWN_V1_CONTROLLERS or o.startswith('name='))
                key = subsystems
            if key in seen or not subsystems and fstype == 'cgroup':
                continue
            seen.add(key)
            own_path = own.get(subsystems[0] if subsystems else '', '/')
            found.append(Hierarchy(mountpoint, mount_root, subsystems, own_path))
    return found


KNOWN_V1_CONTROLLERS = frozenset((
    'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids',
    'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc',
))


def layout():
    """'unified', 'hybrid' or 'legacy', as runc decides it."""
    if _fs_magic(CGROUP_ROOT) == consts.CGROUP2_SUPER_MAGIC:
        return 'unified'
    if _fs_magic(os.path.join(CGROUP_ROOT, 'unified')) == consts.CGROUP2_SUPER_MAGIC:
        return 'hybrid'
    return 'legacy'


def _fs_magic(path):
    try:
        return syscalls.fs_type(path)
    except OSError:
        return None


def clean_path(path):
    """runc's CleanPath: normalise, and keep a relative path from climbing out with '..'."""
    if not path:
        return ''
    if os.path.isabs(path):
        return os.path.normpath(path)
    cleaned = os.path.normpath('/' + path)
    return os.path.relpath(cleaned, '/') if cleaned != '/' else ''


def new_manager(cgroups_path, container_id):
    """A Manager for the container, from linux.cgroupsPath (or the default)."""
    from .manager import Manager
    path = clean_path(cgroups_path) or container_id
    try:
        hierarchies = discover()
    except OSError as exc:
        raise errors.CgroupError('cannot read the host cgroup layout: %s' % exc)
    return Manager.for_path(path, hierarchies)
