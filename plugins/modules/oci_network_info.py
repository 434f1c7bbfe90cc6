#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: oci_network_info
short_description: Describe the container networks made by runcible.oci.oci_network
description:
  - Returns every network (or one), with its subnets, flags, the containers attached and their addresses, and
    whether the kernel has its bridge and the collection's nftables table as the records ask. Changes nothing.
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
      - It only reads, so it runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
requirements:
  - pyroute2 (Debian 12's python3-pyroute2 0.7 or PyPI's 0.9)
  - nftables (libnftables, or the nft command)
options:
  name:
    description: The network; every network when omitted.
    type: str
  network_root:
    description: Where the collection keeps its network records.
    type: path
    default: /var/lib/runcible/network
seealso:
  - module: runcible.oci.oci_network
'''

EXAMPLES = r'''
- name: Every network
  runcible.oci.oci_network_info:
  register: nets

- name: The addresses on one network
  ansible.builtin.debug:
    msg: "{{ (nets.networks | selectattr('name', 'equalto', 'backend') | first).containers }}"
'''

RETURN = r'''
networks:
  description: The networks (none when O(name) names a network that does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Its name.
      type: str
    bridge:
      description: The bridge interface.
      type: str
    subnets:
      description: Subnets with gateways and ranges.
      type: list
      elements: dict
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
    driver:
      description: V(bridge).
      type: str
    containers:
      description: Attached containers by name, with interface, addresses, MAC address and aliases.
      type: dict
    bridge_present:
      description: Whether the bridge exists in the kernel.
      type: bool
    firewall_in_sync:
      description: Whether the kernel's C(inet runcible) table is what the records ask for (the next converge
        rewrites it when not).
      type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runcible.oci.plugins.module_utils.converge.network import module_result, network_info
from ansible_collections.runcible.oci.plugins.module_utils.network.store import DEFAULT_ROOT


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            network_root=dict(type='path', default=DEFAULT_ROOT),
        ),
        supports_check_mode=True,
    )
    result = module_result(module, lambda: network_info(module.params))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
