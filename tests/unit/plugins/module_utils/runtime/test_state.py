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
    directory = state.ContainerDir(root, 'abc').make()
    assert oct(os.stat(root).st_mode & 0o777) == '0o700'
    # make() returns with the folder locked: nothing else can act on it before its state exists.
    assert directory.lock_fd is not None
    assert state.ContainerDir(root, 'abc').locked_by_other()
    with pytest.raises(errors.ContainerExists):
        state.ContainerDir(root, 'abc').make()
    # A folder without a state is a half-made container: listed, and load says how to remove it.
    assert state.list_ids(root) == ['abc']
    with pytest.raises(errors.StateError) as caught:
        directory.load()
    assert 'state.json is missing' in caught.value.message and '`delete --force abc`' in caught.value.message
    saved = state.ContainerState(id='abc', pid=1, init_start=5, bundle='/b', config={'a': [1]})
    directory.record(saved)
    directory.unlock()
    loaded = directory.load()
    assert (loaded.id, loaded.pid, loaded.config, loaded.damage) == ('abc', 1, {'a': [1]}, None)
    assert sorted(os.listdir(directory.path)) == ['cleanup.json', 'state.json']
    with open(directory.cleanup_file) as handle:
        assert sorted(json.load(handle)) == sorted(state.ContainerState.CLEANUP_FIELDS)
    directory.remove()
    assert state.list_ids(root) == []
    with pytest.raises(errors.ContainerNotExist):
        state.ContainerDir(root, 'abc').lock()
    with pytest.raises(errors.ContainerNotExist):
        state.ContainerDir(root, 'abc').load_remains()


def test_a_folder_locked_without_state_is_being_created(tmp_path):
    directory = state.ContainerDir(str(tmp_path), 'c').make()
    with pytest.raises(errors.ContainerCreating):
        state.ContainerDir(str(tmp_path), 'c').load()
    other = state.ContainerDir(str(tmp_path), 'c')
    assert state.status(other.load_remains(), other) == 'creating'
    directory.unlock()
    assert state.status(other.load_remains(), other) == 'stopped'


def test_remove_deletes_the_state_files_last(tmp_path, monkeypatch):
    """A delete killed half-way must leave cleanup.json, the record of what else to remove."""
    directory = state.ContainerDir(str(tmp_path), 'c').make()
    directory.record(state.ContainerState(id='c'))
    for name in ('exec.fifo', 'init.error', '.state.json.1.tmp'):
        open(os.path.join(directory.path, name), 'w').close()
    removed = []
    real_unlink = os.unlink
    monkeypatch.setattr(state.os, 'unlink', lambda path: (removed.append(os.path.basename(path)), real_unlink(path)))
    directory.remove()
    assert removed[-2:] == ['state.json', 'cleanup.json']
    assert sorted(removed) == ['.state.json.1.tmp', 'cleanup.json', 'exec.fifo', 'init.error', 'state.json']
    assert not os.path.exists(directory.path)


def test_invalid_id_is_refused_before_any_path_is_built(tmp_path):
    with pytest.raises(errors.InvalidContainerID):
        state.ContainerDir(str(tmp_path), '../escape')


@pytest.mark.parametrize('content, reason', [
    (b'{not json', 'not valid JSON'),
    (b'', 'empty'),
    (b'{"id": "c", "pid": 12', 'not valid JSON'),
    (b'[1, 2]', 'not a JSON object'),
    (b'{"id": "other"}', "id is 'other', not 'c'"),
    (b'{"id": "c", "pid": "12"}', "pid is '12', not a positive number"),
    (b'{"id": "c", "pid": true}', 'pid is True'),
    (b'{"id": "c", "config": []}', 'config is not a JSON dict'),
    (b'{"id": "c", "cgroup": {"path": "c", "dirs": {"memory": "relative/c"}}}', "cgroup holds 'relative/c'"),
    (b'\xff\xfe', 'not valid JSON'),
    (b'[' * 100000, 'not valid JSON'),
])
def test_damaged_state_is_reported_with_the_fix(tmp_path, content, reason):
    directory = state.ContainerDir(str(tmp_path), 'c').make()
    directory.unlock()
    with open(directory.state_file, 'wb') as handle:
        handle.write(content)
    with pytest.raises(errors.StateError) as caught:
        directory.load()
    assert 'state.json is damaged' in caught.value.message and reason in caught.value.message
    assert '`delete --force c`' in caught.value.message


def _good_record():
    return {'id': 'c', 'pid': 4242, 'init_start': 77, 'bundle': '/b', 'rootfs': '/b/rootfs', 'created': 'now',
            'annotations': {'a': 'b'}, 'started': True, 'rootless': False, 'external_descriptors': ['/dev/null'],
            'config': {'ociVersion': '1.0.2', 'process': {'args': ['sh'], 'env': ['A=1']},
                       'hooks': {'poststop': [{'path': '/bin/true'}]},
                       'linux': {'namespaces': [{'type': 'pid'}], 'resources': {}}},
            'cgroup': {'path': 'c', 'dirs': {'memory': '/sys/fs/cgroup/memory/c', '': '/sys/fs/cgroup/unified/c'},
                       'v2_root': '/sys/fs/cgroup/unified', 'created': []}}


