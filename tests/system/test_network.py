# -*- coding: utf-8 -*-
"""Networks for real: bridges, veth pairs, addresses, nftables, names, in namespaces the tests make.

Each scenario runs in network_scenarios.py under `unshare --net --mount`:
that namespace stands in for the host (bridges, sysctls and the nftables
table are made there and vanish with it), so the machine's own links and
ruleset are never touched. Every scenario runs under the venv's Python
(PyPI's pyroute2 0.9) and under Debian's /usr/bin/python3 with
python3-pyroute2 0.7.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'network_scenarios.py')


def _has_pyroute2(python):
    return subprocess.run([python, '-c', 'import pyroute2'], capture_output=True, check=False).returncode == 0


PYTHONS = [pytest.param(sys.executable, id='pypi-pyroute2'),
           pytest.param('/usr/bin/python3', id='debian-pyroute2', marks=pytest.mark.skipif(
               not os.path.exists('/usr/bin/python3') or not _has_pyroute2('/usr/bin/python3'),
               reason="Debian's python3-pyroute2 is not installed (apt-get install python3-pyroute2)"))]


def scenario(python, name, **env):
    if not os.path.exists('/bin/busybox'):
        pytest.skip('busybox-static is not installed')
    if shutil.which('nft') is None:
        pytest.skip('nftables is not installed')
    completed = subprocess.run(['unshare', '--net', '--mount', python, SCRIPT, name], capture_output=True,
                               timeout=300, check=False, env=dict(os.environ, **env))
    assert completed.returncode == 0, completed.stderr.decode('utf-8', 'replace')
    return json.loads(completed.stdout.decode('utf-8').strip().splitlines()[-1])


def assert_nothing_left(left):
    assert not left['table']
    assert [name for name in left['links'] if name.startswith(('rc-', 'rv'))] == []
    assert [name for name in left['files'] if name.startswith('networks/')] == []


@pytest.mark.parametrize('python', PYTHONS)
def test_two_namespaces_published_ports_hairpin_ipv6_flush_and_removal(python):
    seen = scenario(python, 'basic')
    assert seen['created'] and not seen['again']
    assert (seen['a']['ipv4_address'], seen['a']['ipv6_address'], seen['a']['interface']) == \
        ('10.91.0.2', 'fd00:91::2', 'eth0')
    assert seen['b']['ipv4_address'] == '10.91.0.3'
    # check mode predicts and changes nothing; after the attach it predicts nothing
    assert seen['check_mode']['changed'] and seen['check_mode']['unchanged']
    assert any(action.startswith('create veth') for action in seen['check_mode']['actions'])
    assert seen['check_mode_after'] is False
    # container to container, by address, IPv4 and IPv6
    assert seen['b_to_a_v4'] == seen['b_to_a_v6'] == 'hello-a'
    # published: from the host on 127.0.0.1, from another machine through the host's address, hairpin, IPv6
    assert seen['host_localhost'] == seen['client'] == seen['hairpin'] == seen['v6_published'] == 'hello-a'
    assert seen['host_localhost_only'] == 'hello-a' and seen['client_localhost_only'] == 'FAILED'
    assert 32768 <= int(seen['random_port']) <= 60999 and seen['client_random'] == 'hello-a'
    # other spellings of the same ports: nothing to do, the chosen host port kept
    assert not seen['reattach_changed'] and seen['random_port_kept'] == seen['random_port']
    # changed ports: rules swapped, the same veth
    assert seen['ports_changed'] and seen['veth_kept']
    assert seen['old_port'] == 'FAILED' and seen['new_port'] == 'hello-a'
    # a flushed table is noticed and restored
    assert seen['flushed'] == 'FAILED' and seen['info_in_sync_after_flush'] is False
    assert seen['restore_actions'] == ['write nftables table inet runcible'] and seen['restored'] == 'hello-a'
    # names: each container's hosts file lists the others with aliases, updated on leave
    assert '10.91.0.2\ta www\n' in seen['hosts_b'] and 'fd00:91::2\ta www\n' in seen['hosts_b']
    assert '\ta ' not in seen['hosts_b_after'] and '10.91.0.3\tb\n' in seen['hosts_b_after']
    assert seen['info']['bridge_present'] and seen['info']['firewall_in_sync']
    assert sorted(seen['info']['containers']) == ['a', 'b']
    assert 'leave network web' in seen['detach_a']
    assert seen['in_use'].startswith('force: network web has containers attached (b)')
    assert 'remove bridge rc-web' in seen['removed']
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('python', PYTHONS)
def test_internal_network_reaches_only_its_bridge(python):
    seen = scenario(python, 'internal')
    assert seen['internal_to_gateway'] == 'host'
    assert seen['internal_to_host_address'] == 'FAILED'
    assert seen['internal_to_client_host'] != 0
    assert 'default' not in seen['routes_internal']
    assert seen['open_to_host_address'] == 'host' and seen['open_to_client_host'] == 0
    assert seen['isolated'] != 0
    assert seen['ports_on_internal'] == 'ports: published ports need a network that is not internal; the container ' \
                                        'is on none'
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('python', PYTHONS)
def test_default_subnet_steers_clear_of_the_hosts_lan_and_routes(python):
    seen = scenario(python, 'default_subnet')
    # 10.90.0.0/24 is the host's LAN, 10.90.1.0/24 is routed through a machine on it
    assert [item['subnet'] for item in seen['first']] == ['10.90.2.0/24']
    assert not seen['again_changed']
    assert seen['after_route_gone'] == seen['first'] and not seen['after_route_gone_changed']
    assert [item['subnet'] for item in seen['second']] == ['10.90.1.0/24']
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('python', PYTHONS)
def test_networks_are_isolated_but_published_ports_reach_across(python):
    seen = scenario(python, 'isolation')
    assert seen['direct'] == 'FAILED' and seen['published'] == 'hello-a'
    assert seen['two_networks'] == ['eth0', 'eth1'] and seen['after_joining'] == 'hello-a'
    assert 'leave network n1' in seen['left_n1'] and seen['after_leaving'] == 'FAILED'


@pytest.mark.parametrize('python', PYTHONS)
def test_changes_mend_only_what_differs_and_fork_nothing(python):
    seen = scenario(python, 'mending')
    # attaching d added its chain and rewrote the jumps to the containers' chains; every other rule stayed
    assert seen['rewritten'] == ['ports']
    # a no-op re-attach does not list the table while the ruleset generation is unchanged
    assert seen['noop'] == [] and seen['noop_listings'] == 0
    # namespaces made, entered and left, the table written, without a process
    assert seen['forks'] == 0 and seen['links_in_c'] == ['lo']
    # a flushed chain is seen (the generation moved), listed and mended alone
    assert seen['flushed'] == 'FAILED' and seen['mended'] == 'hello-a'
    assert seen['mend_actions'] == ['write nftables table inet runcible'] and seen['mend_listings'] == 1
    assert seen['mend_rewritten'] == ['c-a'] and seen['in_sync']
    # all of it in place: the table was never replaced whole
    assert seen['table_kept']
    # the last published ports gone: their chains deleted in place, the network's rules untouched
    assert seen['unpublished_rewritten'] == [] and seen['unpublished_table_kept']
    assert seen['after_unpublishing'] == [] and seen['after_unpublishing_listings'] == 0
    assert_nothing_left(seen['left'])


def test_fifty_concurrent_attaches_get_distinct_addresses():
    seen = scenario(sys.executable, 'concurrent')
    assert len(set(seen['addresses'])) == 50
    assert sorted(seen['reused']) == sorted(seen['released'])
    assert seen['kept'] == seen['addresses'][3]
    assert seen['endpoints'] == 50 and seen['forced']
    assert_nothing_left(seen['left'])


def test_bad_input_names_the_option_and_changes_nothing():
    seen = scenario(sys.executable, 'bad_input')
    assert seen['overlap'] == 'subnets[0].subnet: 10.97.0.128/25 overlaps subnet 10.97.0.0/24 of network good'
    assert seen['overlap_list'] == 'subnets[1].subnet: 10.98.0.0/16 overlaps 10.98.0.0/24, given earlier in the list'
    assert seen['long_bridge'].startswith("bridge_name: interface name 'a-very-long-bridge' is not valid: at most 15")
    assert seen['port_taken'].startswith('ports[0]: 127.0.0.1:8080:80/tcp: the host port is already published by '
                                         'container a')
    assert seen['address_taken'] == 'networks[0].ipv4_address: 10.97.0.50 is already taken by container a'
    assert seen['address_outside'].startswith('networks[0].ipv4_address: 10.1.0.5 is outside the subnets')
    assert seen['malformed_port'].startswith("ports[1]: invalid port mapping '80:80:80:80'")
    assert seen['no_network'].startswith('networks[0].name: network nope does not exist')
    assert seen['ipv6_loopback'].startswith('ports[0]: [::1]:8080:80/tcp: the kernel cannot forward')
    assert seen['unchanged']


def test_nft_command_backend_restores_a_flushed_table():
    seen = scenario(sys.executable, 'basic', NFT_BACKEND='command')
    assert seen['flushed'] == 'FAILED' and seen['restored'] == seen['hairpin'] == 'hello-a'
    assert_nothing_left(seen['left'])


def test_real_containers_find_each_other_by_name():
    seen = scenario(sys.executable, 'containers')
    assert seen['by_name'].startswith('served by srv') and seen['by_alias'] == seen['by_name']
    assert 'localhost' in seen['files'] and 'nameserver' in seen['files']
    assert_nothing_left(seen['left'])
