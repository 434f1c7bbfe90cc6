# -*- coding: utf-8 -*-
"""oci_exec's process: the container's own process.json with the task's command, environment, cwd and user."""

import json

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import execute
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


class StateOnly(object):
    """A driver that knows one container's state (what `runcible state` would print) and nothing else."""

    def __init__(self, state):
        self._state = state

    def state(self, name):
        return self._state if self._state and self._state['id'] == name else None


@pytest.fixture
def bundle(tmp_path):
    config = {'process': {'args': ['sleep', '1d'], 'cwd': '/srv', 'env': ['PATH=/bin', 'MODE=one'],
                          'user': {'uid': 5, 'gid': 6}, 'capabilities': {'bounding': ['CAP_KILL']}}}
    (tmp_path / 'config.json').write_text(json.dumps(config))
    return str(tmp_path)


def running(bundle, status='running'):
    return StateOnly({'id': 'web', 'status': status, 'bundle': bundle, 'pid': 1})


def test_the_containers_process_with_the_tasks_command(bundle):
    process = execute.exec_process(running(bundle), 'web', ['echo', 1])
    assert process['args'] == ['echo', '1']
    assert process['cwd'] == '/srv'
    assert process['user'] == {'uid': 5, 'gid': 6}
    assert process['capabilities'] == {'bounding': ['CAP_KILL']}
    assert process['terminal'] is False


def test_a_string_runs_under_sh(bundle):
    assert execute.exec_process(running(bundle), 'web', 'id; exit 4')['args'] == ['/bin/sh', '-c', 'id; exit 4']


def test_env_replaces_a_variable_and_adds_new_ones(bundle):
    process = execute.exec_process(running(bundle), 'web', ['env'], env={'MODE': 'two', 'NEW': 'x'})
    assert process['env'] == ['PATH=/bin', 'MODE=two', 'NEW=x']


def test_user_and_chdir_override(bundle):
    process = execute.exec_process(running(bundle), 'web', ['id'], cwd='/tmp', user='1000:1001')
    assert process['user'] == {'uid': 1000, 'gid': 1001}
    assert process['cwd'] == '/tmp'
    assert execute.exec_process(running(bundle), 'web', ['id'], user=7)['user'] == {'uid': 7, 'gid': 0}


def test_a_user_name_is_refused_naming_the_option(bundle):
    with pytest.raises(errors.ConfigError) as raised:
        execute.exec_process(running(bundle), 'web', ['id'], user='www-data')
    assert 'user' in str(raised.value)


def test_an_empty_command_is_refused(bundle):
    with pytest.raises(errors.ConfigError) as raised:
        execute.exec_process(running(bundle), 'web', [])
    assert 'command' in str(raised.value)


@pytest.mark.parametrize('status', ['created', 'paused', 'stopped'])
def test_exec_needs_a_running_container(bundle, status):
    with pytest.raises(errors.StateError) as raised:
        execute.exec_process(running(bundle, status), 'web', ['true'])
    assert status in str(raised.value)


def test_a_missing_container_is_named(bundle):
    with pytest.raises(errors.ContainerNotExist):
        execute.exec_process(running(bundle), 'db', ['true'])


def test_an_unreadable_bundle_config_is_an_error_naming_it(tmp_path):
    driver = StateOnly({'id': 'web', 'status': 'running', 'bundle': str(tmp_path), 'pid': 1})
    with pytest.raises(errors.StateError) as raised:
        execute.exec_process(driver, 'web', ['true'])
    assert str(tmp_path / 'config.json') in str(raised.value)
