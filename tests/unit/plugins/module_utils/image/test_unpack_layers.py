# -*- coding: utf-8 -*-
"""Layers applied as the image-spec says: types, attributes, whiteouts, hardlinks, compression, digests."""

import gzip
import os
import stat

import pytest
from layerlib import Layout, compress, entry, tar_layer

from ansible_collections.runcible.oci.plugins.module_utils.image import layout_reader, unpack
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import DigestMismatch, LayerError

ROOT = os.geteuid() == 0


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def test_files_dirs_links_and_modes(unpack_copy):
    rootfs = unpack_copy(tar_layer([
        entry('bin', 'dir'),
        entry('bin/tool', data=b'#!/bin/sh\n', mode=0o4755),
        entry('bin/same', 'hardlink', link='bin/tool'),
        entry('tmp', 'dir', mode=0o1777),
        entry('srv', 'dir', mode=0o2750),
        entry('etc', 'dir'),
        entry('etc/conf', data=b'x=1\n', mode=0o640),
        entry('etc/link', 'symlink', link='/etc/conf'),
    ]))
    assert read(os.path.join(rootfs, 'bin/tool')) == b'#!/bin/sh\n'
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, 'bin/tool')).st_mode) == 0o4755
    assert os.stat(os.path.join(rootfs, 'bin/same')).st_ino == os.stat(os.path.join(rootfs, 'bin/tool')).st_ino
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, 'tmp')).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, 'srv')).st_mode) == 0o2750
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, 'etc/conf')).st_mode) == 0o640
    assert os.readlink(os.path.join(rootfs, 'etc/link')) == '/etc/conf'


def test_mtimes_of_files_symlinks_and_directories_after_their_contents(unpack_copy):
    rootfs = unpack_copy(tar_layer([
        entry('d', 'dir', mtime=1000000000),
        entry('d/f', mtime=1100000000),
        entry('d/l', 'symlink', link='f', mtime=1200000000),
        entry('d/sub', 'dir', mtime=1300000000),
        entry('d/sub/g', mtime=1400000000),
    ]))
    assert os.stat(os.path.join(rootfs, 'd')).st_mtime == 1000000000
    assert os.stat(os.path.join(rootfs, 'd/f')).st_mtime == 1100000000
    assert os.lstat(os.path.join(rootfs, 'd/l')).st_mtime == 1200000000
    assert os.stat(os.path.join(rootfs, 'd/sub')).st_mtime == 1300000000


def test_directory_mtime_restored_after_a_later_layer_changes_its_contents(unpack_copy):
    rootfs = unpack_copy(tar_layer([entry('d', 'dir', mtime=1000000000), entry('d/old')]),
                         tar_layer([entry('d/new'), entry('d/.wh.old')]))
    assert sorted(os.listdir(os.path.join(rootfs, 'd'))) == ['new']
    assert os.stat(os.path.join(rootfs, 'd')).st_mtime == 1000000000


@pytest.mark.skipif(not ROOT, reason='ownership needs root')
def test_owners(unpack_copy):
    rootfs = unpack_copy(tar_layer([
        entry('d', 'dir', uid=101, gid=201), entry('d/f', uid=102, gid=202, mode=0o6755),
        entry('d/l', 'symlink', link='nowhere', uid=103, gid=203),
    ]))
    assert (os.stat(os.path.join(rootfs, 'd')).st_uid, os.stat(os.path.join(rootfs, 'd')).st_gid) == (101, 201)
    info = os.stat(os.path.join(rootfs, 'd/f'))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (102, 202, 0o6755)
    assert (os.lstat(os.path.join(rootfs, 'd/l')).st_uid, os.lstat(os.path.join(rootfs, 'd/l')).st_gid) == (103, 203)


@pytest.mark.skipif(not ROOT, reason='device nodes need CAP_MKNOD')
def test_device_nodes_and_fifos(unpack_copy):
    rootfs = unpack_copy(tar_layer([
        entry('dev', 'dir'), entry('dev/null', 'char', major=1, minor=3, mode=0o666),
        entry('dev/loop9', 'block', major=7, minor=9, mode=0o660), entry('dev/pipe', 'fifo', mode=0o600),
    ]))
    info = os.lstat(os.path.join(rootfs, 'dev/null'))
    assert stat.S_ISCHR(info.st_mode) and (os.major(info.st_rdev), os.minor(info.st_rdev)) == (1, 3)
    assert stat.S_IMODE(info.st_mode) == 0o666
    assert stat.S_ISBLK(os.lstat(os.path.join(rootfs, 'dev/loop9')).st_mode)
    assert stat.S_ISFIFO(os.lstat(os.path.join(rootfs, 'dev/pipe')).st_mode)


