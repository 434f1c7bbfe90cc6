# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports: docker's string forms and a dict form, normalised so that equal mappings compare equal.

Strings, as `docker run -p` takes them:

    80                        container port 80 on a host port chosen once and kept (docker's "random")
    8080:80                   host port 8080 on every host address, to container port 80
    0.0.0.0:8080:80           the same mapping (0.0.0.0 and :: mean "every address", as an empty host part)
    127.0.0.1:8080:80/udp     one host address, UDP
    127.0.0.1::80             one host address, host port chosen once and kept
    [::1]:8080:80             an IPv6 host address in brackets
    8000-8010:8000-8010       ranges of the same length (port n to port n)

Dicts: {container_port, host_port, host_ip, protocol}; ports are integers or
"a-b" strings. Every spelling becomes a Port (a namedtuple), whose fields
are plain values, so `set(parse_ports(a)) == set(parse_ports(b))` says
whether two lists publish the same thing.
"""

import collections
import ipaddress

from ..runtime.errors import ConfigError

PROTOCOLS = ('tcp', 'udp')
DICT_KEYS = ('container_port', 'host_port', 'host_ip', 'protocol')

# host_ip '' is every host address; host_port None is "choose one and keep it".
Port = collections.namedtuple('Port', 'protocol host_ip host_port host_port_end container_port container_port_end')


def _error(field, item, why):
    return ConfigError(field, 'invalid port mapping %r: %s' % (item, why))


def _port_range(text, field, item, what):
    """'8000' -> (8000, 8000); '8000-8010' -> (8000, 8010)."""
    if isinstance(text, bool):
        raise _error(field, item, '%s must be a port number or a range a-b' % what)
    if isinstance(text, int):
        start = end = text
    else:
        low, sep, high = str(text).strip().partition('-')
        if not low.isdigit() or (sep and not high.isdigit()):
            raise _error(field, item, '%s %r must be a port number or a range a-b' % (what, text))
        start = int(low)
        end = int(high) if sep else start
    if not 1 <= start <= 65535 or not 1 <= end <= 65535:
        raise _error(field, item, '%s must be between 1 and 65535' % what)
    if end < start:
        raise _error(field, item, 'the %s range %d-%d ends before it starts' % (what, start, end))
    return start, end


def _host_ip(text, field, item):
    text = (text or '').strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    if not text:
        return ''
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _error(field, item, 'host address %r is not an IPv4 or IPv6 address' % text)
    if address.is_unspecified:
        return ''
    return str(address)


def _build(field, item, protocol, host_ip, host, container):
    protocol = (protocol or 'tcp').lower()
    if protocol not in PROTOCOLS:
        raise _error(field, item, 'protocol %r is not one of %s' % (protocol, ', '.join(PROTOCOLS)))
    container_start, container_end = _port_range(container, field, item, 'container port')
    if host in (None, ''):
        if container_end != container_start:
            raise _error(field, item, 'a container port range needs a host port range of the same length')
        return Port(protocol, _host_ip(host_ip, field, item), None, None, container_start, container_end)
    host_start, host_end = _port_range(host, field, item, 'host port')
    if host_end - host_start != container_end - container_start:
        raise _error(field, item, 'the host range %d-%d and the container range %d-%d differ in length'
              % (host_start, host_end, container_start, container_end))
    return Port(protocol, _host_ip(host_ip, field, item), host_start, host_end, container_start, container_end)


def _split_string(text, field):
    """'[::1]:8080:80/udp' -> (host_ip, host, container, protocol)."""
    body, sep, protocol = text.strip().partition('/')
    if sep and not protocol:
        raise _error(field, text, 'nothing after "/": write tcp or udp')
    host_ip = ''
    if body.startswith('['):
        close = body.find(']')
        if close < 0 or body[close + 1:close + 2] != ':':
            raise _error(field, text, 'an IPv6 host address is written [address]:host_port:container_port')
        host_ip, body = body[1:close], body[close + 2:]
        parts = body.split(':')
        if len(parts) != 2:
            raise _error(field, text, 'after [address] come host_port:container_port')
        return host_ip, parts[0], parts[1], protocol
    parts = body.split(':')
    if len(parts) == 1:
        return '', None, parts[0], protocol
    if len(parts) == 2:
        if not parts[0]:
            raise _error(field, text, 'the host port before ":" is empty')
        return '', parts[0], parts[1], protocol
    if len(parts) == 3:
        return parts[0], parts[1] or None, parts[2], protocol
    raise _error(field, text, 'an IPv6 host address must be in brackets: [address]:host_port:container_port')


def parse_port(item, field='ports'):
    """One mapping (a string or a dict) as a Port; ConfigError naming `field` when it is malformed."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(DICT_KEYS))
        if unknown:
            raise _error(field, item, 'unknown key(s) %s (known: %s)' % (', '.join(unknown), ', '.join(DICT_KEYS)))
        if item.get('container_port') in (None, ''):
            raise _error(field, item, 'container_port is required')
        return _build(field, item, item.get('protocol'), item.get('host_ip'), item.get('host_port'),
                      item['container_port'])
    if isinstance(item, int) and not isinstance(item, bool):
        return _build(field, item, 'tcp', '', None, item)
    if not isinstance(item, str) or not item.strip():
        raise _error(field, item, 'write it as "host_port:container_port[/udp]" or as a dict with container_port')
    host_ip, host, container, protocol = _split_string(item, field)
    return _build(field, item, protocol, host_ip, host, container)


def parse_ports(items, option='ports'):
    """The list of Ports for an option's list; errors name the item (`ports[2]`); a mapping given twice is an error."""
    ports = []
    for index, item in enumerate(items or ()):
        port = parse_port(item, '%s[%d]' % (option, index))
        for other in ports:
            if overlaps(port, other):
                raise _error('%s[%d]' % (option, index), item, 'it overlaps %s, published earlier in the list' % render(other))
        ports.append(port)
    return ports


def host_ports(port):
    """The host ports of a mapping (None when chosen later)."""
    if port.host_port is None:
        return None
    return range(port.host_port, port.host_port_end + 1)


def _addresses_meet(first, second):
    return not first or not second or first == second


def overlaps(first, second):
    """True if two mappings would take the same host port (same protocol, address sets that meet)."""
    if first.protocol != second.protocol or not _addresses_meet(first.host_ip, second.host_ip):
        return False
    if first.host_port is None or second.host_port is None:
        return False
    return first.host_port <= second.host_port_end and second.host_port <= first.host_port_end


def render(port):
    """The canonical string of a Port ('127.0.0.1:8080:80/tcp', '[::1]:8080:80/tcp', ':80/tcp' when chosen later)."""
    container = _range_text(port.container_port, port.container_port_end)
    host = '' if port.host_port is None else _range_text(port.host_port, port.host_port_end)
    address = port.host_ip
    if ':' in address:
        address = '[%s]' % address
    return '%s:%s:%s/%s' % (address, host, container, port.protocol) if address else \
        '%s:%s/%s' % (host, container, port.protocol)


def _range_text(start, end):
    return str(start) if start == end else '%d-%d' % (start, end)


def to_dict(port):
    """A Port as the dict modules return and records keep."""
    return {'protocol': port.protocol, 'host_ip': port.host_ip,
            'host_port': None if port.host_port is None else _range_text(port.host_port, port.host_port_end),
            'container_port': _range_text(port.container_port, port.container_port_end)}


def from_dict(record):
    """The Port a to_dict() record (maybe with more keys) holds."""
    return parse_port({key: record.get(key) for key in DICT_KEYS}, 'record')