@pytest.mark.parametrize('change, words', [
    (lambda r: r.update(pid='1'), "pid is '1', not a positive number"),
    (lambda r: r.update(pid=-1), 'pid is -1, not a positive number'),
    (lambda r: r.update(started='yes'), 'started is not a boolean'),
    (lambda r: r.update(init_start=True), 'init_start is True'),
    (lambda r: r.update(config=[]), 'config is not a JSON dict'),
    (lambda r: r.update(config=None), 'config is missing'),  # found by test_fuzz.py: update raised AttributeError
    (lambda r: r.update(annotations={'a': 1}), 'annotations holds something other than strings'),
    (lambda r: r['config'].update(process={'args': 'sh'}), 'config.process.args'),
    (lambda r: r['config'].update(hooks={'poststop': [{'path': 3}]}), 'config.hooks.poststop[0].path'),
    # Found by test_fuzz.py (40 examples): exec copied them with dict() and raised ValueError or TypeError.
    (lambda r: r['config']['process'].update(user=[{}, {}]), 'config.process.user: must be an object'),
    (lambda r: r['config']['process'].update(capabilities='CAP_KILL'), 'config.process.capabilities: must be an object'),
    (lambda r: r['config']['linux'].update(namespaces=[{'type': 'bogus'}]), 'config.linux.namespaces[0].type'),
    (lambda r: r['cgroup'].update(dirs=[]), 'cgroup is not a cgroup record'),
    # The root of a hierarchy: delete would kill every process on the host in it.
    (lambda r: r['cgroup']['dirs'].update(memory='/sys/fs/cgroup/memory'), "'/sys/fs/cgroup/memory', which is not"),
    (lambda r: r['cgroup']['dirs'].update(memory='/sys/fs/cgroup/memory/../memory'), 'which is not'),
    (lambda r: r['cgroup']['dirs'].update(memory='/'), 'which is not'),
    (lambda r: r['cgroup'].update(created=['/etc']), "'/etc', which is not"),
    # Found by test_fuzz.py (40 examples): a list among the folders raised TypeError (unhashable) in every command.
    (lambda r: r['cgroup'].update(created=[['/sys/fs/cgroup/memory/c']]), "['/sys/fs/cgroup/memory/c'], which is not"),
    (lambda r: r['cgroup']['dirs'].update(memory={}), '{}, which is not'),
    (lambda r: r.update(id='other'), "id is 'other', not 'c'"),
    # Delete detaches every mount under the rootfs not in `before`: a damaged list must not be used.
    (lambda r: r.update(host_mounts={'mnt_ns': 4026531841, 'before': [[1]]}), 'host_mounts is not a record'),
    (lambda r: r.update(host_mounts={'mnt_ns': 'mnt', 'before': []}), 'host_mounts is not a record'),
    (lambda r: r.update(host_mounts={'mnt_ns': 4026531841, 'before': 5}), 'host_mounts is not a record'),
    (lambda r: r.update(host_mounts={'mnt_ns': 4026531841, 'before': [1]}, rootfs=None), 'host_mounts is not a'),
])
def test_a_state_record_of_the_wrong_shape_is_damaged_and_says_where(tmp_path, change, words):
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
    assert 'state.json is damaged' in caught.value.message and words in caught.value.message


def test_a_host_mounts_record_as_create_writes_it_loads(tmp_path):
    directory = state.ContainerDir(str(tmp_path), 'c')
    directory.make()
    record = dict(_good_record(), host_mounts={'mnt_ns': 4026531841, 'before': [31, 1047]})
    with open(directory.state_file, 'w') as handle:
        json.dump(record, handle)
    assert directory.load().host_mounts == {'mnt_ns': 4026531841, 'before': [31, 1047]}


def test_a_recorded_start_time_of_none_is_never_alive():
    record = state.ContainerState(pid=999999999, init_start=None)
    assert not record.init_alive()


def test_remains_come_from_cleanup_json_when_state_json_is_damaged(tmp_path):
    directory = state.ContainerDir(str(tmp_path), 'c').make()
    cgroup = {'path': 'c', 'dirs': {'memory': '/sys/fs/cgroup/memory/c'}, 'v2_root': None, 'created': []}
    directory.record(state.ContainerState(id='c', pid=42, init_start=7, bundle='/b', cgroup=cgroup,
                                          config={'hooks': {}}))
    with open(directory.state_file, 'r+b') as handle:
        handle.truncate(10)
    remains = directory.load_remains()
    assert (remains.pid, remains.init_start, remains.bundle, remains.cgroup) == (42, 7, '/b', cgroup)
    assert remains.config is None
    assert remains.damage.startswith('state.json is damaged (not valid JSON')
    assert remains.damaged_files == ('state.json',)
    os.unlink(directory.state_file)
    remains = directory.load_remains()
    assert (remains.pid, remains.damage, remains.damaged_files) == (42, 'state.json is missing', ())


