# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Imports into the store: docker save archives (legacy and OCI-in-docker-save), OCI layouts, rootfs tarballs, folders.

Archives are made by skopeo where it can make them (an independent implementation),
by hand where it cannot (the Docker 25+ layout); the result is checked by unpacking it
with umoci and comparing with the source.
"""

import gzip
import hashlib
import json
import lzma
import os
import stat
import subprocess
import tarfile

import pytest

from registry_fixtures import (OciLayoutBuilder, busybox_files, need, registry_workdir, run, sha256, store_dir, tar_bytes,  # noqa: F401 pylint: disable=unused-import
                               test_images)

from ansible_collections.runcible.oci.plugins.module_utils.image import compression, errors, importers, store as stores


def _skopeo(source, destination):
    need('skopeo')
    run('skopeo', '--insecure-policy', 'copy', '--quiet', source, destination)


def _unpack(store_path, name, target):
    """umoci unpack the stored image; return the rootfs path."""
    need('umoci')
    run('umoci', 'unpack', '--image', '%s:%s' % (store_path, name), str(target))
    return os.path.join(str(target), 'rootfs')


def _tree(root):
    """{path: (type, mode, uid, gid, content digest or link target, xattrs)} of a file tree, hardlinks as inode groups."""
    found, inodes = {}, {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                payload = os.readlink(full)
            elif stat.S_ISREG(info.st_mode):
                with open(full, 'rb') as handle:
                    payload = hashlib.sha256(handle.read()).hexdigest()
                if info.st_nlink > 1:
                    inodes.setdefault(info.st_ino, []).append(rel)
            else:
                payload = None
            try:
                xattrs = {key: os.getxattr(full, key, follow_symlinks=False) for key in os.listxattr(full, follow_symlinks=False)
                          if key.startswith('user.')}
            except OSError:
                xattrs = {}
            found[rel] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, payload, xattrs)
    groups = sorted(sorted(group) for group in inodes.values())
    return found, groups


# -- format detection ---------------------------------------------------------------

def test_detect_format(test_images, tmp_path):
    layout = test_images['layout']
    assert importers.detect_format(layout) == 'oci-dir'
    _skopeo('oci:%s:busybox:2' % layout, 'docker-archive:%s:localhost/bb:2' % (tmp_path / 'save.tar'))
    assert importers.detect_format(str(tmp_path / 'save.tar')) == 'docker-archive'
    _skopeo('oci:%s:busybox:2' % layout, 'oci-archive:%s:busybox:2' % (tmp_path / 'oci.tar'))
    assert importers.detect_format(str(tmp_path / 'oci.tar')) == 'oci-archive'
    (tmp_path / 'rootfs.tar').write_bytes(tar_bytes(busybox_files()))
    assert importers.detect_format(str(tmp_path / 'rootfs.tar')) == 'rootfs'
    (tmp_path / 'rootfs.tar.gz').write_bytes(gzip.compress(tar_bytes(busybox_files())))
    assert importers.detect_format(str(tmp_path / 'rootfs.tar.gz')) == 'rootfs'
    (tmp_path / 'plain').mkdir()
    assert importers.detect_format(str(tmp_path / 'plain')) == 'dir'
    (tmp_path / 'junk').write_bytes(b'\x00\x01 not an archive' * 100)
    with pytest.raises(errors.ArchiveError):
        importers.detect_format(str(tmp_path / 'junk'))


# -- docker save -----------------------------------------------------------------------

def test_docker_archive_made_by_skopeo(test_images, store_dir, tmp_path):
    archive = tmp_path / 'save.tar'
    _skopeo('oci:%s:busybox:2' % test_images['layout'], 'docker-archive:%s:localhost/bb:2' % archive)
    result = importers.import_image(store_dir, str(archive))
    assert result == {'changed': True, 'reference': 'localhost/bb:2', 'digest': result['digest'], 'format': 'docker-archive',
                      'platform': {'architecture': 'amd64', 'os': 'linux'}}
    info = stores.Store(store_dir).image_info('localhost/bb:2')
    assert info['config']['config']['Cmd'] == ['/bin/echo', 'two']
    assert [layer['media_type'] for layer in info['layers']] == ['application/vnd.oci.image.layer.v1.tar'] * 2
    # The layers are the uncompressed tars: their digests are the config's diff_ids.
    assert [layer['digest'] for layer in info['layers']] == info['config']['rootfs']['diff_ids']
    rootfs = _unpack(store_dir, 'localhost/bb:2', tmp_path / 'bundle')
    with open(os.path.join(rootfs, 'extra.txt'), 'rb') as handle:
        assert handle.read() == b'only in busybox:2\n'
    again = importers.import_image(store_dir, str(archive))
    assert again['changed'] is False and again['digest'] == result['digest']


def test_docker_archive_under_another_name_and_unpacked_folder(test_images, store_dir, tmp_path):
    archive = tmp_path / 'save.tar'
    _skopeo('oci:%s:busybox:2' % test_images['layout'], 'docker-archive:%s:localhost/bb:2' % archive)
    folder = tmp_path / 'unpacked'
    folder.mkdir()
    with tarfile.open(str(archive)) as handle:
        handle.extractall(str(folder), filter='data') if hasattr(tarfile, 'data_filter') else handle.extractall(str(folder))
    result = importers.import_image(store_dir, str(folder), reference='registry.example.com/team/bb:copy')
    assert result['format'] == 'docker-archive'
    assert result['reference'] == 'registry.example.com/team/bb:copy'
    from_tar = importers.import_image(store_dir, str(archive), reference='registry.example.com/team/bb:copy')
    assert from_tar['digest'] == result['digest'] and from_tar['changed'] is False


def _docker25_archive(path, images):
    """A Docker 25+ `docker save` tarball: an OCI layout plus manifest.json pointing into blobs/."""
    blobs, manifest, repositories = {}, [], {}
    for tag, layers in images:
        diff_ids, names = [], []
        for files in layers:
            data = tar_bytes(files)
            digest = sha256(data)
            blobs[digest] = data
            diff_ids.append(digest)
            names.append('blobs/sha256/' + digest[7:])
        config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Cmd': ['/bin/sh']},
                             'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}).encode()
        config_digest = sha256(config)
        blobs[config_digest] = config
        manifest.append({'Config': 'blobs/sha256/' + config_digest[7:], 'RepoTags': [tag], 'Layers': names})
        repo, dummy, version = tag.rpartition(':')
        repositories.setdefault(repo, {})[version] = config_digest[7:]
    members = {'manifest.json': json.dumps(manifest).encode(), 'repositories': json.dumps(repositories).encode(),
               'oci-layout': b'{"imageLayoutVersion":"1.0.0"}', 'index.json': b'{"schemaVersion":2,"manifests":[]}'}
    for digest, data in blobs.items():
        members['blobs/sha256/' + digest[7:]] = data
    with open(path, 'wb') as handle:
        handle.write(tar_bytes(dict(members, blobs=('dir',), **{'blobs/sha256': ('dir',)})))


def test_docker25_archive_with_two_images_needs_source_ref(store_dir, tmp_path):
    archive = str(tmp_path / 'save25.tar')
    _docker25_archive(archive, [('app:1', [{'a.txt': b'one\n'}]), ('app:2', [{'a.txt': b'one\n'}, {'b.txt': b'two\n'}])])
    assert importers.detect_format(archive) == 'docker-archive'
    with pytest.raises(errors.ConfigError) as caught:
        importers.import_image(store_dir, archive, reference='localhost/app:x')
    assert 'app:1' in str(caught.value) and 'source_ref' in str(caught.value)
    result = importers.import_image(store_dir, archive, reference='localhost/app:x', source_ref='app:2')
    info = stores.Store(store_dir).image_info(result['reference'])
    assert len(info['layers']) == 2
    # Without a name, the archive's own tag (normalised) is used.
    by_tag = importers.import_image(store_dir, archive, source_ref='app:1')
    assert by_tag['reference'] == 'docker.io/library/app:1'


def test_docker_archive_with_a_layer_that_does_not_match_its_diff_id(store_dir, tmp_path):
    archive = str(tmp_path / 'bad.tar')
    _docker25_archive(archive, [('app:1', [{'a.txt': b'one\n'}])])
    with tarfile.open(archive) as handle:
        members = {member.name: (handle.extractfile(member).read() if member.isfile() else ('dir',)) for member in handle}
    manifest = json.loads(members['manifest.json'])
    layer_name = manifest[0]['Layers'][0]
    members[layer_name] = tar_bytes({'a.txt': b'tampered\n'})
    with open(archive, 'wb') as handle:
        handle.write(tar_bytes(members))
    with pytest.raises(errors.DigestMismatch):
        importers.import_image(store_dir, archive)
    assert stores.Store(store_dir).entries() == []


# -- OCI layouts -------------------------------------------------------------------------

def test_oci_dir_keeps_the_manifest_digest(test_images, store_dir):
    result = importers.import_image(store_dir, test_images['layout'], reference='localhost/copied:1', source_ref='busybox:1')
    assert result['digest'] == test_images['busybox:1']['digest']
    store = stores.Store(store_dir)
    assert store.missing_blobs(store.resolve('localhost/copied:1')) == []


def test_oci_dir_index_selects_the_platform(test_images, store_dir):
    result = importers.import_image(store_dir, test_images['layout'], reference='localhost/multi:1', source_ref='multi:1',
                                    platform='linux/arm64')
    assert result['digest'] == test_images['multi:platforms']['arm64']['digest']
    assert result['platform'] == {'architecture': 'arm64', 'os': 'linux', 'variant': 'v8'}


def test_oci_dir_with_several_images_needs_source_ref(test_images, store_dir):
    with pytest.raises(errors.ConfigError) as caught:
        importers.import_image(store_dir, test_images['layout'], reference='localhost/which:1')
    assert 'source_ref' in str(caught.value)
    # The reference's tag matching a ref.name in the layout is enough.
    result = importers.import_image(store_dir, test_images['layout'], reference='localhost/busybox:2')
    assert result['digest'] == test_images['busybox:2']['digest']


def test_oci_archive_made_by_skopeo(test_images, store_dir, tmp_path):
    archive = tmp_path / 'oci.tar'
    _skopeo('oci:%s:busybox:2' % test_images['layout'], 'oci-archive:%s:busybox:2' % archive)
    result = importers.import_image(store_dir, str(archive), reference='localhost/ociarchive:2')
    assert result['format'] == 'oci-archive'
    rootfs = _unpack(store_dir, 'localhost/ociarchive:2', tmp_path / 'bundle')
    with open(os.path.join(rootfs, 'bin', 'busybox'), 'rb') as handle, open('/bin/busybox', 'rb') as original:
        assert handle.read() == original.read()


def test_oci_layout_with_a_corrupt_blob_is_refused(test_images, store_dir, tmp_path):
    layout = str(tmp_path / 'layout')
    builder = OciLayoutBuilder(layout)
    layer = builder.layer({'f': b'good\n'}, 'gzip')
    builder.tag('x:1', builder.image([layer]))
    path = os.path.join(layout, 'blobs', 'sha256', layer['digest'][7:])
    with open(path, 'r+b') as handle:
        handle.seek(20)
        handle.write(b'\xff')
    with pytest.raises(errors.DigestMismatch):
        importers.import_image(store_dir, layout, reference='localhost/x:1')
    assert not stores.Store(store_dir).has_blob(layer['digest'])


# -- rootfs tarballs ---------------------------------------------------------------------

def _busybox_rootfs(folder):
    os.makedirs(os.path.join(folder, 'bin'))
    os.makedirs(os.path.join(folder, 'etc'))
    with open('/bin/busybox', 'rb') as source, open(os.path.join(folder, 'bin', 'busybox'), 'wb') as target:
        target.write(source.read())
    os.chmod(os.path.join(folder, 'bin', 'busybox'), 0o755)
    os.link(os.path.join(folder, 'bin', 'busybox'), os.path.join(folder, 'bin', 'sh'))
    os.symlink('busybox', os.path.join(folder, 'bin', 'ls'))
    with open(os.path.join(folder, 'etc', 'passwd'), 'w') as handle:
        handle.write('root:x:0:0:root:/root:/bin/sh\napp:x:1234:5678::/home/app:/bin/sh\n')
    os.makedirs(os.path.join(folder, 'home', 'app'))
    os.chown(os.path.join(folder, 'home', 'app'), 1234, 5678)
    os.chmod(os.path.join(folder, 'home', 'app'), 0o750)
    os.mkfifo(os.path.join(folder, 'home', 'app', 'pipe'))
    with open(os.path.join(folder, 'home', 'app', 'secret'), 'w') as handle:
        handle.write('setuid and owned\n')
    os.chown(os.path.join(folder, 'home', 'app', 'secret'), 1234, 5678)
    os.chmod(os.path.join(folder, 'home', 'app', 'secret'), 0o4711)
    os.setxattr(os.path.join(folder, 'etc', 'passwd'), 'user.origin', b'\x00binary\xffvalue')


@pytest.mark.parametrize('kind', [None, 'gzip', 'xz'])
def test_rootfs_tarball_like_docker_export(store_dir, tmp_path, kind):
    source = str(tmp_path / 'source')
    _busybox_rootfs(source)
    tarball = str(tmp_path / 'export.tar')
    run('tar', '--xattrs', '--numeric-owner', '-C', source, '-cf', tarball, '.')
    if kind == 'gzip':
        run('gzip', tarball)
        tarball += '.gz'
    elif kind == 'xz':
        with open(tarball, 'rb') as handle:
            data = lzma.compress(handle.read())
        tarball += '.xz'
        with open(tarball, 'wb') as handle:
            handle.write(data)
    assert importers.detect_format(tarball) == 'rootfs'
    result = importers.import_image(store_dir, tarball, reference='localhost/exported:1', image_config={'Cmd': ['/bin/sh', '-c', 'echo hi']})
    info = stores.Store(store_dir).image_info('localhost/exported:1')
    assert info['config']['config']['Cmd'] == ['/bin/sh', '-c', 'echo hi']
    assert info['config']['config']['Env'] == ['PATH=' + importers.DEFAULT_PATH]
    expected_type = {None: 'application/vnd.oci.image.layer.v1.tar', 'gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
                     'xz': 'application/vnd.oci.image.layer.v1.tar'}[kind]
    assert [layer['media_type'] for layer in info['layers']] == [expected_type]
    rootfs = _unpack(store_dir, 'localhost/exported:1', tmp_path / 'bundle')
    assert _tree(rootfs) == _tree(source)
    assert importers.import_image(store_dir, tarball, reference='localhost/exported:1',
                                  image_config={'Cmd': ['/bin/sh', '-c', 'echo hi']})['changed'] is False
    assert result['changed'] is True


def test_zstd_rootfs_needs_a_zstd_module_or_imports(store_dir, tmp_path):
    need('zstd')
    tarball = str(tmp_path / 'export.tar.zst')
    with open(tarball, 'wb') as handle:
        handle.write(subprocess.run(['zstd', '-q', '-c'], input=tar_bytes(busybox_files()), stdout=subprocess.PIPE, check=True).stdout)
    assert importers.detect_format(tarball) == 'rootfs'
    if compression.zstd_available():
        result = importers.import_image(store_dir, tarball, reference='localhost/zst:1')
        info = stores.Store(store_dir).image_info(result['reference'])
        assert info['layers'][0]['media_type'] == 'application/vnd.oci.image.layer.v1.tar+zstd'
        assert info['config']['rootfs']['diff_ids'] == [sha256(tar_bytes(busybox_files()))]
    else:
        with pytest.raises(errors.UnsupportedImage) as caught:
            importers.import_image(store_dir, tarball, reference='localhost/zst:1')
        assert 'zstandard' in str(caught.value)


def test_rootfs_that_is_no_tar_is_refused(store_dir, tmp_path):
    path = tmp_path / 'junk.gz'
    path.write_bytes(gzip.compress(b'this is not a tar archive at all' * 40))
    with pytest.raises(errors.ArchiveError) as caught:
        importers.import_image(store_dir, str(path), reference='localhost/junk:1', fmt='rootfs')
    assert 'not a tar archive' in str(caught.value)


def test_rootfs_needs_a_name(store_dir, tmp_path):
    path = tmp_path / 'root.tar'
    path.write_bytes(tar_bytes({'a': b'a'}))
    with pytest.raises(errors.ConfigError) as caught:
        importers.import_image(store_dir, str(path))
    assert caught.value.field == 'name'


# -- plain folders -------------------------------------------------------------------------

def test_plain_directory_round_trips_through_umoci(store_dir, tmp_path):
    source = str(tmp_path / 'source')
    _busybox_rootfs(source)
    result = importers.import_image(store_dir, source, reference='localhost/fromdir:1')
    assert result['format'] == 'dir'
    rootfs = _unpack(store_dir, 'localhost/fromdir:1', tmp_path / 'bundle')
    assert _tree(rootfs) == _tree(source)
    same = importers.import_image(store_dir, source, reference='localhost/fromdir:1')
    assert same['changed'] is False and same['digest'] == result['digest']
    with open(os.path.join(source, 'etc', 'hostname'), 'w') as handle:
        handle.write('changed\n')
    different = importers.import_image(store_dir, source, reference='localhost/fromdir:1')
    assert different['changed'] is True and different['digest'] != result['digest']


def test_unknown_image_config_key_is_refused(store_dir, tmp_path):
    (tmp_path / 'src').mkdir()
    with pytest.raises(errors.ConfigError) as caught:
        importers.import_image(store_dir, str(tmp_path / 'src'), reference='localhost/x:1', image_config={'Entrypiont': ['/x']})
    assert caught.value.field == 'image_config.Entrypiont'
