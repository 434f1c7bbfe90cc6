# -*- coding: utf-8 -*-
"""oci_container's option table (converge/container_spec.OPTIONS), walked on real containers.

For every value an option decides, one running container (vendored runtime,
real supervisor) gets that option changed alone: check mode must plan the
action the table promises and change nothing; the real run must take the same
action, report the same diff, and have the effect a user would check (a new
init for a recreate, the new cgroup limit for a live update, the supervisor
using the new setting, the output going to the new log file); the run after
must report nothing to do. A value the table gains without a case here fails
the walk.
"""

import copy
import json
import os
import shutil
import time

import pytest
from systemlib import default_config, import_collection, new_id

import_collection()

from ansible_collections.runcible.oci.plugins.module_utils.converge import container_spec  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.converge.container import Converger  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client  # noqa: E402

TICKER = ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done']
MEMORY = 64 << 20


class Setup:
    """One container of the walk, its folders, and a way to converge it with some options changed."""

    def __init__(self, tmp_path, template):
        self.tmp_path = tmp_path
        self.name = new_id('opt')
        self.bundle = str(tmp_path / 'bundle')
        shutil.copytree(template, os.path.join(self.bundle, 'rootfs'), symlinks=True)
        self.config = default_config()
        self.config['process']['args'] = TICKER
        self.config['linux']['resources'] = dict(self.config['linux'].get('resources') or {},
                                                 memory={'limit': MEMORY})
        self.write_config(self.config)
        self.params = {'name': self.name, 'bundle': self.bundle, 'state': 'running', 'runtime': 'runcible',
                       'runtime_root': str(tmp_path / 'root'), 'restart_policy': 'no', 'stop_timeout': 2,
                       'log_path': str(tmp_path / 'logs' / 'first.log'), 'log_lines': 5}

    def write_config(self, config):
        with open(os.path.join(self.bundle, 'config.json'), 'w') as handle:
            json.dump(config, handle)

    def converge(self, check_mode=False, **changes):
        params = dict(self.params, **changes)
        tmp = self.tmp_path
        return Converger(params, check_mode=check_mode, supervisor_root=str(tmp / 'supervisors'),
                         lib_root=str(tmp / 'lib'),
                         unit_dirs={'unit_dir': str(tmp / 'units'), 'settings_dir': str(tmp / 'unitconf')}).run()

    def settings(self):
        folder = client.folder_for(self.params['runtime_root'], self.name, str(self.tmp_path / 'supervisors'))
        with open(os.path.join(folder, 'settings.json')) as handle:
            return json.load(handle)


def _changed_config(setup, change):
    config = copy.deepcopy(setup.config)
    change(config)
    setup.write_config(config)
    return {}


def _moved_bundle(setup):
    moved = str(setup.tmp_path / 'bundle-moved')
    shutil.copytree(setup.bundle, moved, symlinks=True)
    return {'bundle': moved}


def _new_rootfs_digest(setup):
    with open(os.path.join(setup.bundle, 'runcible.json'), 'w') as handle:
        json.dump({'rootfs': {'digest': 'sha256:' + 'b' * 64}}, handle)
    return {}


def _memory_limit(container_id):
    for top in ('/sys/fs/cgroup/memory',):
        for folder, _dirs, files in os.walk(top):
            if os.path.basename(folder) == container_id and 'memory.limit_in_bytes' in files:
                with open(os.path.join(folder, 'memory.limit_in_bytes')) as handle:
                    return int(handle.read())
    return None


