# -*- coding: utf-8 -*-
"""The runtime command lines of the connection plugin."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.bundle.users import ExecUser
from ansible_collections.runcible.oci.plugins.plugin_utils import container_exec as E

RUNC = ['/usr/sbin/runc', '--root', '/run/runc']


def test_exec_as_the_container_user():
    assert E.exec_argv(RUNC, 'web', ['/bin/sh', '-c', 'id -u']) == RUNC + ['exec', '--', 'web', '/bin/sh', '-c', 'id -u']


def test_exec_as_another_user_sets_ids_groups_and_home():
    argv = E.exec_argv(RUNC, 'web', ['/bin/sh', '-c', 'true'], ExecUser(101, 201, [10, 50], '/home/app'))
    assert argv == RUNC + ['exec', '--user', '101:201', '--additional-gids', '10', '--additional-gids', '50',
                           '--env', 'HOME=/home/app', '--', 'web', '/bin/sh', '-c', 'true']


def test_exec_without_a_home_uses_the_root_folder():
    argv = E.exec_argv(RUNC, 'web', ['true'], ExecUser(7, 7, None, ''))
    assert '--additional-gids' not in argv
    assert argv[argv.index('--env') + 1] == 'HOME=/'


def test_with_python_replaces_only_the_interpreter():
    vendored = ['/venv/bin/python', '-S', '/var/lib/runcible/lib/x/runcible', '--root', '/run/runcible']
    assert E.with_python(vendored, '/usr/bin/python3') == ['/usr/bin/python3'] + vendored[1:]
    assert E.with_python(vendored, None) == vendored


@pytest.mark.parametrize('spec, shown', [
    (None, None), ('', None), ('app', 'app'), ('101', None), ('101:201', None), ('app:staff', None), (0, None),
])
def test_shell_user(spec, shown):
    assert E.shell_user(spec) == shown
