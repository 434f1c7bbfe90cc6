# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attach a container's network namespace to networks, publish its ports; detach it again.

    attach(store, name, netns, networks, ports, dns...)  converge: the container ends up on exactly
                                  these networks with these ports, whatever it had before
                                  (re-attach: no recreate); its addresses are kept across runs
    detach(store, name)           leaves nothing: no veth, address, IPAM entry, rule, hosts line

Each network gives the namespace one veth pair: `rv<hash>` on the host, in
the network's bridge, and `ethN` made directly in the container's namespace
(the first network is eth0). Addresses come from the network's IPAM; the
default routes go through the first non-internal network's gateways.
Published ports are DNAT'd to the container's address on its first
non-internal network. Everything runs under the store's lock.
"""

import hashlib
import ipaddress
import os
import random
import re

from ..runtime.errors import ConfigError
from . import dns, ipam, netlink, netns as namespaces, networks as nets
from .nft import Nft
from .ports import from_dict, overlaps, parse_ports, render, to_dict
from .store import check_container_name, check_network_name

EPHEMERAL = (32768, 60999)
# What results say about a container on a network.
ENDPOINT_KEYS = ('interface', 'ipv4_address', 'ipv6_address', 'mac_address', 'aliases')
MAC = re.compile(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$')


def host_veth(container, network):
    """The host-side name of a container's veth on a network (stable, so it is found without records)."""
    return 'rv' + hashlib.sha256(('%s\0%s' % (container, network)).encode('utf-8')).hexdigest()[:11]


def _text_list(value, field):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(field, 'must be a list of non-empty strings')
    return [item.strip() for item in value]


def parse_networks(items, option='networks'):
    """The `networks` option as a list of dicts {name, ipv4_address, ipv6_address, aliases, mac_address}."""
    wanted = []
    for index, item in enumerate(items or ()):
        field = '%s[%d]' % (option, index)
        if isinstance(item, str):
            item = {'name': item}
        if not isinstance(item, dict):
            raise ConfigError(field, 'must be a network name or a dict with name')
        unknown = sorted(set(item) - {'name', 'ipv4_address', 'ipv6_address', 'aliases', 'mac_address'})
        if unknown:
            raise ConfigError(field, 'unknown key(s) %s (known: name, ipv4_address, ipv6_address, aliases, '
                                     'mac_address)' % ', '.join(unknown))
        name = check_network_name(item.get('name'), field + '.name')
        if any(other['name'] == name for other in wanted):
            raise ConfigError(field + '.name', 'network %s is listed twice' % name)
        mac = item.get('mac_address')
        if mac is not None:
            mac = str(mac).strip().lower()
            if not MAC.match(mac) or int(mac[:2], 16) & 1:
                raise ConfigError(field + '.mac_address', '%r is not a unicast MAC address (02:42:ac:11:00:02)'
                                  % item['mac_address'])
        wanted.append({'name': name, 'ipv4_address': item.get('ipv4_address') or None,
                       'ipv6_address': item.get('ipv6_address') or None,
                       'aliases': _text_list(item.get('aliases'), field + '.aliases'), 'mac_address': mac})
    return wanted