def _log_has_ticks(path, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if os.path.exists(path):
            with open(path) as handle:
                if 'stdout F tick' in handle.read():
                    return True
        time.sleep(0.1)
    return False


# Each compared value of the table: (how to change it alone -> changed module params, what to check after).
CASES = {
    'bundle': (_moved_bundle, None),
    'config_digest': (lambda setup: _changed_config(setup, lambda c: c['process']['env'].append('MODE=two')), None),
    'resources': (lambda setup: _changed_config(setup, lambda c: c['linux']['resources']['memory'].update(
        limit=2 * MEMORY)), lambda setup, result: _memory_limit(setup.name) == 2 * MEMORY),
    'rootfs_digest': (_new_rootfs_digest, None),
    'runtime': (lambda setup: {'runtime': shutil.which('runc') or pytest.skip('runc is not installed')}, None),
    'restart_policy': (lambda setup: {'restart_policy': 'on-failure:2'},
                       lambda setup, result: setup.settings()['restart_max'] == 2),
    'stop_signal': (lambda setup: {'stop_signal': 'SIGINT'},
                    lambda setup, result: setup.settings()['stop_signal'] == 'SIGINT'),
    'stop_timeout': (lambda setup: {'stop_timeout': 5}, lambda setup, result: setup.settings()['stop_timeout'] == 5),
    'log_path': (lambda setup: {'log_path': str(setup.tmp_path / 'logs' / 'second.log')},
                 lambda setup, result: result['log_path'] == str(setup.tmp_path / 'logs' / 'second.log')
                 and _log_has_ticks(str(setup.tmp_path / 'logs' / 'second.log'))),
    'log_max_size': (lambda setup: {'log_max_size': 4096}, lambda setup, result: setup.settings()['log_max_size'] == 4096),
    'log_max_files': (lambda setup: {'log_max_files': 5}, lambda setup, result: setup.settings()['log_max_files'] == 5),
}
# A change of a live value outside its live parts: (value, change, expected apply kind).
OUTSIDE_LIVE_PARTS = {
    'resources': lambda setup: _changed_config(setup, lambda c: c['linux']['resources'].setdefault('devices', []).append(
        {'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'})),
}


# Walked by test_container_network.py, in a namespace standing in for the host (bridges and nftables rules are
# never made in the machine's own): a change of ports, dns or the networks' settings re-attaches the same process,
# joining the first network or leaving the last recreates it.
WALKED_ON_NETWORKS = {'networks', 'ports', 'dns'}


def test_every_compared_value_has_a_case():
    assert sorted(CASES) == sorted(value.key for value in container_spec.COMPARED
                                   if value.key not in WALKED_ON_NETWORKS)
    assert sorted(OUTSIDE_LIVE_PARTS) == sorted(value.key for value in container_spec.COMPARED if value.live_parts)


def walk_cases():
    cases = [pytest.param(value.key, value.apply, False, id=value.key) for value in container_spec.COMPARED
             if value.key not in WALKED_ON_NETWORKS]
    cases += [pytest.param(value.key, container_spec.RECREATE, True, id=value.key + '-outside-live-parts')
              for value in container_spec.COMPARED if value.live_parts]
    return cases


@pytest.fixture
def setup(tmp_path, busybox_template):
    made = Setup(tmp_path, busybox_template)
    yield made
    made.converge(state='absent')
    for runtime in ('runcible', shutil.which('runc')):
        if runtime:
            Converger(dict(made.params, runtime=runtime, state='absent'), supervisor_root=str(tmp_path / 'supervisors'),
                      lib_root=str(tmp_path / 'lib')).run()


@pytest.mark.parametrize('key, apply, outside_live_parts', walk_cases())
def test_changing_one_option_takes_the_action_the_table_promises(setup, key, apply, outside_live_parts):
    first = setup.converge()
    assert first['actions'] == ['create'] and first['status'] == 'running'
    pid = first['container']['pid']
    change, check = (OUTSIDE_LIVE_PARTS[key], None) if outside_live_parts else CASES[key]
    changes = change(setup)
    action = container_spec.ACTIONS[apply]

    planned = setup.converge(check_mode=True, **changes)
    assert (planned['changed'], planned['actions']) == (True, [action])
    assert planned['container']['pid'] == pid and planned['status'] == 'running'
    assert set(planned['diff']['after']) == {key}

    done = setup.converge(**changes)
    assert (done['changed'], done['actions'], done['diff']) == (True, [action], planned['diff'])
    assert done['status'] == 'running'
    if apply == container_spec.RECREATE:
        assert done['container']['pid'] != pid
    else:
        assert done['container']['pid'] == pid
        assert setup.settings()['record'][key] == done['diff']['after'][key]
    if check is not None:
        assert check(setup, done)

    again = setup.converge(**changes)
    assert (again['changed'], again['actions']) == (False, [])


# Options the table does not compare, with what changing them alone does (they are actions or shape the result).
NOT_COMPARED_CASES = {
    'log_lines': ({'log_lines': 2}, []),
    'restart': ({'restart': True}, ['restart']),
    'recreate': ({'recreate': True}, ['recreate']),
}
# Covered elsewhere: identity (another name or root is another container), the wanted status (transitions), the
# bundle made in the same task, the systemd unit (tests/integration/targets/oci_container), the network options
# compared with `dns` or naming where networks are (test_container_network.py).
NOT_WALKED = {'name', 'runtime_root', 'state', 'bundle_options', 'systemd_unit', 'dns_search', 'dns_options',
              'network_root'}


def test_every_option_not_compared_has_a_reason_and_a_case():
    not_compared = {option.name for option in container_spec.OPTIONS if option.not_compared}
    assert not_compared == set(NOT_COMPARED_CASES) | NOT_WALKED


@pytest.mark.parametrize('name', sorted(NOT_COMPARED_CASES))
def test_changing_an_option_not_compared(setup, name):
    pid = setup.converge()['container']['pid']
    changes, actions = NOT_COMPARED_CASES[name]
    planned = setup.converge(check_mode=True, **changes)
    done = setup.converge(**changes)
    assert planned['actions'] == done['actions'] == actions
    assert done['changed'] is bool(actions)
    assert (done['container']['pid'] == pid) is (not actions)
