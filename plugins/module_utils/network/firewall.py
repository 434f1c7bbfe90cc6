# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables table `inet runcible`: generated whole from the records, compared with the kernel's.

    prerouting   nat, dstnat    fib daddr type local jump ports
    output       nat, dstnat    the same, for connections the host opens (127.0.0.1 included)
    ports                       one `jump c-<container>` per container that publishes ports
    c-<container>               per mapping and family: mark what must be masqueraded (from
                                127.0.0.0/8 and from the container's own subnet: hairpin), then DNAT
    postrouting  nat, srcnat    marked connections masqueraded; per network, its subnets'
                                traffic leaving the subnet masqueraded (not for internal networks)
    forward      filter         DNAT'd and established traffic accepted; per network, traffic
                                to the other runcible bridges dropped (isolation); an internal
                                network's bridge neither forwards in nor out
    input        filter         an internal network reaches only its bridge's own addresses

Every rule carries a comment `<owner> <digest>`: the owner is `network:<name>`
or `container:<name>`, the digest a hash of the rule's chain and expression
as generated. Idempotence compares the chains (name, hook, type, priority,
policy) and each chain's comments in order, as the kernel lists them
(`nft -j list table inet runcible`), with what the records ask for, so a
flushed or edited table is noticed; the kernel rewrites expressions
(sorts sets, drops implied matches), so the expressions themselves are not
compared. A difference replaces the whole table in one transaction: traffic
never sees a half-made ruleset.
"""

import hashlib
import json

FAMILY = 'inet'
TABLE = 'runcible'
# The packet mark that asks postrouting to masquerade a DNAT'd connection (hairpin, 127.0.0.1);
# one bit, or'ed into the mark so that other users' bits survive.
MASQUERADE_MARK = 0x2000000

BASE_CHAINS = (
    ('prerouting', 'nat', 'prerouting', -100),
    ('output', 'nat', 'output', -100),
    ('postrouting', 'nat', 'postrouting', 100),
    ('forward', 'filter', 'forward', 0),
    ('input', 'filter', 'input', 0),
)
LOOPBACK = {4: ('127.0.0.0', 8)}
NFPROTO = {4: 'ipv4', 6: 'ipv6'}
IP = {4: 'ip', 6: 'ip6'}


def container_chain(name):
    """The chain of a container's published ports."""
    if len(name) <= 100:
        return 'c-' + name
    return 'c-' + hashlib.sha256(name.encode('utf-8')).hexdigest()[:32]


def _match(left, right, op='=='):
    return {'match': {'op': op, 'left': left, 'right': right}}


def _meta(key):
    return {'meta': {'key': key}}


def _payload(protocol, field):
    return {'payload': {'protocol': protocol, 'field': field}}


def _prefix(network):
    return {'prefix': {'addr': str(network.network_address), 'len': network.prefixlen}}


def _ports(start, end):
    return start if start == end else {'range': [start, end]}


class Ruleset:
    """The chains and rules of the table, in order."""

    def __init__(self):
        self.chains = [{'name': name, 'type': kind, 'hook': hook, 'prio': prio, 'policy': 'accept'}
                       for name, kind, hook, prio in BASE_CHAINS]
        self.rules = []

    def chain(self, name):
        self.chains.append({'name': name})

    def rule(self, chain, owner, expr):
        digest = hashlib.sha256(json.dumps([chain, expr], sort_keys=True).encode('utf-8')).hexdigest()[:16]
        self.rules.append({'chain': chain, 'expr': expr, 'comment': ('%s %s' % (owner[:100], digest))})

    def commands(self):
        """nftables JSON commands that replace the table with this ruleset (one transaction)."""
        table = {'family': FAMILY, 'name': TABLE}
        commands = [{'add': {'table': table}}, {'delete': {'table': table}}, {'add': {'table': table}}]
        for chain in self.chains:
            commands.append({'add': {'chain': dict(chain, family=FAMILY, table=TABLE)}})
        for rule in self.rules:
            commands.append({'add': {'rule': dict(rule, family=FAMILY, table=TABLE)}})
        return commands

    def summary(self):
        """{chain: (hook properties, [rule comments in order])}: what is compared with the kernel."""
        return summarise([{'chain': chain} for chain in self.chains] + [{'rule': rule} for rule in self.rules])


def summarise(objects):
    """The summary (as Ruleset.summary) of objects as `nft -j list table` gives them."""
    found = {}
    for item in objects:
        if 'chain' in item:
            chain = item['chain']
            found[chain['name']] = (tuple(chain.get(key) for key in ('type', 'hook', 'prio', 'policy')), [])
        elif 'rule' in item:
            rule = item['rule']
            if rule['chain'] in found:
                found[rule['chain']][1].append(rule.get('comment'))
    return found


def build(networks, publications):
    """The Ruleset for `networks` (dicts: name, bridge, subnets [ipam.Subnet], internal) and
    `publications` (dicts: container, subnets of its network, addresses {4: ip, 6: ip}, ports [Port with host ports])."""
    rules = Ruleset()
    local = _match({'fib': {'result': 'type', 'flags': ['daddr']}}, 'local')
    rules.rule('forward', 'runcible', [_match({'ct': {'key': 'status'}}, 'dnat', op='in'), {'accept': None}])
    rules.rule('forward', 'runcible', [_match({'ct': {'key': 'state'}}, {'set': ['established', 'related']}, op='in'),
                                       {'accept': None}])
    rules.rule('postrouting', 'runcible', [_match({'&': [_meta('mark'), MASQUERADE_MARK]}, MASQUERADE_MARK),
                                           {'masquerade': None}])
    bridges = [network['bridge'] for network in networks]
    for network in networks:
        _network_rules(rules, network, bridges)
    if publications:
        rules.chain('ports')
        rules.rule('prerouting', 'runcible', [local, {'jump': {'target': 'ports'}}])
        rules.rule('output', 'runcible', [local, {'jump': {'target': 'ports'}}])
    for publication in publications:
        chain = container_chain(publication['container'])
        owner = 'container:' + publication['container']
        rules.chain(chain)
        rules.rule('ports', owner, [{'jump': {'target': chain}}])
        for port in publication['ports']:
            for version in (4, 6):
                if publication['addresses'].get(version):
                    _port_rules(rules, chain, owner, publication, port, version)
    return rules


def _network_rules(rules, network, bridges):
    owner = 'network:' + network['name']
    bridge = network['bridge']
    others = [name for name in bridges if name != bridge]
    if network['internal']:
        rules.rule('forward', owner, [_match(_meta('iifname'), bridge), {'drop': None}])
        rules.rule('forward', owner, [_match(_meta('oifname'), bridge), {'drop': None}])
        rules.rule('input', owner, [
            _match(_meta('iifname'), bridge),
            _match({'fib': {'result': 'type', 'flags': ['daddr', 'iif']}}, {'set': ['local', 'broadcast', 'multicast']},
                   op='!='),
            {'drop': None}])
        return
    if others:
        rules.rule('forward', owner, [_match(_meta('iifname'), bridge),
                                      _match(_meta('oifname'), {'set': sorted(others)}), {'drop': None}])
    for subnet in network['subnets']:
        family = IP[subnet.network.version]
        rules.rule('postrouting', owner, [
            _match(_payload(family, 'saddr'), _prefix(subnet.network)),
            _match(_payload(family, 'daddr'), _prefix(subnet.network), op='!='),
            {'masquerade': None}])


def _port_rules(rules, chain, owner, publication, port, version):
    if port.host_ip and (':' in port.host_ip) != (version == 6):
        return
    family = IP[version]
    head = [_match(_meta('nfproto'), NFPROTO[version])]
    if port.host_ip:
        head.append(_match(_payload(family, 'daddr'), port.host_ip))
    dport = _match(_payload(port.protocol, 'dport'), _ports(port.host_port, port.host_port_end))
    sources = [_prefix(subnet.network) for subnet in publication['subnets'] if subnet.network.version == version]
    if version in LOOPBACK:
        sources.append({'prefix': {'addr': LOOPBACK[version][0], 'len': LOOPBACK[version][1]}})
    mark = {'mangle': {'key': _meta('mark'), 'value': {'|': [_meta('mark'), MASQUERADE_MARK]}}}
    rules.rule(chain, owner, head + [_match(_payload(family, 'saddr'), {'set': sources}), dport, mark])
    address = publication['addresses'][version]
    if port.host_port == port.container_port:
        target = {'family': family, 'addr': address}
        if port.host_port == port.host_port_end:
            target['port'] = port.container_port
    else:
        target = {'family': family, 'addr': address, 'port': port.container_port}
        if port.host_port != port.host_port_end:
            pairs = [[host, port.container_port + host - port.host_port]
                     for host in range(port.host_port, port.host_port_end + 1)]
            target['port'] = {'map': {'key': _payload(port.protocol, 'dport'), 'data': {'set': pairs}}}
    rules.rule(chain, owner, head + [dport, {'dnat': target}])


def differs(nft, ruleset):
    """True if the kernel's table is not the ruleset (missing, flushed, or other chains or rules)."""
    listed = nft.list_table(FAMILY, TABLE)
    return listed is None or summarise(listed) != ruleset.summary()


def apply(nft, ruleset):
    """Replace the table with `ruleset`."""
    nft.run(ruleset.commands())


def remove(nft):
    """Remove the table; True if there was one."""
    if nft.list_table(FAMILY, TABLE) is None:
        return False
    nft.run([{'delete': {'table': {'family': FAMILY, 'name': TABLE}}}])
    return True
