# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""state and list: what a container is doing now."""

import os
import pwd

from .. import state as statemod
from ..cgroups.manager import Manager


def _manager(state):
    return Manager.from_state(state.cgroup) if state.cgroup else None


def oci_state(state, status, owner=''):
    """The OCI state object (runc's field order; pid 0 once stopped)."""
    data = {
        'ociVersion': (state.config or {}).get('ociVersion', '1.0.2-dev'),
        'id': state.id,
        'pid': state.pid if status not in ('stopped', 'creating') else 0,
        'status': status,
        'bundle': state.bundle,
        'rootfs': state.rootfs,
        'created': state.created,
        'owner': owner,
    }
    if state.annotations:
        data['annotations'] = state.annotations
    return data


def container_status(container_dir, state):
    return statemod.status(state, container_dir, _manager(state))


def get_state(root, container_id):
    """`state`: the OCI state of one container."""
    container_dir = statemod.ContainerDir(root, container_id)
    state = container_dir.load()
    return oci_state(state, container_status(container_dir, state))


def _owner(path):
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return ''
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return '#%d' % uid


def list_states(root):
    """`list`: the OCI state of every container, owners filled as runc does."""
    result = []
    for container_id in statemod.list_ids(root):
        container_dir = statemod.ContainerDir(root, container_id)
        try:
            state = container_dir.load()
        except Exception:  # pylint: disable=broad-except
            continue
        result.append(oci_state(state, container_status(container_dir, state), _owner(container_dir.path)))
    return result
