# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_exec
short_description: Run a command in a running OCI container
version_added: 0.1.0
description:
  - Runs a command in a running container, joining all its namespaces and cgroups, with the
    container's user, capabilities, rlimits and security settings unless overridden here, and returns
    its exit code and output.
  - Reports C(changed) unless O(creates) or O(removes) say the command need not run.
author:
  - runcible developers (@runcible)
options:
  name:
    description: The container.
    type: str
    required: true
  command:
    description:
      - The command to run. A list is run as it is (argv); a string is run by C(/bin/sh -c) in the container.
    type: raw
    required: true
  chdir:
    description: Working directory in the container; default the container's C(process.cwd).
    type: str
  env:
    description: Environment variables added to (or replacing) the container's.
    type: dict
  user:
    description: C(uid) or C(uid:gid) to run as; default the container's process user.
    type: str
  stdin:
    description: Data fed to the command's standard input.
    type: str
  stdin_add_newline:
    description: Add a newline to O(stdin) if it lacks one.
    type: bool
    default: true
  creates:
    description: A path in the container; when it exists the command is not run.
    type: str
  removes:
    description: A path in the container; when it does not exist the command is not run.
    type: str
  timeout:
    description: Seconds after which the command is killed (RV(rc) is then 137).
    type: float
  runtime:
    description: V(runcible), V(runc), V(crun) or a runtime binary's path (see M(runcible.oci.oci_container)).
    type: str
    default: runcible
  runtime_root:
    description: The runtime's state folder.
    type: path
attributes:
  check_mode:
    support: partial
    description: Can run in check mode and predict whether it would change anything.
    details: The command is not run; the module reports that it would be, unless O(creates) or O(removes) rule it out.
  diff_mode:
    support: none
    description: A command's effect is not known beforehand, so there is no diff.
  idempotent:
    support: partial
    description: A second run with the same input reports no change.
    details: Only with O(creates) or O(removes); otherwise every run runs the command.
'''

EXAMPLES = r'''
- name: Run a program in the container
  runcible.oci.oci_exec:
    name: web
    command: [nginx, -t]
  register: check

- name: A shell command, once
  runcible.oci.oci_exec:
    name: web
    command: "echo ready > /run/ready"
    creates: /run/ready
'''

RETURN = r'''
rc:
  description: The command's exit code (128 + signal when it was killed).
  returned: when the command ran
  type: int
stdout:
  description: Its standard output, without the final line break (as ansible.builtin.command returns it).
  returned: always
  type: str
stderr:
  description: Its standard error, without the final line break.
  returned: always
  type: str
cmd:
  description: The argv that was run.
  returned: when the command ran or would run
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.converge.execute import run_exec
from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            command=dict(type='raw', required=True),
            chdir=dict(type='str'),
            env=dict(type='dict'),
            user=dict(type='str'),
            stdin=dict(type='str'),
            stdin_add_newline=dict(type='bool', default=True),
            creates=dict(type='str'),
            removes=dict(type='str'),
            timeout=dict(type='float'),
            runtime=dict(type='str', default='runcible'),
            runtime_root=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    command = module.params['command']
    if not isinstance(command, (list, str)):
        module.fail_json(msg='command must be a list (argv) or a string (run by /bin/sh -c)')
    try:
        result = run_exec(module.params, check_mode=module.check_mode)
    except errors.RuntimeErrorBase as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=failure_message(exc))
    if result.get('rc'):
        module.fail_json(msg='non-zero return code', **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
