# -*- coding: utf-8 -*-
"""A container's network record carried to another host: read back as the options it was attached with.

The record comes from a checkpoint archive, so it is checked as user input
is; the kernel side (reattach into a namespace, then a restore) is in
tests/system/test_checkpoint_network.py.
"""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.network import attach
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError

MOVED = {
    'name': 'web',
    'networks': [{'name': 'front', 'ipv4_address': '10.1.0.3', 'ipv6_address': 'fd00::3', 'static_ipv4_address': False,
                  'static_ipv6_address': True, 'aliases': ['www'], 'mac_address': '02:42:ac:11:00:02'}],
    'ports': [{'protocol': 'tcp', 'host_ip': '', 'host_port': '8080', 'container_port': '80',
               'requested': '8080:80/tcp'},
              {'protocol': 'udp', 'host_ip': '127.0.0.1', 'host_port': '40001', 'container_port': '53',
               'requested': '127.0.0.1::53/udp'}],
    'dns': {'servers': ['10.1.0.1'], 'search': [], 'options': []},
}


def test_static_addresses_stay_static_and_allocated_ones_are_only_preferred():
    requested = attach._moved_requests(MOVED)
    assert requested == [{'name': 'front', 'ipv4_address': None, 'ipv6_address': 'fd00::3', 'aliases': ['www'],
                          'mac_address': '02:42:ac:11:00:02'}]


def test_ports_are_asked_as_they_were_chosen_host_ports_come_from_the_record():
    ports = [attach._moved_port(item, index) for index, item in enumerate(MOVED['ports'])]
    assert ports == [{'protocol': 'tcp', 'host_ip': '', 'host_port': '8080', 'container_port': '80'},
                     {'protocol': 'udp', 'host_ip': '127.0.0.1', 'host_port': None, 'container_port': '53'}]


@pytest.mark.parametrize('moved, field', [
    ('front', 'moved'),
    ({'networks': 'front'}, 'moved'),
    ({'networks': ['front']}, 'moved.networks[0]'),
    ({'networks': [{'name': 'bad name'}]}, 'moved.networks[0].name'),
    ({'networks': [{'name': 'front', 'mac_address': '01:00:5e:00:00:01'}]}, 'moved.networks[0].mac_address'),
    ({'networks': [], 'ports': 'x'}, 'moved'),
    ({'networks': [], 'dns': {'servers': 5}}, 'moved.dns.servers'),
    ({'networks': [], 'dns': {'search': ['ok', '']}}, 'moved.dns.search'),
])
def test_a_damaged_record_is_an_error_naming_the_field_before_anything_is_touched(moved, field):
    # No store and no namespace: the record is checked before either is used.
    with pytest.raises(ConfigError) as caught:
        attach.reattach(None, 'web', '/nonexistent', moved)
    assert str(caught.value).startswith(field + ':')


def test_a_damaged_port_names_it():
    for ports, field, text in ((['8080:80'], 'moved.ports[0]:', 'must be a dict'),
                               ([MOVED['ports'][0], {'container_port': 'eighty'}], 'moved.ports[1]:', 'eighty')):
        with pytest.raises(ConfigError) as caught:
            attach.reattach(None, 'web', '/nonexistent', dict(MOVED, ports=ports))
        assert str(caught.value).startswith(field) and text in str(caught.value)
