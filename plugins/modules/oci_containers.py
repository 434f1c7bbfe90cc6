# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_containers
short_description: Converge a list of OCI containers in one task
version_added: 0.1.0
description:
  - Converges every container of O(containers) exactly as M(runcible.oci.oci_container) converges one (same options,
    same comparison, same actions), in one module run. That is how a host with many containers converges fast; the
    runtime's state is read once for the whole list and one driver serves every container of a runtime root.
  - With O(exclusive=true), containers this collection manages on the host that the list does not declare are
    stopped and removed. A container counts as managed when it has a supervisor record (the folder
    C(/run/runcible-supervisor/<tag of its runtime root>-<id>) with the settings M(runcible.oci.oci_container) and
    this module write for every container they create). Containers made by hand with runc or crun have no record
    and are left alone, and so are containers of runtime roots that neither O(containers) nor O(defaults) use.
  - One container failing does not stop the others; the task fails afterwards, naming each container that failed.
author:
  - runcible developers (@runcible)
extends_documentation_fragment:
  - runcible.oci.container.list
options:
  exclusive:
    description:
      - Remove the containers this collection manages in the runtime roots of the task that O(containers) does not
        declare (see the description for what "manages" means).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports, per container, the actions it would take; changes nothing.
  diff_mode:
    support: full
    description: One diff per container that differs, headed with its name.
  idempotent:
    support: full
    description: A second run with the same input reports no change.
notes:
  - After a reboot the containers are gone (their state lived under V(/run)); the next run creates them again.
seealso:
  - module: runcible.oci.oci_container
'''

EXAMPLES = r'''
- name: Three services in one task, with shared settings
  runcible.oci.oci_containers:
    defaults:
      runtime: runc
      restart_policy: on-failure:5
      stop_timeout: 20
    containers:
      - name: web
        bundle: /srv/bundles/web
      - name: worker
        bundle: /srv/bundles/worker
        restart_policy: always
      - name: migrate
        bundle: /srv/bundles/migrate
        state: created

- name: Only these containers run here; remove any other this collection made (runcible's root)
  runcible.oci.oci_containers:
    exclusive: true
    containers: "{{ services | map('combine', {'restart_policy': 'always'}) | list }}"
'''

RETURN = r'''
containers:
  description:
    - One result per container, in the order of O(containers), then one per container removed by O(exclusive).
    - Each holds C(name) and the return values of M(runcible.oci.oci_container) (C(changed), C(actions), C(status),
      C(container), C(exit_code), C(oom_killed), C(started_at), C(finished_at), C(restart_count), C(log_path), C(logs),
      C(config_digest), C(supervisor), and C(networks) and C(ports) for a container on networks); a container that
      failed has C(failed) and C(msg) instead.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The container ID.
      type: str
    changed:
      description: Whether this container changed (or would, in check mode).
      type: bool
    actions:
      description: What was done to it, as M(runcible.oci.oci_container) reports it.
      type: list
      elements: str
    status:
      description: V(created), V(running), V(paused), V(stopped) or V(absent).
      type: str
    logs:
      description: The last O(containers[].log_lines) lines of its output.
      type: list
      elements: str
changed_containers:
  description: The names of the containers that changed (or would, in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: The names of the containers O(exclusive) removed (or would remove).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.converge import container_spec
from ansible_collections.runcible.oci.plugins.module_utils.converge.containers import converge_all
from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
# The supervisor runs the runtime's command line from a copy of these sources: make sure Ansible ships them all.
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cli import main as _runtime_cli  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import main as _supervisor  # noqa: F401 pylint: disable=unused-import
# A systemd unit of a container on networks runs network-up from that copy too (network/boot.py).
from ansible_collections.runcible.oci.plugins.module_utils.network import boot as _network_boot  # noqa: F401 pylint: disable=unused-import


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type='list', elements='dict', required=True, options=container_spec.item_spec()),
            defaults=dict(type='dict', default={}, options=container_spec.defaults_spec()),
            exclusive=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = converge_all(module.params, check_mode=module.check_mode)
    except errors.RuntimeErrorBase as exc:
        if getattr(exc, 'library', None):
            # networks need pyroute2: Ansible's own message names the package to install.
            module.fail_json(msg=missing_required_lib(exc.library), exception=str(exc.exception))
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=failure_message(exc))
    for warning in result.pop('warnings'):
        module.warn(warning)
    failures = result.pop('failures')
    if failures:
        module.fail_json(msg='%d of the containers failed: %s' % (len(failures), '; '.join(failures)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
