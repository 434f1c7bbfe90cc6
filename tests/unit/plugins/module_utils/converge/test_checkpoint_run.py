# -*- coding: utf-8 -*-
"""CheckpointRun (oci_checkpoint's logic) against a fake runtime and supervisor (fakehost.py): checkpoint and restore
decisions carried out in order, check mode, and failures in the middle."""

import json
import os

import pytest
from fakehost import FakeHost

from ansible_collections.runcible.oci.plugins.module_utils.converge import checkpoint as ck
from ansible_collections.runcible.oci.plugins.module_utils.converge.container import Converger
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors

CONFIG = {'ociVersion': '1.0.2', 'process': {'args': ['counter'], 'cwd': '/', 'terminal': False},
          'root': {'path': 'rootfs'}, 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'mount'}]}}


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


@pytest.fixture
def running(host, tmp_path):
    """A supervised container `web` of bundle tmp_path/bundle, as oci_container leaves it."""
    bundle = tmp_path / 'bundle'
    (bundle / 'rootfs' / 'bin').mkdir(parents=True)
    (bundle / 'rootfs' / 'bin' / 'counter').write_text('#!/bin/sh\n')
    (bundle / 'config.json').write_text(json.dumps(CONFIG))
    params = {'name': 'web', 'bundle': str(bundle), 'state': 'running', 'restart_policy': 'always',
              'stop_timeout': 7, 'log_path': str(tmp_path / 'web.log')}
    Converger(params, supervisor_root=str(tmp_path / 'supervisors'), lib_root=str(tmp_path / 'lib'),
              driver=host.driver, supervisions=host.supervisions,
              unit_dirs={'unit_dir': str(tmp_path / 'units'), 'settings_dir': str(tmp_path / 'unitconf')}).run()
    host.calls = []
    return str(bundle)


def run(host, tmp_path, check_mode=False, **params):
    given = {'name': 'web', 'state': 'checkpointed', 'image_path': str(tmp_path / 'image'), 'force': False,
             'leave_running': False, 'supervise': True}
    given.update(params)
    return ck.CheckpointRun(given, check_mode=check_mode, supervisor_root=str(tmp_path / 'supervisors'),
                            lib_root=str(tmp_path / 'lib'), driver=host.driver, supervisions=host.supervisions).run()


def status(host, name='web'):
    found = host.driver.state(name)
    return found['status'] if found else 'absent'


def test_a_checkpoint_is_taken_once(host, tmp_path, running):
    result = run(host, tmp_path)
    assert (result['changed'], result['actions'], result['status']) == (True, ['checkpoint'], 'absent')
    assert result['diff'] == {'before': {'container': 'running', 'checkpoint': None},
                              'after': {'container': 'checkpointed', 'checkpoint': '(new)'}}
    record = ck.read_record(str(tmp_path / 'image'))
    assert (record['id'], record['bundle'], record['criu_version']) == ('web', running, '4.2')
    # The supervisor was told, and its mark is gone again.
    assert not os.path.exists(os.path.join(list(host.supervisors)[0], 'checkpoint.json'))
    again = run(host, tmp_path)
    assert (again['changed'], again['actions']) == (False, [])


def test_check_mode_checkpoints_nothing(host, tmp_path, running):
    result = run(host, tmp_path, check_mode=True)
    assert (result['changed'], result['actions']) == (True, ['checkpoint'])
    assert host.calls == [] and status(host) == 'running' and not os.path.exists(str(tmp_path / 'image'))


def test_leave_running_keeps_the_container(host, tmp_path, running):
    result = run(host, tmp_path, leave_running=True)
    assert (result['actions'], status(host)) == (['checkpoint'], 'running')
    assert result['diff']['after']['container'] == 'running'
    assert ck.read_record(str(tmp_path / 'image'))['leave_running'] is True


