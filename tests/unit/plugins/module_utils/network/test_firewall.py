# -*- coding: utf-8 -*-
"""The nftables table generated from networks and published ports (the kernel side is in tests/system)."""

import json

from ansible_collections.runcible.oci.plugins.module_utils.network import firewall, ipam
from ansible_collections.runcible.oci.plugins.module_utils.network.ports import parse_ports


def subnet(text):
    return ipam.parse_subnet({'subnet': text}, 's')


NETWORKS = [
    {'name': 'web', 'bridge': 'rc-web', 'subnets': [subnet('10.1.0.0/24'), subnet('fd00:1::/64')], 'internal': False},
    {'name': 'db', 'bridge': 'rc-db', 'subnets': [subnet('10.2.0.0/24')], 'internal': True},
]


def publication(ports, addresses=None):
    return {'container': 'app', 'subnets': NETWORKS[0]['subnets'], 'ports': parse_ports(ports),
            'addresses': addresses or {4: '10.1.0.2', 6: 'fd00:1::2'}}


def rules_of(ruleset, chain):
    return [rule['expr'] for rule in ruleset.rules if rule['chain'] == chain]


def text(exprs):
    return json.dumps(exprs)


def test_networks_masquerade_isolate_and_internal():
    ruleset = firewall.build(NETWORKS, [])
    post = text(rules_of(ruleset, 'postrouting'))
    assert '10.1.0.0' in post and 'fd00:1::' in post and '10.2.0.0' not in post
    forward = rules_of(ruleset, 'forward')
    assert any('"rc-web"' in text(expr) and '"rc-db"' in text(expr) and '"drop"' in text(expr) for expr in forward)
    internal = [expr for expr in forward if 'rc-db' in text(expr) and 'rc-web' not in text(expr)]
    assert len(internal) == 2 and all(expr[-1] == {'drop': None} for expr in internal)
    assert 'rc-db' in text(rules_of(ruleset, 'input')) and 'rc-web' not in text(rules_of(ruleset, 'input'))
    assert 'ports' not in [chain['name'] for chain in ruleset.chains]


def test_ports_dnat_both_families_and_host_address():
    ruleset = firewall.build(NETWORKS, [publication(['8080:80', '127.0.0.1:9090:90/udp'])])
    chain = rules_of(ruleset, 'c-app')
    dnats = [expr[-1]['dnat'] for expr in chain if 'dnat' in expr[-1]]
    assert {'family': 'ip', 'addr': '10.1.0.2', 'port': 80} in dnats
    assert {'family': 'ip6', 'addr': 'fd00:1::2', 'port': 80} in dnats
    assert {'family': 'ip', 'addr': '10.1.0.2', 'port': 90} in dnats and len(dnats) == 3
    marks = [expr for expr in chain if 'mangle' in expr[-1]]
    assert any('127.0.0.0' in text(expr) and '10.1.0.0' in text(expr) for expr in marks)
    assert text(rules_of(ruleset, 'ports')) == text([[{'jump': {'target': 'c-app'}}]])


def test_ranges_keep_or_map_ports():
    same = firewall.build(NETWORKS, [publication(['8000-8002:8000-8002'], {4: '10.1.0.2'})])
    dnat = [expr[-1]['dnat'] for expr in rules_of(same, 'c-app') if 'dnat' in expr[-1]]
    assert dnat == [{'family': 'ip', 'addr': '10.1.0.2'}]
    shifted = firewall.build(NETWORKS, [publication(['8000-8002:9000-9002'], {4: '10.1.0.2'})])
    dnat = [expr[-1]['dnat'] for expr in rules_of(shifted, 'c-app') if 'dnat' in expr[-1]][0]
    assert dnat['port']['map']['data']['set'] == [[8000, 9000], [8001, 9001], [8002, 9002]]


def test_summary_matches_what_the_kernel_lists_and_notices_changes():
    ruleset = firewall.build(NETWORKS, [publication(['8080:80'])])
    listed = [{'metainfo': {}}, {'table': {'family': 'inet', 'name': 'runcible'}}]
    for chain in ruleset.chains:
        listed.append({'chain': dict(chain, family='inet', table='runcible', handle=1)})
    for rule in ruleset.rules:
        # The kernel rewrites expressions; only chain, order and comment are compared.
        listed.append({'rule': {'chain': rule['chain'], 'comment': rule['comment'], 'expr': [], 'handle': 9}})
    assert firewall.summarise(listed) == ruleset.summary()
    assert firewall.summarise(listed[:-1]) != ruleset.summary()
    other = firewall.build(NETWORKS, [publication(['8081:80'])])
    assert other.summary() != ruleset.summary()


def test_comments_name_owner_and_fit():
    ruleset = firewall.build(NETWORKS, [dict(publication(['80:80']), container='x' * 300)])
    assert all(len(rule['comment']) <= 128 for rule in ruleset.rules)
    assert any(rule['comment'].startswith('network:web ') for rule in ruleset.rules)
    assert any(rule['comment'].startswith('container:xxx') for rule in ruleset.rules)
    assert all(len(chain['name']) < 64 for chain in ruleset.chains)