class Attachment:
    """One attach or detach of one container, under the store's lock."""

    def __init__(self, store, name, check_mode=False, nft=None):
        self.store = store
        self.name = check_container_name(name)
        self.check_mode = check_mode
        self.nft = nft
        self.actions = []
        self.records = store.networks()
        self.endpoints = {network: store.endpoints(network) for network in self.records}
        self.before = store.container(name)

    def _firewall(self):
        if self.nft is None:
            self.nft = Nft()
        self.actions.extend(nets.sync_firewall(self.store, self.nft, self.check_mode))

    # -- validation -------------------------------------------------------

    def _addresses(self, network, request, index):
        """The endpoint's addresses on `network`: the requested static ones, the kept ones, or new ones."""
        record = self.records[network]
        subnets = nets.subnets_of(record)
        current = self.endpoints[network].get(self.name) or {}
        taken_by = {}
        for other, endpoint in self.endpoints[network].items():
            if other != self.name:
                for address in (endpoint.get('ipv4_address'), endpoint.get('ipv6_address')):
                    if address:
                        taken_by[ipaddress.ip_address(address)] = other
        chosen = {}
        for version, key in ((4, 'ipv4_address'), (6, 'ipv6_address')):
            field = 'networks[%d].%s' % (index, key)
            if request.get(key):
                subnet, address = ipam.check_static(request[key], subnets, taken_by, field)
                if address.version != version:
                    raise ConfigError(field, '%s is not an IPv%d address' % (address, version))
                chosen[version] = (subnet, address)
                continue
            family = [subnet for subnet in subnets if subnet.network.version == version]
            if not family:
                continue
            kept = current.get(key)
            if kept and not current.get('static_' + key):
                kept = ipaddress.ip_address(kept)
                subnet = next((s for s in family if kept in s.network), None)
                if subnet is not None and kept not in taken_by:
                    chosen[version] = (subnet, kept)
                    continue
            for subnet in family:
                address = ipam.allocate(subnet, taken_by)
                if address is not None:
                    chosen[version] = (subnet, address)
                    break
            else:
                raise ConfigError('networks[%d].name' % index, 'network %s has no free IPv%d address left'
                                  % (network, version))
        return chosen

    def _host_ports(self, ports, port_network):
        """The Ports with host ports chosen for `80`-style mappings (kept from the last run when still free)."""
        others = []
        for other, record in self.store.containers().items():
            if other != self.name:
                others.extend((other, from_dict(port)) for port in record.get('ports') or ())
        for index, port in enumerate(ports):
            if port.host_port is None:
                continue
            for other, published in others:
                if overlaps(port, published):
                    raise ConfigError('ports[%d]' % index, '%s: the host port is already published by container %s '
                                      '(%s)' % (render(port), other, render(published)))
        chosen = dict((record['requested'], from_dict(record))
                      for record in (self.before or {}).get('ports') or () if record.get('requested'))
        resolved = []
        used = [published for name, published in others]
        for port in ports:
            if port.host_port is None:
                kept = chosen.get(render(port))
                if kept is None or any(overlaps(kept, other) for other in used):
                    kept = _random_port(port, used)
                port = kept
            used.append(port)
            resolved.append(port)
        if resolved and port_network is None:
            raise ConfigError('ports', 'published ports need a network that is not internal; the container is on '
                                       'none')
        return resolved

    # -- attach -----------------------------------------------------------

    def attach(self, netns, networks, ports=(), dns_servers=None, dns_search=None, dns_options=None):
        """Converge the container onto `networks` (parse_networks' dicts) with `ports`; the result."""
        if isinstance(netns, int):
            netns = namespaces.pid_path(netns)
        if not namespaces.exists(netns):
            raise ConfigError('netns', '%s is not a network namespace (a /proc/PID/ns/net of a running process or a '
                                       'persistent namespace file)' % netns)
        for index, request in enumerate(networks):
            if request['name'] not in self.records:
                raise ConfigError('networks[%d].name' % index, 'network %s does not exist: create it with '
                                  'runcible.oci.oci_network' % request['name'])
        wanted_ports = parse_ports(ports)
        for index, port in enumerate(wanted_ports):
            if port.host_ip and ipaddress.ip_address(port.host_ip).version == 6 and \
                    ipaddress.ip_address(port.host_ip).is_loopback:
                raise ConfigError('ports[%d]' % index, '%s: the kernel cannot forward connections to ::1 into a '
                                  'container (IPv6 has no route_localnet); publish on [::] or an address of the host'
                                  % render(port))
        port_network = next((request['name'] for request in networks
                             if not self.records[request['name']]['internal']), None)
        plans = [(request, self._addresses(request['name'], request, index)) for index, request in enumerate(networks)]
        resolved_ports = self._host_ports(wanted_ports, port_network)
        # Validation is over: from here on the host changes.
        wanted_names = [request['name'] for request in networks]
        for network in sorted(set(self.endpoints) - set(wanted_names)):
            if self.name in self.endpoints[network]:
                self._leave(network)
        with netlink.route() as host, netlink.route(netns) as inside:
            taken_ifnames = {self.endpoints[r['name']][self.name]['interface'] for r in networks
                             if self.name in self.endpoints[r['name']]}
            for request, chosen in plans:
                self._join(host, inside, netns, request, chosen, taken_ifnames)
            self._routes(inside, networks)
        record = {'name': self.name, 'netns': netns, 'networks': wanted_names, 'port_network': port_network,
                  'ports': [dict(to_dict(port), requested=render(wanted)) for port, wanted in
                            zip(resolved_ports, wanted_ports)],
                  'dns': {'servers': list(dns_servers or []), 'search': list(dns_search or []),
                          'options': list(dns_options or [])}}
        if record != self.before:
            self.actions.append('record container %s' % self.name)
            if not self.check_mode:
                self.store.save_container(record)
        self._names(record)
        self._firewall()
        return self.result(record)

    def _join(self, host, inside, netns, request, chosen, taken_ifnames):
        network = request['name']
        record = self.records[network]
        current = self.endpoints[network].get(self.name)
        veth = host_veth(self.name, network)
        interface = current['interface'] if current else _free_ifname(taken_ifnames)
        taken_ifnames.add(interface)
        endpoint = {'interface': interface, 'veth': veth, 'aliases': request['aliases'],
                    'mac_address': request['mac_address'], 'netns': netns}
        cidrs = set()
        for version, (subnet, address) in sorted(chosen.items()):
            key = 'ipv%d_address' % version
            endpoint[key] = str(address)
            endpoint['static_' + key] = bool(request.get(key))
            cidrs.add('%s/%d' % (address, subnet.network.prefixlen))
        self.actions.extend(nets.ensure_bridge(host, record, self.check_mode))
        link = host.link(veth)
        moved = current is not None and current.get('netns') != netns
        if link is not None and (moved or inside.index(interface) is None):
            self.actions.append('remove stale veth %s' % veth)
            if not self.check_mode:
                host.delete(veth)
            link = None
        if link is None:
            self.actions.append('create veth %s (%s in the container) on %s' % (veth, interface, network))
            if self.check_mode:
                self._store_endpoint(network, endpoint)
                return
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                host.add_veth(veth, interface, fd, mtu=record['mtu'], peer_mac=request['mac_address'])
            finally:
                os.close(fd)
            link = host.link(veth)
        bridge = host.index(record['bridge'])
        if link['master'] != bridge or not link['up'] or (record['mtu'] and link['mtu'] != record['mtu']):
            self.actions.append('put %s in bridge %s, up' % (veth, record['bridge']))
            if not self.check_mode:
                changes = {'master': bridge, 'state': 'up'}
                if record['mtu']:
                    changes['mtu'] = record['mtu']
                host.set_link(link['index'], **changes)
                link = host.link(veth)
        if not link['hairpin']:
            self.actions.append('set hairpin mode on %s' % veth)
            if not self.check_mode:
                host.set_hairpin(link['index'])
        self._inside(inside, interface, cidrs, record, request)
        self._store_endpoint(network, endpoint)

    def _inside(self, inside, interface, cidrs, record, request):
        lo = inside.link('lo')
        if lo is not None and not lo['up']:
            self.actions.append('bring lo up in the container')
            if not self.check_mode:
                inside.set_link(lo['index'], state='up')
        link = inside.link(interface)
        if link is None:
            if self.check_mode:
                self.actions.extend('add address %s to %s' % (cidr, interface) for cidr in sorted(cidrs))
                return
            raise netlink.NetworkError('interface %s is missing in the container after creating it' % interface)
        changes = {}
        if record['mtu'] and link['mtu'] != record['mtu']:
            changes['mtu'] = record['mtu']
        if request['mac_address'] and link['address'] != request['mac_address']:
            changes['address'] = request['mac_address']
        present = inside.addresses(link['index'])
        for cidr in sorted(present - cidrs):
            self.actions.append('remove address %s from %s' % (cidr, interface))
            if not self.check_mode:
                inside.remove_address(link['index'], cidr)
        for cidr in sorted(cidrs - present):
            self.actions.append('add address %s to %s' % (cidr, interface))
            if not self.check_mode:
                inside.add_address(link['index'], cidr)
        if not link['up']:
            changes['state'] = 'up'
        if changes:
            self.actions.append('set %s on %s' % (', '.join(sorted(changes)), interface))
            if not self.check_mode:
                inside.set_link(link['index'], **changes)

    def _routes(self, inside, networks):
        """Default routes through the gateways of the first network that is not internal."""
        wanted = {}
        for request in networks:
            record = self.records[request['name']]
            if record['internal']:
                continue
            endpoint = self.endpoints[request['name']][self.name]
            for subnet in nets.subnets_of(record):
                key = 'ipv%d_address' % subnet.network.version
                if endpoint.get(key) and ipaddress.ip_address(endpoint[key]) in subnet.network:
                    wanted.setdefault(str(subnet.gateway), endpoint['interface'])
            break
        present = inside.default_gateways() if not (self.check_mode and not wanted) else set()
        for gateway in sorted(present - set(wanted)):
            self.actions.append('remove default route via %s' % gateway)
            if not self.check_mode:
                inside.remove_default_route(gateway)
        for gateway, interface in sorted(wanted.items()):
            if gateway in present:
                continue
            self.actions.append('add default route via %s' % gateway)
            if not self.check_mode:
                inside.add_default_route(gateway, inside.index(interface))

    def _store_endpoint(self, network, endpoint):
        if self.endpoints[network].get(self.name) == endpoint:
            return
        self.endpoints[network][self.name] = endpoint
        self.actions.append('record %s on network %s' % (self.name, network))
        if not self.check_mode:
            self.store.save_endpoints(network, self.endpoints[network])

    def _leave(self, network):
        endpoint = self.endpoints[network].pop(self.name)
        self.actions.append('leave network %s' % network)
        if self.check_mode:
            return
        with netlink.route() as host:
            host.delete(endpoint.get('veth') or host_veth(self.name, network))
        self.store.save_endpoints(network, self.endpoints[network])

    # -- names ------------------------------------------------------------

    def _names(self, record):
        """Rewrite the hosts file of this container and of every container sharing a dns network with it."""
        folder = self.store.container_dir(self.name)
        if self.check_mode:
            return
        os.makedirs(folder, mode=0o755, exist_ok=True)
        conf = dns.resolv_text(record['dns']['servers'], record['dns']['search'], record['dns']['options'])
        if dns.write_in_place(os.path.join(folder, 'resolv.conf'), conf):
            self.actions.append('write resolv.conf')
        refresh_hosts(self.store, self.actions)

    def result(self, record):
        networks = {}
        for name in record['networks']:
            endpoint = self.endpoints[name].get(self.name) or {}
            item = {key: endpoint.get(key) for key in ENDPOINT_KEYS}
            item['gateways'] = [str(subnet.gateway) for subnet in nets.subnets_of(self.records[name])]
            item['bridge'] = self.records[name]['bridge']
            networks[name] = item
        return {'changed': bool(self.actions), 'actions': self.actions, 'netns': record['netns'],
                'networks': networks, 'ports': [_public_port(port) for port in record['ports']],
                'mounts': dns.container_mounts(self.store.container_dir(self.name))}

    # -- detach -----------------------------------------------------------

    def detach(self):
        """Remove the container from every network, its ports and its files; the result."""
        for network in sorted(self.endpoints):
            if self.name in self.endpoints[network]:
                self._leave(network)
        if self.before is not None or os.path.exists(self.store.container_dir(self.name)):
            self.actions.append('forget container %s' % self.name)
            if not self.check_mode:
                self.store.remove_container(self.name)
                refresh_hosts(self.store, self.actions)
        if self.records:
            self._firewall()
        return {'changed': bool(self.actions), 'actions': self.actions}


