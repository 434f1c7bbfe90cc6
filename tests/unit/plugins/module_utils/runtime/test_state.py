# -*- coding: utf-8 -*-
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