def test_fifo_without_privileges(unpack_copy):
    rootfs = unpack_copy(tar_layer([entry('p', 'fifo', mode=0o640)]))
    info = os.lstat(os.path.join(rootfs, 'p'))
    assert stat.S_ISFIFO(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o640


def test_xattrs_from_pax_headers(unpack_copy):
    rootfs = unpack_copy(tar_layer([entry('f', xattrs={'user.note': b'hello', 'user.bin': b'\xff\x00\x01'})]))
    try:
        assert os.getxattr(os.path.join(rootfs, 'f'), 'user.note') == b'hello'
        assert os.getxattr(os.path.join(rootfs, 'f'), 'user.bin') == b'\xff\x00\x01'
    except OSError as exc:
        pytest.skip('this file system has no user xattrs: %s' % exc)


def test_whiteout_removes_a_lower_file_and_a_lower_tree(unpack_copy):
    rootfs = unpack_copy(
        tar_layer([entry('etc', 'dir'), entry('etc/app.conf'), entry('opt', 'dir'), entry('opt/app', 'dir'),
                   entry('opt/app/lib'), entry('keep')]),
        tar_layer([entry('etc/.wh.app.conf'), entry('opt/.wh.app')]))
    assert os.listdir(os.path.join(rootfs, 'etc')) == []
    assert os.listdir(os.path.join(rootfs, 'opt')) == []
    assert os.path.exists(os.path.join(rootfs, 'keep'))


@pytest.mark.parametrize('whiteout_first', [True, False])
def test_opaque_whiteout_hides_lower_children_but_not_this_layers(unpack_copy, whiteout_first):
    lower = tar_layer([entry('a', 'dir'), entry('a/b', 'dir'), entry('a/b/c', 'dir'), entry('a/b/c/bar'),
                       entry('a/other')])
    body = [entry('a', 'dir'), entry('a/b', 'dir'), entry('a/b/c', 'dir'), entry('a/b/c/foo')]
    opaque = entry('a/.wh..wh..opq')
    upper = tar_layer([opaque] + body if whiteout_first else body + [opaque])
    rootfs = unpack_copy(lower, upper)
    assert sorted(os.listdir(os.path.join(rootfs, 'a'))) == ['b']
    assert os.listdir(os.path.join(rootfs, 'a/b/c')) == ['foo']


@pytest.mark.parametrize('whiteout_first', [True, False])
def test_whiteout_and_readd_in_one_layer(unpack_copy, whiteout_first):
    lower = tar_layer([entry('f', data=b'old'), entry('d', 'dir'), entry('d/lower-only')])
    readd = [entry('f', data=b'new'), entry('d', 'dir'), entry('d/upper')]
    whiteouts = [entry('.wh.f'), entry('.wh.d')]
    rootfs = unpack_copy(lower, tar_layer(whiteouts + readd if whiteout_first else readd + whiteouts))
    assert read(os.path.join(rootfs, 'f')) == b'new'
    assert os.listdir(os.path.join(rootfs, 'd')) == ['upper']


def test_entry_replaces_different_type_but_dir_over_dir_keeps_contents(unpack_copy):
    rootfs = unpack_copy(
        tar_layer([entry('x', 'dir'), entry('x/child'), entry('y', 'dir'), entry('y/child'), entry('z')]),
        tar_layer([entry('x', 'dir', mode=0o700), entry('y', data=b'now a file'), entry('z', 'dir')]))
    assert os.listdir(os.path.join(rootfs, 'x')) == ['child']
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, 'x')).st_mode) == 0o700
    assert read(os.path.join(rootfs, 'y')) == b'now a file'
    assert os.path.isdir(os.path.join(rootfs, 'z'))


def test_hardlink_to_an_earlier_layer(unpack_copy):
    rootfs = unpack_copy(tar_layer([entry('data', data=b'shared')]), tar_layer([entry('again', 'hardlink', link='data')]))
    assert os.stat(os.path.join(rootfs, 'again')).st_ino == os.stat(os.path.join(rootfs, 'data')).st_ino


