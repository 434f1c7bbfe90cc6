# -*- coding: utf-8 -*-
"""The full copy of the collection's code that oci_container, oci_bundle and oci_image load from, and its installer's input."""

import base64
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.runcible.oci.plugins.action import oci_container as action
from ansible_collections.runcible.oci.plugins.module_utils import hostcopy

MODULE_UTILS = hostcopy.module_utils_dir()
PLUGINS = os.path.dirname(MODULE_UTILS)


def _full_copy(lib_root):
    files = hostcopy.collect(MODULE_UTILS)
    target = os.path.join(lib_root, hostcopy.digest(files))
    hostcopy.write(target, files, compile_code=True)
    return target, files


def test_without_a_name_modules_come_from_the_collection():
    utils = hostcopy.load(environ={})
    assert utils('runtime.errors').__name__ == 'ansible_collections.runcible.oci.plugins.module_utils.runtime.errors'


def test_root_keeps_its_copies_in_var_lib_and_other_users_in_their_home():
    """As root: LIB_ROOT. As another user (the effective user switched for real): its home folder's."""
    if os.geteuid() != 0:
        assert hostcopy.lib_root().endswith('/.local/share/runcible/lib')
        pytest.skip('the part as another user needs root to become one')
    assert hostcopy.lib_root() == hostcopy.LIB_ROOT == '/var/lib/runcible/lib'
    import pwd
    nobody = pwd.getpwnam('nobody')
    os.seteuid(nobody.pw_uid)
    try:
        found = hostcopy.lib_root()
    finally:
        os.seteuid(0)
    assert found == os.path.join(nobody.pw_dir, '.local', 'share', 'runcible', 'lib')


@pytest.mark.parametrize('name', ['../../etc', '0123456789abcdeg', 'abc'])
def test_a_name_that_is_no_digest_is_refused(tmp_path, name):
    with pytest.raises(hostcopy.CopyError, match='16 hex digits'):
        hostcopy.load(str(tmp_path), {hostcopy.ENVIRONMENT: name})


def test_a_missing_copy_asks_for_one(tmp_path):
    environ = {hostcopy.ENVIRONMENT: '0123456789abcdef'}
    assert hostcopy.load(str(tmp_path), environ) is None
    assert environ == {}  # taken out: supervisors started by the module do not inherit it


def test_a_copy_others_could_change_is_refused(tmp_path):
    target, _files = _full_copy(str(tmp_path / 'lib'))
    os.chmod(os.path.join(target, hostcopy.PACKAGE, 'runtime', 'errors.py'), 0o666)
    with pytest.raises(hostcopy.CopyError, match='errors.py is a symlink, or not owned by root, or writable by others'):
        hostcopy.load(str(tmp_path / 'lib'), {hostcopy.ENVIRONMENT: os.path.basename(target)})


def test_the_full_copy_serves_modules_compiled_and_runs_supervisors_from_itself(tmp_path):
    lib_root = str(tmp_path / 'lib')
    target, files = _full_copy(lib_root)
    assert 'converge/container.py' in files and 'hostcopy.py' in files and 'runtime/cli/main.py' in files
    compiled = os.path.join(target, hostcopy.PACKAGE, 'converge', '__pycache__')
    assert any(name.startswith('container.') and name.endswith('.pyc') for name in os.listdir(compiled))
    # In a fresh interpreter (the copy's package would otherwise stay in this one's sys.modules).
    script = (
        'import json, sys\n'
        'sys.path.insert(0, sys.argv[1])\n'
        'from runcible_utils import hostcopy\n'
        'utils = hostcopy.load(sys.argv[2], {hostcopy.ENVIRONMENT: sys.argv[3]})\n'
        'persist = utils("driver.persist")\n'
        'print(json.dumps([utils("converge.container").__file__, persist.ensure(sys.argv[2]),'
        ' persist.supervisor_command(sys.argv[2])[-1]]))\n')
    result = subprocess.run([sys.executable, '-c', script, target, lib_root, os.path.basename(target)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    module_file, persisted, supervise = json.loads(result.stdout)
    assert module_file == os.path.join(target, hostcopy.PACKAGE, 'converge', 'container.py')
    assert persisted == target and supervise == os.path.join(target, 'supervise')


def test_the_action_plugin_sends_the_files_its_digest_names():
    digest, archive = action.controller_copy()
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(archive))) as payload:
        files = {name: payload.read(name) for name in payload.namelist()}
    assert files == hostcopy.collect(MODULE_UTILS)
    assert hostcopy.digest(files) == digest


def test_a_payload_without_the_code_and_without_a_name_says_how_to_run_it(tmp_path):
    """The module's payload alone (no action plugin, no copy named): a clear failure, not an ImportError."""
    package = tmp_path / 'payload' / 'ansible_collections' / 'runcible' / 'oci' / 'plugins' / 'module_utils'
    package.mkdir(parents=True)
    for name in ('hostcopy.py', 'bytecode.py'):
        with open(os.path.join(MODULE_UTILS, name), 'rb') as source:
            (package / name).write_bytes(source.read())
    script = ('import sys\n'
              'sys.path.insert(0, sys.argv[1])\n'
              'from ansible_collections.runcible.oci.plugins.module_utils import hostcopy\n'
              'hostcopy.load_or_exit()\n')
    environment = dict(os.environ)
    environment.pop(hostcopy.ENVIRONMENT, None)
    result = subprocess.run([sys.executable, '-c', script, str(tmp_path / 'payload')], capture_output=True, text=True,
                            env=environment, check=False)
    assert result.returncode == 1 and result.stderr == ''
    answer = json.loads(result.stdout)
    assert answer['failed'] and 'run the module from a playbook' in answer['msg']
