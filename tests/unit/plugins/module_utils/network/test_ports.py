# -*- coding: utf-8 -*-
"""Port mappings: docker's spellings normalised, malformed ones named."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.network.ports import (
    Port, overlaps, parse_port, parse_ports, render, to_dict, from_dict)
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError


@pytest.mark.parametrize('spellings', [
    ['8080:80', '0.0.0.0:8080:80', '8080:80/tcp', '8080:80/TCP', {'container_port': 80, 'host_port': 8080},
     {'container_port': '80', 'host_port': '8080', 'host_ip': '0.0.0.0', 'protocol': 'tcp'}, '[::]:8080:80'],
    ['127.0.0.1:8080:80/udp', {'container_port': 80, 'host_port': 8080, 'host_ip': '127.0.0.1', 'protocol': 'udp'}],
    ['8000-8010:8000-8010', {'container_port': '8000-8010', 'host_port': '8000-8010'}],
    ['[::1]:8080:80', {'container_port': 80, 'host_port': 8080, 'host_ip': '::1'},
     {'container_port': 80, 'host_port': 8080, 'host_ip': '0:0::1'}],
    ['80', 80, {'container_port': 80}, '0.0.0.0::80'],
])
def test_every_spelling_of_one_mapping_is_equal(spellings):
    parsed = {parse_port(item) for item in spellings}
    assert len(parsed) == 1


def test_forms():
    assert parse_port('127.0.0.1:8080:80/udp') == Port('udp', '127.0.0.1', 8080, 8080, 80, 80)
    assert parse_port('80') == Port('tcp', '', None, None, 80, 80)
    assert parse_port('127.0.0.1::80') == Port('tcp', '127.0.0.1', None, None, 80, 80)
    assert parse_port('8000-8002:9000-9002') == Port('tcp', '', 8000, 8002, 9000, 9002)
    assert parse_port('[fd00::1]:53:53/udp') == Port('udp', 'fd00::1', 53, 53, 53, 53)


@pytest.mark.parametrize('item, words', [
    ('8080:', 'container port'),
    (':80', 'host port before ":" is empty'),
    ('8080:80/icmp', "protocol 'icmp'"),
    ('8080:80/', 'nothing after "/"'),
    ('999999:80', 'between 1 and 65535'),
    ('0:80', 'between 1 and 65535'),
    ('8010-8000:80-90', 'ends before it starts'),
    ('8000-8010:80', 'differ in length'),
    ('8000-8001', 'needs a host port range'),
    ('::1:8080:80', 'must be in brackets'),
    ('[::1]8080:80', '[address]:host_port'),
    ('localhost:8080:80', "'localhost' is not an IPv4 or IPv6 address"),
    ('a:b', 'must be a port number'),
    ({'host_port': 80}, 'container_port is required'),
    ({'container_port': 80, 'published': 1}, 'unknown key(s) published'),
    (True, 'write it as'),
    ('', 'write it as'),
    (None, 'write it as'),
])
def test_malformed_names_option_and_item(item, words):
    with pytest.raises(ConfigError) as caught:
        parse_ports(['80:80/udp', item])
    assert caught.value.field == 'ports[1]'
    assert words in caught.value.message
    assert repr(item) in caught.value.message


def test_duplicate_and_overlapping_mappings_are_errors():
    with pytest.raises(ConfigError, match=r'ports\[1\].*overlaps 8080:80/tcp'):
        parse_ports(['8080:80', '0.0.0.0:8080:81'])
    with pytest.raises(ConfigError, match=r'ports\[1\]'):
        parse_ports(['8000-8010:8000-8010', '127.0.0.1:8005:80'])
    assert len(parse_ports(['8080:80', '8080:80/udp', '127.0.0.1:9000:80', '127.0.0.2:9000:80'])) == 4


def test_overlaps():
    assert overlaps(parse_port('8080:80'), parse_port('127.0.0.1:8080:90'))
    assert not overlaps(parse_port('127.0.0.2:8080:80'), parse_port('127.0.0.1:8080:90'))
    assert not overlaps(parse_port('8080:80/udp'), parse_port('8080:80'))
    assert not overlaps(parse_port('80'), parse_port('80'))


ports = st.integers(1, 65535)
addresses = st.sampled_from(['', '0.0.0.0', '127.0.0.1', '10.1.2.3', '::', '::1', 'fd00::5'])


@given(addresses, ports, ports, st.sampled_from(['tcp', 'udp']))
def test_render_and_dict_round_trip(address, host, container, protocol):
    port = parse_port({'host_ip': address, 'host_port': host, 'container_port': container, 'protocol': protocol})
    assert parse_port(render(port)) == port
    assert from_dict(to_dict(port)) == port


@given(ports, st.integers(0, 20), ports)
def test_ranges_round_trip(host, length, container):
    host_end, container_end = host + length, container + length
    if host_end > 65535 or container_end > 65535:
        return
    text = '%d-%d:%d-%d' % (host, host_end, container, container_end)
    port = parse_port(text)
    assert (port.host_port_end - port.host_port) == length
    assert parse_port(render(port)) == port