def test_a_failed_dump_leaves_the_container_running_and_no_record(host, tmp_path, running):
    host.fail('checkpoint', errors.CriuError('criu dump failed: see dump.log'))
    with pytest.raises(errors.CriuError):
        run(host, tmp_path)
    assert status(host) == 'running'
    assert ck.read_record(str(tmp_path / 'image')) is None
    supervisor = list(host.supervisors)[0]
    assert not os.path.exists(os.path.join(supervisor, 'checkpoint.json'))
    assert run(host, tmp_path)['actions'] == ['checkpoint']


def test_a_container_that_is_not_running_is_refused_and_untouched(host, tmp_path, running):
    host.driver.kill('web')
    host.calls = []
    with pytest.raises(errors.ConfigError) as caught:
        run(host, tmp_path)
    assert caught.value.field == 'name' and 'is stopped' in str(caught.value)
    assert host.calls == [] and not os.path.exists(str(tmp_path / 'image'))


def test_restore_brings_it_back_under_its_supervisor_with_its_settings(host, tmp_path, running):
    run(host, tmp_path)
    host.calls = []
    planned = run(host, tmp_path, check_mode=True, state='restored', bundle=running)
    assert (planned['actions'], host.calls, status(host)) == (['restore'], [], 'absent')
    result = run(host, tmp_path, state='restored', bundle=running)
    assert (result['changed'], result['actions'], result['status']) == (True, ['restore'], 'running')
    assert [call[0] for call in host.calls] == ['launch', 'restore']
    assert result['diff'] == planned['diff']
    settings = list(host.supervisors.values())[0]['settings']
    assert (settings['restart_policy'], settings['stop_timeout'], settings['log_path']) == \
        ('always', 7, str(tmp_path / 'web.log'))
    assert settings['restored_from']['checkpoint_id'] == result['checkpoint_id']
    again = run(host, tmp_path, state='restored', bundle=running)
    assert (again['changed'], again['actions']) == (False, [])


def test_a_failed_restore_leaves_no_container_and_keeps_the_settings(host, tmp_path, running):
    run(host, tmp_path)
    before = list(host.supervisors.values())[0]['settings']
    host.fail('restore', errors.CriuError('criu restore failed'))
    with pytest.raises(errors.CriuError):
        run(host, tmp_path, state='restored', bundle=running)
    assert host.containers == {}
    assert [entry['settings'] for entry in host.supervisors.values()] == [before]
    assert not any(entry.get('alive') for entry in host.supervisors.values())
    assert run(host, tmp_path, state='restored', bundle=running)['actions'] == ['restore']


def test_restore_over_a_stopped_container_of_that_name_replaces_it(host, tmp_path, running):
    run(host, tmp_path, leave_running=True)
    host.driver.kill('web')
    host.calls = []
    result = run(host, tmp_path, state='restored', bundle=running)
    assert result['actions'] == ['remove', 'restore']
    assert [call[0] for call in host.calls] == ['supervisor-stop', 'delete', 'launch', 'restore']


def test_export_then_import_elsewhere_and_restore(host, tmp_path, running):
    path = str(tmp_path / 'move.tar')
    result = run(host, tmp_path, export=path)
    assert result['actions'] == ['checkpoint', 'export'] and os.path.getsize(path) == result['archive_size']
    assert run(host, tmp_path, export=path)['actions'] == []
    other = FakeHost(tmp_path / 'other')
    target = tmp_path / 'other'
    restored = run(other, target, state='restored', bundle=str(target / 'bundle'), image_path=str(target / 'image'),
                   **{'import': path})
    assert restored['actions'] == ['import', 'restore'] and other.driver.state('web')['status'] == 'running'
    # no supervisor of it there: the settings come with the checkpoint, the log file is the target's own
    settings = list(other.supervisors.values())[0]['settings']
    assert (settings['restart_policy'], settings['stop_timeout'], settings['log_max_size'], settings['log_max_files']) \
        == ('always', 7, 10 * 1024 * 1024, 3)
    assert settings['log_path'] != str(tmp_path / 'web.log')
    assert (target / 'bundle' / 'rootfs' / 'bin' / 'counter').read_text() == '#!/bin/sh\n'
    assert run(other, target, state='restored', bundle=str(target / 'bundle'), image_path=str(target / 'image'),
               **{'import': path})['changed'] is False


