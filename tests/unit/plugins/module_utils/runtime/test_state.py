# -*- coding: utf-8 -*-
import json
import os
import subprocess

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors, state


@pytest.mark.parametrize('ns, text', [
    (1764373655976181213, '2025-11-28T23:47:35.976181213Z'),
    (1764373655976181000, '2025-11-28T23:47:35.976181Z'),
    (1764373655000000000, '2025-11-28T23:47:35Z'),
    (1764373655100000000, '2025-11-28T23:47:35.1Z'),
])
def test_rfc3339_nano_trims_like_go(ns, text):
    assert state.rfc3339_nano(ns) == text


def test_start_time_identifies_a_process():
    mine = state.process_start_time(os.getpid())
    assert isinstance(mine, int) and mine > 0
    child = subprocess.Popen(['sleep', '5'])
    try:
        assert state.process_start_time(child.pid) >= mine
        child.kill()
        child.wait()
        assert state.process_start_time(child.pid) is None
    finally:
        if child.poll() is None:
            child.kill()


def test_zombie_counts_as_gone():
    child = subprocess.Popen(['true'])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert state.process_start_time(child.pid) is None
    child.wait()


def test_container_dir_lifecycle(tmp_path):
    root = str(tmp_path / 'root')
    directory = state.ContainerDir(root, 'abc')
    directory.make()
    assert oct(os.stat(root).st_mode & 0o777) == '0o700'
    with pytest.raises(errors.ContainerExists):
        state.ContainerDir(root, 'abc').make()
    with pytest.raises(errors.ContainerNotExist):
        directory.load()
    saved = state.ContainerState(id='abc', pid=1, init_start=5, bundle='/b', config={'a': [1]})
    with directory:
        directory.save(saved)
    loaded = directory.load()
    assert (loaded.id, loaded.pid, loaded.config) == ('abc', 1, {'a': [1]})
    assert state.list_ids(root) == ['abc']
    assert os.listdir(directory.path) == ['state.json']
    directory.remove()
    assert state.list_ids(root) == []
    with pytest.raises(errors.ContainerNotExist):
        state.ContainerDir(root, 'abc').lock()


def test_invalid_id_is_refused_before_any_path_is_built(tmp_path):
    with pytest.raises(errors.InvalidContainerID):
        state.ContainerDir(str(tmp_path), '../escape')


def test_corrupt_state_is_reported(tmp_path):
    directory = state.ContainerDir(str(tmp_path), 'c')
    directory.make()
    with open(directory.state_file, 'w') as handle:
        handle.write('{not json')
    with pytest.raises(errors.StateError) as caught:
        directory.load()
    assert 'corrupt' in caught.value.message


def _good_record():
    return {'id': 'c', 'pid': 4242, 'init_start': 77, 'bundle': '/b', 'rootfs': '/b/rootfs', 'created': 'now',
            'annotations': {'a': 'b'}, 'started': True, 'rootless': False, 'external_descriptors': ['/dev/null'],
            'config': {'ociVersion': '1.0.2', 'process': {'args': ['sh'], 'env': ['A=1']},
                       'hooks': {'poststop': [{'path': '/bin/true'}]},
                       'linux': {'namespaces': [{'type': 'pid'}], 'resources': {}}},
            'cgroup': {'path': 'c', 'dirs': {'memory': '/sys/fs/cgroup/memory/c', '': '/sys/fs/cgroup/unified/c'},
                       'v2_root': '/sys/fs/cgroup/unified', 'created': []}}


@pytest.mark.parametrize('change, words', [
    (lambda r: r.update(pid='1'), 'pid: must be int'),
    (lambda r: r.update(pid=-1), 'pid: must not be negative'),
    (lambda r: r.update(started='yes'), 'started: must be bool'),
    (lambda r: r.update(init_start=True), 'init_start: must be int'),
    (lambda r: r.update(config=[]), 'config: must be dict'),
    (lambda r: r.update(config=None), 'config: missing'),  # found by test_fuzz.py: update raised AttributeError
    (lambda r: r.update(annotations={'a': 1}), 'annotations: must hold strings'),
    (lambda r: r['config'].update(process={'args': 'sh'}), 'config.process.args'),
    (lambda r: r['config'].update(hooks={'poststop': [{'path': 3}]}), 'config.hooks.poststop[0].path'),
    (lambda r: r['config']['linux'].update(namespaces=[{'type': 'bogus'}]), 'config.linux.namespaces[0].type'),
    (lambda r: r['cgroup'].update(dirs=[]), 'cgroup: must have'),
    # The root of a hierarchy: delete would kill every process on the host in it.
    (lambda r: r['cgroup']['dirs'].update(memory='/sys/fs/cgroup/memory'), "'/sys/fs/cgroup/memory' is not"),
    (lambda r: r['cgroup']['dirs'].update(memory='/sys/fs/cgroup/memory/../memory'), 'is not'),
    (lambda r: r['cgroup']['dirs'].update(memory='/'), 'is not'),
    (lambda r: r['cgroup'].update(created=['/etc']), "'/etc' is not"),
    (lambda r: r.update(id='other'), "id: 'other' is not the folder's"),
])
def test_a_damaged_state_record_is_corrupt_and_says_where(tmp_path, change, words):
    """Valid JSON of the wrong shape: before, commands failed with AttributeError or TypeError tracebacks."""
    directory = state.ContainerDir(str(tmp_path), 'c')
    directory.make()
    record = _good_record()
    with open(directory.state_file, 'w') as handle:
        json.dump(record, handle)
    assert directory.load().pid == 4242
    change(record)
    with open(directory.state_file, 'w') as handle:
        json.dump(record, handle)
    with pytest.raises(errors.StateError) as caught:
        directory.load()
    assert 'corrupt' in caught.value.message and words in caught.value.message


@pytest.mark.parametrize('text', ['null', '[]', '"x"', '{"id": "c", "pid": 1' + ']' * 3])
def test_state_that_is_no_object_is_corrupt(tmp_path, text):
    directory = state.ContainerDir(str(tmp_path), 'c')
    directory.make()
    with open(directory.state_file, 'w') as handle:
        handle.write(text)
    with pytest.raises(errors.StateError):
        directory.load()


def test_a_recorded_start_time_of_none_is_never_alive():
    record = state.ContainerState(pid=999999999, init_start=None)
    assert not record.init_alive()
