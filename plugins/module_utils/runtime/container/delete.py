# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""delete: remove a stopped (or created) container; --force kills a running one first.

A half-made or damaged container (a create killed half-way, a state.json
cut short) is removed from what cleanup.json recorded: its processes,
cgroups and folder.
"""

from .. import errors, state as statemod
from ..cgroups.manager import Manager
from ..linux import signals
from . import destroy, query


def delete(root, container_id, force=False):
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state = container_dir.load_remains()
        status = query.status_of_remains(container_dir, state)
        if status in ('running', 'paused') and not force:
            raise errors.StateError('cannot delete container %s that is not stopped: %s' % (container_id, status))
        if status != 'stopped':
            stop_init(state)
        destroy.destroy(container_dir, state)


def stop_init(state):
    """SIGKILL the init (and with it a private PID namespace) and wait until it is gone."""
    if state.cgroup:
        destroy.kill_cgroup(Manager.from_state(state.cgroup))
    if not state.pid:
        return
    try:
        destroy.signal_process(state.pid, state.init_start, signals.SIGKILL)
    except errors.ContainerNotRunning:
        return
    if not destroy.wait_gone(state.pid, state.init_start, timeout=10.0):
        raise errors.StateError('container init %d did not exit after SIGKILL' % state.pid)
