# -*- coding: utf-8 -*-
"""oci_bundle's logic with copy rootfs bundles from a real store: idempotence, what a change rewrites, check and diff mode.

Overlay bundles need root and mounts: tests/integration/targets/oci_bundle runs them.
"""

import json
import os
import sys

import pytest

from convergelib import GROUP, PASSWD, bundle_params, image_params, rootfs_tarball

from ansible_collections.runcible.oci.plugins.module_utils.converge.bundle import ensure_bundle, rootfs_reference
from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.converge.image import ensure_image
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError, RuntimeErrorBase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'image'))

from layerlib import Layout, entry, tar_layer  # noqa: E402

SETTINGS = {
    'process': {'args': ['/bin/true'], 'user': {'uid': 101, 'gid': 201},
                'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 4096, 'hard': 4096}], 'no_new_privileges': True},
    'root': {'readonly': True},
    'mounts': [{'source': '/srv/data', 'destination': '/data', 'options': ['ro']}],
    'resources': {'memory': {'limit': '64m', 'swap': '128m'}, 'pids': {'limit': 50}},
}


@pytest.fixture
def store(tmp_path, tarball):
    path = str(tmp_path / 'store')
    ensure_image(image_params(name='localhost/app:1', store=path, import_from=tarball))
    return path


def converge(store, bundle, check_mode=False, **given):
    settings = dict(SETTINGS)
    settings.update(given)
    return ensure_bundle(bundle_params(path=bundle, image='localhost/app:1', store=store, **settings), check_mode=check_mode,
                         diff=True)


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def test_the_settings_users_reach_for_first(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    result = converge(store, bundle)
    assert result['changed'] is True and result['rootfs_action'] == 'unpack'
    config = read_json(os.path.join(bundle, 'config.json'))
    assert config == result['config']
    assert config['process']['user'] == {'uid': 101, 'gid': 201}
    assert config['process']['rlimits'] == [{'type': 'RLIMIT_NOFILE', 'soft': 4096, 'hard': 4096}]
    assert config['root'] == {'path': 'rootfs', 'readonly': True}
    assert config['linux']['resources']['memory'] == {'limit': 64 << 20, 'swap': 128 << 20}
    assert config['linux']['resources']['pids'] == {'limit': 50}
    assert {'destination': '/data', 'type': 'bind', 'source': '/srv/data', 'options': ['rbind', 'ro']} in config['mounts']
    assert os.path.isfile(os.path.join(bundle, 'rootfs', 'etc', 'passwd'))
    assert result['rootfs_digest'].startswith('sha256:') and result['rootfs_mode'] == 'copy'


def test_second_run_changes_nothing(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    first = converge(store, bundle)
    config_mtime = os.stat(os.path.join(bundle, 'config.json')).st_mtime_ns
    again = converge(store, bundle)
    assert again['changed'] is False
    assert again['rootfs_action'] == 'none' and again['config_changed'] is False
    assert again['config_digest'] == first['config_digest'] and again['rootfs_digest'] == first['rootfs_digest']
    assert os.stat(os.path.join(bundle, 'config.json')).st_mtime_ns == config_mtime


def test_a_config_change_rewrites_only_config_json(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    first = converge(store, bundle)
    rootfs_inode = os.stat(os.path.join(bundle, 'rootfs')).st_ino
    changed = converge(store, bundle, hostname='web')
    assert changed['changed'] is True and changed['config_changed'] is True
    assert changed['rootfs_changed'] is False and changed['rootfs_digest'] == first['rootfs_digest']
    assert os.stat(os.path.join(bundle, 'rootfs')).st_ino == rootfs_inode
    assert read_json(os.path.join(bundle, 'config.json'))['hostname'] == 'web'
    before, after = changed['diff'][0]['before'], changed['diff'][0]['after']
    assert '"hostname": "runc"' in before and '"hostname": "web"' in after
    assert len(changed['diff']) == 1


def test_check_mode_predicts_and_writes_nothing(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    predicted = converge(store, bundle, check_mode=True)
    assert predicted['changed'] is True and not os.path.exists(bundle)
    assert predicted['diff'][0]['before'] == '' and predicted['diff'][1]['before'] == ''
    assert 'digest: (computed when the rootfs is made)' in predicted['diff'][1]['after']
    real = converge(store, bundle)
    assert real['config_digest'] == predicted['config_digest']
    assert predicted['diff'][0]['after'] == real['diff'][0]['after']
    before = os.stat(os.path.join(bundle, 'config.json')).st_mtime_ns
    changed = converge(store, bundle, check_mode=True, hostname='other')
    assert changed['changed'] is True and changed['rootfs_changed'] is False
    assert read_json(os.path.join(bundle, 'config.json'))['hostname'] == 'runc'
    assert os.stat(os.path.join(bundle, 'config.json')).st_mtime_ns == before


def test_check_mode_resolves_user_names_from_the_image_layers(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    process = dict(SETTINGS['process'], user='app')
    predicted = converge(store, bundle, check_mode=True, process=process)
    assert predicted['config']['process']['user'] == {'uid': 101, 'gid': 201}
    real = converge(store, bundle, process=process)
    assert real['config_digest'] == predicted['config_digest']


@pytest.mark.parametrize('upper, expected', [
    ([entry('etc', 'dir'), entry('etc/.wh.passwd', data=b''), entry('etc/passwd', data=b'app:x:7:8::/:/bin/sh\n')], (7, 8)),
    ([entry('etc', 'dir'), entry('etc/passwd', data=b'app:x:7:8::/:/bin/sh\n'), entry('etc/.wh..wh..opq')], (7, 8)),
    ([entry('etc', 'dir'), entry('etc/.wh.passwd')], None),
    ([entry('.wh.etc')], None),
    ([entry('etc', 'dir'), entry('etc/motd', data=b'hi\n')], (101, 201)),
])
def test_check_mode_reads_users_through_the_layers(tmp_path, upper, expected):
    """Whiteouts and re-adds in upper layers decide which /etc/passwd check mode resolves names with."""
    layout = Layout(tmp_path / 'layout')
    base = tar_layer([entry('etc', 'dir'), entry('etc/passwd', data=PASSWD), entry('etc/group', data=GROUP)])
    layout.add_image([base, tar_layer(upper)], tag='two')
    store = str(tmp_path / 'store')
    ensure_image(image_params(name='localhost/two:1', store=store, import_from=layout.path, source_ref='two'))
    params = bundle_params(path=str(tmp_path / 'bundle'), image='localhost/two:1', store=store,
                           process={'args': ['/bin/true'], 'user': 'app'})
    if expected is None:
        with pytest.raises(ConfigError, match='not in the image'):
            ensure_bundle(params, check_mode=True)
        return
    predicted = ensure_bundle(params, check_mode=True)
    assert (predicted['config']['process']['user']['uid'], predicted['config']['process']['user']['gid']) == expected
    assert ensure_bundle(params)['config_digest'] == predicted['config_digest']


def test_rootfs_source_is_imported_and_kept_while_unchanged(tmp_path, tarball):
    store = str(tmp_path / 'store')
    bundle = str(tmp_path / 'bundle')
    params = bundle_params(path=bundle, rootfs=tarball, store=store, process={'args': ['/bin/true']})
    first = ensure_bundle(params)
    assert first['changed'] is True and first['image'] == rootfs_reference(tarball)
    assert ensure_bundle(params)['changed'] is False
    rootfs_tarball(tarball, {'etc': None, 'etc/passwd': b'root:x:0:0::/:/bin/sh\n', 'etc/motd': b'new\n'})
    predicted = ensure_bundle(params, check_mode=True)
    assert predicted['changed'] is True and predicted['rootfs_changed'] is True
    assert not os.path.exists(os.path.join(bundle, 'rootfs', 'etc', 'motd'))
    updated = ensure_bundle(params)
    assert updated['rootfs_changed'] is True and updated['rootfs_digest'] != first['rootfs_digest']
    assert os.path.isfile(os.path.join(bundle, 'rootfs', 'etc', 'motd'))


def test_image_not_in_the_store_names_the_parameter(tmp_path, store):
    with pytest.raises(RuntimeErrorBase) as caught:
        ensure_bundle(bundle_params(path=str(tmp_path / 'b'), image='localhost/missing:1', store=store))
    message = failure_message(caught.value)
    assert message.startswith('image: ') and 'pull or import it first' in message


@pytest.mark.parametrize('settings, start', [
    ({'process': dict(SETTINGS['process'], rlimits=[{'type': 'RLIMIT_NOFILE', 'soft': 8192, 'hard': 4096}])},
     'process.rlimits[0].soft: '),
    ({'resources': {'memory': {'limit': '128m', 'swap': '64m'}}}, 'resources.memory.swap: '),
    ({'namespaces': ['pid', 'mount'], 'hostname': 'web'}, 'hostname: '),
])
def test_invalid_settings_name_the_option(tmp_path, store, settings, start):
    with pytest.raises(ConfigError) as caught:
        converge(store, str(tmp_path / 'bundle'), **settings)
    assert failure_message(caught.value).startswith(start)
    assert not os.path.lexists(str(tmp_path / 'bundle'))


def _tree(top):
    """{relative path: (mode, size, content or link target)} of everything under `top`."""
    found = {}
    for directory, subdirs, files in os.walk(top):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if os.path.islink(path):
                content = os.readlink(path)
            elif os.path.isfile(path):
                with open(path, 'rb') as handle:
                    content = handle.read()
            else:
                content = None
            found[os.path.relpath(path, top)] = (info.st_mode, info.st_size, content)
    return found


BAD_SETTINGS = [
    {'resources': {'memory': {'limit': '-64m'}}},
    {'resources': {'memory': {'limit': '64 megabytes'}}},
    {'process': dict(SETTINGS['process'], user='nobody')},
]


@pytest.mark.parametrize('settings', BAD_SETTINGS)
def test_a_failed_run_leaves_no_bundle_behind(tmp_path, store, settings):
    bundle = tmp_path / 'bundle'
    with pytest.raises(ConfigError):
        converge(store, str(bundle), **settings)
    assert not os.path.lexists(str(bundle))
    bundle.mkdir()
    (bundle / 'notes').write_text('mine')
    with pytest.raises(ConfigError):
        converge(store, str(bundle), **settings)
    assert _tree(str(bundle)) == {'notes': _tree(str(tmp_path))['bundle/notes']}


@pytest.mark.parametrize('settings', BAD_SETTINGS)
def test_a_failed_run_leaves_an_existing_bundle_as_it_was(tmp_path, store, settings):
    bundle = str(tmp_path / 'bundle')
    converge(store, bundle)
    before = _tree(bundle)
    # A new image would rewrite the rootfs: the settings must be refused before that.
    ensure_image(image_params(name='localhost/app:2', store=store, import_from=rootfs_tarball(
        tmp_path / 'v2.tar.gz', {'bin': None, 'bin/true': b'#!/bin/sh\n', 'etc': None, 'etc/passwd': PASSWD,
                                 'etc/group': GROUP, 'etc/motd': b'v2\n'})))
    with pytest.raises(ConfigError):
        ensure_bundle(bundle_params(path=bundle, image='localhost/app:2', store=store, **dict(SETTINGS, **settings)))
    assert _tree(bundle) == before


def test_absent_removes_a_bundle_and_refuses_other_folders(tmp_path, store):
    bundle = str(tmp_path / 'bundle')
    converge(store, bundle)
    predicted = ensure_bundle(bundle_params(path=bundle, state='absent'), check_mode=True, diff=True)
    assert predicted['changed'] is True and os.path.isdir(bundle)
    assert '"ociVersion"' in predicted['diff']['before'] and predicted['diff']['after'] == ''
    assert ensure_bundle(bundle_params(path=bundle, state='absent'))['changed'] is True
    assert not os.path.exists(bundle)
    assert ensure_bundle(bundle_params(path=bundle, state='absent'))['changed'] is False
    other = tmp_path / 'precious'
    other.mkdir()
    (other / 'data').write_text('keep')
    with pytest.raises(ConfigError) as caught:
        ensure_bundle(bundle_params(path=str(other), state='absent'))
    assert 'not a bundle' in str(caught.value) and (other / 'data').exists()


def test_a_host_failure_after_the_unpack_removes_what_the_run_made(tmp_path, store, monkeypatch):
    from ansible_collections.runcible.oci.plugins.module_utils.converge import bundle as module

    def disk_full(*args, **kwargs):
        raise OSError(28, 'No space left on device', os.path.join(args[0], 'config.json'))

    monkeypatch.setattr(module, 'write_config', disk_full)
    bundle = tmp_path / 'bundle'
    with pytest.raises(OSError) as caught:
        converge(store, str(bundle))
    assert failure_message(caught.value).startswith('path: ') and 'No space left' in failure_message(caught.value)
    assert not os.path.lexists(str(bundle))
    bundle.mkdir()
    (bundle / 'notes').write_text('mine')
    with pytest.raises(OSError):
        converge(store, str(bundle))
    assert sorted(os.listdir(str(bundle))) == ['notes']
