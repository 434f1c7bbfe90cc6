#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: oci_network
short_description: Bridge networks for OCI containers (addresses, NAT, published ports, names)
description:
  - Makes a container network on the target the way C(docker network create) and C(podman network create) do, with
    no container engine. It is a Linux bridge with the gateway addresses, address management (IPAM) for the
    containers attached to it, outbound NAT, isolation from the other networks, and the sysctls it needs.
  - The firewall is one nftables table, C(inet runcible), owned by the collection and written through nftables' JSON
    interface. Every run compares the kernel's table with what the networks and containers ask for, so a flushed
    ruleset (an C(nftables.service) reload does that) is restored by the next run.
  - Containers are attached by M(runcible.oci.oci_container)'s C(networks) option (or the library's attach API);
    this module only makes and removes networks, and can detach containers with O(force).
  - Needs the Python library pyroute2 on the target (C(apt-get install python3-pyroute2)) and nftables.
version_added: 0.2.0
author:
  - runcible developers (@runcible)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runcible.oci.attributes
  - runcible.oci.attributes.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Plans every step (bridge, addresses, sysctls, firewall table) and changes nothing.
  diff_mode:
    support: full
    details:
      - Shows the network's record (bridge, subnets, flags) before and after.
  idempotent:
    support: full
  platform:
    platforms: posix
requirements:
  - pyroute2 (Debian 12's python3-pyroute2 0.7 or PyPI's 0.9)
  - nftables (libnftables, or the nft command)
options:
  name:
    description:
      - The network's name, made of letters, digits and C(_.-), at most 64 characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes the network, or changes it to match.
      - V(absent) removes the bridge, its rules and its records; containers still attached make this an error
        unless O(force).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - Only V(bridge).
    type: str
    choices: [bridge]
    default: bridge
  subnets:
    description:
      - The network's subnets (IPv4 and, with O(ipv6), IPv6).
      - Without an IPv4 subnet, the first C(/24) of C(10.90.0.0/15) that overlaps no other runcible network and
        no route or address of the host (its LAN, a VPN, another engine's bridge) is taken; with O(ipv6) and no
        IPv6 subnet, a unique local C(/64) derived from the name. Subnets chosen this way are kept on later runs.
      - A subnet given here is used as given, even where the host routes it.
      - A subnet that overlaps another of the list or of another runcible network is an error.
      - Subnets cannot change while containers are attached, unless O(force) (which detaches them).
    type: list
    elements: dict
    suboptions:
      subnet:
        description: The subnet in CIDR notation (C(10.90.1.0/24), C(fd00:1::/64)), without host bits.
        type: str
        required: true
      gateway:
        description: The bridge's address in the subnet; default the first host address.
        type: str
      ip_range:
        description: Allocate container addresses only from this part of the subnet (static addresses may lie outside).
        type: str
  ipv6:
    description:
      - Give the network an IPv6 subnet too (and enable IPv6 forwarding on the host, which makes the host stop
        accepting router advertisements on interfaces that do not force it, as docker's does).
    type: bool
    default: false
  internal:
    description:
      - No route out. Containers reach each other and their gateway address, nothing beyond (no NAT, no forwarding,
        no other host address). Ports cannot be published from it.
    type: bool
    default: false
  mtu:
    description:
      - MTU of the bridge and the containers' interfaces; the kernel's default (1500) when not given.
    type: int
  bridge_name:
    description:
      - The bridge's interface name, at most 15 characters; default C(rc-<name>), or C(rc-) and a hash of the name when
        that is too long.
    type: str
  dns:
    description:
      - Containers on the network find each other by name and alias (each container's C(/etc/hosts) lists the others).
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), or a change of subnets or bridge, detach the containers attached to the network first
        (their interfaces, addresses, names and published ports on it go).
    type: bool
    default: false
  network_root:
    description:
      - Where the collection keeps its network records (networks, address allocations, containers' hosts files).
    type: path
    default: /var/lib/runcible/network
seealso:
  - module: runcible.oci.oci_network_info
  - module: runcible.oci.oci_container
'''

EXAMPLES = r'''
- name: A network with a chosen subnet and IPv6
  runcible.oci.oci_network:
    name: backend
    subnets:
      - subnet: 10.90.10.0/24
        ip_range: 10.90.10.128/25
      - subnet: fd00:90:10::/64
    ipv6: true

- name: An internal network (no way out)
  runcible.oci.oci_network:
    name: db
    internal: true

- name: Remove a network, detaching what is still on it
  runcible.oci.oci_network:
    name: backend
    state: absent
    force: true
'''

RETURN = r'''
network:
  description: The network as it is (empty after O(state=absent)).
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    driver:
      description: V(bridge).
      type: str
    bridge:
      description: The bridge interface.
      type: str
      sample: rc-backend
    subnets:
      description: Its subnets with gateways and ranges.
      type: list
      elements: dict
      sample: [{"subnet": "10.90.10.0/24", "gateway": "10.90.10.1", "ip_range": null}]
    ipv6:
      description: Whether it has IPv6.
      type: bool
    internal:
      description: Whether it is internal.
      type: bool
    mtu:
      description: Its MTU (null for the kernel's default).
      type: int
    dns:
      description: Whether containers find each other by name.
      type: bool
    containers:
      description: The containers attached, by name (empty in check mode when the network is new).
      type: dict
      sample: {"web": {"interface": "eth0", "ipv4_address": "10.90.10.2", "ipv6_address": null, "aliases": ["www"]}}
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge rc-backend", "add address 10.90.10.1/24", "write nftables table inet runcible"]
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.runcible.oci.plugins.module_utils.converge.network import ensure_network, module_result
from ansible_collections.runcible.oci.plugins.module_utils.network.store import DEFAULT_ROOT


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            driver=dict(type='str', choices=['bridge'], default='bridge'),
            subnets=dict(type='list', elements='dict', options=dict(
                subnet=dict(type='str', required=True),
                gateway=dict(type='str'),
                ip_range=dict(type='str'),
            )),
            ipv6=dict(type='bool', default=False),
            internal=dict(type='bool', default=False),
            mtu=dict(type='int'),
            bridge_name=dict(type='str'),
            dns=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            network_root=dict(type='path', default=DEFAULT_ROOT),
        ),
        supports_check_mode=True,
    )
    result = module_result(module, lambda: ensure_network(module.params, check_mode=module.check_mode, diff=module._diff))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
