# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_container_info
short_description: Describe OCI containers on the host
version_added: 0.1.0
description:
  - Returns one container, or every container of a runtime, with its OCI state, its supervisor's view
    (exit code, start and finish times, restart count), the config digest it was created from and the
    tail of its logs. Changes nothing.
author:
  - runcible developers (@runcible)
options:
  name:
    description: The container; all containers of the runtime when omitted.
    type: str
  status:
    description: Only containers in these states.
    type: list
    elements: str
    choices: [created, running, paused, stopped]
  annotations:
    description: Only containers whose annotations hold all these key/values.
    type: dict
  log_lines:
    description: How many of the last log lines each container's RV(containers[].logs) holds.
    type: int
    default: 20
  runtime:
    description: V(runcible), V(runc), V(crun) or a runtime binary's path.
    type: str
    default: runcible
  runtime_root:
    description: The runtime's state folder.
    type: path
extends_documentation_fragment:
  - runcible.oci.attributes.info
'''

EXAMPLES = r'''
- name: One container
  runcible.oci.oci_container_info:
    name: web
  register: web

- name: Every stopped container of a team
  runcible.oci.oci_container_info:
    status: [stopped]
    annotations:
      org.example.team: edge
'''

RETURN = r'''
exists:
  description: Whether the container named in O(name) exists (null when no name was given).
  returned: always
  type: bool
containers:
  description: The containers found.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container ID.
      type: str
    container:
      description: The OCI state.
      type: dict
    status:
      description: created, running, paused or stopped.
      type: str
    exit_code:
      description: Exit code of the current run's process (128 + signal when killed) once it exited; null while it runs.
      type: int
    last_exit_code:
      description: Exit code of the last process that exited, kept across restarts (what made the supervisor restart it).
      type: int
    oom_killed:
      description:
        - Whether the kernel's OOM killer ended a process of the container (its memory limit was reached) in the run
          that gave RV(containers[].exit_code); V(false) for any other exit, a C(kill -9) included.
        - Null while it runs, for containers the collection does not supervise, and where the kernel has no OOM kill
          counter.
      type: bool
    last_oom_killed:
      description: The same for RV(containers[].last_exit_code), kept across restarts (was the last restart caused by an OOM kill).
      type: bool
    started_at:
      description: Last start (RFC 3339).
      type: str
    finished_at:
      description: Last exit (RFC 3339).
      type: str
    restart_count:
      description: Restarts by the supervisor.
      type: int
    config_digest:
      description: Digest of the config.json it was created from (supervised containers).
      type: str
    log_path:
      description: Its log file (supervised containers).
      type: str
    logs:
      description: The last log lines, each prefixed with its stream.
      type: list
      elements: str
    supervised:
      description: Whether the collection supervises it (created by M(runcible.oci.oci_container)).
      type: bool
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.converge.execute import run_info
from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            status=dict(type='list', elements='str', choices=['created', 'running', 'paused', 'stopped']),
            annotations=dict(type='dict'),
            log_lines=dict(type='int', default=20),
            runtime=dict(type='str', default='runcible'),
            runtime_root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run_info(module.params))
    except errors.RuntimeErrorBase as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=failure_message(exc))


if __name__ == '__main__':
    main()
