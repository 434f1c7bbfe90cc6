# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks: the wanted record from a module's parameters, and the host's side of it (bridge, sysctls, firewall).

Every function that changes something takes `check_mode` and returns the
actions it took (or would take), so the converge layer reports `changed`
from the same steps that do the work.
"""

import hashlib
import ipaddress
import json
import re

from ..runtime.errors import ConfigError
from . import firewall, ipam, netlink
from .netlink import NetworkError
from .nft import ruleset_generation
from .ports import from_dict
from .store import check_network_name

IFNAMSIZ = 15
IFNAME = re.compile(r'^[A-Za-z0-9_.-]+$')
DRIVERS = ('bridge',)


def default_bridge(name):
    """`rc-<name>` when it fits the kernel's 15 characters, else `rc-` and a hash of the name."""
    candidate = 'rc-' + name
    if len(candidate) <= IFNAMSIZ and IFNAME.match(candidate):
        return candidate
    return 'rc-' + hashlib.sha256(name.encode('utf-8')).hexdigest()[:IFNAMSIZ - 3]


def check_ifname(name, field):
    if not name or len(name) > IFNAMSIZ or not IFNAME.match(name) or name in ('.', '..'):
        raise ConfigError(field, 'interface name %r is not valid: at most %d characters of letters, digits and _.-'
                          % (name, IFNAMSIZ))
    return name


def subnets_of(record):
    return [ipam.subnet_from_dict(item) for item in record['subnets']]


def plan(params, others, host_networks=()):
    """The network record `params` ask for. `others` is {name: record} of the other networks (overlaps, bridges);
    `host_networks` the host's routed networks, which a default subnet must not overlap."""
    name = check_network_name(params['name'])
    driver = params.get('driver') or 'bridge'
    if driver not in DRIVERS:
        raise ConfigError('driver', 'driver %r is not supported (only bridge)' % driver)
    bridge = check_ifname(params.get('bridge_name') or default_bridge(name), 'bridge_name')
    for other in others.values():
        if other['bridge'] == bridge:
            raise ConfigError('bridge_name', 'bridge %s is already used by network %s' % (bridge, other['name']))
    mtu = params.get('mtu')
    if mtu is not None and not 68 <= mtu <= 65535:
        raise ConfigError('mtu', 'must be between 68 and 65535, not %s' % mtu)
    taken = [(other['name'], ipaddress.ip_network(subnet['subnet']))
             for other in others.values() for subnet in other['subnets']]
    ipv6 = bool(params.get('ipv6'))
    subnets = ipam.plan_subnets(params.get('subnets'), ipv6, name, taken, host_networks=host_networks)
    if ipv6 and mtu is not None and mtu < 1280:
        raise ConfigError('mtu', 'IPv6 needs an MTU of at least 1280')
    return {'name': name, 'driver': driver, 'bridge': bridge, 'subnets': [ipam.subnet_to_dict(s) for s in subnets],
            'ipv6': ipv6, 'internal': bool(params.get('internal')), 'mtu': mtu,
            'dns': params.get('dns', True) is not False}


def gateway_cidrs(record):
    """The bridge's addresses: each subnet's gateway with the subnet's prefix."""
    return {'%s/%d' % (item['gateway'], ipaddress.ip_network(item['subnet']).prefixlen) for item in record['subnets']}


def sysctls(record):
    """The sysctls the network needs, as (path parts, value)."""
    wanted = [(('net', 'ipv4', 'conf', record['bridge'], 'route_localnet'), '1')]
    if not record['internal']:
        wanted.append((('net', 'ipv4', 'ip_forward'), '1'))
        if record['ipv6']:
            wanted.append((('net', 'ipv6', 'conf', 'all', 'forwarding'), '1'))
    return wanted


def _sysctl_differs(parts):
    try:
        with open('/proc/sys/' + '/'.join(parts)) as handle:
            return handle.read().strip() != '1'
    except OSError:
        return True


def ensure_bridge(links, record, check_mode):
    """Make the bridge of `record` exist, up, with its MTU, gateway addresses and sysctls; the actions."""
    actions = []
    bridge = record['bridge']
    found = links.link(bridge)
    if found is not None and found['kind'] != 'bridge':
        raise ConfigError('bridge_name', 'interface %s exists and is not a bridge (it is %s): choose another '
                                         'bridge_name' % (bridge, found['kind'] or 'a device'))
    if found is None:
        actions.append('create bridge %s' % bridge)
        if check_mode:
            return actions + ['add address %s' % cidr for cidr in sorted(gateway_cidrs(record))]
        links.add_bridge(bridge, record['mtu'])
        found = links.link(bridge)
    if record['mtu'] and found['mtu'] != record['mtu']:
        actions.append('set mtu %d on %s' % (record['mtu'], bridge))
        if not check_mode:
            links.set_link(found['index'], mtu=record['mtu'])
    present = links.addresses(found['index'])
    wanted = gateway_cidrs(record)
    for cidr in sorted(wanted - present):
        actions.append('add address %s' % cidr)
        if not check_mode:
            links.add_address(found['index'], cidr)
    for cidr in sorted(present - wanted):
        actions.append('remove address %s' % cidr)
        if not check_mode:
            links.remove_address(found['index'], cidr)
    if not found['up']:
        actions.append('bring %s up' % bridge)
        if not check_mode:
            links.set_link(found['index'], state='up')
    for parts, value in sysctls(record):
        if _sysctl_differs(parts):
            actions.append('sysctl %s=%s' % ('.'.join(parts), value))
            if not check_mode:
                netlink.write_sysctl(parts, value)
    return actions


