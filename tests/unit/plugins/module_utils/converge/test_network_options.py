# -*- coding: utf-8 -*-
"""oci_container's network options: normalised for comparison, what a change costs, the config the runtime runs."""

import copy

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import container_network, container_spec
from ansible_collections.runcible.oci.plugins.module_utils.converge.container_spec import NETWORK, RECREATE
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors

ROW = {value.key: value for value in container_spec.COMPARED}


def wanted(**params):
    return container_network.wanted(params)


def test_every_spelling_of_the_same_networks_ports_and_dns_compares_equal():
    first = wanted(networks=['web', {'name': 'db', 'ipv6_address': 'fd00:0:0::5', 'aliases': ['pg']}],
                   ports=['0.0.0.0:8080:80', '127.0.0.1:8081:80/tcp', {'container_port': 53, 'protocol': 'udp'}],
                   dns=['10.0.0.1'])
    second = wanted(networks=[{'name': 'web', 'aliases': [], 'mac_address': None},
                              {'name': 'db', 'ipv6_address': 'fd00::5', 'aliases': ['pg']}],
                    ports=['53/udp', '127.0.0.1:8081:80', '8080:80/tcp'], dns=['10.0.0.1'], dns_search=[])
    assert first['networks'] == [{'name': 'web'}, {'name': 'db', 'ipv6_address': 'fd00::5', 'aliases': ['pg']}]
    assert first['dns'] == {'servers': ['10.0.0.1']}
    for key in ('networks', 'ports', 'dns'):
        assert not ROW[key].differs(second[key], first[key]), key
    assert sorted(first['ports']) == ['127.0.0.1:8081:80/tcp', '8080:80/tcp', ':53/udp']


def test_a_container_recorded_before_networks_existed_has_no_network_difference():
    nothing = wanted()
    assert nothing == {'networks': [], 'ports': [], 'dns': None}
    assert [value.key for value, before, after in container_spec.differences(nothing, {})] == []


@pytest.mark.parametrize('key, recorded, given, cost', [
    ('networks', [], [{'name': 'web'}], RECREATE),
    ('networks', [{'name': 'web'}], [], RECREATE),
    ('networks', [{'name': 'web'}], [{'name': 'web'}, {'name': 'db'}], NETWORK),
    ('networks', [{'name': 'web'}], [{'name': 'web', 'aliases': ['www']}], NETWORK),
    ('networks', [{'name': 'web'}, {'name': 'db'}], [{'name': 'db'}, {'name': 'web'}], NETWORK),
    ('ports', ['8080:80/tcp'], ['9090:80/tcp'], NETWORK),
    ('dns', None, {'servers': ['10.0.0.1']}, NETWORK),
])
def test_what_a_network_change_costs(key, recorded, given, cost):
    assert ROW[key].differs(given, recorded)
    assert ROW[key].cost(recorded, given) == cost


def test_the_documentation_says_when_a_network_change_recreates():
    text = container_spec.BY_NAME['networks'].documentation()[-1]
    assert 're-attaching' in text and 'Joining the first network or leaving the last' in text


@pytest.mark.parametrize('params, field', [
    ({'ports': ['8080:80']}, 'ports'),
    ({'dns': ['10.0.0.1']}, 'dns'),
    ({'dns_options': ['ndots:2']}, 'dns_options'),
    ({'networks': ['web'], 'ports': ['8080:80', '80:http']}, 'ports[1]'),
    ({'networks': ['web', 'web']}, 'networks[1].name'),
    ({'networks': [{'name': 'web', 'gateway': '10.0.0.1'}]}, 'networks[0]'),
    ({'networks': [{'name': 'web', 'mac_address': '01:00:5e:00:00:01'}]}, 'networks[0].mac_address'),
])
def test_bad_network_options_name_the_option(params, field):
    with pytest.raises(errors.ConfigError) as caught:
        container_network.wanted(params)
    assert caught.value.field == field


CONFIG = {'root': {'path': 'rootfs', 'readonly': True}, 'hostname': 'alpha',
          'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},
                     {'destination': '/etc/hosts', 'type': 'bind', 'source': '/etc/hosts', 'options': ['rbind']},
                     {'destination': '/data', 'type': 'bind', 'source': 'data', 'options': ['rbind']},
                     {'destination': '/etc/resolv.conf/', 'type': 'bind', 'source': 'resolv', 'options': ['bind']}],
          'linux': {'namespaces': [{'type': 'pid'}, {'type': 'network'}, {'type': 'uts'}, {'type': 'mount'}]}}
