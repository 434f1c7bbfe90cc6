# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""update: change the resource limits of a live container; the state records the result."""

from .. import errors, log, state as statemod
from ..cgroups.manager import Manager
from . import query


def update(root, container_id, changes):
    """Merge `changes` (a partial linux.resources) into the container's limits and apply them."""
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state = container_dir.load()
        if query.container_status(container_dir, state) == 'stopped':
            raise errors.ContainerNotRunning()
        if not state.cgroup:
            raise errors.StateError('container has no cgroup of its own: its limits cannot be updated')
        linux = state.config.setdefault('linux', {})
        merged, warnings = Manager.from_state(state.cgroup).update(linux.get('resources') or {}, changes)
        for warning in warnings or []:
            log.warning(warning)
        linux['resources'] = merged
        container_dir.save(state)
        return merged