def _public_port(record):
    return {key: record[key] for key in ('protocol', 'host_ip', 'host_port', 'container_port', 'requested')}


def _random_port(port, used):
    """A host port from the ephemeral range that no other mapping uses (bounded tries, then a scan)."""
    size = port.container_port_end - port.container_port
    low, high = EPHEMERAL
    candidates = [random.randint(low, high - size) for attempt in range(64)] + list(range(low, high - size + 1))
    for start in candidates:
        trial = port._replace(host_port=start, host_port_end=start + size)
        if not any(overlaps(trial, other) for other in used):
            return trial
    raise ConfigError('ports', 'no free host port left in %d-%d for %s' % (low, high, render(port)))


def _free_ifname(taken):
    for number in range(len(taken) + 1):
        name = 'eth%d' % number
        if name not in taken:
            return name
    return 'eth%d' % len(taken)


def refresh_hosts(store, actions):
    """Rewrite every attached container's hosts file from the records (containers sharing a dns network)."""
    records = store.networks()
    endpoints = {name: store.endpoints(name) for name in records}
    for name in store.container_names():
        folder = store.container_dir(name)
        if not os.path.isdir(folder):
            continue
        own, others = [], []
        for network, members in endpoints.items():
            if name not in members:
                continue
            mine = members[name]
            for address in (mine.get('ipv4_address'), mine.get('ipv6_address')):
                if address:
                    own.append((address, [name] + list(mine.get('aliases') or [])))
            if not records[network].get('dns', True):
                continue
            for other, endpoint in members.items():
                if other == name:
                    continue
                for address in (endpoint.get('ipv4_address'), endpoint.get('ipv6_address')):
                    if address:
                        others.append((address, [other] + list(endpoint.get('aliases') or [])))
        if dns.write_in_place(os.path.join(folder, 'hosts'), dns.hosts_text(own, others)):
            actions.append('write hosts of %s' % name)


def attach(store, name, netns, networks, ports=(), dns_servers=None, dns_search=None, dns_options=None,
           check_mode=False, nft=None):
    """Put container `name`'s namespace `netns` (a path or a pid) on `networks` (the module option's list)
    with `ports` published; returns {changed, actions, netns, networks, ports, mounts}."""
    wanted = parse_networks(networks)
    with store.locked():
        return Attachment(store, name, check_mode, nft).attach(netns, wanted, ports, dns_servers, dns_search,
                                                               dns_options)


def detach(store, name, check_mode=False, nft=None):
    """Take container `name` off every network; returns {changed, actions}."""
    with store.locked():
        return Attachment(store, name, check_mode, nft).detach()
