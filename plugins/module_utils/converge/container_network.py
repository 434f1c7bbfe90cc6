# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's networks, for the Converger: the options normalised, the plan, the attach, the config the runtime runs.

A container on networks gets a persistent network namespace
(`<netns_dir>/<name>`), attached (network/attach.py) before its process
starts. The runtime is given a copy of the bundle's config.json, kept in
the network records (`<network_root>/containers/<name>/bundle/config.json`),
that joins that namespace (`linux.namespaces[].path`), binds the container's
hosts and resolv.conf, and names the bundle's rootfs by its absolute path;
the bundle itself is not changed, so oci_bundle and the config digest see
the user's file. The copy lives as long as the container's network records:
the supervisor's restarts and oci_checkpoint's restores use it.

Nothing of network/ (pyroute2, libnftables) is imported for a container
without networks.
"""

import copy
import os
import re

from ..network.netns import DEFAULT_NETNS_DIR as NETNS_DIR
from ..runtime import errors, jsonc
from ..runtime.state import atomic_write


DEFAULT_NETWORK_ROOT = '/var/lib/runcible/network'
RUN_BUNDLE = 'bundle'
# Which container of the name the records and namespace belong to: its runtime root (the same name can be a
# container in two runtime roots, but the namespace file and the records are keyed by the name alone).
OWNER = 'owner.json'
PORT_ITEM = re.compile(r'^ports\[(\d+)\](.*)$')


def _address(text):
    """An address as the kernel would print it (`fd00::0:5` is `fd00::5`); other text unchanged, attach names it."""
    import ipaddress  # pylint: disable=import-outside-toplevel  # here: 2 ms of every run of a container without networks
    try:
        return str(ipaddress.ip_address(str(text)))
    except ValueError:
        return text


def wanted(params):
    """{networks, ports, dns} of the module's options, normalised for the container's record; ConfigError naming
    the option at fault. `networks`: dicts without unset keys (a plain name is {name}); `ports`: each mapping in
    its one canonical spelling, in the order given; `dns`: {servers, search, options} without empty members, or
    None."""
    networks, ports = params.get('networks') or [], params.get('ports') or []
    servers, search, options = params.get('dns') or [], params.get('dns_search') or [], params.get('dns_options') or []
    if not (networks or ports or servers or search or options):
        return {'networks': [], 'ports': [], 'dns': None}
    from ..network.attach import parse_networks  # pylint: disable=import-outside-toplevel
    from ..network.ports import parse_ports, render  # pylint: disable=import-outside-toplevel
    normalised = []
    for item in parse_networks(networks):
        for key in ('ipv4_address', 'ipv6_address'):
            if item[key]:
                item[key] = _address(item[key])
        normalised.append({key: value for key, value in item.items() if value not in (None, [])})
    rendered = [render(port) for port in parse_ports(ports)]
    dns = {key: list(value) for key, value in (('servers', servers), ('search', search), ('options', options)) if value}
    if not normalised:
        given = 'ports' if rendered else 'dns' if servers else 'dns_search' if search else 'dns_options'
        raise errors.ConfigError(given, 'needs networks: the container\'s ports and resolv.conf belong to the networks '
                                        'it is on (runcible.oci.oci_network makes them)')
    return {'networks': normalised, 'ports': rendered, 'dns': dns or None}


def hostname(config):
    """The container's own hostname (config.json's, with a UTS namespace of its own), or None."""
    namespaces = (config.get('linux') or {}).get('namespaces') or []
    if config.get('hostname') and any(isinstance(item, dict) and item.get('type') == 'uts' for item in namespaces):
        return config['hostname']
    return None


def check_config(config, path):
    """ConfigError naming `networks` unless config.json gives the container a network namespace of its own."""
    namespaces = (config.get('linux') or {}).get('namespaces') or []
    network = [item for item in namespaces if isinstance(item, dict) and item.get('type') == 'network']
    if not network:
        raise errors.ConfigError('networks', '%s/config.json shares the host\'s network namespace (no network entry in '
                                             'linux.namespaces): a container on networks needs one of its own; add '
                                             '{"type": "network"} to the bundle\'s namespaces' % path)
    if network[0].get('path'):
        raise errors.ConfigError('networks', '%s/config.json joins the network namespace %s: a container on networks '
                                             'gets one of its own; remove the path from the bundle\'s network namespace'
                                 % (path, network[0]['path']))


def run_config(config, bundle, netns_path, mounts):
    """The config.json the runtime runs: the bundle's, joining `netns_path`, with `mounts` (hosts, resolv.conf) in
    place of any the bundle has at those destinations, and every bundle-relative path made absolute (the copy
    lives in another folder)."""
    config = copy.deepcopy(config)
    root = dict(config.get('root') or {})
    root['path'] = os.path.join(bundle, root.get('path') or 'rootfs')
    config['root'] = root
    linux = config.setdefault('linux', {})
    linux['namespaces'] = [dict(item, path=netns_path) if isinstance(item, dict) and item.get('type') == 'network'
                           else item for item in linux.get('namespaces') or []]
    destinations = set(mount['destination'] for mount in mounts)
    kept = []
    for mount in config.get('mounts') or []:
        if not isinstance(mount, dict) or os.path.normpath(str(mount.get('destination'))) in destinations:
            continue
        source = mount.get('source')
        if isinstance(source, str) and source and not os.path.isabs(source) and \
                (mount.get('type') == 'bind' or 'bind' in (mount.get('options') or []) or 'rbind' in (mount.get('options') or [])):
            mount = dict(mount, source=os.path.join(bundle, source))
        kept.append(mount)
    config['mounts'] = kept + list(mounts)
    return config


class ContainerNetwork:
    """The network side of one container: its namespace, its records under `network_root`, its run bundle."""

    def __init__(self, name, network_root=None, netns_dir=NETNS_DIR, runtime_root=None):
        self.name = name
        self.network_root = os.path.abspath(network_root or DEFAULT_NETWORK_ROOT)
        self.netns_dir = netns_dir
        self.path = os.path.join(netns_dir, name)
        self.runtime_root = os.path.abspath(runtime_root) if runtime_root else None
        self._store = None
        self.last = None

    @property
    def store(self):
        if self._store is None:
            from ..network.store import NetworkStore  # pylint: disable=import-outside-toplevel
            self._store = NetworkStore(self.network_root)
        return self._store

    def folder(self):
        """The container's folder in the network records (hosts, resolv.conf, the run bundle)."""
        return os.path.join(self.network_root, 'containers', self.name)

    def bundle_dir(self):
        return os.path.join(self.folder(), RUN_BUNDLE)

    def leftover(self):
        """True if the container has a namespace or network records here (two file look-ups, no imports)."""
        return os.path.lexists(self.path) or os.path.isdir(self.folder())

    def owner(self):
        """The runtime root of the container these records were made for; None when not recorded (records made
        before owners were) or unreadable."""
        try:
            with open(os.path.join(self.folder(), OWNER), 'rb') as handle:
                data = jsonc.loads(handle.read())
        except (OSError, ValueError):
            return None
        root = data.get('runtime_root') if isinstance(data, dict) else None
        return root if isinstance(root, str) and root else None

    def held_elsewhere(self, exists):
        """The runtime root of another container of this name, still there (`exists(root)` true), whose namespace
        and records these are; None when they are this container's, unowned, or their container is gone (then
        they are leftovers this container may take over)."""
        if self.runtime_root is None:
            return None
        root = self.owner()
        if root is None or root == self.runtime_root or not exists(root):
            return None
        return root

    def claim(self):
        """Record this container (its runtime root) as the owner of the records and namespace."""
        if self.runtime_root is None:
            return
        path = os.path.join(self.folder(), OWNER)
        if self.owner() == self.runtime_root:
            return
        os.makedirs(self.folder(), mode=0o700, exist_ok=True)
        atomic_write(path, jsonc.dumps({'runtime_root': self.runtime_root}).encode('utf-8'), mode=0o600)

    def namespace_lost(self):
        """True if the namespace file the container joined is gone (it cannot be re-attached: a recreate)."""
        from ..network import netns  # pylint: disable=import-outside-toplevel
        return not netns.exists(self.path)

    def _attach(self, wanted, host_name, check_mode, path):
        from ..network import attach  # pylint: disable=import-outside-toplevel
        dns = wanted.get('dns') or {}
        # Sorted, so that the records (which keep the order) do not change with the order of the option's items;
        # an error names the item as the user gave it.
        order = sorted(range(len(wanted['ports'])), key=lambda index: wanted['ports'][index])
        try:
            self.last = attach.attach(self.store, self.name, path, wanted['networks'],
                                      [wanted['ports'][index] for index in order], dns.get('servers'),
                                      dns.get('search'), dns.get('options'), check_mode=check_mode, hostname=host_name)
        except errors.ConfigError as exc:
            match = PORT_ITEM.match(exc.field or '')
            if match is None:
                raise
            raise errors.ConfigError('ports[%d]%s' % (order[int(match.group(1))], match.group(2)), exc.reason)
        return self.last

    def plan(self, wanted, host_name):
        """What attach would do (check mode: every input checked, nothing changed); attach's result."""
        return self._attach(wanted, host_name, True, self.path)

    def attach(self, wanted, host_name):
        """Make the namespace (unless there) and converge it onto the wanted networks; (attach's result, whether
        the namespace was made now)."""
        from ..network import netns  # pylint: disable=import-outside-toplevel
        path, created = netns.create(self.name, self.netns_dir)
        try:
            return self._attach(wanted, host_name, False, path), created
        except BaseException:
            if created:
                self.detach()
            raise

    def plan_move(self, moved):
        """What moving the container here would do (network/attach.py reattach in check mode): a network of
        `moved` (its moved_record on the host it was checkpointed on) missing here is a ConfigError naming it,
        before anything changes."""
        from ..network import attach  # pylint: disable=import-outside-toplevel
        self.last = attach.reattach(self.store, self.name, self.path, moved, check_mode=True)
        return self.last

    def move_in(self, moved, config, bundle):
        """Make the namespace, put it on the networks `moved` names with the addresses and host ports it had
        where it was checkpointed (where free here), write the run bundle; reattach's result. A failure
        leaves no namespace or records."""
        from ..network import attach, netns  # pylint: disable=import-outside-toplevel
        path, created = netns.create(self.name, self.netns_dir)
        try:
            self.last = attach.reattach(self.store, self.name, path, moved)
            self.write_bundle(config, bundle, self.last['mounts'])
        except BaseException:
            if created:
                self.detach()
            raise
        return self.last

    def write_bundle(self, config, bundle, mounts):
        """Write the run bundle's config.json (only when it differs), the owner record; its folder."""
        self.claim()
        folder = self.bundle_dir()
        path = os.path.join(folder, 'config.json')
        data = jsonc.dumps(run_config(config, bundle, self.path, mounts)).encode('utf-8')
        try:
            with open(path, 'rb') as handle:
                if handle.read() == data:
                    return folder
        except OSError:
            pass
        os.makedirs(folder, mode=0o700, exist_ok=True)
        atomic_write(path, data, mode=0o600)
        return folder

    def detach(self, check_mode=False):
        """Take the container off every network and remove its namespace; detach's actions."""
        from ..network import attach, netns  # pylint: disable=import-outside-toplevel
        actions = attach.detach(self.store, self.name, check_mode=check_mode)['actions']
        if os.path.lexists(self.path):
            actions.append('remove network namespace %s' % self.path)
            if not check_mode:
                netns.remove(self.name, self.netns_dir)
        return actions

    def describe(self):
        """The container's networks and published ports as the modules return them (the last attach or plan)."""
        if self.last is None:
            return {}
        return {'networks': self.last['networks'], 'ports': self.last['ports']}
