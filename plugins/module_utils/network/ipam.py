# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP address management: a network's subnets, and which address each container has in them.

Pure logic; store.py keeps the allocations on disk under a lock. An address
is allocated lowest-first inside the subnet's ip_range (or the whole subnet),
never the network address, the IPv4 broadcast address or the gateway, so a
released address is the first one handed out again.
"""

import collections
import hashlib
import ipaddress

from ..runtime.errors import ConfigError

Subnet = collections.namedtuple('Subnet', 'network gateway ip_range')

# Where subnets are taken from when a network names none: /24s of 10.90.0.0/15 (podman uses 10.89/16,
# docker 172.17/16 and up), and an IPv6 unique local /64 derived from the network's name.
DEFAULT_POOL = ipaddress.ip_network('10.90.0.0/15')
DEFAULT_PREFIX = 24


def _network(text, field):
    text = str(text).strip()
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ConfigError(field, '%r is not a subnet in CIDR notation (10.90.1.0/24, fd00:1::/64)' % text)
    raise ConfigError(field, '%s has host bits set: the subnet is %s' % (text, loose))


def _min_size(network, field):
    usable = network.num_addresses - (2 if network.version == 4 else 1)
    if usable < 2:
        raise ConfigError(field, 'subnet %s is too small: it needs room for a gateway and a container '
                                 '(at most /30 for IPv4, /126 for IPv6)' % network)


def parse_subnet(item, field):
    """One {subnet, gateway, ip_range} dict as a Subnet; the gateway defaults to the first host address."""
    if not isinstance(item, dict) or not item.get('subnet'):
        raise ConfigError(field, 'each subnet is a dict with at least subnet: (10.90.1.0/24), not %r' % (item,))
    unknown = sorted(set(item) - {'subnet', 'gateway', 'ip_range'})
    if unknown:
        raise ConfigError(field, 'unknown key(s) %s (known: subnet, gateway, ip_range)' % ', '.join(unknown))
    network = _network(item['subnet'], field + '.subnet')
    _min_size(network, field + '.subnet')
    if item.get('gateway'):
        try:
            gateway = ipaddress.ip_address(str(item['gateway']).strip())
        except ValueError:
            raise ConfigError(field + '.gateway', '%r is not an IP address' % (item['gateway'],))
        if gateway not in network or gateway in reserved(network):
            raise ConfigError(field + '.gateway', '%s is not a host address of subnet %s' % (gateway, network))
    else:
        gateway = network.network_address + 1
    ip_range = None
    if item.get('ip_range'):
        ip_range = _network(item['ip_range'], field + '.ip_range')
        if ip_range.version != network.version or not ip_range.subnet_of(network):
            raise ConfigError(field + '.ip_range', '%s is not inside subnet %s' % (ip_range, network))
    return Subnet(network, gateway, ip_range)


def reserved(network):
    """Addresses of `network` never given to a container: the network address and the IPv4 broadcast."""
    if network.version == 4 and network.prefixlen < 31:
        return {network.network_address, network.broadcast_address}
    return {network.network_address}


def default_ipv6(name):
    """A unique local /64 derived from the network's name (stable across runs and hosts)."""
    digest = hashlib.sha256(name.encode('utf-8')).digest()
    return ipaddress.ip_network('fd%s:%s:%s::/64' % (digest[:1].hex(), digest[1:3].hex(), digest[3:5].hex()))


def default_ipv4(taken, host_networks=()):
    """The first /24 of DEFAULT_POOL that overlaps no network in `taken` (other networks' subnets) nor in
    `host_networks` (what the host already reaches: its routes and addresses); ConfigError when none is left."""
    avoid = [other for other in list(taken) + list(host_networks) if other.version == 4]
    for candidate in DEFAULT_POOL.subnets(new_prefix=DEFAULT_PREFIX):
        if not any(candidate.overlaps(other) for other in avoid):
            return candidate
    raise ConfigError('subnets', 'every /24 of the default pool %s is used by another network or overlaps a route '
                                 'or address of this host: give subnets explicitly' % DEFAULT_POOL)


