# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OOM kills in a memory cgroup: the kernel's counter, found from a process or a Manager.

The kernel counts the processes its OOM killer ended in each memory cgroup:
`oom_kill` in memory.oom_control on cgroup v1, in memory.events on v2. The
count lives as long as the cgroup, so it must be read before `delete`
removes it. A process' memory cgroup is found from /proc/<pid>/cgroup, which
works whichever runtime put it there (runcible, runc and crun each name and
record their cgroups their own way).
"""

import os

V1_FILE = 'memory.oom_control'
V2_FILE = 'memory.events'


def counter_file(pid, hierarchies=None, proc='/proc'):
    """The OOM counter file of the memory cgroup process `pid` is in; None when it has none or is gone.

    `hierarchies` (cgroups.discover()'s, read when not given) says where the
    hierarchies are mounted.
    """
    try:
        with open(os.path.join(proc, str(pid), 'cgroup')) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    paths = {}
    for line in lines:
        fields = line.split(':', 2)
        if len(fields) == 3:
            for controller in fields[1].split(',') if fields[1] else ['']:
                paths[controller] = fields[2]
    if hierarchies is None:
        from . import discover
        hierarchies = discover()
    for hierarchy in hierarchies:
        if 'memory' in hierarchy.subsystems and 'memory' in paths:
            return os.path.join(hierarchy.directory(paths['memory']), V1_FILE)
    for hierarchy in hierarchies:
        if hierarchy.unified and '' in paths:
            path = os.path.join(hierarchy.directory(paths['']), V2_FILE)
            # On a hybrid host the v2 tree may lack the memory controller: then there is nothing to count.
            if os.path.exists(path):
                return path
    return None


def kills(path):
    """The `oom_kill` count in `path` (memory.oom_control or memory.events); None when unreadable."""
    if not path:
        return None
    try:
        with open(path) as handle:
            for line in handle:
                key, _sep, value = line.partition(' ')
                if key == 'oom_kill':
                    return int(value)
    except (OSError, ValueError):
        return None
    return None


def manager_counter_file(manager):
    """The OOM counter file of a container's cgroups (a Manager); None without a memory cgroup."""
    directory = manager.dirs.get('memory')
    if directory is not None:
        return os.path.join(directory, V1_FILE)
    if manager.unified_only:
        return os.path.join(manager.dirs[''], V2_FILE)
    return None
