# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""state and list: what a container is doing now."""

import os

from .. import errors, log, state as statemod
from ..cgroups import freezer


def _freezer(state):
    # Only the freezer: `start`, `state`, `list`, `kill` need no cgroup manager.
    return freezer.Reader(state.cgroup['dirs']) if state.cgroup else None


# What runc shows for a time it does not know (Go's zero time).
UNKNOWN_TIME = '0001-01-01T00:00:00Z'


def oci_state(state, status, owner=''):
    """The OCI state object (runc's field order; pid 0 once stopped)."""
    data = {
        'ociVersion': (state.config or {}).get('ociVersion', '1.0.2-dev'),
        'id': state.id,
        'pid': state.pid if status not in ('stopped', 'creating') else 0,
        'status': status,
        'bundle': state.bundle or '',
        'rootfs': state.rootfs or '',
        'created': state.created or UNKNOWN_TIME,
        'owner': owner,
    }
    if state.annotations:
        data['annotations'] = state.annotations
    return data


def container_status(container_dir, state):
    return statemod.status(state, container_dir, _freezer(state))


def status_of_remains(container_dir, state):
    """The status of a state from ContainerDir.load_remains; a warning when it is damaged.

    Once a create or delete has moved past its first or last moments (which
    lock the folder), a missing or damaged state.json is worth telling.
    """
    status = container_status(container_dir, state)
    if state.damage and status != 'creating':
        log.warning(container_dir.damage_message(state.damage))
    return status


def require_init(status):
    """Raise unless a container in `status` has an init to signal or join (created, running, paused)."""
    if status == 'creating':
        raise errors.ContainerCreating()
    if status == 'stopped':
        raise errors.ContainerNotRunning()
    return status


def get_state(root, container_id):
    """`state`: the OCI state of one container, of a half-made or damaged one too (with a warning)."""
    container_dir = statemod.ContainerDir(root, container_id)
    state = container_dir.load_remains()
    return oci_state(state, status_of_remains(container_dir, state))


def _owner(path, names):
    """The user name owning `path` (`names`: a cache of uid -> name, one look-up per user)."""
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return ''
    if uid not in names:
        import pwd
        try:
            names[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            names[uid] = '#%d' % uid
    return names[uid]


def list_states(root):
    """`list`: the OCI state of every container, owners filled as runc does.

    Half-made and damaged containers are listed too, with a warning each:
    hidden, no one would know to delete them.
    """
    result = []
    names = {}
    for container_id in statemod.list_ids(root):
        container_dir = statemod.ContainerDir(root, container_id)
        try:
            state = container_dir.load_remains()
        except errors.ContainerNotExist:
            continue
        result.append(oci_state(state, status_of_remains(container_dir, state), _owner(container_dir.path, names)))
    return result
