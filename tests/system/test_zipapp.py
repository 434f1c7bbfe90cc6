# -*- coding: utf-8 -*-
"""scripts/build-zipapp: one runcible file that runs containers wherever it is copied.

podman's system tests copy the runtime binary to another folder ("full path to
--runtime is preserved"); bin/runcible cannot be copied (it finds its library
beside itself), the zipapp can.
"""

import glob
import os
import shutil
import subprocess
import zipfile

import pytest

from systemlib import REPO, Runtime, new_id

BUILD = os.path.join(REPO, 'scripts', 'build-zipapp')


def build(folder, python=None):
    """Build the zipapp into `folder` and return its path."""
    target = os.path.join(folder, 'runcible')
    argv = [BUILD] + (['-p', python] if python else []) + [target]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == target
    return target


def copied_elsewhere(path, folder, name):
    os.makedirs(folder)
    copy = os.path.join(folder, name)
    shutil.copy2(path, copy)
    return copy


def run_container(runtime, bundle):
    bundle.write(['sh', '-c', 'echo hello from $(hostname); cat /proc/self/cgroup | wc -l'])
    return runtime.cmd('run', '--bundle', bundle.path, new_id())


@pytest.mark.skipif(not os.path.exists('/usr/bin/python3'), reason='the default build needs /usr/bin/python3')
def test_a_copy_of_the_zipapp_runs_containers(tmp_path, make_bundle):
    built = build(str(tmp_path / 'build'))
    copy = copied_elsewhere(built, str(tmp_path / 'elsewhere'), 'my-runtime')
    os.unlink(built)
    with open(copy, 'rb') as handle:
        assert handle.readline() == b'#!/usr/bin/python3\n'
    assert os.stat(copy).st_mode & 0o777 == 0o755

    zipapp = Runtime('zipapp', [copy], str(tmp_path / 'root'))
    try:
        result = run_container(zipapp, make_bundle())
        assert (result.returncode, result.stdout.splitlines()[0]) == (0, 'hello from runc'), result.stderr
        detached = new_id()
        zipapp.cmd('run', '-d', '--bundle', make_bundle().write(['sleep', '30']).path, detached, check=True)
        assert zipapp.state(detached)['status'] == 'running'
        assert zipapp.cmd('exec', detached, 'echo', 'exec ok', check=True).stdout == 'exec ok\n'
        zipapp.cmd('delete', '--force', detached, check=True)
        assert zipapp.ids() == []
    finally:
        zipapp.cleanup()
    version = subprocess.run([copy, '--version'], capture_output=True, text=True, check=True).stdout
    assert version.startswith('my-runtime version ')


def test_the_zipapp_holds_the_runtime_sources_and_their_bytecode(tmp_path):
    built = build(str(tmp_path), python='/usr/bin/python3' if os.path.exists('/usr/bin/python3') else None)
    sources = sorted(os.path.relpath(path, os.path.join(REPO, 'plugins', 'module_utils'))
                     for path in glob.glob(os.path.join(REPO, 'plugins', 'module_utils', 'runtime', '**', '*.py'),
                                           recursive=True))
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
    assert {'__main__.py', '__main__.pyc'} <= names
    assert not [name for name in names if '__pycache__' in name]
    assert [name for name in sources if name not in names] == []
    assert [name for name in sources if name + 'c' not in names] == []


def test_a_zipapp_for_the_oldest_python_runs_there(tmp_path, make_bundle):
    """-p names the target's interpreter: the shebang and the bytecode are its own (Python 3.9 here)."""
    pythons = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.9.*/bin/python3')))
    if not pythons:
        pytest.skip('no Python 3.9 under ~/.pyenv/versions')
    built = build(str(tmp_path / 'build'), python=pythons[-1])
    with open(built, 'rb') as handle:
        assert handle.readline() == ('#!%s\n' % pythons[-1]).encode()
    zipapp = Runtime('zipapp', [built], str(tmp_path / 'root'))
    try:
        result = run_container(zipapp, make_bundle())
        assert (result.returncode, result.stdout.splitlines()[0]) == (0, 'hello from runc'), result.stderr
    finally:
        zipapp.cleanup()
    version = subprocess.run([built, '--version'], capture_output=True, text=True, check=True).stdout
    assert 'python: 3.9.' in version


def test_build_refuses_an_interpreter_too_old(tmp_path):
    pythons = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.8.*/bin/python3')))
    if not pythons:
        pytest.skip('no Python 3.8 under ~/.pyenv/versions')
    result = subprocess.run([BUILD, '-p', pythons[-1], str(tmp_path / 'runcible')], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert result.stderr == 'error: %s is not a Python 3.9 or newer\n' % pythons[-1]
    assert os.listdir(str(tmp_path)) == []


def test_a_copy_of_bin_runcible_says_what_to_use_instead(tmp_path):
    copy = copied_elsewhere(os.path.join(REPO, 'bin', 'runcible'), str(tmp_path / 'elsewhere'), 'runcible')
    result = subprocess.run(['/usr/bin/python3' if os.path.exists('/usr/bin/python3') else 'python3', copy, 'list'],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.startswith('%s: the runtime library is not at %s' % (copy, str(tmp_path / 'plugins')))
    assert 'scripts/build-zipapp' in result.stderr