MOUNTS = [{'destination': '/etc/hosts', 'type': 'bind', 'source': '/n/hosts', 'options': ['rbind', 'rprivate']},
          {'destination': '/etc/resolv.conf', 'type': 'bind', 'source': '/n/resolv.conf',
           'options': ['rbind', 'rprivate']}]


def test_the_run_config_joins_the_namespace_binds_the_names_and_points_at_the_bundle():
    original = copy.deepcopy(CONFIG)
    config = container_network.run_config(CONFIG, '/srv/web', '/run/runcible-netns/web', MOUNTS)
    assert CONFIG == original
    assert config['root'] == {'path': '/srv/web/rootfs', 'readonly': True}
    assert config['linux']['namespaces'][1] == {'type': 'network', 'path': '/run/runcible-netns/web'}
    assert [mount['destination'] for mount in config['mounts']] == ['/proc', '/data', '/etc/hosts', '/etc/resolv.conf']
    assert config['mounts'][0]['source'] == 'proc' and config['mounts'][1]['source'] == '/srv/web/data'
    assert config['mounts'][2:] == MOUNTS


def test_a_bundle_without_a_network_namespace_of_its_own_is_refused():
    shared = copy.deepcopy(CONFIG)
    shared['linux']['namespaces'] = [{'type': 'pid'}]
    with pytest.raises(errors.ConfigError) as caught:
        container_network.check_config(shared, '/srv/web')
    assert caught.value.field == 'networks' and 'shares the host' in caught.value.reason
    joined = copy.deepcopy(CONFIG)
    joined['linux']['namespaces'][1]['path'] = '/proc/1/ns/net'
    with pytest.raises(errors.ConfigError) as caught:
        container_network.check_config(joined, '/srv/web')
    assert '/proc/1/ns/net' in caught.value.reason
    container_network.check_config(CONFIG, '/srv/web')


def test_the_hostname_counts_only_with_a_uts_namespace():
    assert container_network.hostname(CONFIG) == 'alpha'
    assert container_network.hostname(dict(CONFIG, linux={'namespaces': [{'type': 'network'}]})) is None


def test_a_container_without_networks_imports_nothing_of_the_network_package(tmp_path):
    network = container_network.ContainerNetwork('web', str(tmp_path / 'records'), str(tmp_path / 'netns'))
    assert not network.leftover() and network.describe() == {}
    (tmp_path / 'records' / 'containers' / 'web').mkdir(parents=True)
    assert network.leftover()


@pytest.mark.parametrize('runtime', ['runcible', 'runc', 'crun'])
def test_namespace_files_are_not_in_a_runtime_root(runtime):
    """A folder in a runtime's root is listed as a container (`runcible list` showed a stopped `netns`)."""
    from ansible_collections.runcible.oci.plugins.module_utils import driver  # pylint: disable=import-outside-toplevel
    root = driver.default_root(runtime).rstrip('/') + '/'
    assert not (container_network.NETNS_DIR.rstrip('/') + '/').startswith(root)


def test_the_records_of_a_name_belong_to_the_runtime_root_that_claimed_them(tmp_path):
    def side(root):
        return container_network.ContainerNetwork('web', str(tmp_path / 'network'), str(tmp_path / 'netns'),
                                                  str(tmp_path / root))
    first, second = side('root-a'), side('root-b')
    # records made before owners were recorded belong to whoever converges the name
    assert first.owner() is None and second.held_elsewhere(lambda root: True) is None
    first.claim()
    assert first.owner() == str(tmp_path / 'root-a') and second.owner() == str(tmp_path / 'root-a')
    assert first.held_elsewhere(lambda root: True) is None
    # another root's container of the name, still there: refused; gone: its leftovers are the second's to take
    assert second.held_elsewhere(lambda root: root == str(tmp_path / 'root-a')) == str(tmp_path / 'root-a')
    assert second.held_elsewhere(lambda root: False) is None
    second.claim()
    assert first.held_elsewhere(lambda root: True) == str(tmp_path / 'root-b')
    # a damaged owner file is no owner
    (tmp_path / 'network' / 'containers' / 'web' / container_network.OWNER).write_text('{"runtime_root": 5')
    assert first.owner() is None and first.held_elsewhere(lambda root: True) is None
