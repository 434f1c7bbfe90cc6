# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_checkpoint
short_description: Checkpoint, restore and move running OCI containers with CRIU
version_added: 0.1.0
description:
  - V(checkpointed) saves a running container's processes (memory, open files, sockets) to an image folder
    with CRIU; the container is then gone, or keeps running with O(leave_running).
  - V(restored) brings them back from the image folder, under the same name or a new one (a clone),
    under a supervisor as M(runcible.oci.oci_container) runs containers, its output going on into the same log.
  - O(export) writes the checkpoint, the container's C(config.json) and the rootfs changes into one tar
    archive; O(import) unpacks such an archive on another host (into O(image_path) and O(bundle)), so that
    a container moves between hosts in one playbook.
  - Idempotent. Every checkpoint carries a record (C(oci_checkpoint.json)) with the container's name, a
    checkpoint ID and its config digest. A checkpoint of the same container with the same config digest
    is not taken again unless O(force); a container that runs restored from that checkpoint ID is not
    restored again.
  - CRIU is checked (C(criu check)) before anything is touched; Debian 12's CRIU fails on kernels 6.13 and
    newer, see C(docs/checkpoint.md) and C(scripts/criu-setup) for one that works.
author:
  - runcible developers (@runcible)
options:
  name:
    description: The container to checkpoint, or the name to restore under (another name makes a clone).
    type: str
    required: true
  state:
    description:
      - V(checkpointed) dumps the running (or paused) container to O(image_path).
      - V(restored) restores the container from O(image_path) with O(bundle).
    type: str
    choices: [checkpointed, restored]
    default: checkpointed
  image_path:
    description:
      - The checkpoint's image folder. A checkpoint goes into a new or empty folder, or replaces an older
        checkpoint of the same container (kept until the new dump has succeeded).
    type: path
    required: true
  bundle:
    description:
      - With V(restored), the bundle to restore with, the one the container was checkpointed from; with
        O(import), the folder the archive's bundle is unpacked into when it does not exist.
      - With V(checkpointed) and O(export), the bundle to take the rootfs from (default the container's).
    type: path
  leave_running:
    description: Keep the container running after the checkpoint (a snapshot).
    type: bool
    default: false
  tcp_established:
    description: Checkpoint and restore established TCP connections (CRIU C(--tcp-established)).
    type: bool
    default: false
  file_locks:
    description: Checkpoint and restore file locks (CRIU C(--file-locks)).
    type: bool
    default: false
  force:
    description:
      - Checkpoint again even if O(image_path) holds a matching checkpoint, replace a checkpoint of another
        container, write O(export) again, import over another checkpoint, and replace a container of that
        name that was not restored from this checkpoint.
    type: bool
    default: false
  export:
    description:
      - With V(checkpointed), also write this tar archive (gzip if it ends in C(.gz) or C(.tgz)) holding the
        checkpoint, the container's config digest and C(config.json), and the rootfs changes needed to restore
        elsewhere (an overlay bundle's upper directory, or the whole rootfs of any other bundle).
    type: path
  import:
    description:
      - With V(restored), first unpack this archive (written by O(export)) into O(image_path) and O(bundle).
    type: path
  supervise:
    description:
      - Restore under a supervisor that logs the container's output and applies its restart policy, as
        M(runcible.oci.oci_container) runs containers. With V(false) the restored container's stdio is
        C(/dev/null) and nothing watches it.
    type: bool
    default: true
  log_path:
    description:
      - The restored container's log file. Default the one it had on this host, else
        C(/var/log/runcible/<name>.log) as M(runcible.oci.oci_container) has it.
    type: path
  network_root:
    description:
      - 'Where this host''s network records are (as O(runcible.oci.oci_network#module:network_root) of
        M(runcible.oci.oci_network)). A container on networks restored on a host that does not keep its
        network namespace (it was checkpointed on another host and imported here, or removed here since) is
        put on the networks its checkpoint names, found here, with the same addresses and host ports where
        they are free; a network missing here is an error naming it, before anything is imported or restored.'
    type: path
    default: '/var/lib/runcible/network'
  criu_path:
    description: The criu binary (default C(criu) on C(PATH)).
    type: path
  runtime:
    description:
      - V(runcible) (the vendored runtime), V(runc), or a runtime binary's path with runc's command line.
        Debian's crun has no checkpoint command and is refused.
    type: str
    default: runcible
  runtime_root:
    description: The runtime's state folder.
    type: path
extends_documentation_fragment:
  - runcible.oci.attributes
  - runcible.oci.attributes.actiongroup
attributes:
  check_mode:
    support: full
    description: Decides what would be done (CRIU is checked too); dumps, restores, exports and imports nothing.
  diff_mode:
    support: full
    description: The container's state and the checkpoint ID, before and after.
  idempotent:
    support: full
notes:
  - Needs root and a CRIU that passes C(criu check) on the target's kernel.
  - CRIU cannot dump a container that holds a host file open; containers of M(runcible.oci.oci_container) write
    to pipes and can be dumped.
seealso:
  - module: runcible.oci.oci_container
'''

EXAMPLES = r'''
- name: Checkpoint a warmed-up container, keep it running
  runcible.oci.oci_checkpoint:
    name: web
    image_path: /var/lib/checkpoints/web
    leave_running: true

- name: Restore a clone of it
  runcible.oci.oci_checkpoint:
    name: web-clone
    state: restored
    image_path: /var/lib/checkpoints/web
    bundle: /srv/bundles/web

# A folder of its own: a checkpoint already in /var/lib/checkpoints/web (the snapshot above) would count
# as taken, and the container would go on running here while its old state moves.
- name: Move a container - on host A
  runcible.oci.oci_checkpoint:
    name: web
    image_path: /var/lib/checkpoints/web-move
    export: /var/tmp/web.ckpt.tar

- name: Move a container - on host B, after copying the archive
  runcible.oci.oci_checkpoint:
    name: web
    state: restored
    import: /var/tmp/web.ckpt.tar
    image_path: /var/lib/checkpoints/web-move
    bundle: /srv/bundles/web
'''

RETURN = r'''
actions:
  description: What was done (or would be in check mode), among checkpoint, export, import, remove, restore.
  returned: always
  type: list
  elements: str
container:
  description: The container's OCI state after the run (empty when it is gone).
  returned: always
  type: dict
status:
  description: The container's status after the run (V(absent) when it is gone).
  returned: always
  type: str
image_path:
  description: The checkpoint's image folder.
  returned: always
  type: str
image_size:
  description: Bytes of the checkpoint's files.
  returned: always
  type: int
duration:
  description: Seconds the checkpoint or the restore took (0 when nothing was done).
  returned: always
  type: float
criu_version:
  description: The version of the CRIU used (or recorded with the checkpoint).
  returned: always
  type: str
checkpoint:
  description:
    - The checkpoint's record (id, checkpoint_id, config_digest, bundle, runtime, criu_version, checkpointed).
    - For a container on networks also C(network), what another host needs to put it on them again (its
      networks with addresses, aliases and MAC, published ports with their host ports, DNS options).
  returned: always
  type: dict
checkpoint_id:
  description: The ID of the checkpoint the container is restored from.
  returned: when O(state=restored)
  type: str
export:
  description: The archive written (or already up to date).
  returned: when O(export) is given
  type: str
archive_size:
  description: Bytes of the archive.
  returned: when O(export) is given and not in check mode
  type: int
import:
  description: The archive imported.
  returned: when O(import) is given
  type: str
log_path:
  description: The restored container's log file.
  returned: when O(state=restored)
  type: str
supervisor:
  description: The restored container's supervisor (state, pid, started_at, exit_code, restart_count, error, log_path).
  returned: when O(state=restored)
  type: dict
networks:
  description:
    - The networks a container moved here was put on, by name (address, aliases, MAC, its veth), as
      M(runcible.oci.oci_container) returns them.
  returned: when a restore put a container on networks here (it was checkpointed on another host)
  type: dict
ports:
  description: The published ports of a container moved here, with the host ports given here.
  returned: when a restore put a container on networks here
  type: list
  elements: dict
readdressed:
  description: The addresses a container moved here could not keep (taken here), [{network, recorded, given}].
  returned: when a restore put a container on networks here
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.converge.checkpoint import CheckpointRun, STATES
from ansible_collections.runcible.oci.plugins.module_utils.converge.container_network import DEFAULT_NETWORK_ROOT
from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
# The supervisor runs the runtime's command line from a copy of these sources: make sure Ansible ships them all.
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cli import main as _runtime_cli  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import main as _supervisor  # noqa: F401 pylint: disable=unused-import
# A systemd unit of a container on networks runs network-up from that copy too (network/boot.py).
from ansible_collections.runcible.oci.plugins.module_utils.network import boot as _network_boot  # noqa: F401 pylint: disable=unused-import


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='checkpointed', choices=list(STATES)),
        image_path=dict(type='path', required=True),
        bundle=dict(type='path'),
        leave_running=dict(type='bool', default=False),
        tcp_established=dict(type='bool', default=False),
        file_locks=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        export=dict(type='path'),
        supervise=dict(type='bool', default=True),
        log_path=dict(type='path'),
        criu_path=dict(type='path'),
        network_root=dict(type='path', default=DEFAULT_NETWORK_ROOT),
        runtime=dict(type='str', default='runcible'),
        runtime_root=dict(type='path'),
    )
    # `import` is a Python keyword, so it cannot be a keyword argument of dict().
    argument_spec['import'] = dict(type='path')
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[('state', 'restored', ['bundle'])],
        supports_check_mode=True,
    )
    try:
        result = CheckpointRun(module.params, check_mode=module.check_mode).run()
    except (errors.RuntimeErrorBase, OSError) as exc:
        module.fail_json(msg=failure_message(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
