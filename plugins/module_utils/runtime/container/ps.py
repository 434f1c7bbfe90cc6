# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps: the container's processes, through the host's ps(1) as runc does it."""

from .. import errors, state as statemod
from ..cgroups.manager import Manager
from ..linux import spawn
from . import query


def container_pids(root, container_id):
    """PIDs of every process in the container's cgroups (the init alone when it has none of its own)."""
    container_dir = statemod.ContainerDir(root, container_id)
    state = container_dir.load()
    status = query.container_status(container_dir, state)
    if status == 'creating':
        raise errors.ContainerCreating()
    if status == 'stopped':
        return []
    if state.cgroup:
        return sorted(Manager.from_state(state.cgroup).pids())
    return [state.pid]


def ps_table(pids, ps_args):
    """Run `ps ps_args` and keep the header and the lines of `pids` (runc's ps --format table)."""
    argv = ['ps'] + list(ps_args or ['-ef'])
    try:
        result = spawn.run(argv)
    except FileNotFoundError:
        raise errors.UsageError('ps: the ps command is not installed on this host (procps)')
    if result.returncode != 0:
        raise errors.UsageError('%s: %s' % (' '.join(argv), result.stderr.decode('utf-8', 'replace').strip()))
    lines = result.stdout.decode('utf-8', 'replace').splitlines()
    if not lines:
        return ''
    header = lines[0].split()
    if 'PID' not in header:
        raise errors.UsageError("couldn't find PID field in ps output")
    column = header.index('PID')
    wanted = set(pids)
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in wanted:
            kept.append(line)
    return '\n'.join(kept) + '\n'