def remove_bridge(links, record, check_mode):
    if links.index(record['bridge']) is None:
        return []
    if not check_mode:
        links.delete(record['bridge'])
    return ['remove bridge %s' % record['bridge']]


def read_records(store):
    """(networks, endpoints per network, containers): every record the firewall is made from."""
    records = store.networks()
    return records, {name: store.endpoints(name) for name in records}, store.containers()


def ruleset(store, records=None, endpoints=None, containers=None):
    """The firewall Ruleset every record of `store` asks for (records, endpoints and containers are the
    store's when the caller has read them already); and whether there is any network."""
    if records is None:
        records, endpoints, containers = read_records(store)
    networks = [{'name': name, 'bridge': record['bridge'], 'subnets': subnets_of(record),
                 'internal': record['internal']} for name, record in sorted(records.items())]
    publications = []
    for name, container in sorted(containers.items()):
        network = container.get('port_network')
        if not container.get('ports') or network not in records:
            continue
        endpoint = endpoints[network].get(name)
        if endpoint is None:
            continue
        addresses = {ipaddress.ip_address(address).version: address
                     for address in (endpoint.get('ipv4_address'), endpoint.get('ipv6_address')) if address}
        publications.append({'container': name, 'subnets': subnets_of(records[network]), 'addresses': addresses,
                             'ports': [from_dict(port) for port in container['ports']]})
    return firewall.build(networks, publications), bool(records)


def sync_firewall(store, nft, check_mode, records=None, endpoints=None, containers=None):
    """Make the kernel's `inet runcible` table what the records ask for (none without networks); the actions.

    The store remembers the table it last saw in the kernel, the records it
    was made from and the ruleset generation it was seen at. The generation
    goes up with every change anyone commits (a flush, an `nftables.service`
    reload, a hand edit, iptables-nft), so while the kernel reports the same
    one nothing touched the table: with the same records there is nothing to
    do, with other records the remembered table is what to mend. Otherwise
    the table is listed and compared. A difference is mended in one
    transaction (firewall.mend_commands, or the whole table replaced).
    """
    if records is None:
        records, endpoints, containers = read_records(store)
    if not records:
        if check_mode:
            return ['remove nftables table inet runcible'] if nft.list_table(firewall.FAMILY, firewall.TABLE) else []
        store.forget_firewall()
        return ['remove nftables table inet runcible'] if firewall.remove(nft) else []
    generation = ruleset_generation()
    inputs = hashlib.sha256(json.dumps([records, endpoints, containers], sort_keys=True).encode('utf-8')).hexdigest()
    seen = store.firewall_seen(generation)
    if seen is not None and seen.get('inputs') == inputs:
        return []
    rules, unused = ruleset(store, records, endpoints, containers)
    wanted = rules.summary()
    kernel = seen.get('summary') if seen is not None else None
    if kernel is None:
        listed = nft.list_table(firewall.FAMILY, firewall.TABLE)
        kernel = firewall.summarise(listed) if listed is not None else None
        if ruleset_generation() != generation:
            generation = None
    if kernel == wanted:
        if generation is not None and not check_mode:
            store.remember_firewall(generation, {'inputs': inputs, 'summary': wanted})
        return []
    if check_mode:
        return ['write nftables table inet runcible']
    commands = firewall.mend_commands(kernel, rules, wanted) if kernel is not None else None
    before = ruleset_generation()
    try:
        nft.run(commands or rules.commands())
    except NetworkError:
        if commands is None:
            raise
        # The table changed under us since it was listed: replace it whole.
        before = None
        nft.run(rules.commands())
    if generation is not None and before == generation:
        # The commit raised the generation by one. The kernel reports before + 1 only as long as no other
        # commit came after `before` (each raises it), and then the table is `wanted`. (Not read back:
        # the first GETGEN after a commit waits about 10 ms.) If the table changed between being seen and
        # `before`, nothing is remembered: the next converge lists it and mends what this one could not know.
        store.remember_firewall(before[:2] + (before[2] + 1,), {'inputs': inputs, 'summary': wanted})
    else:
        store.forget_firewall()
    return ['write nftables table inet runcible']
