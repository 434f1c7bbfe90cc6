# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store on a real file system: layout, blobs, resumable ingest, index entries, gc."""

import hashlib
import json
import os
import threading

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import mediatypes, store as stores
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import DigestMismatch, ImageError, ImageNotFound, StoreError


def _digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    result = stores.Store(str(tmp_path / 'images'))
    result.ensure()
    return result


def _image(store, layers=(b'layer one', b'layer two'), arch='amd64'):
    """Store a small image; return its manifest descriptor."""
    layer_descriptors = []
    for data in layers:
        layer_descriptors.append({'mediaType': mediatypes.OCI_LAYER_GZIP, 'digest': store.put_bytes(data), 'size': len(data)})
    config = json.dumps({'architecture': arch, 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': []}}).encode()
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': mediatypes.OCI_MANIFEST,
                           'config': {'mediaType': mediatypes.OCI_CONFIG, 'digest': store.put_bytes(config), 'size': len(config)},
                           'layers': layer_descriptors}).encode()
    return {'mediaType': mediatypes.OCI_MANIFEST, 'digest': store.put_bytes(manifest), 'size': len(manifest),
            'platform': {'os': 'linux', 'architecture': arch}}


def test_layout_files(store):
    with open(os.path.join(store.root, 'oci-layout')) as handle:
        assert json.load(handle) == {'imageLayoutVersion': '1.0.0'}
    with open(store.index_path) as handle:
        assert json.load(handle) == {'schemaVersion': 2, 'mediaType': mediatypes.OCI_INDEX, 'manifests': []}
    assert os.path.isdir(os.path.join(store.root, 'blobs', 'sha256'))
    store.ensure()


def test_refuses_a_folder_that_is_something_else(tmp_path):
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'important.txt').write_text('keep me')
    with pytest.raises(StoreError) as caught:
        stores.Store(str(tmp_path / 'busy')).ensure()
    assert 'not empty' in str(caught.value)
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'oci-layout').write_text('{"imageLayoutVersion": "9.9.9"}')
    with pytest.raises(StoreError) as caught:
        stores.Store(str(tmp_path / 'other')).ensure()
    assert '9.9.9' in str(caught.value)


def test_put_and_read_verified(store):
    digest = store.put_bytes(b'{"a": 1}')
    assert store.read_json(digest) == {'a': 1}
    assert store.put_bytes(b'{"a": 1}', digest) == digest
    with pytest.raises(DigestMismatch):
        store.put_bytes(b'{"a": 2}', digest)
    with open(store.blob_path(digest), 'wb') as handle:
        handle.write(b'{"a": 3}')
    with pytest.raises(DigestMismatch):
        store.read_blob(digest)
    with pytest.raises(ImageNotFound):
        store.read_blob(_digest(b'absent'))


def test_blob_writer_resumes_a_partial_file(store):
    data = os.urandom(300000)
    digest = _digest(data)
    with pytest.raises(RuntimeError):
        with store.blob_writer(digest, len(data)) as writer:
            writer.write(data[:100000])
            raise RuntimeError('connection lost')
    assert not store.has_blob(digest)
    with store.blob_writer(digest, len(data)) as writer:
        assert writer.offset == writer.resumed_from == 100000
        writer.write(data[100000:])
        writer.commit()
    assert store.has_blob(digest, len(data))
    assert os.listdir(store.ingest_dir) == []
    with store.blob_writer(digest, len(data)) as writer:
        assert writer.complete


def test_blob_writer_rejects_wrong_content_and_deletes_it(store):
    data = b'x' * 1000
    digest = _digest(data)
    with store.blob_writer(digest, len(data)) as writer:
        writer.write(b'y' * 1000)
        with pytest.raises(DigestMismatch):
            writer.commit()
    assert not store.has_blob(digest)
    assert os.listdir(store.ingest_dir) == []


def test_blob_writer_refuses_more_than_the_size(store):
    with store.blob_writer(_digest(b'abc'), 3) as writer:
        with pytest.raises(DigestMismatch):
            writer.write(b'abcd')
    assert os.listdir(store.ingest_dir) == []


def test_blob_writer_reset_starts_over(store):
    data = b'0123456789'
    with store.blob_writer(_digest(data), len(data)) as writer:
        writer.write(b'junk')
        writer.reset()
        writer.write(data)
        writer.commit()
    assert store.has_blob(_digest(data))


def test_two_writers_of_one_blob_take_turns(store, tmp_path):
    """The second writer waits for the first and then finds the blob complete."""
    data = os.urandom(50000)
    digest = _digest(data)
    first_has_lock = threading.Event()
    finish_first = threading.Event()
    seen = {}

    def first():
        with stores.Store(store.root).blob_writer(digest, len(data)) as writer:
            writer.write(data[:1000])
            first_has_lock.set()
            finish_first.wait(30)
            writer.write(data[1000:])
            writer.commit()

    def second():
        with stores.Store(store.root).blob_writer(digest, len(data)) as writer:
            seen['complete'] = writer.complete
            seen['finished_first'] = finish_first.is_set()

    one = threading.Thread(target=first)
    one.start()
    assert first_has_lock.wait(30)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.3)
    waiting = two.is_alive()
    finish_first.set()
    one.join(30)
    two.join(30)
    assert waiting
    assert seen == {'complete': True, 'finished_first': True}
    assert os.listdir(store.ingest_dir) == []


