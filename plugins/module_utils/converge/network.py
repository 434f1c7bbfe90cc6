# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What oci_network and oci_network_info do: converge one network, describe networks.

    present   the record (bridge, subnets, flags) planned from the parameters and the
              other networks (overlaps, bridge names checked before anything changes);
              then the host made to match it: bridge, addresses, sysctls, and the
              whole `inet runcible` table compared with the kernel's
    absent    containers attached make it an error unless `force`, which detaches them
              (veths, addresses, hosts lines, rules); then bridge, record and rules go

Subnets, the bridge name and ipv6 cannot change under attached containers
(their addresses would be wrong): that is an error naming the option unless
`force`. mtu, internal and dns change in place. Check mode plans the same
steps and changes nothing; `changed` and the diff come from those steps.
"""

import copy

from ..network import networks as nets
from ..network import firewall
from ..network.attach import ENDPOINT_KEYS, Attachment, host_veth, refresh_hosts
from ..network.netlink import MissingLibrary, route
from ..network.nft import Nft
from ..network.store import NetworkStore, check_network_name
from ..runtime.errors import ConfigError, RuntimeErrorBase
from .failures import about, failure_message


def module_result(module, work):
    """work()'s result for exit_json, or the module failed with a message naming the parameter at fault
    (Ansible's missing-library message when pyroute2 is missing)."""
    from ansible.module_utils.basic import missing_required_lib  # pylint: disable=import-outside-toplevel
    try:
        return work()
    except MissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=str(exc.exception))
    except (RuntimeErrorBase, OSError) as exc:
        module.fail_json(msg=failure_message(exc))
    return None


RECREATE_KEYS = ('bridge', 'subnets', 'ipv6', 'driver')


def _describe(store, record):
    """The network as the modules return it: the record and its attached containers."""
    described = copy.deepcopy(record)
    described['containers'] = {
        name: {key: endpoint.get(key) for key in ENDPOINT_KEYS}
        for name, endpoint in sorted(store.endpoints(record['name']).items())}
    return described


def _wanted(store, params):
    others = {name: record for name, record in store.networks().items() if name != params['name']}
    existing = store.network(params['name'])
    planned = dict(params)
    host_networks = ()
    if existing is not None:
        # Subnets the module chose itself (none given) stay as they are on later runs.
        if not params.get('subnets'):
            planned['subnets'] = [dict(item) for item in existing['subnets']
                                  if params.get('ipv6') or ':' not in item['subnet']]
    elif not params.get('subnets'):
        # A subnet picked for the user steers clear of the host's own networks (its LAN, a VPN, podman's bridge).
        with route() as host:
            host_networks = host.host_networks()
    return existing, nets.plan(planned, others, host_networks)


def ensure_network(params, check_mode=False, diff=False, nft=None):
    """Converge network params['name']; return the module result."""
    check_network_name(params['name'])
    store = NetworkStore(params.get('network_root'))
    with store.locked():
        if params.get('state', 'present') == 'absent':
            result = _absent(store, params, check_mode, nft)
        else:
            result = _present(store, params, check_mode, nft)
    if diff:
        result['diff'] = {'before': result.pop('_before') or {}, 'after': result.pop('_after') or {}}
    else:
        result.pop('_before')
        result.pop('_after')
    return result


def _detach_all(store, name, check_mode, nft, actions):
    """Take every container off network `name` (force): its other networks stay."""
    for container in sorted(store.endpoints(name)):
        attachment = Attachment(store, container, check_mode, nft)
        attachment.endpoints[name].pop(container, None)
        actions.append('detach container %s' % container)
        if not check_mode:
            with route() as host:
                host.delete(host_veth(container, name))
            store.save_endpoints(name, attachment.endpoints[name])
            record = store.container(container)
            if record is not None:
                record['networks'] = [other for other in record['networks'] if other != name]
                if record.get('port_network') == name:
                    record['port_network'] = None
                store.save_container(record)


