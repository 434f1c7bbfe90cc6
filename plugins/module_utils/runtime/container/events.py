# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""events: the container's resource usage, once (--stats) or every interval, and OOM kills."""

import time

from .. import errors, state as statemod
from ..cgroups import oom
from ..cgroups.manager import Manager
from . import query

_UNITS = (('ms', 0.001), ('us', 0.000001), ('ns', 0.000000001), ('h', 3600.0), ('m', 60.0), ('s', 1.0))


def parse_duration(text):
    """Seconds in a Go duration such as 5s, 500ms, 1m30s."""
    remaining = text.strip()
    total = 0.0
    if not remaining:
        raise errors.UsageError('invalid duration %r' % text)
    while remaining:
        digits = ''
        while remaining and (remaining[0].isdigit() or remaining[0] == '.'):
            digits, remaining = digits + remaining[0], remaining[1:]
        for unit, factor in _UNITS:
            if digits and remaining.startswith(unit):
                total += float(digits) * factor
                remaining = remaining[len(unit):]
                break
        else:
            raise errors.UsageError('invalid duration %r: use a number with a unit, as 5s or 500ms' % text)
    if total <= 0:
        raise errors.UsageError('duration must be greater than zero')
    return total


def stats_event(root, container_id):
    """{"type": "stats", "id": ..., "data": ...} as runc events prints it."""
    container_dir = statemod.ContainerDir(root, container_id)
    state = container_dir.load()
    status = query.container_status(container_dir, state)
    if status == 'creating':
        raise errors.ContainerCreating()
    if status == 'stopped':
        raise errors.StateError('container with id %s is not running' % container_id)
    if not state.cgroup:
        raise errors.StateError('container has no cgroup of its own: no statistics')
    return {'type': 'stats', 'id': container_id, 'data': Manager.from_state(state.cgroup).stats()}


def oom_kills(manager):
    """How many processes the kernel OOM-killed in the container's memory cgroup so far."""
    return oom.kills(oom.manager_counter_file(manager)) or 0


def stream(root, container_id, interval, emit):
    """Call emit(event) every `interval` seconds until the container stops; OOM kills as their own events."""
    container_dir = statemod.ContainerDir(root, container_id)
    state = container_dir.load()
    manager = Manager.from_state(state.cgroup) if state.cgroup else None
    seen = oom_kills(manager) if manager else 0
    while True:
        try:
            event = stats_event(root, container_id)
        except errors.StateError:
            return
        now = oom_kills(manager) if manager else 0
        for _kill in range(now - seen):
            emit({'type': 'oom', 'id': container_id})
        seen = now
        emit(event)
        time.sleep(interval)
