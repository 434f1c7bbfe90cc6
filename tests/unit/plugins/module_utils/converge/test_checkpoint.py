# -*- coding: utf-8 -*-
"""oci_checkpoint's decisions (checkpoint again or not, restore or not, export again or not) and its archive."""

import json
import os
import stat
import tarfile

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import checkpoint as ck
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import archive

CONFIG = {'ociVersion': '1.0.2', 'process': {'args': ['sh']}, 'root': {'path': 'rootfs'},
          'linux': {'resources': {'memory': {'limit': 1 << 26}}, 'namespaces': [{'type': 'pid'}]}}


def record(name='web', digest='sha256:aa', checkpoint_id='c1'):
    return {'id': name, 'config_digest': digest, 'checkpoint_id': checkpoint_id}


# -- the config digest ----------------------------------------------------------------------

def test_config_digest_ignores_resources_and_key_order():
    other = json.loads(json.dumps(CONFIG))
    other['linux']['resources'] = {'memory': {'limit': 1 << 27}}
    reordered = dict(reversed(list(CONFIG.items())))
    assert ck.config_digest(CONFIG) == ck.config_digest(other) == ck.config_digest(reordered)


def test_config_digest_changes_with_the_program():
    other = json.loads(json.dumps(CONFIG))
    other['process']['args'] = ['sleep', '1']
    assert ck.config_digest(CONFIG) != ck.config_digest(other)


# -- state=checkpointed ---------------------------------------------------------------------

@pytest.mark.parametrize('found', ['missing', 'empty'])
def test_a_new_or_empty_folder_is_checkpointed_into(found):
    assert ck.checkpoint_decision('web', '/i', found, None, 'sha256:aa', False) == 'checkpoint'


def test_a_matching_checkpoint_is_kept():
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', record(), 'sha256:aa', False) == 'keep'


def test_a_matching_checkpoint_of_a_container_that_is_gone_is_kept():
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', record(), None, False) == 'keep'


def test_force_checkpoints_again():
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', record(), 'sha256:aa', True) == 'checkpoint'


def test_a_checkpoint_of_an_older_config_is_replaced():
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', record(), 'sha256:bb', False) == 'checkpoint'


def test_a_checkpoint_without_record_is_replaced():
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', None, 'sha256:aa', False) == 'checkpoint'


def test_a_checkpoint_of_another_container_is_not_overwritten():
    with pytest.raises(errors.ConfigError) as caught:
        ck.checkpoint_decision('web', '/i', 'checkpoint', record(name='db'), 'sha256:aa', False)
    assert caught.value.field == 'image_path'
    assert 'holds a checkpoint of container db, not of web' in str(caught.value)
    assert ck.checkpoint_decision('web', '/i', 'checkpoint', record(name='db'), 'sha256:aa', True) == 'checkpoint'


def test_a_folder_of_other_files_is_never_overwritten():
    for force in (False, True):
        with pytest.raises(errors.ConfigError) as caught:
            ck.checkpoint_decision('web', '/i', 'other', None, 'sha256:aa', force)
        assert caught.value.field == 'image_path'


def test_image_state(tmp_path):
    assert ck.image_state(str(tmp_path / 'no')) == 'missing'
    assert ck.image_state(str(tmp_path)) == 'empty'
    (tmp_path / 'notes.txt').write_text('mine')
    assert ck.image_state(str(tmp_path)) == 'other'
    (tmp_path / 'inventory.img').write_bytes(b'\0')
    assert ck.image_state(str(tmp_path)) == 'checkpoint'


def test_record_round_trip(tmp_path):
    assert ck.read_record(str(tmp_path)) is None
    ck.write_record(str(tmp_path), record())
    assert ck.read_record(str(tmp_path)) == record()
    (tmp_path / ck.RECORD).write_text('[1, 2]')
    assert ck.read_record(str(tmp_path)) is None


# -- state=restored -------------------------------------------------------------------------

def test_an_absent_container_is_restored():
    assert ck.restore_decision('web', None, None, 'c1', False) == 'restore'


@pytest.mark.parametrize('status', ['running', 'paused'])
def test_a_container_running_from_this_checkpoint_is_kept(status):
    assert ck.restore_decision('web', status, 'c1', 'c1', False) == 'keep'


def test_a_container_running_from_another_checkpoint_is_refused_unless_forced():
    with pytest.raises(errors.ConfigError) as caught:
        ck.restore_decision('web', 'running', 'c0', 'c1', False)
    assert caught.value.field == 'name'
    assert 'container web is running and was not restored from this checkpoint' in str(caught.value)
    assert ck.restore_decision('web', 'running', 'c0', 'c1', True) == 'replace'


def test_a_stopped_container_of_that_name_is_replaced():
    assert ck.restore_decision('web', 'stopped', 'c1', 'c1', False) == 'replace'


# -- export ---------------------------------------------------------------------------------

def make_bundle(tmp_path, overlay=False):
    bundle = tmp_path / 'bundle'
    (bundle / 'rootfs' / 'bin').mkdir(parents=True)
    (bundle / 'rootfs' / 'bin' / 'sh').write_bytes(b'#!shell')
    os.symlink('sh', str(bundle / 'rootfs' / 'bin' / 'ash'))
    (bundle / 'config.json').write_text(json.dumps(CONFIG))
    if overlay:
        (bundle / 'overlay' / 'upper' / 'etc').mkdir(parents=True)
        (bundle / 'overlay' / 'upper' / 'etc' / 'changed').write_text('new')
        (bundle / 'runcible.json').write_text(json.dumps({'rootfs': {'mode': 'overlay', 'image': 'sha256:img'}}))
    return str(bundle)


