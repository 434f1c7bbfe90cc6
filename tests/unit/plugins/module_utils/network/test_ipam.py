# -*- coding: utf-8 -*-
"""IPAM: subnets planned and checked, addresses allocated lowest-first."""

import ipaddress

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.network import ipam
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError


def net(text):
    return ipaddress.ip_network(text)


def test_defaults_and_gateway():
    subnets = ipam.plan_subnets([{'subnet': '10.1.0.0/24'}], False, 'x', [])
    assert subnets == [ipam.Subnet(net('10.1.0.0/24'), ipaddress.ip_address('10.1.0.1'), None)]
    subnets = ipam.plan_subnets(None, True, 'x', [('a', net('10.90.0.0/24'))])
    assert str(subnets[0].network) == '10.90.1.0/24'
    assert subnets[1].network.version == 6 and subnets[1].network.prefixlen == 64
    assert subnets[1].network == ipam.plan_subnets(None, True, 'x', [])[1].network


def test_default_subnet_steers_clear_of_the_hosts_networks():
    # The host's LAN is 10.90.0.0/23, a VPN routes 10.90.4.0/22 and network a has 10.90.2.0/24.
    host = [net('10.90.0.0/23'), net('10.90.4.0/22'), net('192.168.1.0/24')]
    subnets = ipam.plan_subnets(None, False, 'x', [('a', net('10.90.2.0/24'))], host_networks=host)
    assert [str(subnet.network) for subnet in subnets] == ['10.90.3.0/24']
    subnets = ipam.plan_subnets(None, False, 'x', [('a', net('10.90.3.0/24'))], host_networks=host)
    assert [str(subnet.network) for subnet in subnets] == ['10.90.2.0/24']
    # a subnet given explicitly is the user's choice, even on the host's LAN
    subnets = ipam.plan_subnets([{'subnet': '10.90.0.0/24'}], False, 'x', [], host_networks=host)
    assert [str(subnet.network) for subnet in subnets] == ['10.90.0.0/24']
    # a route over the whole pool leaves nothing to pick
    with pytest.raises(ConfigError) as caught:
        ipam.plan_subnets(None, False, 'x', [], host_networks=[net('10.0.0.0/8')])
    assert caught.value.field == 'subnets' and 'route or address of this host' in caught.value.message


@pytest.mark.parametrize('items, taken, field, words', [
    ([{'subnet': '10.1.0.0/24'}, {'subnet': '10.1.0.128/25'}], [], 'subnets[1].subnet', 'overlaps 10.1.0.0/24'),
    ([{'subnet': '10.1.0.0/16'}], [('other', net('10.1.5.0/24'))], 'subnets[0].subnet', 'of network other'),
    ([{'subnet': '10.1.0.1/24'}], [], 'subnets[0].subnet', 'host bits set: the subnet is 10.1.0.0/24'),
    ([{'subnet': 'ten'}], [], 'subnets[0].subnet', 'not a subnet'),
    ([{'subnet': '10.1.0.0/31'}], [], 'subnets[0].subnet', 'too small'),
    ([{'subnet': '10.1.0.0/24', 'gateway': '10.2.0.1'}], [], 'subnets[0].gateway', 'not a host address'),
    ([{'subnet': '10.1.0.0/24', 'gateway': '10.1.0.255'}], [], 'subnets[0].gateway', 'not a host address'),
    ([{'subnet': '10.1.0.0/24', 'ip_range': '10.2.0.0/25'}], [], 'subnets[0].ip_range', 'not inside'),
    ([{'subnet': 'fd00::/64'}], [], 'subnets[0].subnet', 'set ipv6: true'),
    ([{'subnet': '10.1.0.0/24', 'gw': 'x'}], [], 'subnets[0]', 'unknown key(s) gw'),
])
def test_bad_subnets_name_the_field(items, taken, field, words):
    with pytest.raises(ConfigError) as caught:
        ipam.plan_subnets(items, False, 'x', taken)
    assert caught.value.field == field
    assert words in caught.value.message


def test_allocation_is_lowest_free_and_reuses():
    subnet = ipam.parse_subnet({'subnet': '10.1.0.0/29'}, 's')
    taken = set()
    got = []
    while True:
        address = ipam.allocate(subnet, taken)
        if address is None:
            break
        taken.add(address)
        got.append(str(address))
    assert got == ['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']
    taken.discard(ipaddress.ip_address('10.1.0.4'))
    assert str(ipam.allocate(subnet, taken)) == '10.1.0.4'


def test_ip_range_and_ipv6():
    subnet = ipam.parse_subnet({'subnet': '10.1.0.0/24', 'ip_range': '10.1.0.128/25'}, 's')
    assert str(ipam.allocate(subnet, set())) == '10.1.0.128'
    six = ipam.parse_subnet({'subnet': 'fd00:1::/64', 'gateway': 'fd00:1::fe'}, 's')
    assert str(ipam.allocate(six, set())) == 'fd00:1::1'


def test_static_addresses():
    subnets = [ipam.parse_subnet({'subnet': '10.1.0.0/24'}, 's')]
    holder = {ipaddress.ip_address('10.1.0.7'): 'db'}
    assert str(ipam.check_static('10.1.0.9', subnets, holder, 'f')[1]) == '10.1.0.9'
    for address, words in (('10.1.0.7', 'already taken by container db'), ('10.2.0.1', 'outside the subnets'),
                           ('10.1.0.1', 'gateway'), ('10.1.0.255', 'broadcast'), ('x', 'not an IP address')):
        with pytest.raises(ConfigError) as caught:
            ipam.check_static(address, subnets, holder, 'networks[0].ipv4_address')
        assert caught.value.field == 'networks[0].ipv4_address'
        assert words in caught.value.message
