# -*- coding: utf-8 -*-
"""Rootless: an unprivileged user runs a `spec --rootless` bundle, as with runc."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from systemlib import PYTHON, REPO, RUNCIBLE, make_rootfs, new_id

NOBODY = 65534


@pytest.fixture
def rootless_bundle():
    if shutil.which('setpriv') is None:
        pytest.skip('setpriv (util-linux) is needed to drop to an unprivileged user')
    top = tempfile.mkdtemp(prefix='runcible-rootless-')
    os.chmod(top, 0o755)
    make_rootfs(os.path.join(top, 'rootfs'))
    for directory, subdirs, files in os.walk(top):
        os.lchown(directory, NOBODY, NOBODY)
        for name in subdirs + files:
            os.lchown(os.path.join(directory, name), NOBODY, NOBODY)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope='module')
def nobody_runcible():
    """A copy of bin/runcible and the runtime that the unprivileged user can read.

    The checkout may sit below a folder only root can enter (/root, a
    `mktemp -d` folder), where the unprivileged user cannot open bin/runcible.
    """
    top = tempfile.mkdtemp(prefix='runcible-rootless-runtime-')
    shutil.copytree(os.path.join(REPO, 'plugins', 'module_utils', 'runtime'),
                    os.path.join(top, 'plugins', 'module_utils', 'runtime'), ignore=shutil.ignore_patterns('__pycache__'))
    os.makedirs(os.path.join(top, 'bin'))
    shutil.copy(RUNCIBLE, os.path.join(top, 'bin', 'runcible'))
    os.chmod(top, 0o755)
    for directory, subdirs, files in os.walk(top):
        for name in subdirs:
            os.chmod(os.path.join(directory, name), 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    yield os.path.join(top, 'bin', 'runcible')
    shutil.rmtree(top, ignore_errors=True)


def as_nobody(argv, **kwargs):
    return subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                           '--reset-env'] + argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False, **kwargs)


def test_rootless_spec_runs_unprivileged_like_runc(rootless_bundle, nobody_runcible):
    spec = as_nobody([PYTHON, nobody_runcible, 'spec', '--rootless', '--bundle', rootless_bundle])
    assert spec.returncode == 0, spec.stderr
    path = os.path.join(rootless_bundle, 'config.json')
    with open(path) as handle:
        config = json.load(handle)
    assert config['linux']['uidMappings'] == [{'containerID': 0, 'hostID': NOBODY, 'size': 1}]
    config['process']['terminal'] = False
    config['process']['args'] = ['sh', '-c', 'id; cat /proc/self/uid_map; grep -c . /proc/self/mountinfo; '
                                 'touch /tmp/x 2>/dev/null; echo $?; ls -ln /dev/null | cut -c1-10']
    with open(path, 'w') as handle:
        json.dump(config, handle)
    os.chown(path, NOBODY, NOBODY)
    outputs = []
    for argv in ([PYTHON, nobody_runcible], [shutil.which('runc') or 'runc']):
        root = os.path.join(rootless_bundle, 'state-' + os.path.basename(argv[-1]))
        result = as_nobody(argv + ['--root', root, 'run', '--bundle', rootless_bundle, new_id()])
        assert result.returncode == 0, (argv, result.stderr)
        outputs.append(result.stdout)
        assert not os.listdir(root)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith('uid=0(root) gid=0(root)')
    assert outputs[0].splitlines()[1].split() == ['0', str(NOBODY), '1']


def test_rootless_resource_limits_need_a_delegated_cgroup(rootless_bundle, nobody_runcible):
    as_nobody([PYTHON, nobody_runcible, 'spec', '--rootless', '--bundle', rootless_bundle])
    path = os.path.join(rootless_bundle, 'config.json')
    with open(path) as handle:
        config = json.load(handle)
    config['process']['terminal'] = False
    config['process']['args'] = ['true']
    config['linux']['resources'] = {'pids': {'limit': 10}}
    with open(path, 'w') as handle:
        json.dump(config, handle)
    root = os.path.join(rootless_bundle, 'state')
    container_id = new_id()
    result = as_nobody([PYTHON, nobody_runcible, '--root', root, 'run', '--bundle', rootless_bundle, container_id])
    assert result.returncode == 1
    assert 'cannot create cgroup' in result.stderr
    assert not os.path.exists(os.path.join(root, container_id))
