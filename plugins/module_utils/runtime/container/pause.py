# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pause and resume: freeze and thaw every process of the container."""

from .. import errors, state as statemod
from ..cgroups.manager import Manager
from . import query


def _manager(container_dir):
    state = container_dir.load()
    if not state.cgroup:
        raise errors.StateError('container has no cgroup of its own (rootless without a delegated cgroup): '
                                'it cannot be paused')
    return state, Manager.from_state(state.cgroup)


def pause(root, container_id):
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state, manager = _manager(container_dir)
        # As runc: a created container can be paused too (its init is frozen where it waits).
        if query.container_status(container_dir, state) not in ('running', 'created'):
            raise errors.ContainerNotRunning()
        manager.freeze()


def resume(root, container_id):
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state, manager = _manager(container_dir)
        if query.container_status(container_dir, state) != 'paused':
            raise errors.StateError('container not paused')
        manager.thaw()
