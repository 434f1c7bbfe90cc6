# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one adapter over pyroute2 (netlink): links, addresses and routes, here or in a network namespace.

It works with Debian 12's python3-pyroute2 0.7.2 and with PyPI's 0.9.x
(asyncio core). A namespace is reached by a netlink socket this thread
opens while it is in the namespace (setns there and back), handed to
pyroute2 as `fileno`: both generations take that, and it costs a fraction
of a millisecond, where 0.7's NetNS proxy and 0.9's IPRoute(netns=) fork a
process per handle (about 40 ms each, docs/networking.md). Sockets check
dump requests strictly (NETLINK_GET_STRICT_CHK), so the kernel itself
returns only the addresses of the one interface asked for, not those of
every veth on the host. Only calls both versions share are used: link(),
addr(), route(), brport(), get_links(), get_routes() and get_attr() on the
messages; link lookups are one RTM_GETLINK by name, remembered per handle
until the handle changes something. Without pyroute2, MissingLibrary names
the package to install.
"""

import contextlib
import errno
import ipaddress
import os
import socket

from ..runtime import errors
from ..runtime.linux import consts, syscalls

IFA_F_NODAD = 0x02
PACKAGES = 'pyroute2 (Debian/Ubuntu: apt-get install python3-pyroute2; or pip install pyroute2)'


class NetworkError(errors.SetupError):
    """A link, address or route could not be made or removed."""


class MissingLibrary(NetworkError):
    """pyroute2 cannot be imported on this host."""

    library = 'pyroute2'

    def __init__(self, exc):
        super().__init__('networking needs the Python library %s: %s' % (PACKAGES, exc))
        self.exception = exc


def _pyroute2():
    try:
        import pyroute2  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise MissingLibrary(exc)
    return pyroute2


def _dump_filter_key(pyroute2):
    """The keyword that passes a message filter to a dump while the other keywords fill the request:
    `dump_filter` on pyroute2 0.9 and newer (whose IPRoute takes netns=), `match` on 0.7."""
    import inspect  # pylint: disable=import-outside-toplevel
    try:
        new = 'netns' in inspect.signature(pyroute2.IPRoute.__init__).parameters
    except (TypeError, ValueError):
        new = False
    return 'dump_filter' if new else 'match'


def netlink_socket_in(path):
    """A NETLINK_ROUTE socket of the network namespace file `path` (never created here): its fd.

    The socket is made while this thread is in that namespace; the thread
    then returns to its own (it holds an fd of it, so the return cannot
    fail short of the kernel taking CAP_SYS_ADMIN away meanwhile; if it
    does, the error says so and the caller must stop)."""
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetworkError('cannot open the network namespace %s: %s' % (path, errors.describe(exc)))
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            syscalls.setns(target, consts.CLONE_NEWNET)
        except OSError as exc:
            raise NetworkError('cannot enter the network namespace %s: %s' % (path, errors.describe(exc)))
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
        finally:
            try:
                syscalls.setns(own, consts.CLONE_NEWNET)
            except OSError as exc:
                raise NetworkError('cannot return to our own network namespace after opening %s: %s'
                                   % (path, errors.describe(exc)))
    finally:
        os.close(own)
        os.close(target)
    return sock.detach()


@contextlib.contextmanager
def route(netns=None):
    """A Links handle on this network namespace, or on the namespace file `netns` (never created here)."""
    pyroute2 = _pyroute2()
    fileno = netlink_socket_in(netns) if netns is not None else None
    try:
        handle = pyroute2.IPRoute(fileno=fileno, strict_check=True)
    except (OSError, pyroute2.NetlinkError) as exc:
        raise NetworkError('cannot open netlink%s: %s' % (' in %s' % netns if netns else '', errors.describe(exc)))
    try:
        yield Links(handle, pyroute2.NetlinkError, netns, _dump_filter_key(pyroute2))
    finally:
        handle.close()


def _family(address):
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def _describe_link(message):
    kind = hairpin = None
    info = message.get_attr('IFLA_LINKINFO')
    if info is not None:
        kind = info.get_attr('IFLA_INFO_KIND')
        port = info.get_attr('IFLA_INFO_SLAVE_DATA')
        if port is not None and info.get_attr('IFLA_INFO_SLAVE_KIND') == 'bridge':
            hairpin = bool(port.get_attr('IFLA_BRPORT_MODE'))
    return {'index': message['index'], 'name': message.get_attr('IFLA_IFNAME'), 'kind': kind,
            'master': message.get_attr('IFLA_MASTER'), 'mtu': message.get_attr('IFLA_MTU'),
            'up': bool(message['flags'] & 1), 'address': message.get_attr('IFLA_ADDRESS'), 'hairpin': hairpin}


class Links:
    """Links, addresses and routes of one network namespace."""

    def __init__(self, handle, netlink_error, netns, dump_filter_key='match'):
        self.ipr = handle
        self.netlink_error = netlink_error
        self.where = ' in %s' % netns if netns else ''
        self.dump_filter_key = dump_filter_key
        self.known = {}

    def _call(self, what, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except self.netlink_error as exc:
            raise NetworkError('%s%s: %s' % (what, self.where, errors.describe(OSError(exc.code, str(exc)))))

    def _change(self, what, method, *args, **kwargs):
        """A call that changes links: what was looked up before may be stale."""
        self.forget()
        return self._call(what, method, *args, **kwargs)

    def forget(self):
        """Look links up again from now on (another handle, or the kernel, changed them)."""
        self.known.clear()

    def index(self, name):
        """The interface index of `name`, or None."""
        found = self.link(name)
        return found['index'] if found else None

    def link(self, name):
        """{index, name, kind, master, mtu, up, address, hairpin} of link `name`, or None."""
        if name not in self.known:
            try:
                messages = self.ipr.link('get', ifname=name)
            except self.netlink_error as exc:
                if exc.code != errno.ENODEV:
                    why = errors.describe(OSError(exc.code, str(exc)))
                    raise NetworkError('read link %s%s: %s' % (name, self.where, why))
                messages = ()
            self.known[name] = _describe_link(messages[0]) if messages else None
        return self.known[name]

    def names(self):
        return [message.get_attr('IFLA_IFNAME') for message in self._call('list links', self.ipr.get_links)]

    def addresses(self, index):
        """{'10.90.0.1/24', 'fd00::1/64'} on interface `index` (link-local IPv6 left out).

        The index in the request lets a strict-checking kernel (4.20 and newer)
        return this interface's addresses only; the filter keeps older kernels right."""
        found = set()
        wanted = {'index': index, self.dump_filter_key: lambda message: message['index'] == index}
        for message in self._call('list addresses', self.ipr.addr, 'dump', **wanted):
            address = message.get_attr('IFA_ADDRESS')
            if message['index'] == index and address and not address.startswith('fe80:'):
                found.add('%s/%d' % (address, message['prefixlen']))
        return found

    def add_bridge(self, name, mtu=None):
        kwargs = {'mtu': mtu} if mtu else {}
        self._change('create bridge %s' % name, self.ipr.link, 'add', ifname=name, kind='bridge', **kwargs)
        return self.index(name)

    def add_veth(self, host_name, peer_name, peer_netns_fd, mtu=None, peer_mac=None):
        """A veth pair: `host_name` here, `peer_name` made directly in the namespace of `peer_netns_fd`."""
        peer = {'ifname': peer_name, 'net_ns_fd': peer_netns_fd}
        if mtu:
            peer['mtu'] = mtu
        if peer_mac:
            peer['address'] = peer_mac
        kwargs = {'mtu': mtu} if mtu else {}
        self._change('create veth %s' % host_name, self.ipr.link, 'add', ifname=host_name, kind='veth', peer=peer,
                     **kwargs)

    def set_link(self, index, **changes):
        """Set `state` ('up'), `mtu`, `master` (an index) on a link."""
        self._change('set link %d' % index, self.ipr.link, 'set', index=index, **changes)

    def set_hairpin(self, index):
        """Let the bridge send a frame back out of the port it came in on: with br_netfilter loaded, a
        container's connection to its own published port is DNAT'd on the bridge and must return there."""
        self._change('set hairpin mode on link %d' % index, self.ipr.brport, 'set', index=index, mode=1)

    def delete(self, name):
        """Remove link `name`; True if it existed."""
        index = self.index(name)
        if index is None:
            return False
        self.forget()
        try:
            self.ipr.link('del', index=index)
        except self.netlink_error as exc:
            if exc.code != errno.ENODEV:
                raise NetworkError('remove link %s%s: %s' % (name, self.where, exc))
        return True

    def add_address(self, index, cidr):
        address, prefix = cidr.split('/')
        # No duplicate address detection: the address is ours by IPAM, and DAD would keep an IPv6
        # address "tentative" (unusable) for a second or more after the container starts.
        try:
            self.ipr.addr('add', index=index, address=address, prefixlen=int(prefix), flags=IFA_F_NODAD,
                          family=_family(address))
        except self.netlink_error as exc:
            if exc.code != errno.EEXIST:
                raise NetworkError('add address %s%s: %s' % (cidr, self.where, exc))

    def remove_address(self, index, cidr):
        address, prefix = cidr.split('/')
        self._call('remove address %s' % cidr, self.ipr.addr, 'del', index=index, address=address,
                   prefixlen=int(prefix), family=_family(address))

    def default_gateways(self):
        """{'10.90.0.1', 'fd00::1'}: the gateways of this namespace's default routes (one dump of both families)."""
        found = set()
        for message in self._call('list routes', self.ipr.get_routes, family=socket.AF_UNSPEC):
            if message['dst_len'] == 0 and message.get_attr('RTA_GATEWAY') and message['table'] == 254:
                found.add(message.get_attr('RTA_GATEWAY'))
        return found

    def host_networks(self):
        """The IPv4 networks this namespace already reaches (routes other than default ones, in any table, and
        the subnets of its addresses): a subnet the module picks by itself must overlap none of them."""
        found = set()
        for message in self._call('list routes', self.ipr.get_routes, family=socket.AF_INET):
            dst = message.get_attr('RTA_DST')
            if dst and message['dst_len'] > 0:
                found.add(ipaddress.ip_network('%s/%d' % (dst, message['dst_len']), strict=False))
        for message in self._call('list addresses', self.ipr.get_addr, family=socket.AF_INET):
            address = message.get_attr('IFA_ADDRESS')
            if address:
                found.add(ipaddress.ip_network('%s/%d' % (address, message['prefixlen']), strict=False))
        return found

    def add_default_route(self, gateway, index):
        family = _family(gateway)
        try:
            self.ipr.route('add', dst='::/0' if family == socket.AF_INET6 else '0.0.0.0/0', gateway=gateway,
                           oif=index, family=family)
        except self.netlink_error as exc:
            if exc.code != errno.EEXIST:
                raise NetworkError('add default route via %s%s: %s' % (gateway, self.where, exc))

    def remove_default_route(self, gateway):
        family = _family(gateway)
        try:
            self.ipr.route('del', dst='::/0' if family == socket.AF_INET6 else '0.0.0.0/0', gateway=gateway,
                           family=family)
        except self.netlink_error as exc:
            if exc.code not in (errno.ESRCH, errno.ENOENT):
                raise NetworkError('remove default route via %s%s: %s' % (gateway, self.where, exc))


def write_sysctl(parts, value):
    """Write /proc/sys/<parts> (of this network namespace) if it differs; True if it changed.

    `parts` is a tuple ('net', 'ipv4', 'conf', 'rc-web', 'route_localnet'): an interface name may hold dots."""
    path = '/proc/sys/' + '/'.join(parts)
    name = '.'.join(parts)
    try:
        with open(path) as handle:
            if handle.read().strip() == str(value):
                return False
        with open(path, 'w') as handle:
            handle.write(str(value))
    except OSError as exc:
        raise NetworkError('cannot set sysctl %s=%s: %s' % (name, value, errors.describe(exc)))
    return True
