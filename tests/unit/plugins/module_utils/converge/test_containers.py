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


def test_an_item_that_must_be_created_needs_a_bundle(tmp_path):
    items = [{'name': 'a', 'state': 'absent'}, {'name': 'b', 'state': 'stopped'}]
    with pytest.raises(errors.ConfigError) as caught:
        containers.converge_all({'containers': items, 'defaults': {'runtime_root': str(tmp_path / 'root')}},
                                supervisor_root=str(tmp_path / 'supervisors'))
    assert caught.value.field == 'containers[1].bundle'
    assert 'container b does not exist' in str(caught.value)
    items = [{'name': 'c', 'bundle_options': {'image': 'localhost/x:1'}}]
    with pytest.raises(errors.ConfigError) as caught:
        containers.converge_all({'containers': items, 'defaults': {'runtime_root': str(tmp_path / 'root')}},
                                supervisor_root=str(tmp_path / 'supervisors'))
    assert caught.value.field == 'containers[0].bundle' and 'bundle_options' in str(caught.value)


def test_an_item_without_a_bundle_is_taken_as_it_is_when_the_container_exists(tmp_path):
    # A supervisor folder says the container is there (perhaps between the delete and create of a restart): the
    # item passes the up-front check, and the converge of that item reports what it finds.
    root = str(tmp_path / 'root')
    _supervised(tmp_path / 'supervisors', root, 'web')
    result = containers.converge_all({'containers': [{'name': 'web', 'state': 'stopped'}],
                                      'defaults': {'runtime_root': root}}, supervisor_root=str(tmp_path / 'supervisors'))
    assert result['failures'] == ['web: bundle: container web does not exist, and state stopped creates it: give '
                                  'the bundle folder to create it from']


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


def test_the_summary_heads_each_diff_with_its_container_and_keeps_bundle_diffs():
    results = [
        {'name': 'a', 'changed': False, 'actions': []},
        {'name': 'b', 'changed': True, 'actions': ['reconfigure'],
         'diff': {'before': {'restart_policy': 'no'}, 'after': {'restart_policy': 'always'}}},
        {'name': 'c', 'changed': True, 'actions': ['bundle', 'recreate'], 'warnings': ['c: note'],
         'diff': [{'before_header': '/b/config.json', 'before': '{}', 'after': '{"x": 1}'},
                  {'before_header': 'c', 'after_header': 'c', 'before': {}, 'after': {}}]},
    ]
    summary = containers._summary(results, ['c'], [])
    assert summary['changed'] and summary['changed_containers'] == ['b', 'c']
    assert [diff['before_header'] for diff in summary['diff']] == ['b', '/b/config.json', 'c']
    assert summary['diff'][0]['after'] == {'restart_policy': 'always'}
    assert summary['warnings'] == ['c: note'] and summary['removed'] == ['c']
    assert all('diff' not in result for result in summary['containers'])


def test_nothing_changed_means_no_diff():
    summary = containers._summary([{'name': 'a', 'changed': False, 'actions': []}], [], [])
    assert not summary['changed'] and 'diff' not in summary
