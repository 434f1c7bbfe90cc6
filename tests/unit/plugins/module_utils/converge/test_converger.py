# -*- coding: utf-8 -*-
"""Converger (oci_container's logic) against a fake runtime and supervisor (fakehost.py): what it decides, what it
does in which order, what check mode leaves alone, and what a failure in the middle leaves behind."""

import copy
import json

import pytest
from fakehost import FakeHost

from ansible_collections.runcible.oci.plugins.module_utils.converge.container import Converger
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors

CONFIG = {'ociVersion': '1.0.2', 'process': {'args': ['sleep', '1000'], 'cwd': '/', 'terminal': False},
          'root': {'path': 'rootfs'},
          'linux': {'resources': {'memory': {'limit': 64 << 20}, 'pids': {'limit': 64}},
                    'namespaces': [{'type': 'pid'}, {'type': 'mount'}]}}


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / 'bundle'
    (path / 'rootfs').mkdir(parents=True)
    write_config(str(path), CONFIG)
    return str(path)


def write_config(bundle, config):
    with open(bundle + '/config.json', 'w') as handle:
        json.dump(config, handle)


def changed_config(bundle, change):
    config = copy.deepcopy(CONFIG)
    change(config)
    write_config(bundle, config)


def converge(host, tmp_path, bundle, check_mode=False, **params):
    given = {'name': 'web', 'bundle': bundle, 'state': 'running', 'runtime': 'runcible', 'restart_policy': 'no',
             'stop_timeout': 10, 'log_path': str(tmp_path / 'web.log'), 'log_lines': 5}
    given.update(params)
    converger = Converger(given, check_mode=check_mode, supervisor_root=str(tmp_path / 'supervisors'),
                          lib_root=str(tmp_path / 'lib'), driver=host.driver, supervisions=host.supervisions,
                          unit_dirs={'unit_dir': str(tmp_path / 'units'), 'settings_dir': str(tmp_path / 'unitconf')})
    return converger.run()


def status(host):
    found = host.driver.state('web')
    return found['status'] if found else 'absent'


def test_a_missing_container_is_created_and_started_then_left_alone(host, tmp_path, bundle):
    result = converge(host, tmp_path, bundle)
    assert (result['changed'], result['actions'], result['status']) == (True, ['create'], 'running')
    assert result['diff'] == {'before': {'state': 'absent'}, 'after': {'state': 'running'}}
    assert host.called('create', 'start') == [('create', 'web'), ('start', 'web')]
    host.calls = []
    again = converge(host, tmp_path, bundle)
    assert (again['changed'], again['actions'], again['status']) == (False, [], 'running')
    assert 'diff' not in again and host.calls == []


def test_check_mode_plans_the_create_and_does_nothing(host, tmp_path, bundle):
    result = converge(host, tmp_path, bundle, check_mode=True)
    assert (result['changed'], result['actions'], result['status']) == (True, ['create'], 'absent')
    assert result['diff'] == {'before': {'state': 'absent'}, 'after': {'state': 'running'}}
    assert host.calls == [] and host.supervisors == {}


@pytest.mark.parametrize('wanted, actions, calls', [
    ('stopped', ['stop'], ['supervisor-stop']),
    ('paused', ['pause'], ['pause']),
    ('created', ['recreate'], ['supervisor-stop', 'delete', 'launch', 'create']),
])
def test_a_running_container_is_moved_to_the_wanted_state(host, tmp_path, bundle, wanted, actions, calls):
    converge(host, tmp_path, bundle)
    host.calls = []
    planned = converge(host, tmp_path, bundle, check_mode=True, state=wanted)
    assert (planned['changed'], planned['actions'], status(host), host.calls) == (True, actions, 'running', [])
    result = converge(host, tmp_path, bundle, state=wanted)
    assert (result['changed'], result['actions'], status(host)) == (True, actions, wanted)
    assert result['diff'] == planned['diff'] == {'before': {'state': 'running'}, 'after': {'state': wanted}}
    assert [call[0] for call in host.calls] == calls
    assert converge(host, tmp_path, bundle, state=wanted)['changed'] is False


