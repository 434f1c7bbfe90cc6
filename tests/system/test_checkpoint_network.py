# -*- coding: utf-8 -*-
"""Checkpoint and restore keep a container's network: its persistent namespace, address and published port.

A container in a persistent network namespace (network.netns) put on a
network by network.attach serves HTTP with busybox httpd. It is checkpointed
and restored with the same CRIU under bin/runcible and under runc, which treat
a namespace given by path as external (CRIU `--external net[INODE]:extRootNetNS`
at dump, the namespace handed back through inherit_fd at restore): the
restored container answers on the same address and port. A move to another
host (a second network namespace standing in for it, with its own network
store) restores it after network.reattach put it on the same network there.
Each scenario runs in network_scenarios.py under `unshare --net --mount`, so
the machine's links and ruleset are not touched.
"""

import sys

import pytest

from test_network import assert_nothing_left, scenario


def checkpoint_scenario(name, **env):
    seen = scenario(sys.executable, name, **env)
    if 'skip' in seen:
        pytest.skip(seen['skip'])
    return seen


def comparable(seen):
    """What a user sees, without the container's name."""
    found = dict(seen)
    served = found.pop('served')
    for key in ('before', 'after'):
        found[key] = list('SERVED' if item == served else item for item in found[key])
    found.pop('left')
    return found


def test_restore_keeps_the_namespace_address_and_port_as_runc_does():
    ours = checkpoint_scenario('checkpoint', RUNTIME='runcible')
    theirs = checkpoint_scenario('checkpoint', RUNTIME='runc')
    assert ours['run'] == 0 and ours['before'] == [ours['served'], ours['served'], '10.87.0.2/24']
    assert ours['checkpoint'][0] == 0, ours['checkpoint']
    # checkpointed: nothing answers, no container, but the namespace keeps its address
    assert ours['while_checkpointed'] == ['FAILED', [], '10.87.0.2/24']
    assert ours['restore'][0] == 0, ours['restore']
    assert ours['status'] == 'running' and ours['same_namespace']
    assert ours['after'] == ours['before']
    # the restored container converges as it was: nothing to do
    assert ours['reattach'] == []
    assert comparable(ours) == comparable(theirs)
    assert_nothing_left(ours['left'])
    assert_nothing_left(theirs['left'])


def test_move_to_another_host_reattaches_the_same_address_then_restores():
    seen = checkpoint_scenario('move')
    assert seen['run'] == 0 and seen['before'] == seen['served'] and seen['here'] == '10.86.0.3'
    assert seen['checkpoint'] == 0
    assert [item['name'] for item in seen['moved']['networks']] == ['mv']
    # the network missing there: an error naming it, and nothing made
    assert seen['no_network'].startswith('moved.networks[0].name: network mv does not exist on this host')
    assert seen['unchanged']
    # there: the same address (another container holds .2 there too), aliases, host ports
    assert (seen['there']['ipv4_address'], seen['there']['aliases'], seen['readdressed']) == ('10.86.0.3', ['web'], [])
    assert [port['host_port'] for port in seen['there_ports']] == ['8095', seen['random_port']]
    assert seen['restore'][0] == 0, seen['restore']
    assert seen['after'] == [seen['served']] * 3
    assert seen['again'] == []
    # an address taken there: another one, said in readdressed
    assert seen['taken'] == [{'network': 'mv', 'recorded': '10.86.0.2', 'given': '10.86.0.4'}]
    assert_nothing_left(seen['left'])
    assert_nothing_left(seen['left_there'])