def make_image(tmp_path):
    image = tmp_path / 'image'
    image.mkdir()
    (image / 'inventory.img').write_bytes(b'criu')
    (image / 'pages-1.img').write_bytes(b'\1' * 5000)
    (image / 'descriptors.json').write_text('["/dev/null"]')
    return str(image)


def test_export_decision(tmp_path):
    path = str(tmp_path / 'a.tar')
    assert ck.export_decision(path, 'c1', False) == 'export'
    archive.write(path, {'checkpoint_id': 'c1'}, make_image(tmp_path), make_bundle(tmp_path))
    assert ck.export_decision(path, 'c1', False) == 'keep'
    assert ck.export_decision(path, 'c1', True) == 'export'
    assert ck.export_decision(path, 'c2', False) == 'export'


@pytest.mark.parametrize('name', ['move.tar', 'move.tar.gz'])
def test_archive_layout_of_a_plain_bundle(tmp_path, name):
    path = str(tmp_path / name)
    size = archive.write(path, {'id': 'web', 'checkpoint_id': 'c1', 'config_digest': 'sha256:aa'},
                         make_image(tmp_path), make_bundle(tmp_path))
    assert size == os.path.getsize(path)
    with tarfile.open(path) as handle:
        names = handle.getnames()
    assert names[0] == archive.MANIFEST
    assert {'checkpoint/inventory.img', 'checkpoint/pages-1.img', 'checkpoint/descriptors.json',
            'bundle/config.json', 'rootfs/bin/sh', 'rootfs/bin/ash'} <= set(names)
    manifest = archive.read_manifest(path)
    assert manifest['rootfs'] == archive.ROOTFS_FULL
    assert (manifest['id'], manifest['checkpoint_id'], manifest['format']) == ('web', 'c1', archive.FORMAT)


def test_an_overlay_bundle_carries_only_its_changes(tmp_path):
    path = str(tmp_path / 'move.tar')
    archive.write(path, {'checkpoint_id': 'c1'}, make_image(tmp_path), make_bundle(tmp_path, overlay=True))
    with tarfile.open(path) as handle:
        rootfs = [name for name in handle.getnames() if name.startswith('rootfs/')]
    assert rootfs == ['rootfs/etc', 'rootfs/etc/changed']
    manifest = archive.read_manifest(path)
    assert (manifest['rootfs'], manifest['image_digest']) == (archive.ROOTFS_CHANGES, 'sha256:img')


def test_extract_gives_back_the_files(tmp_path):
    path = str(tmp_path / 'move.tar')
    archive.write(path, {'checkpoint_id': 'c1'}, make_image(tmp_path), make_bundle(tmp_path))
    target = tmp_path / 'out'
    archive.extract(path, archive.ROOTFS_DIR, str(target / 'rootfs'))
    archive.extract(path, archive.CHECKPOINT_DIR, str(target / 'image'))
    assert (target / 'rootfs' / 'bin' / 'sh').read_bytes() == b'#!shell'
    assert os.readlink(str(target / 'rootfs' / 'bin' / 'ash')) == 'sh'
    assert (target / 'image' / 'pages-1.img').read_bytes() == b'\1' * 5000
    assert not (target / 'rootfs' / 'checkpoint').exists()


def test_a_tar_that_is_not_ours_is_refused(tmp_path):
    path = str(tmp_path / 'other.tar')
    (tmp_path / 'x').write_text('x')
    with tarfile.open(path, 'w') as handle:
        handle.add(str(tmp_path / 'x'), 'x')
    with pytest.raises(archive.CheckpointArchiveError, match='is not a checkpoint archive written by oci_checkpoint export'):
        archive.read_manifest(path)
    (tmp_path / 'junk').write_text('not a tar')
    with pytest.raises(archive.CheckpointArchiveError, match='cannot be read as a tar archive'):
        archive.read_manifest(str(tmp_path / 'junk'))


@pytest.mark.parametrize('name', ['rootfs/../../escape', 'rootfs/a/../../../escape', '/rootfs/x', 'checkpoint/../x'])
def test_members_outside_the_destination_are_refused(name):
    with pytest.raises(archive.CheckpointArchiveError, match='outside its destination'):
        archive.member_parts(name, 'rootfs')


def test_member_parts():
    assert archive.member_parts('rootfs', 'rootfs') == ()
    assert archive.member_parts('rootfs/./bin/sh', 'rootfs') == (b'bin', b'sh')
    assert archive.member_parts('checkpoint/x', 'rootfs') is None


def test_device_members_are_refused(tmp_path):
    path = str(tmp_path / 'dev.tar')
    with tarfile.open(path, 'w') as handle:
        info = tarfile.TarInfo('rootfs/dev/sda')
        info.type = tarfile.BLKTYPE
        info.devmajor, info.devminor = 8, 0
        handle.addfile(info)
    with pytest.raises(archive.CheckpointArchiveError, match='is a device'):
        archive.extract(path, archive.ROOTFS_DIR, str(tmp_path / 'out'))


def test_apply_changes_copies_files_and_honours_whiteouts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('making an overlay whiteout (a 0:0 character device) needs root')
    rootfs = tmp_path / 'rootfs'
    (rootfs / 'etc').mkdir(parents=True)
    (rootfs / 'etc' / 'gone').write_text('old')
    (rootfs / 'etc' / 'kept').write_text('old')
    changes = tmp_path / 'upper'
    (changes / 'etc').mkdir(parents=True)
    (changes / 'etc' / 'kept').write_text('new')
    os.mknod(str(changes / 'etc' / 'gone'), 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    archive.apply_changes(str(changes), str(rootfs))
    assert (rootfs / 'etc' / 'kept').read_text() == 'new'
    assert not os.path.lexists(str(rootfs / 'etc' / 'gone'))