def test_hardlink_to_missing_target_fails(unpack_copy):
    with pytest.raises(LayerError, match='does not exist'):
        unpack_copy(tar_layer([entry('l', 'hardlink', link='nothing')]))


def test_root_entry_sets_the_root_directory(unpack_copy):
    rootfs = unpack_copy(tar_layer([entry('./', 'dir', mode=0o750, mtime=1234567890), entry('./f')]))
    info = os.stat(rootfs)
    assert stat.S_IMODE(info.st_mode) == 0o750 and info.st_mtime == 1234567890


@pytest.mark.parametrize('compression', ['none', 'gzip', 'zstd'])
def test_compressions(unpack_copy, compression):
    if compression == 'zstd':
        pytest.importorskip('zstandard')
    rootfs = unpack_copy(tar_layer([entry('f', data=b'z' * 100000)]), compression=compression)
    assert read(os.path.join(rootfs, 'f')) == b'z' * 100000


def test_concatenated_gzip_members(tmp_path):
    raw = tar_layer([entry('a', data=b'1'), entry('b', data=b'2')])
    blob = gzip.compress(raw[:1024]) + gzip.compress(raw[1024:]) + b'\0' * 512
    layout = Layout(tmp_path / 'layout')
    digest = layout.add_image([raw], compression='none')
    # Swap the layer for a two-member gzip of the same tar stream.
    reader = layout_reader.OCILayout(layout.path)
    image = reader.image(digest=digest)
    blob_digest, size = layout.put(blob)
    image.manifest['layers'][0] = {'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip',
                                   'digest': blob_digest, 'size': size}
    unpack.unpack_image(reader, image, str(tmp_path / 'rootfs'))
    assert read(str(tmp_path / 'rootfs' / 'b')) == b'2'


def test_zstd_without_a_decompressor_says_what_to_install(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_zstd(name, *args, **kwargs):
        if name in ('zstandard', 'compression'):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    raw = tar_layer([entry('f')])
    layout = Layout(tmp_path / 'layout')
    blob = b'\x28\xb5\x2f\xfd' + b'\0' * 32
    digest = layout.add_image([raw], compression='none')
    reader = layout_reader.OCILayout(layout.path)
    image = reader.image(digest=digest)
    blob_digest, size = layout.put(blob)
    image.manifest['layers'][0] = {'mediaType': 'application/vnd.oci.image.layer.v1.tar+zstd', 'digest': blob_digest,
                                   'size': size}
    monkeypatch.setattr(builtins, '__import__', no_zstd)
    with pytest.raises(LayerError, match='zstandard'):
        unpack.unpack_image(reader, image, str(tmp_path / 'rootfs'))


def test_corrupt_blob_is_rejected(tmp_path):
    layout = Layout(tmp_path / 'layout')
    digest = layout.add_image([tar_layer([entry('f', data=b'good')])], compression='none')
    reader = layout_reader.OCILayout(layout.path)
    image = reader.image(digest=digest)
    path = reader.blob_path(image.layers[0]['digest'])
    data = bytearray(read(path))
    data[data.index(b'good')] = ord('b')
    with open(path, 'wb') as handle:
        handle.write(bytes(data))
    with pytest.raises(DigestMismatch, match='corrupt'):
        unpack.unpack_image(reader, image, str(tmp_path / 'rootfs'))


def test_diff_id_mismatch_is_rejected(tmp_path):
    layout = Layout(tmp_path / 'layout')
    digest = layout.add_image([tar_layer([entry('f')])], compression='gzip')
    reader = layout_reader.OCILayout(layout.path)
    image = reader.image(digest=digest)
    image.config['rootfs']['diff_ids'] = ['sha256:' + '0' * 64]
    with pytest.raises(DigestMismatch, match='diff_id'):
        unpack.unpack_image(reader, image, str(tmp_path / 'rootfs'))


def test_big_file_streams(unpack_copy):
    data = os.urandom(1 << 16) * 64
    rootfs = unpack_copy(tar_layer([entry('big', data=data)]))
    assert os.path.getsize(os.path.join(rootfs, 'big')) == len(data)
    assert read(os.path.join(rootfs, 'big')) == data


def test_empty_layer(unpack_copy):
    rootfs = unpack_copy(b'\0' * 1024, tar_layer([entry('f')]), b'')
    assert os.listdir(rootfs) == ['f']


def test_compress_helper_round_trip():
    raw = tar_layer([entry('f')])
    assert gzip.decompress(compress(raw, 'gzip')[0]) == raw