def _present(store, params, check_mode, nft):
    with about('name'):
        # nftables first: where it is missing, the host is neither read nor changed and nothing is recorded.
        nft = nft or Nft()
    existing, wanted = _wanted(store, params)
    actions = []
    attached = sorted(store.endpoints(wanted['name']))
    if existing is not None:
        changed_keys = [key for key in RECREATE_KEYS if existing.get(key) != wanted.get(key)]
        if changed_keys and attached:
            option = {'bridge': 'bridge_name'}.get(changed_keys[0], changed_keys[0])
            if not params.get('force'):
                raise ConfigError(option, 'network %s has containers attached (%s): its %s cannot change under them; '
                                          'detach them, or set force: true to detach them' % (
                                              wanted['name'], ', '.join(attached), ', '.join(changed_keys)))
            _detach_all(store, wanted['name'], check_mode, nft, actions)
        if 'bridge' in changed_keys:
            with route() as host:
                actions.extend(nets.remove_bridge(host, existing, check_mode))
    with about('name'):
        # pyroute2 (nftables was found above) before the record: where it is missing nothing is recorded (a
        # record without its bridge would still hold its subnet and be written into the table by the next network).
        with route() as host:
            if existing != wanted:
                actions.append('record network %s' % wanted['name'])
                if not check_mode:
                    store.save_network(wanted)
            actions.extend(nets.ensure_bridge(host, wanted, check_mode))
            if existing is not None and existing.get('mtu') != wanted['mtu'] and wanted['mtu']:
                for container, endpoint in sorted(store.endpoints(wanted['name']).items()):
                    link = host.link(endpoint['veth'])
                    if link is not None and link['mtu'] != wanted['mtu']:
                        actions.append('set mtu %d on %s (%s)' % (wanted['mtu'], endpoint['veth'], container))
                        if not check_mode:
                            host.set_link(link['index'], mtu=wanted['mtu'])
        if not check_mode:
            refresh_hosts(store, actions)
        if check_mode and existing != wanted:
            actions.append('write nftables table inet runcible')
        else:
            actions.extend(nets.sync_firewall(store, nft, check_mode))
    described = _describe(store, wanted) if not check_mode else dict(wanted, containers={})
    return {'changed': bool(actions), 'actions': actions, 'network': described,
            '_before': existing, '_after': wanted}


def _absent(store, params, check_mode, nft):
    existing = store.network(params['name'])
    actions = []
    if existing is None:
        return {'changed': False, 'actions': [], 'network': {}, '_before': None, '_after': None}
    attached = sorted(store.endpoints(params['name']))
    if attached and not params.get('force'):
        raise ConfigError('force', 'network %s has containers attached (%s): remove them first, or set force: true '
                                   'to detach them' % (params['name'], ', '.join(attached)))
    with about('name'):
        _detach_all(store, params['name'], check_mode, nft, actions)
        with route() as host:
            actions.extend(nets.remove_bridge(host, existing, check_mode))
        actions.append('forget network %s' % params['name'])
        if not check_mode:
            store.remove_network(params['name'])
            refresh_hosts(store, actions)
            actions.extend(nets.sync_firewall(store, nft or Nft(), False))
        else:
            actions.append('write nftables table inet runcible')
    return {'changed': True, 'actions': actions, 'network': {}, '_before': existing, '_after': None}


def network_info(params, nft=None):
    """oci_network_info: every network (or the one named), with containers and what the kernel has."""
    store = NetworkStore(params.get('network_root'))
    names = [check_network_name(params['name'])] if params.get('name') else store.network_names()
    found = []
    with store.locked():
        in_sync = None
        with about('name'):
            if names and any(store.network(name) for name in names):
                rules, any_network = nets.ruleset(store)
                in_sync = any_network and not firewall.differs(nft or Nft(), rules)
            with route() as host:
                for name in names:
                    record = store.network(name)
                    if record is None:
                        continue
                    described = _describe(store, record)
                    described['bridge_present'] = host.index(record['bridge']) is not None
                    described['firewall_in_sync'] = in_sync
                    found.append(described)
    return {'changed': False, 'networks': found}