def test_remains_are_the_id_alone_when_both_files_are_unusable(tmp_path):
    directory = state.ContainerDir(str(tmp_path), 'c').make()
    with open(directory.cleanup_file, 'w') as handle:
        handle.write('{')
    remains = directory.load_remains()
    assert (remains.id, remains.pid, remains.cgroup) == ('c', None, None)
    assert remains.damage.startswith('state.json is missing, cleanup.json is damaged')
    assert remains.damaged_files == ('cleanup.json',)


def test_list_ids_lists_every_folder_named_like_an_id(tmp_path):
    root = tmp_path / 'root'
    for name in ('b', 'a', '.hidden'):
        (root / name).mkdir(parents=True)
    (root / '.criu-check.json').write_text('{}')
    (root / 'bad name').mkdir()
    (root / 'link').symlink_to(root / 'a')
    assert state.list_ids(str(root)) == ['.hidden', 'a', 'b']


def test_created_means_the_init_still_holds_the_fifo(tmp_path):
    """Not that the FIFO exists: a start killed after it released the init leaves it behind."""
    fifo = str(tmp_path / 'exec.fifo')
    assert not state.init_holds_fifo(fifo)
    os.mkfifo(fifo, 0o622)
    assert not state.init_holds_fifo(fifo)
    held = os.open(fifo, os.O_RDWR)
    try:
        assert state.init_holds_fifo(fifo)
    finally:
        os.close(held)
    assert not state.init_holds_fifo(fifo)


def test_the_mount_point_check_answers_as_ismount(tmp_path):
    """state._is_mount (two stats, parents cached) stands in for os.path.ismount in the cgroup record check."""
    os.symlink('/', str(tmp_path / 'to-root'))
    os.symlink('/sys/fs/cgroup/memory', str(tmp_path / 'to-hierarchy'))
    (tmp_path / 'dir').mkdir()
    paths = ['/', '/proc', '/sys', '/sys/fs/cgroup', '/tmp', '/nonexistent/x', str(tmp_path), str(tmp_path / 'dir'),
             str(tmp_path / 'to-root'), str(tmp_path / 'to-hierarchy')]
    for top in ('/sys/fs/cgroup',):
        for name in sorted(os.listdir(top)):
            paths.append(os.path.join(top, name))
            if os.path.isdir(os.path.join(top, name)):
                paths += [os.path.join(top, name, child) for child in sorted(os.listdir(os.path.join(top, name)))[:5]]
    for _twice in range(2):  # the second time from the cache of parents
        assert {path: state._is_mount(path) for path in paths} == {path: os.path.ismount(path) for path in paths}


@pytest.mark.parametrize('change, words', [
    (lambda c: c.update(mounts=[{'destination': '/proc', 'type': 'proc'}, 7]), 'config.mounts[1]: must be an object'),
    (lambda c: c.update(mounts=[{'type': 'tmpfs'}]), 'config.mounts[0].destination: must be a path'),
    (lambda c: c.update(mounts=[{'destination': '/x', 'options': 'bind'}]), 'config.mounts[0].options'),
    (lambda c: c.update(root='rootfs'), 'config.root: must be an object'),
    (lambda c: c['linux'].update(maskedPaths=[['/proc/kcore']]), 'config.linux.maskedPaths[0]'),
    (lambda c: c['linux'].update(devices=[{'type': 'c'}]), 'config.linux.devices[0].path'),
])
def test_checkpoint_refuses_a_recorded_config_it_cannot_read_as_damage(tmp_path, change, words):
    """Checkpoint reads more of the recorded config than other commands check at load (mounts, root, masked paths,
    devices): one of the wrong shape is a damaged state naming the field, not a traceback (before: AttributeError)."""
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.container import checkpoint
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu.options import CriuOptions
    directory = state.ContainerDir(str(tmp_path), 'c')
    directory.make()
    record = _good_record()
    change(record['config'])
    with open(directory.state_file, 'w') as handle:
        json.dump(record, handle)
    assert directory.load().config == record['config']  # every other command reads it as it is
    directory.unlock()  # make() holds the lock, as create does
    with pytest.raises(errors.StateError) as caught:
        checkpoint.checkpoint(str(tmp_path), 'c', CriuOptions(image_path=str(tmp_path / 'image')))
    assert 'state.json is damaged' in caught.value.message and words in caught.value.message
    assert not os.path.exists(str(tmp_path / 'image'))
