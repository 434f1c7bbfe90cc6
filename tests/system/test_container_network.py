# -*- coding: utf-8 -*-
"""oci_container's networks, ports and dns options on real containers, under the vendored runtime, runc and crun.

Each scenario runs in container_network_scenarios.py under `unshare --net
--mount`: that namespace stands in for the host (bridges, sysctls, the
nftables table, published ports vanish with it) and its private mount
namespace holds the containers' namespace files. Containers are converged
by the Converger oci_container runs, with real supervisors, and serve their
name with busybox httpd; traffic stays inside the namespaces made here.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from systemlib import crun_unusable_reason

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'container_network_scenarios.py')

RUNTIMES = [pytest.param('runcible', id='runcible'),
            pytest.param('runc', id='runc', marks=pytest.mark.skipif(shutil.which('runc') is None,
                                                                     reason='runc is not installed')),
            pytest.param('crun', id='crun', marks=pytest.mark.skipif(
                shutil.which('crun') is None or crun_unusable_reason() is not None,
                reason=crun_unusable_reason() or 'crun is not installed'))]


def scenario(name, runtime):
    if not os.path.exists('/bin/busybox'):
        pytest.skip('busybox-static is not installed')
    if shutil.which('nft') is None:
        pytest.skip('nftables is not installed')
    completed = subprocess.run(['unshare', '--net', '--mount', sys.executable, SCRIPT, name, runtime],
                               capture_output=True, timeout=480, check=False)
    assert completed.returncode == 0, completed.stderr.decode('utf-8', 'replace')
    return json.loads(completed.stdout.decode('utf-8').strip().splitlines()[-1])


def assert_nothing_left(left):
    assert left == {'links': [], 'table': False, 'records': [], 'netns': [], 'mounts': []}


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_two_containers_names_published_ports_hairpin_ipv6_changes_and_removal(runtime):
    seen = scenario('web', runtime)
    # check mode predicts the create (with the addresses it would get) and changes nothing
    assert seen['check_new']['actions'] == ['create'] and seen['check_new_left_nothing']
    assert seen['check_new']['networks']['web']['ipv4_address'] == '10.95.0.2'
    assert seen['created']['status'] == 'running'
    web = seen['created']['networks']['web']
    assert (web['interface'], web['ipv4_address'], web['ipv6_address']) == ('eth0', '10.95.0.2', 'fd00:95::2')
    assert sorted(port['requested'] for port in seen['created']['ports']) == ['127.0.0.1:8081:80/tcp', '8080:80/tcp']
    # idempotent, in check mode too, and every spelling of the same options is the same
    assert not seen['again']['changed'] and not seen['again_check']['changed']
    assert not seen['spelled_otherwise']['changed'], seen['spelled_otherwise']
    # names: by name, by alias, both ways; IPv6 between containers; the own hostname in the own hosts file
    assert seen['b_to_a_by_name'].startswith('hello-a') and seen['b_to_a_by_alias'] == seen['b_to_a_by_name']
    assert seen['b_to_a_v6'] == seen['b_to_a_by_name'] and seen['a_to_b_by_name'].startswith('hello-b')
    assert '10.95.0.2\t' in seen['hosts_a'] and ' www alpha\n' in seen['hosts_a']
    # published: from the host on 127.0.0.1, from a client machine through the host's address, hairpin
    served = seen['b_to_a_by_name']
    assert seen['host_localhost'] == seen['client'] == seen['hairpin'] == served
    assert seen['host_localhost_only'] == served and seen['client_localhost_only'] == 'FAILED'
    # changed ports: check mode plans a re-attach and changes nothing; the run re-attaches, same process
    assert seen['check_ports']['actions'] == ['reattach'] and seen['old_port_after_check'] == served
    assert seen['ports_changed']['actions'] == ['reattach'] and seen['pid_kept']
    diff = seen['ports_changed']['diff']
    assert sorted(diff['before']['ports']) == ['127.0.0.1:8081:80/tcp', '8080:80/tcp']
    assert diff['after'] == {'ports': ['9090:80/tcp']} and list(diff['before']) == ['ports']
    assert seen['old_port'] == 'FAILED' and seen['new_port'] == served
    # dns options and a new alias: re-attached, the same process, files rewritten in place (bind mounts pin inodes)
    assert seen['dns_changed']['actions'] == ['reattach'] and list(seen['dns_changed']['diff']['after']) == ['dns']
    assert seen['dns_changed']['diff']['after']['dns'] == {'servers': ['10.95.0.1'], 'search': ['example.test'],
                                                           'options': ['ndots:2']}
    assert 'nameserver 10.95.0.1\n' in seen['resolv_a'] and 'search example.test\n' in seen['resolv_a']
    assert 'options ndots:2\n' in seen['resolv_a']
    assert seen['alias_added']['actions'] == ['reattach'] and seen['pid_kept_after_dns_and_alias']
    assert seen['alias_added']['diff']['after']['networks'] == [{'name': 'web', 'aliases': ['www', 'web2']}]
    assert seen['b_to_a_by_new_alias'] == served and not seen['after_alias_again']['changed']
    # a flushed ruleset is noticed by the next run and mended, then nothing more to do
    assert seen['flushed'] == 'FAILED' and seen['mended']['actions'] == ['reattach']
    assert seen['mended']['diff']['after']['network_actions'] == ['write nftables table inet runcible']
    assert seen['after_mend'] == served and not seen['after_mend_again']['changed']
    # absent: planned in check mode, then nothing left; the other container's hosts file forgets it
    assert seen['absent_check']['actions'] == ['delete'] and seen['absent']['actions'] == ['delete']
    assert seen['absent']['diff']['after'] == {'state': 'absent', 'networks': []}
    assert not seen['absent_again']['changed']
    assert 'www' not in seen['hosts_b_after']
    assert seen['absent_b_default_root']['diff']['before']['networks'] == [{'name': 'web'}]
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_internal_network_static_ipv6_and_leaving_the_last_network(runtime):
    seen = scenario('internal', runtime)
    assert seen['inside']['status'] == 'running'
    assert seen['inside']['networks']['closed']['ipv6_address'] == 'fd00:96::50'
    assert 'inet6 fd00:96::50/64' in seen['address']
    # no way out: no default route, the host's other address and another machine unreachable
    assert 'default' not in seen['routes'] and seen['to_host_address'] == 'FAILED' and seen['to_client_host'] != 0
    assert seen['ports_on_internal'] == 'ports: published ports need a network that is not internal; the container ' \
                                        'is on none'
    # leaving the last network recreates the container in the bundle's own namespace and removes the network side
    assert seen['left_network']['actions'] == ['recreate'] and seen['left_network']['status'] == 'running'
    assert seen['after_leaving']['records'] == ['networks/closed/endpoints.json', 'networks/closed/network.json']
    assert seen['after_leaving']['netns'] == ['clnt'] and 'eth0' not in seen['links_after_leaving']
    assert_nothing_left(seen['left'])


def test_one_name_in_two_runtime_roots_does_not_share_a_network_namespace():
    seen = scenario('same_name', 'runcible')
    assert seen['first']['status'] == 'running' and seen['served'].startswith('hello-')
    # the second container of the name on networks: refused, in check mode too, before anything is made
    for key in ('second_check', 'second'):
        assert seen[key].startswith('name: another container named ') and 'rename this one' in seen[key], seen[key]
    assert seen['second_made_nothing']
    # on no network it runs, and neither it nor its removal touches the first's namespace or records
    assert seen['plain']['status'] == 'running' and 'networks' not in seen['plain']
    assert seen['kept_after_plain'] and seen['kept_after_absent'] and seen['plain_absent']['changed']
    assert seen['still_served'] == seen['served'] and not seen['first_again']['changed']
    assert seen['after_first_gone']['status'] == 'running'
    assert seen['after_first_gone']['networks']['web']['ipv4_address'] == '10.99.0.2'
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_a_systemd_unit_puts_the_container_back_on_its_network_after_a_reboot(runtime):
    seen = scenario('unit_boot', runtime)
    assert seen['first']['status'] == 'running' and seen['served'].startswith('hello-')
    assert len(seen['unit_network_up']) == 1 and seen['unit_network_up'][0].startswith('ExecStartPre=/')
    # the reboot took the namespace, veth, bridge and table: the port does not answer
    assert seen['after_reboot']['served'] == 'FAILED'
    assert seen['after_reboot']['host']['links'] == [] and not seen['after_reboot']['host']['table']
    # the unit's commands alone bring it back: same address, port, alias; Ansible then finds nothing to change
    # network-up, mkdir and cp succeed (the runtime's `delete --force` of no container may fail: it is optional)
    assert seen['statuses'][:3] == [0, 0, 0], seen['statuses']
    assert seen['served_after_boot'] == seen['served']
    assert not seen['again']['changed'], seen['again']
    assert seen['again']['networks']['web']['ipv4_address'] == '10.98.0.2' and seen['pid_changed']
    assert 'inet 10.98.0.2/24' in seen['inside']
    assert [line for line in seen['hosts'].splitlines() if line.startswith('10.98.0.2\t') and line.endswith(' www')]
    assert seen['removed']['changed'] and not seen['unit_left']
    assert_nothing_left(seen['left'])


def test_bad_input_names_the_option_and_leaves_nothing():
    seen = scenario('bad_input', 'runcible')
    errors = seen['errors']
    assert errors['unknown_network'].startswith('networks[0].name: network nosuch does not exist')
    assert errors['outside_subnet'].startswith('networks[0].ipv4_address: ')
    # the item as the user gave it (the library is given them sorted)
    assert errors['port_clash'].startswith('ports[1]: 8080:80/tcp: the host port is already published by container h')
    assert errors['malformed_port'].startswith("ports[0]: invalid port mapping '80:http'")
    assert errors['ports_without_networks'].startswith('ports: needs networks')
    assert errors['bad_mac'].startswith('networks[0].mac_address: ')
    assert all(seen['left'].values()), seen['left']
    assert_nothing_left(seen['after'])


# Debian's crun 1.8 is built without CRIU: runcible and runc only.
@pytest.mark.parametrize('runtime', RUNTIMES[:2])
def test_checkpoint_and_restore_keep_the_address_and_published_port(runtime):
    seen = scenario('checkpoint', runtime)
    if 'skip' in seen:
        pytest.skip(seen['skip'])
    assert seen['before'] == seen['served']
    assert seen['checkpointed']['actions'] == ['checkpoint'], seen['checkpointed']
    assert seen['while_checkpointed'] == 'FAILED' and seen['namespace_kept']
    assert seen['restored']['actions'] == ['restore'] and seen['restored']['status'] == 'running', seen['restored']
    assert seen['after'] == seen['served']
    # the restored container is what oci_container declares: nothing to do, the same address
    assert not seen['converge_after']['changed'], seen['converge_after']
    assert 'inet 10.94.0.2/24' in seen['same_address']
    assert_nothing_left(seen['left'])


@pytest.mark.parametrize('runtime', RUNTIMES[:2])
def test_move_to_another_host_keeps_the_address_and_published_port(runtime):
    seen = scenario('move', runtime)
    if 'skip' in seen:
        pytest.skip(seen['skip'])
    assert seen['before'] == seen['served']
    assert seen['exported']['actions'] == ['checkpoint', 'export'], seen['exported']
    # the archive carries the container's network record
    moved = seen['carried']['moved']
    assert [(item['name'], item['ipv4_address'], item['aliases']) for item in moved['networks']] == \
        [('mv', '10.92.0.2', ['web'])]
    assert [port['host_port'] for port in moved['ports']] == ['8092']
    # there, before the network exists: an error naming it, nothing imported, made or restored
    assert seen['no_network'].startswith('image_path: ') and \
        '/oci_checkpoint.json, network.moved.networks[0].name: network mv does not exist on this host' in \
        seen['no_network']
    unchanged, made = seen['nothing_there']
    assert unchanged and set(made) <= {'netns', 'network'}, made
    # there, once it exists: imported, restored on the same address, answering on the published port
    assert seen['moved']['actions'] == ['import', 'restore'] and seen['moved']['status'] == 'running', seen['moved']
    assert seen['there'] == '10.92.0.2' and seen['moved']['readdressed'] == []
    assert 'inet 10.92.0.2/24' in seen['inside']
    assert seen['after'] == [seen['served'], seen['served']]
    assert seen['again']['changed'] is False, seen['again']
    # oci_container's declaration there finds everything as declared: networks, ports, and the supervisor's
    # settings (restart policy, stop timeout, log sizes), which travel in the checkpoint's record
    assert seen['converge_there']['changed'] is False, seen['converge_there']
    assert_nothing_left(seen['left_there'])
    assert_nothing_left(seen['left'])
