# -*- coding: utf-8 -*-
"""oci_containers: the options shared with oci_container, how items are resolved, what counts as managed."""

import json
import os

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.runcible.oci.plugins.module_utils.converge import container_spec, containers
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..')
FRAGMENT = os.path.join(REPO, 'plugins', 'doc_fragments', 'container.py')


def test_the_doc_fragment_is_current():
    with open(FRAGMENT) as handle:
        assert handle.read() == container_spec.render_doc_fragment()


def test_items_take_every_option_of_oci_container_without_defaults():
    single = container_spec.argument_spec()
    item = container_spec.item_spec()
    assert set(item) == set(single)
    assert all('default' not in declared for declared in item.values())
    assert item['name']['required'] is True
    assert set(container_spec.defaults_spec()) == set(single) - {'name'}


def test_an_item_falls_back_to_defaults_then_to_the_option_default():
    resolved = container_spec.resolve({'name': 'web', 'bundle': '/b', 'stop_timeout': None},
                                      {'runtime': 'runc', 'stop_timeout': 3, 'restart_policy': None})
    assert resolved['runtime'] == 'runc'
    assert resolved['stop_timeout'] == 3
    assert resolved['restart_policy'] == 'no'
    assert resolved['state'] == 'running'
    assert container_spec.resolve({'name': 'w', 'restart': False}, {'restart': True})['restart'] is False


def test_ansible_validates_items_with_the_shared_spec():
    spec = {'containers': {'type': 'list', 'elements': 'dict', 'options': container_spec.item_spec()}}
    result = ArgumentSpecValidator(spec).validate({'containers': [{'name': 'a', 'state': 'sideways'}, {'bundle': '/b'}]})
    messages = ' '.join(str(error) for error in result.errors)
    assert 'state' in messages and 'sideways' in messages
    assert 'name' in messages


def test_an_item_that_must_run_needs_a_bundle():
    with pytest.raises(errors.ConfigError) as caught:
        containers.converge_all({'containers': [{'name': 'a', 'state': 'absent'}, {'name': 'b'}]})
    assert caught.value.field == 'containers[1].bundle'


def test_a_name_declared_twice_for_one_root_is_refused(tmp_path):
    items = [{'name': 'a', 'bundle': '/b', 'runtime_root': str(tmp_path)},
             {'name': 'a', 'bundle': '/c', 'runtime_root': str(tmp_path)}]
    with pytest.raises(errors.ConfigError) as caught:
        containers.converge_all({'containers': items})
    assert caught.value.field == 'containers[1].name'
    assert 'containers[0]' in str(caught.value)


def _supervised(supervisor_root, runtime_root, name, record=True):
    folder = client.folder_for(runtime_root, name, str(supervisor_root))
    os.makedirs(folder)
    settings = {'id': name, 'record': {'bundle': '/b'} if record else None}
    with open(os.path.join(folder, 'settings.json'), 'w') as handle:
        json.dump(settings, handle)


def test_managed_means_a_supervisor_record_in_this_runtime_root(tmp_path):
    supervisors = tmp_path / 'supervisors'
    root = str(tmp_path / 'root')
    _supervised(supervisors, root, 'web')
    _supervised(supervisors, root, 'web-2')
    _supervised(supervisors, root, 'no-record', record=False)
    _supervised(supervisors, str(tmp_path / 'other-root'), 'elsewhere')
    group = containers.Group('runcible', root)
    assert group.managed(str(supervisors)) == ['web', 'web-2']
    assert containers.Group('runcible', root).managed(str(tmp_path / 'missing')) == []
