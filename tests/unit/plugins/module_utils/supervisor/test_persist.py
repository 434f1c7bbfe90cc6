# -*- coding: utf-8 -*-
"""The persisted copy of the runtime and supervisor that outlives a module's payload."""

import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.driver import persist
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import SetupError
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client


@pytest.fixture
def fresh():
    persist._cache.clear()
    yield
    persist._cache.clear()


def test_copy_is_complete_content_addressed_and_runs(tmp_path):
    lib_root = str(tmp_path / 'lib')
    target = persist.ensure(lib_root)
    assert os.path.dirname(target) == lib_root
    files = persist.sources()
    assert 'runtime/cli/main.py' in files and 'supervisor/main.py' in files
    for name in files:
        assert os.path.isfile(os.path.join(target, persist.PACKAGE, *name.split('/')))
    persist._cache.clear()
    assert persist.ensure(lib_root) == target
    result = subprocess.run(persist.cli_command(lib_root) + ['--version'], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and result.stdout.startswith('runcible version ')
    result = subprocess.run([sys.executable, '-S', os.path.join(target, 'supervise')], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 2 and 'usage: supervise' in result.stderr


def test_copy_is_written_0755_and_0644_whatever_the_umask(tmp_path, fresh):
    old = os.umask(0)
    try:
        target = persist.ensure(str(tmp_path / 'var' / 'lib'))
    finally:
        os.umask(old)
    for folder in (tmp_path / 'var', tmp_path / 'var' / 'lib'):
        assert stat.S_IMODE(os.stat(str(folder)).st_mode) == 0o755
    for directory, subdirs, files in os.walk(target):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755, directory
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
            assert mode == (0o755 if name in ('runcible', 'supervise', 'network-up') else 0o644), (directory, name)


@pytest.mark.parametrize('spoil', ['writable file', 'writable folder', 'symlink'])
def test_a_copy_someone_else_could_change_is_refused(tmp_path, fresh, spoil):
    lib_root = str(tmp_path / 'lib')
    target = persist.ensure(lib_root)
    persist._cache.clear()
    main = os.path.join(target, persist.PACKAGE, 'supervisor', 'main.py')
    if spoil == 'writable file':
        os.chmod(main, 0o666)
    elif spoil == 'writable folder':
        os.chmod(os.path.dirname(main), 0o777)
    else:
        os.rename(main, str(tmp_path / 'elsewhere.py'))
        os.symlink(str(tmp_path / 'elsewhere.py'), main)
    with pytest.raises(SetupError) as caught:
        persist.supervisor_command(lib_root)
    assert target in str(caught.value) and 'remove' in str(caught.value)


def test_supervisor_folders_differ_by_runtime_root():
    assert client.folder_for('/run/runc', 'web', '/x') != client.folder_for('/run/runcible', 'web', '/x')
    assert client.folder_for('/run/runc', 'web', '/x').endswith('-web')