def plan_subnets(items, ipv6, name, taken, field='subnets', host_networks=()):
    """The Subnets of a network: parsed, checked for overlaps with each other and with `taken` (other
    networks' subnets, a list of (network name, ip_network)); defaults filled in, the IPv4 one clear of
    `host_networks` as well (a subnet given explicitly is the user's choice and may overlap the host's routes)."""
    subnets = [parse_subnet(item, '%s[%d]' % (field, index)) for index, item in enumerate(items or ())]
    for index, subnet in enumerate(subnets):
        for earlier in subnets[:index]:
            if subnet.network.overlaps(earlier.network):
                raise ConfigError('%s[%d].subnet' % (field, index), '%s overlaps %s, given earlier in the list'
                                  % (subnet.network, earlier.network))
        for other_name, other in taken:
            if subnet.network.overlaps(other):
                raise ConfigError('%s[%d].subnet' % (field, index), '%s overlaps subnet %s of network %s'
                                  % (subnet.network, other, other_name))
        if subnet.network.version == 6 and not ipv6:
            raise ConfigError('%s[%d].subnet' % (field, index), '%s is an IPv6 subnet: set ipv6: true'
                              % subnet.network)
    if not any(subnet.network.version == 4 for subnet in subnets):
        network = default_ipv4([other for other_name, other in taken], host_networks)
        subnets.insert(0, Subnet(network, network.network_address + 1, None))
    if ipv6 and not any(subnet.network.version == 6 for subnet in subnets):
        network = default_ipv6(name)
        for other_name, other in taken:
            if network.overlaps(other):
                raise ConfigError(field, 'the IPv6 subnet derived from the name, %s, overlaps network %s: give an '
                                         'IPv6 subnet explicitly' % (network, other_name))
        subnets.append(Subnet(network, network.network_address + 1, None))
    return subnets


def subnet_to_dict(subnet):
    return {'subnet': str(subnet.network), 'gateway': str(subnet.gateway),
            'ip_range': str(subnet.ip_range) if subnet.ip_range else None}


def subnet_from_dict(record):
    network = ipaddress.ip_network(record['subnet'])
    return Subnet(network, ipaddress.ip_address(record['gateway']),
                  ipaddress.ip_network(record['ip_range']) if record.get('ip_range') else None)


def allocate(subnet, taken):
    """The lowest free address of the subnet's ip_range (or the subnet); None when it is full."""
    pool = subnet.ip_range or subnet.network
    skip = reserved(subnet.network) | {subnet.gateway} | set(taken)
    # Bounded: at most len(skip) addresses can be skipped before a free one.
    first = int(pool.network_address)
    last = int(pool.broadcast_address)
    for offset in range(len(skip) + 1):
        if first + offset > last:
            return None
        candidate = ipaddress.ip_address(first + offset)
        if candidate not in skip:
            return candidate
    return None


def check_static(address, subnets, taken_by, field):
    """The subnet a requested static address belongs to; ConfigError when it is outside or taken.

    `taken_by` maps addresses in use to the container that holds them."""
    try:
        wanted = ipaddress.ip_address(str(address).strip())
    except ValueError:
        raise ConfigError(field, '%r is not an IP address' % (address,))
    for subnet in subnets:
        if wanted in subnet.network:
            if wanted in reserved(subnet.network) or wanted == subnet.gateway:
                raise ConfigError(field, '%s is the network, broadcast or gateway address of %s'
                                  % (wanted, subnet.network))
            holder = taken_by.get(wanted)
            if holder is not None:
                raise ConfigError(field, '%s is already taken by container %s' % (wanted, holder))
            return subnet, wanted
    raise ConfigError(field, '%s is outside the subnets of the network (%s)'
                      % (wanted, ', '.join(str(subnet.network) for subnet in subnets)))