NETWORK = {'moved': {'name': 'web', 'networks': [{'name': 'front', 'ipv4_address': '10.9.0.2', 'aliases': []}],
                     'ports': [], 'dns': {}},
           'options': {'networks': [{'name': 'front'}], 'ports': [], 'dns': None}}


def moving_run(host, tmp_path, name='web'):
    given = {'name': name, 'state': 'restored', 'image_path': str(tmp_path / 'image'),
             'network_root': str(tmp_path / 'network')}
    return ck.CheckpointRun(given, supervisor_root=str(tmp_path / 'supervisors'), lib_root=str(tmp_path / 'lib'),
                            driver=host.driver, supervisions=host.supervisions, netns_dir=str(tmp_path / 'netns'))


def test_a_container_on_no_network_or_with_its_namespace_kept_here_is_no_move(host, tmp_path):
    assert moving_run(host, tmp_path).moving(None, 'web') is None
    kept = moving_run(host, tmp_path)
    kept.supervision.write_settings({'record': {'networks': [{'name': 'front'}]}})
    assert kept.moving(NETWORK, 'web') is None


def test_a_move_is_refused_under_another_name_or_with_a_damaged_record(host, tmp_path):
    with pytest.raises(errors.ConfigError, match='^name: the checkpointed container web was on networks'):
        moving_run(host, tmp_path, name='copy').moving(NETWORK, 'web')
    with pytest.raises(errors.ConfigError, match='^image_path: the network record in .* is damaged'):
        moving_run(host, tmp_path).moving({'moved': 'front'}, 'web')


def test_a_move_to_a_host_without_the_network_names_it_and_makes_nothing(host, tmp_path):
    # The entry at fault is in the checkpoint's record: the error names the file and the entry in it.
    with pytest.raises(errors.ConfigError, match=r'^image_path: .*/oci_checkpoint.json, network.moved.networks\[0\]'
                                                 r'.name: network front does not exist on this host: create it here'):
        moving_run(host, tmp_path).moving(NETWORK, 'web')
    assert not (tmp_path / 'netns').exists() and not (tmp_path / 'network' / 'containers').exists()


@pytest.mark.parametrize('carried, words', [
    ('always', 'supervision: must be a dict'),
    ({'restart_policy': 'sometimes'}, 'supervision.restart_policy: must be no, on-failure'),
    ({'stop_timeout': -1}, 'supervision.stop_timeout: must be a whole number of at least 0'),
    ({'stop_timeout': True}, 'supervision.stop_timeout: must be a whole number'),
    ({'log_max_files': 0}, 'supervision.log_max_files: must be a whole number of at least 1'),
    ({'stop_signal': 'TERM; rm -rf /'}, 'supervision.stop_signal: must be a signal name or number'),
])
def test_a_damaged_supervision_record_is_refused_before_anything_changes(host, tmp_path, running, carried, words):
    run(host, tmp_path)
    path = str(tmp_path / 'image')
    record = ck.read_record(path)
    record['supervision'] = carried
    ck.write_record(path, record)
    host.calls = []
    with pytest.raises(errors.ConfigError) as caught:
        run(host, tmp_path, state='restored', bundle=running)
    assert caught.value.field == 'image_path' and words in caught.value.reason
    assert '/oci_checkpoint.json' in caught.value.reason
    assert host.calls == [] and status(host) == 'absent'


def test_the_checkpoint_record_carries_the_supervision_settings(host, tmp_path, running):
    run(host, tmp_path)
    assert ck.read_record(str(tmp_path / 'image'))['supervision'] == {
        'restart_policy': 'always', 'stop_signal': 'SIGTERM', 'stop_timeout': 7, 'log_max_size': 10 * 1024 * 1024,
        'log_max_files': 3}
