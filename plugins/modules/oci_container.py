# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_container
short_description: Converge an OCI container to the state you declare
version_added: 0.1.0
description:
  - Makes sure a container runs (or is created, paused, stopped or gone) from an OCI bundle on the
    target host, with the collection's own runtime or with runc or crun.
  - Idempotent by comparison, not by recording commands. The container remembers the bundle, the digest
    of its C(config.json), its resource limits and the rootfs digest it was created from. A change of
    resource limits (memory, cpu, pids, blockIO) is applied live with the runtime's C(update) and the
    container keeps running; a change of the restart policy, stop signal, stop timeout or log rotation
    only reconfigures its supervisor; any other change recreates it (stop, delete, create, start).
  - Every container is supervised by the host's monitor process (one for all containers), which owns its
    stdout and stderr through pipes, writes them to a log file with timestamps and size-based rotation,
    records the exit code and times, and applies the restart policy with back-off. A small C(sleep) holder
    per container is the parent of its process and keeps its pipes, so the container, its output and its exit
    code survive the end of the Ansible connection and a kill of the monitor; the next module run has a new
    monitor take it over.
  - A container of the same name that the collection did not create (for example with runc by hand) is
    recognised and recreated under a supervisor, never duplicated.
author:
  - runcible developers (@runcible)
extends_documentation_fragment:
  - runcible.oci.container
attributes:
  check_mode:
    support: full
    description: Reports the actions it would take; changes nothing.
  diff_mode:
    support: full
    description: Shows before and after of the settings that differ and of the container's state.
  idempotent:
    support: full
    description: A second run with the same input reports no change.
notes:
  - The supervisor and the runtime command it calls are run from a copy of the collection's runtime written
    to V(/var/lib/runcible/lib/<digest>/) on the target, since Ansible removes a module's files after the task.
  - After a reboot the containers are gone (their state lived under V(/run)); the next run creates them again.
'''

EXAMPLES = r'''
- name: Run a service from a bundle
  runcible.oci.oci_container:
    name: web
    bundle: /srv/bundles/web
    restart_policy: on-failure:5
    stop_timeout: 20

- name: Stop it, keeping its exit code and logs
  runcible.oci.oci_container:
    name: web
    state: stopped

- name: Run the same bundle with runc instead
  runcible.oci.oci_container:
    name: web-runc
    bundle: /srv/bundles/web
    runtime: runc

- name: Make the bundle and run the container in one task
  runcible.oci.oci_container:
    name: api
    bundle: /srv/bundles/api
    bundle_options:
      image: localhost/api:2
      rootfs_mode: overlay
      process:
        args: [/usr/local/bin/api]
        user: "101:201"
      resources:
        memory: {limit: 256m}
    restart_policy: always

- name: Remove it
  runcible.oci.oci_container:
    name: web
    state: absent
'''

RETURN = r'''
container:
  description: The OCI state of the container (ociVersion, id, pid, status, bundle, rootfs, created, owner, annotations); empty when absent.
  returned: always
  type: dict
status:
  description: V(created), V(running), V(paused), V(stopped) or V(absent).
  returned: always
  type: str
exit_code:
  description: The exit code of the container's last process, once it has exited (128 + signal when killed).
  returned: always
  type: int
oom_killed:
  description:
    - Whether the kernel's OOM killer ended a process of the container (its memory cgroup reached the memory limit)
      during the run that gave RV(exit_code); an init killed so exits with 137. V(false) for any other exit, a
      C(kill -9) included.
    - Null while the process runs, and when it cannot be told (the kernel has no C(oom_kill) counter, before Linux 4.13).
    - Read by the supervisor from the container's memory cgroup (C(memory.oom_control) on cgroup v1, C(memory.events)
      on v2) when the process exits; its log (C(supervisor.log) in its folder) has a line per exit that says so.
  returned: always
  type: bool
started_at:
  description: When the process was last started (RFC 3339).
  returned: always
  type: str
finished_at:
  description: When the process last exited (RFC 3339).
  returned: always
  type: str
restart_count:
  description: How many times the supervisor restarted the container.
  returned: always
  type: int
log_path:
  description: The container's log file.
  returned: always
  type: str
logs:
  description: The last O(log_lines) lines of output, each prefixed with its stream (C(stdout) or C(stderr)).
  returned: always
  type: list
  elements: str
config_digest:
  description: sha256 of the canonical config.json (without linux.resources) the container was created from.
  returned: always
  type: str
actions:
  description:
    - What was done (or would be in check mode), among bundle, create, recreate, restart, update, reconfigure,
      reattach (the container's network namespace converged in place), start, stop, pause, resume, delete, unit (the
      systemd unit written or removed).
  returned: always
  type: list
  elements: str
networks:
  description:
    - Per network of O(networks), what the container has (or would get, in check mode) there.
  returned: when O(networks) is given and O(state) is not V(absent)
  type: dict
  sample: {"web": {"interface": "eth0", "ipv4_address": "10.89.0.2", "ipv6_address": "fd00:89::2", "mac_address": null,
           "aliases": ["www"], "gateways": ["10.89.0.1", "fd00:89::1"], "bridge": "rc-web"}}
ports:
  description:
    - The published ports, with the host port chosen for an item that gave none (C(80)) and the item as normalised
      (C(requested)).
  returned: when O(networks) is given and O(state) is not V(absent)
  type: list
  elements: dict
  sample: [{"protocol": "tcp", "host_ip": "", "host_port": "8080", "container_port": "80", "requested": "8080:80/tcp"}]
systemd_unit:
  description: The path of the container's systemd unit, when O(systemd_unit=true) (null otherwise).
  returned: always
  type: str
bundle_result:
  description:
    - With O(bundle_options), what making the bundle gave, as M(runcible.oci.oci_bundle) returns it, without C(config). It holds
      C(path), C(changed), C(config_digest), C(config_changed), C(rootfs_digest), C(rootfs_mode), C(rootfs_changed),
      C(rootfs_action), C(image), C(image_digest), C(volumes_created).
  returned: when O(bundle_options) is given and O(state) is not V(absent)
  type: dict
supervisor:
  description:
    - The supervisor's view (state, pid, started_at, finished_at, exit_code, last_exit_code, oom_killed,
      last_oom_killed, restart_count, error, log_path). C(last_exit_code) and C(last_oom_killed) are kept across
      restarts.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
# Everything else comes from the host's copy of the collection's code (hostcopy.py): the payload stays small.
from ansible_collections.runcible.oci.plugins.module_utils import hostcopy


def main():
    utils = hostcopy.load_or_exit()
    container_spec = utils('converge.container_spec')
    errors = utils('runtime.errors')
    module = AnsibleModule(
        argument_spec=container_spec.argument_spec(),
        required_by={'bundle_options': 'bundle'},
        supports_check_mode=True,
    )
    try:
        result = utils('converge.container').Converger(module.params, check_mode=module.check_mode).run()
    except errors.RuntimeErrorBase as exc:
        if getattr(exc, 'library', None):
            # networks need pyroute2: Ansible's own message names the package to install.
            module.fail_json(msg=missing_required_lib(exc.library), exception=str(exc.exception))
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=utils('converge.failures').failure_message(exc))
    for warning in result.pop('warnings', []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