def test_a_live_resource_change_is_an_update_of_the_running_container(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    changed_config(bundle, lambda config: config['linux']['resources']['memory'].update(limit=128 << 20))
    host.calls = []
    planned = converge(host, tmp_path, bundle, check_mode=True)
    assert (planned['actions'], host.calls) == (['update'], [])
    result = converge(host, tmp_path, bundle)
    assert result['actions'] == ['update']
    assert host.called('update') == [('update', 'web', {'memory': {'limit': 128 << 20}, 'pids': {'limit': 64}})]
    assert not host.called('delete', 'create')
    assert result['diff']['after']['resources']['memory'] == {'limit': 128 << 20}
    assert planned['diff'] == result['diff']
    assert converge(host, tmp_path, bundle)['changed'] is False


def test_a_resource_the_runtime_cannot_update_live_recreates(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    changed_config(bundle, lambda config: config['linux']['resources'].update(
        hugepageLimits=[{'pageSize': '2MB', 'limit': 0}]))
    host.calls = []
    result = converge(host, tmp_path, bundle)
    assert result['actions'] == ['recreate']
    assert [call[0] for call in host.calls] == ['supervisor-stop', 'delete', 'launch', 'create', 'start']


def test_a_config_change_recreates_and_the_diff_names_it(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    changed_config(bundle, lambda config: config['process'].update(args=['sleep', '2000']))
    result = converge(host, tmp_path, bundle)
    assert result['actions'] == ['recreate'] and status(host) == 'running'
    assert set(result['diff']['before']) == {'config_digest'}


def test_a_supervisor_setting_is_reconfigured_without_touching_the_container(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    host.calls = []
    result = converge(host, tmp_path, bundle, restart_policy='on-failure:3')
    assert result['actions'] == ['reconfigure']
    assert [call[0] for call in host.calls] == ['reload']
    assert result['diff'] == {'before': {'restart_policy': 'no'}, 'after': {'restart_policy': 'on-failure:3'}}


def test_a_failed_create_leaves_nothing(host, tmp_path, bundle):
    host.fail('start')
    with pytest.raises(errors.SetupError):
        converge(host, tmp_path, bundle)
    assert host.containers == {} and host.supervisors == {}


def test_a_recreate_whose_create_fails_leaves_nothing_and_the_next_run_creates(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    changed_config(bundle, lambda config: config['process'].update(args=['sleep', '2000']))
    host.fail('create')
    with pytest.raises(errors.SetupError):
        converge(host, tmp_path, bundle)
    assert host.containers == {} and host.supervisors == {}
    assert converge(host, tmp_path, bundle)['actions'] == ['create']


def test_a_failed_live_update_is_tried_again_by_the_next_run(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    changed_config(bundle, lambda config: config['linux']['resources']['pids'].update(limit=32))
    host.fail('update', errors.CgroupError('pids.max: invalid argument'))
    with pytest.raises(errors.CgroupError):
        converge(host, tmp_path, bundle)
    assert status(host) == 'running'
    result = converge(host, tmp_path, bundle)
    assert result['actions'] == ['update']
    assert converge(host, tmp_path, bundle)['changed'] is False


def test_absent_removes_container_and_supervisor_and_check_mode_does_not(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    planned = converge(host, tmp_path, bundle, check_mode=True, state='absent')
    assert (planned['actions'], status(host)) == (['delete'], 'running')
    result = converge(host, tmp_path, bundle, state='absent')
    assert (result['actions'], result['status']) == (['delete'], 'absent')
    assert host.containers == {} and host.supervisors == {}
    assert result['diff'] == planned['diff'] == {'before': {'state': 'running'}, 'after': {'state': 'absent'}}
    assert converge(host, tmp_path, bundle, state='absent')['changed'] is False


def test_a_container_made_without_a_supervisor_is_recreated_under_one(host, tmp_path, bundle):
    host.driver.create('web', bundle)
    host.driver.start('web')
    result = converge(host, tmp_path, bundle)
    assert result['actions'] == ['recreate']
    assert 'was not created by this collection' in result['warnings'][0]
    assert len(host.supervisors) == 1


def test_changing_only_the_log_path_reconfigures_the_supervisor(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    host.calls = []
    new_path = str(tmp_path / 'logs' / 'web.log')
    planned = converge(host, tmp_path, bundle, check_mode=True, log_path=new_path)
    assert (planned['changed'], planned['actions'], host.calls) == (True, ['reconfigure'], [])
    result = converge(host, tmp_path, bundle, log_path=new_path)
    assert (result['changed'], result['actions']) == (True, ['reconfigure'])
    assert result['diff'] == planned['diff'] == {'before': {'log_path': str(tmp_path / 'web.log')},
                                                 'after': {'log_path': new_path}}
    assert [call[0] for call in host.calls] == ['reload']
    assert result['log_path'] == new_path
    assert converge(host, tmp_path, bundle, log_path=new_path)['changed'] is False


def test_a_record_from_before_log_path_was_recorded_is_not_a_change(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    entry = list(host.supervisors.values())[0]
    del entry['settings']['record']['log_path']
    assert converge(host, tmp_path, bundle)['changed'] is False


def test_by_name_alone_an_existing_container_is_moved_with_the_bundle_and_settings_it_has(host, tmp_path, bundle):
    """No bundle given: the container is stopped and started again as it was made, its log_path kept."""
    kept_log = str(tmp_path / 'kept.log')
    converge(host, tmp_path, bundle, log_path=kept_log, stop_timeout=3)
    planned = converge(host, tmp_path, None, check_mode=True, state='stopped', log_path=None)
    assert (planned['actions'], status(host)) == (['stop'], 'running')
    stopped = converge(host, tmp_path, None, state='stopped', log_path=None)
    assert (stopped['actions'], stopped['status']) == (['stop'], 'stopped')
    host.calls = []
    started = converge(host, tmp_path, None, state='running', log_path=None, stop_timeout=10)
    assert (started['actions'], started['status']) == (['start'], 'running')
    settings = list(host.supervisors.values())[0]['settings']
    assert (settings['bundle'], settings['log_path'], settings['stop_timeout']) == (bundle, kept_log, 3)
    assert started['log_path'] == kept_log
    assert converge(host, tmp_path, None, state='running', log_path=None)['changed'] is False


def test_by_name_alone_a_restart_keeps_the_record(host, tmp_path, bundle):
    converge(host, tmp_path, bundle)
    record = list(host.supervisors.values())[0]['settings']['record']
    host.calls = []
    result = converge(host, tmp_path, None, restart=True, log_path=None)
    assert (result['actions'], result['status']) == (['restart'], 'running')
    assert host.called() == [('supervisor-stop', 'web'), ('delete', 'web'), ('launch', 'web'), ('create', 'web'),
                             ('start', 'web')]
    assert list(host.supervisors.values())[0]['settings']['record'] == record


def test_by_name_alone_a_missing_container_fails_naming_bundle_and_does_nothing(host, tmp_path):
    with pytest.raises(errors.ConfigError) as failed:
        converge(host, tmp_path, None, log_path=None)
    assert failed.value.field == 'bundle' and 'does not exist' in failed.value.reason
    assert host.calls == [] and host.supervisors == {}
