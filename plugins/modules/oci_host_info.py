# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_host_info
short_description: Report whether a host can run containers, and which kernel features and runtimes it has
version_added: 0.2.0
description:
  - Reports the kernel features the collection uses (namespaces, the cgroup layout, overlayfs, seccomp, user
    namespaces), the runtimes found (the vendored one, C(runc), C(crun)) with their versions, and whether CRIU passes
    C(criu check) on this kernel.
  - Each namespace type is tried once by a child process that exits at once, so the report says what this process
    may do, not only what the kernel was built with (Ansible inside an unprivileged container, a missing capability,
    a seccomp policy). Nothing on the host changes.
  - RV(can_run_containers) and RV(problems) are the verdict for a container start with the default spec. The module
    itself never fails on an unsuitable host; the role C(runcible.oci.runtime_host) turns the verdict into a failure.
author:
  - runcible developers (@runcible)
options:
  runtimes:
    description: The runtimes to look for, V(runcible) (the vendored one), V(runc), V(crun) or binaries' paths.
    type: list
    elements: str
    default: [runcible, runc, crun]
  criu_path:
    description: The criu binary to check, a name on E(PATH) or a path (as M(runcible.oci.oci_checkpoint)'s O(runcible.oci.oci_checkpoint#module:criu_path)).
    type: str
    default: criu
extends_documentation_fragment:
  - runcible.oci.attributes.info
  - runcible.oci.attributes.actiongroup
notes:
  - Run it as the user that will run the containers (root, or the unprivileged user of rootless containers).
'''

EXAMPLES = r'''
- name: What this host offers
  runcible.oci.oci_host_info:
    criu_path: /usr/sbin/criu
  register: host

- name: Stop early on a host that cannot run containers
  ansible.builtin.assert:
    that: host.can_run_containers
    fail_msg: "{{ host.problems | join('; ') }}"

- name: Checkpoints only where CRIU works
  runcible.oci.oci_checkpoint:
    name: web
    image_path: /var/lib/runcible/checkpoints/web
  when: host.criu.usable
'''

RETURN = r'''
can_run_containers:
  description: Whether a container with the default spec can start here (as root, or rootless for another user).
  returned: always
  type: bool
problems:
  description: Why not, one sentence each; empty when RV(can_run_containers) is true.
  returned: always
  type: list
  elements: str
limitations:
  description: Optional features that are missing (overlayfs, seccomp filters, user namespaces, CRIU), with what that means.
  returned: always
  type: list
  elements: str
kernel:
  description: The kernel's C(release) and C(machine).
  returned: always
  type: dict
python:
  description: The C(version) and C(executable) of the Python the module ran on (the vendored runtime's interpreter).
  returned: always
  type: dict
euid:
  description: The effective user ID the checks ran as.
  returned: always
  type: int
capabilities:
  description:
    - C(sys_admin), whether the process holds CAP_SYS_ADMIN (containers as root need it).
    - C(sys_resource), whether it holds CAP_SYS_RESOURCE (CRIU needs it to checkpoint processes of other users).
  returned: always
  type: dict
namespaces:
  description:
    - Per namespace type (mount, pid, ipc, uts, network, user, cgroup, time), C(supported) by the kernel,
      C(can_create) by this process, and C(error) when it cannot.
  returned: always
  type: dict
cgroup:
  description:
    - C(layout) (unified, hybrid, legacy or none, as runc decides), C(mountpoints), C(v1_controllers),
      C(v2_controllers), C(writable) and the C(read_only) mount points.
  returned: always
  type: dict
overlayfs:
  description: C(supported), and C(how) (V(loaded), or V(module) when the kernel loads it on first use).
  returned: always
  type: dict
seccomp:
  description: C(supported) (CONFIG_SECCOMP), C(filter) (profiles can be applied), the kernel's C(actions), and the C(mode) this process runs under.
  returned: always
  type: dict
user_namespaces:
  description: C(supported), C(can_create), the kernel's C(max), and the distribution switches C(unprivileged_clone) and C(apparmor_restricted).
  returned: always
  type: dict
rootless:
  description: C(can_create), whether an unprivileged run could make a user namespace with mount and pid namespaces (always true for root).
  returned: always
  type: dict
runtimes:
  description: Per runtime of O(runtimes), C(found), C(path) and C(version); the vendored runtime also names the C(python) it runs on.
  returned: always
  type: dict
criu:
  description: C(usable) (found, recent enough and passing C(criu check)), C(path), C(version), and the C(error) otherwise.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runcible.oci.plugins.module_utils.host.report import host_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtimes=dict(type='list', elements='str', default=['runcible', 'runc', 'crun']),
            criu_path=dict(type='str', default='criu'),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **host_report(module.params['runtimes'], module.params['criu_path']))


if __name__ == '__main__':
    main()
