# -*- coding: utf-8 -*-
"""The persisted copy of the runtime and supervisor that outlives a module's payload."""

import os
import subprocess
import sys

from ansible_collections.runcible.oci.plugins.module_utils.driver import persist
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import client


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


def test_supervisor_folders_differ_by_runtime_root():
    assert client.folder_for('/run/runc', 'web', '/x') != client.folder_for('/run/runcible', 'web', '/x')
    assert client.folder_for('/run/runc', 'web', '/x').endswith('-web')
