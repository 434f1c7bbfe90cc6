# -*- coding: utf-8 -*-
"""The option table decides what a difference costs; the planning helpers around it."""

import json

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import container, options
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


def test_each_difference_names_its_cost():
    recorded = {'bundle': '/b', 'config_digest': 'sha256:1', 'resources': {'memory': {'limit': 1}},
                'rootfs_digest': 'sha256:r', 'runtime': 'runcible', 'restart_policy': 'no', 'stop_signal': 'SIGTERM',
                'stop_timeout': 10, 'log_max_size': 1, 'log_max_files': 3}
    wanted = dict(recorded, resources={'memory': {'limit': 2}}, restart_policy='always', config_digest='sha256:2')
    found = {option.name: (option.apply, before, after) for option, before, after in
             options.differences(wanted, recorded)}
    assert found == {'resources': ('update', {'memory': {'limit': 1}}, {'memory': {'limit': 2}}),
                     'restart_policy': ('settings', 'no', 'always'),
                     'config_digest': ('recreate', 'sha256:1', 'sha256:2')}


def test_empty_resource_members_do_not_count_as_changes():
    option = options.BY_NAME['resources']
    assert not option.differs({'memory': {}, 'pids': None, 'devices': []}, {})
    assert option.differs({'pids': {'limit': 5}}, {})


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
