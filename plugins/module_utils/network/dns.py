# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names: each container's /etc/hosts and /etc/resolv.conf, kept in its folder of the network store.

/etc/hosts lists the container itself and every container that shares a
network with it (whose network has `dns: true`), with their aliases; it is
rewritten for every container of a network when one joins or leaves. The
files are bind-mounted into the container (container_mounts()), so they are
rewritten in place (same inode): a file renamed over them would leave the
container looking at the old one. A read-only rootfs does not matter, the
mount covers the image's file.

/etc/resolv.conf comes from `dns`, `dns_search`, `dns_options`, or from the
host's, without the 127.x and ::1 name servers a container cannot reach
(systemd-resolved's stub: then its upstream list in
/run/systemd/resolve/resolv.conf is used, as docker and podman do), and
docker's public fallback when none is left.
"""

import ipaddress
import os

HOST_RESOLV_CONF = '/etc/resolv.conf'
RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf'
FALLBACK_SERVERS = ('8.8.8.8', '8.8.4.4')
HEADER = '# Managed by runcible.oci: rewritten when containers join or leave its networks.\n'


def hosts_text(own, others):
    """The hosts file: `own` and `others` are lists of (address, [names])."""
    lines = [HEADER, '127.0.0.1\tlocalhost\n', '::1\tlocalhost ip6-localhost ip6-loopback\n']
    seen = set()
    for address, names in list(own) + sorted(others):
        names = [name for name in names if name]
        if (address, tuple(names)) in seen or not names:
            continue
        seen.add((address, tuple(names)))
        lines.append('%s\t%s\n' % (address, ' '.join(names)))
    return ''.join(lines)


def _parse_resolv(text):
    servers, search, options = [], [], []
    for line in text.splitlines():
        words = line.split('#', 1)[0].split(';', 1)[0].split()
        if not words:
            continue
        if words[0] == 'nameserver' and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ('search', 'domain'):
            search = words[1:]
        elif words[0] == 'options':
            options.extend(words[1:])
    return servers, search, options


def _reachable(server):
    try:
        return not ipaddress.ip_address(server.split('%')[0]).is_loopback
    except ValueError:
        return False


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ''


def resolv_text(dns=None, dns_search=None, dns_options=None, host_file=HOST_RESOLV_CONF, upstream=RESOLVED_UPSTREAM):
    """The container's resolv.conf: the options given, the rest from the host's file."""
    servers, search, options = _parse_resolv(_read(host_file))
    if servers and not any(_reachable(server) for server in servers):
        upstream_servers, upstream_search, upstream_options = _parse_resolv(_read(upstream))
        servers = upstream_servers or servers
        search = search or upstream_search
        options = options or upstream_options
    servers = [server for server in servers if _reachable(server)] or list(FALLBACK_SERVERS)
    if dns:
        servers = list(dns)
    if dns_search:
        search = list(dns_search)
    if dns_options:
        options = list(dns_options)
    lines = [HEADER]
    lines.extend('nameserver %s\n' % server for server in servers)
    if search:
        lines.append('search %s\n' % ' '.join(search))
    if options:
        lines.append('options %s\n' % ' '.join(options))
    return ''.join(lines)


def write_in_place(path, text):
    """Make file `path` hold `text`, keeping its inode (a bind mount of it stays valid); True if it changed."""
    data = text.encode('utf-8')
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, 'r+b') as handle:
        if handle.read() == data:
            return False
        handle.seek(0)
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
    return True


def container_mounts(folder):
    """The bind mounts (config.json `mounts` entries) that give a container its hosts and resolv.conf."""
    return [{'destination': '/etc/%s' % name, 'type': 'bind', 'source': os.path.join(folder, name),
             'options': ['rbind', 'rprivate']} for name in ('hosts', 'resolv.conf')]
