# -*- coding: utf-8 -*-
"""The option table (container_spec.OPTIONS) decides what a difference costs; the planning helpers around it."""

import json

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import container, container_spec
from ansible_collections.runcible.oci.plugins.module_utils.converge.container_spec import LIVE, RECREATE, SETTINGS
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors

RECORDED = {'bundle': '/b', 'config_digest': 'sha256:1', 'resources': {'memory': {'limit': 1}},
            'rootfs_digest': 'sha256:r', 'runtime': 'runcible', 'restart_policy': 'no', 'stop_signal': 'SIGTERM',
            'stop_timeout': 10, 'log_path': '/var/log/runcible/web.log', 'log_max_size': 1, 'log_max_files': 3}


def test_each_difference_names_its_cost():
    wanted = dict(RECORDED, resources={'memory': {'limit': 2}}, restart_policy='always', config_digest='sha256:2',
                  log_path='/srv/logs/web.log')
    found = {value.key: (value.cost(before, after), before, after) for value, before, after in
             container_spec.differences(wanted, RECORDED)}
    assert found == {'resources': (LIVE, {'memory': {'limit': 1}}, {'memory': {'limit': 2}}),
                     'restart_policy': (SETTINGS, 'no', 'always'),
                     'config_digest': (RECREATE, 'sha256:1', 'sha256:2'),
                     'log_path': (SETTINGS, '/var/log/runcible/web.log', '/srv/logs/web.log')}


def test_a_resource_the_runtime_cannot_update_costs_a_recreate():
    resources = container_spec.COMPARED[[value.key for value in container_spec.COMPARED].index('resources')]
    assert resources.cost({'memory': {'limit': 1}}, {'memory': {'limit': 2}, 'pids': {'limit': 9}}) == LIVE
    assert resources.cost({'memory': {'limit': 1}}, {'memory': {'limit': 1}, 'devices': [{'allow': False}]}) == RECREATE


def test_empty_resource_members_do_not_count_as_changes():
    resources = [value for value in container_spec.COMPARED if value.key == 'resources'][0]
    assert not resources.differs({'memory': {}, 'pids': None, 'devices': []}, {})
    assert resources.differs({'pids': {'limit': 5}}, {})


def test_every_value_the_container_records_is_compared_by_one_row(tmp_path):
    """A record value no row compares is silently never compared (log_path was: changing it did nothing)."""
    converger = container.Converger({'name': 'web', 'bundle': str(tmp_path), 'runtime_root': str(tmp_path)})
    wanted = converger.wanted({'process': {'args': ['sh']}, 'linux': {}}, 'sha256:r')
    keys = [value.key for value in container_spec.COMPARED]
    assert sorted(keys) == sorted(set(keys)) == sorted(wanted)


def test_every_option_says_what_a_change_costs_or_why_it_is_not_compared():
    for option in container_spec.OPTIONS:
        assert bool(option.compared) != bool(option.not_compared), option.name
        if option.compared:
            assert option.documentation()[-1].startswith('A change'), option.name


def test_an_option_without_its_cost_or_reason_is_refused():
    with pytest.raises(ValueError):
        container_spec.Option('x', {'type': 'str'}, ['X.'])


@pytest.mark.parametrize('text, parsed', [('no', ('no', 0)), (None, ('no', 0)), ('always', ('always', 0)),
                                          ('on-failure', ('on-failure', 0)), ('on-failure:3', ('on-failure', 3)),
                                          ('unless-stopped', ('unless-stopped', 0))])
def test_restart_policies(text, parsed):
    assert container.parse_restart_policy(text) == parsed


@pytest.mark.parametrize('text', ['sometimes', 'always:3', 'on-failure:x', 'on-failure:-1'])
def test_bad_restart_policies_name_the_option(text):
    with pytest.raises(errors.ConfigError) as caught:
        container.parse_restart_policy(text)
    assert caught.value.field == 'restart_policy'


def test_resources_are_split_from_the_config_digest():
    config = {'process': {'args': ['sh']}, 'linux': {'resources': {'memory': {'limit': 5}}, 'namespaces': []}}
    stripped, resources = container.split_resources(config)
    assert resources == {'memory': {'limit': 5}}
    assert 'resources' not in stripped['linux'] and 'resources' in config['linux']
    other = json.loads(json.dumps(config))
    other['linux']['resources']['memory']['limit'] = 6
    assert container.canonical_digest(container.split_resources(other)[0]) == container.canonical_digest(stripped)


def test_canonical_digest_ignores_key_order():
    assert container.canonical_digest({'a': 1, 'b': [1, {'c': 2, 'd': 3}]}) == \
        container.canonical_digest({'b': [1, {'d': 3, 'c': 2}], 'a': 1})


def test_read_bundle_errors_name_the_bundle(tmp_path):
    with pytest.raises(errors.ConfigError) as caught:
        container.read_bundle(str(tmp_path / 'missing'))
    assert caught.value.field == 'bundle'
    (tmp_path / 'config.json').write_text(json.dumps({'process': {'terminal': True}}))
    with pytest.raises(errors.ConfigError) as caught:
        container.read_bundle(str(tmp_path))
    assert 'terminal' in caught.value.message
    (tmp_path / 'config.json').write_text(json.dumps({'process': {}}))
    (tmp_path / 'runcible.json').write_text(json.dumps({'rootfs': {'digest': 'sha256:abc'}}))
    assert container.read_bundle(str(tmp_path)) == ({'process': {}}, 'sha256:abc')
