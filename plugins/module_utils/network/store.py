# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host remembers about networks and the containers attached to them.

    <root>/.lock                           one flock for every change (attach, detach, network)
    <root>/networks/<name>/network.json    the network: bridge, subnets, flags
    <root>/networks/<name>/endpoints.json  IPAM: each attached container's addresses, interface, aliases
    <root>/containers/<name>/container.json  the container's namespace, networks (in order), ports, DNS
    <root>/containers/<name>/hosts, resolv.conf  the files bind-mounted into the container

Records are JSON, written atomically (temporary file, fsync, rename). The
lock serialises every change, so two attaches never see the same free
address and two containers never publish the same host port.
"""

import contextlib
import json
import os
import re
import shutil

from ..runtime.linux.locks import flocked
from ..runtime.errors import ConfigError
from ..runtime.spec.config import validate_id
from ..runtime.state import atomic_write
from ..runtime import errors

DEFAULT_ROOT = '/var/lib/runcible/network'
NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')


def check_network_name(name, field='name'):
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(field, 'invalid network name %r: use letters, digits and _.- (starting with a letter or '
                                 'digit), at most 64 characters' % (name,))
    return name


def check_container_name(name, field='name'):
    try:
        validate_id(name)
    except errors.InvalidContainerID:
        raise ConfigError(field, 'invalid container name %r: use letters, digits and _+-. only' % (name,))
    return name


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return json.loads(handle.read().decode('utf-8'))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise errors.RuntimeErrorBase('%s is not valid JSON (%s): remove it and converge again' % (path, exc))


def _write(path, value):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    atomic_write(path, (json.dumps(value, indent=1, sort_keys=True) + '\n').encode('utf-8'), mode=0o644)


class NetworkStore:
    """The records under one root (default /var/lib/runcible/network)."""

    def __init__(self, root=None):
        self.root = os.path.abspath(root or DEFAULT_ROOT)

    @contextlib.contextmanager
    def locked(self):
        """Hold the store's exclusive lock for the with-block (made on first use)."""
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        with flocked(os.path.join(self.root, '.lock')):
            yield self

    # -- networks --------------------------------------------------------

    def network_dir(self, name):
        return os.path.join(self.root, 'networks', check_network_name(name))

    def network_names(self):
        try:
            names = os.listdir(os.path.join(self.root, 'networks'))
        except FileNotFoundError:
            return []
        return sorted(name for name in names if NAME.match(name)
                      and os.path.exists(os.path.join(self.root, 'networks', name, 'network.json')))

    def network(self, name):
        return _read(os.path.join(self.network_dir(name), 'network.json'))

    def networks(self):
        """{name: record} of every network."""
        return {name: self.network(name) for name in self.network_names()}

    def save_network(self, record):
        _write(os.path.join(self.network_dir(record['name']), 'network.json'), record)

    def remove_network(self, name):
        shutil.rmtree(self.network_dir(name), ignore_errors=True)

    def endpoints(self, name):
        """{container: endpoint} on network `name` (its IPAM allocations)."""
        return _read(os.path.join(self.network_dir(name), 'endpoints.json')) or {}

    def save_endpoints(self, name, endpoints):
        _write(os.path.join(self.network_dir(name), 'endpoints.json'), endpoints)

    # -- containers ------------------------------------------------------

    def container_dir(self, name):
        return os.path.join(self.root, 'containers', check_container_name(name))

    def container_names(self):
        try:
            return sorted(os.listdir(os.path.join(self.root, 'containers')))
        except FileNotFoundError:
            return []

    def container(self, name):
        return _read(os.path.join(self.container_dir(name), 'container.json'))

    def containers(self):
        found = {}
        for name in self.container_names():
            record = self.container(name)
            if record is not None:
                found[name] = record
        return found

    def save_container(self, record):
        _write(os.path.join(self.container_dir(record['name']), 'container.json'), record)

    def remove_container(self, name):
        shutil.rmtree(self.container_dir(name), ignore_errors=True)