def test_ingest_stream_computes_and_checks(store, tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'streamed content')
    with open(str(path), 'rb') as handle:
        digest, size = store.ingest_stream(handle)
    assert (digest, size) == (_digest(b'streamed content'), 16)
    with open(str(path), 'rb') as handle:
        with pytest.raises(DigestMismatch):
            store.ingest_stream(handle, expected_digest=_digest(b'other'))
    assert os.listdir(store.ingest_dir) == []


def test_tag_lookup_and_remove(store):
    one = _image(store)
    assert store.tag('busybox', one) is True
    assert store.tag('docker.io/library/busybox:latest', one) is False
    entry = store.lookup('busybox:latest')
    assert entry['digest'] == one['digest']
    assert entry['annotations'] == {mediatypes.REF_NAME: 'docker.io/library/busybox:latest'}
    assert store.lookup(one['digest'])['digest'] == one['digest']
    assert store.lookup('busybox@' + one['digest'])['digest'] == one['digest']
    assert store.lookup('other@' + one['digest']) is None
    two = _image(store, layers=(b'another',))
    assert store.tag('busybox', two, resolved_digest=_digest(b'an index')) is True
    assert [e['digest'] for e in store.entries()] == [two['digest']]
    assert store.lookup(_digest(b'an index'))['digest'] == two['digest']
    assert store.remove('busybox') is True
    assert store.remove('busybox') is False
    with pytest.raises(ImageNotFound):
        store.resolve('busybox')


def test_image_info(store):
    descriptor = _image(store, layers=(b'a' * 10, b'b' * 20), arch='arm64')
    store.tag('ghcr.io/o/r:1', descriptor)
    info = store.image_info('ghcr.io/o/r:1')
    assert info['digest'] == descriptor['digest']
    assert info['platform'] == {'os': 'linux', 'architecture': 'arm64'}
    assert [layer['size'] for layer in info['layers']] == [10, 20]
    config_size = os.path.getsize(store.blob_path(info['config_digest']))
    assert info['size'] == descriptor['size'] + config_size + 30
    assert info['config']['architecture'] == 'arm64'


def test_missing_blobs(store):
    descriptor = _image(store)
    store.tag('localhost/x', descriptor)
    assert store.missing_blobs(descriptor) == []
    os.unlink(store.blob_path(_digest(b'layer two')))
    assert store.missing_blobs(descriptor) == [_digest(b'layer two')]


def test_gc_walks_indexes_and_manifests(store):
    kept = _image(store, layers=(b'shared', b'kept only'))
    dropped = _image(store, layers=(b'shared', b'dropped only'))
    nested = _image(store, layers=(b'in an index',), arch='arm64')
    index = json.dumps({'schemaVersion': 2, 'mediaType': mediatypes.OCI_INDEX, 'manifests': [nested]}).encode()
    index_descriptor = {'mediaType': mediatypes.OCI_INDEX, 'digest': store.put_bytes(index), 'size': len(index)}
    store.tag('localhost/kept', kept)
    store.tag('localhost/dropped', dropped)
    store.tag('localhost/multi', index_descriptor)
    stray = store.put_bytes(b'nobody refers to me')
    with open(os.path.join(store.ingest_dir, 'sha256-%s.partial' % ('0' * 64)), 'wb') as handle:
        handle.write(b'half')
    store.remove('localhost/dropped')
    result = store.gc()
    assert set(result['removed']) == {dropped['digest'], _digest(b'dropped only'), stray}
    assert result['freed_bytes'] == dropped['size'] + len(b'dropped only') + len(b'nobody refers to me')
    for digest in (kept['digest'], _digest(b'shared'), _digest(b'kept only'), index_descriptor['digest'], nested['digest'],
                   _digest(b'in an index')):
        assert store.has_blob(digest)
    assert os.listdir(store.ingest_dir) == []
    with pytest.raises(ImageError):
        store.image_info('localhost/multi')


def test_gc_of_a_store_that_does_not_exist(tmp_path):
    assert stores.Store(str(tmp_path / 'none')).gc() == {'removed': [], 'freed_bytes': 0}
    assert not (tmp_path / 'none').exists()


def test_only_the_private_folder_sees_temporary_files(store):
    for number in range(5):
        store.tag('localhost/t%d' % number, _image(store, layers=(b'%d' % number,)))
    assert sorted(os.listdir(store.root)) == ['.runcible', 'blobs', 'index.json', 'oci-layout']
