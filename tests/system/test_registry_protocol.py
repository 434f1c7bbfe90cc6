# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Protocol corners real registries show and distribution 2.8 on a file system does not.

A small HTTP server serves the distribution API from an OCI layout (LayoutRegistry)
and can redirect blobs to "object storage", ignore Range, drop connections, answer
503/429, leave out Docker-Content-Digest or serve manifests we must refuse.
"""

import json

import pytest

from registry_fixtures import BlobStorage, LayoutRegistry, OciLayoutBuilder, pseudo_random, sha256, store_dir  # noqa: F401 pylint: disable=unused-import

from ansible_collections.runcible.oci.plugins.module_utils.image import errors, registry, store as stores


@pytest.fixture
def layout(tmp_path):
    builder = OciLayoutBuilder(str(tmp_path / 'layout'))
    big = builder.layer({'big.bin': pseudo_random(1024 * 1024, 3)}, 'gzip')
    small = builder.layer({'small.txt': b'small\n'}, 'gzip')
    builder.tag('app:1', builder.image([big, small]))
    builder.big = big
    return builder


@pytest.fixture
def server(layout):
    front = LayoutRegistry(layout.path)
    yield front
    front.stop()


def _pull(server, store_dir, **options):
    options.setdefault('insecure', True)
    options.setdefault('search_default_auth_files', False)
    return registry.pull(store_dir, '%s/app:1' % server.host, **options)


def _blob_gets(server, digest=None):
    return [(path, headers) for method, path, headers in server.requests
            if method == 'GET' and '/blobs/' in path and (digest is None or path.endswith(digest))]


def test_blob_redirect_to_another_host_drops_the_authorization(layout, server, store_dir):
    storage = BlobStorage(layout.path)
    try:
        server.basic_auth = ('user', 'secret')
        server.redirect_blobs = 'http://localhost:%d/storage' % storage.port
        result = _pull(server, store_dir, username='user', password='secret')
    finally:
        storage.stop()
    assert result['changed'] is True
    assert len(storage.requests) == 3
    assert all('authorization' not in headers for _path, headers in storage.requests)
    # The registry itself did get the credentials.
    assert all(headers.get('authorization', '').startswith('Basic ') for _path, headers in _blob_gets(server))
    assert stores.Store(store_dir).missing_blobs(stores.Store(store_dir).resolve('%s/app:1' % server.host)) == []


def test_server_that_ignores_range_restarts_the_blob(layout, server, store_dir):
    server.cut_blob_after = 300 * 1024
    server.cuts = 1
    server.ignore_range = True
    result = _pull(server, store_dir, concurrency=1)
    assert result['changed'] is True
    gets = _blob_gets(server, layout.big['digest'])
    assert len(gets) == 2
    assert gets[1][1].get('range') == 'bytes=%d-' % (300 * 1024)
    store = stores.Store(store_dir)
    with open(store.blob_path(layout.big['digest']), 'rb') as handle:
        assert sha256(handle.read()) == layout.big['digest']


def test_server_cut_and_range_resume(layout, server, store_dir):
    server.cut_blob_after = 200 * 1024
    server.cuts = 3
    _pull(server, store_dir, concurrency=1)
    ranges = [headers.get('range') for _path, headers in _blob_gets(server, layout.big['digest'])]
    assert ranges == [None, 'bytes=204800-', 'bytes=409600-', 'bytes=614400-']


def test_transient_errors_are_retried(server, store_dir):
    server.fail_next = [503, 429, 502]
    assert _pull(server, store_dir)['changed'] is True
    assert [request for request in server.requests if request[1] == '/v2/app/manifests/1'][:3]


def test_retries_are_bounded(server, store_dir):
    server.fail_next = [503] * 50
    with pytest.raises(errors.RegistryError) as caught:
        _pull(server, store_dir, retries=2)
    assert 'HTTP 503' in str(caught.value) and 'UNAVAILABLE' in str(caught.value)
    assert len(server.requests) == 3


def test_missing_digest_header_falls_back_to_get_for_unchanged(server, store_dir):
    server.omit_digest_header = True
    server.content_type = 'application/json'
    assert _pull(server, store_dir)['changed'] is True
    server.requests.clear()
    again = _pull(server, store_dir)
    assert again['changed'] is False
    assert [(method, path) for method, path, _headers in server.requests] == [('HEAD', '/v2/app/manifests/1'), ('GET', '/v2/app/manifests/1')]


def _stored_manifest(layout):
    digest = json.loads(open('%s/index.json' % layout.path).read())['manifests'][0]['digest']
    with open('%s/blobs/sha256/%s' % (layout.path, digest[7:]), 'rb') as handle:
        return digest, handle.read()


def test_manifest_not_matching_the_announced_digest_is_refused(layout, server, store_dir):
    digest, data = _stored_manifest(layout)
    server.announce_digest['1'] = sha256(data + b'x')
    with pytest.raises(errors.DigestMismatch):
        _pull(server, store_dir)
    assert stores.Store(store_dir).entries() == []


def test_manifest_not_matching_the_pinned_digest_is_refused(layout, server, store_dir):
    digest, data = _stored_manifest(layout)
    server.manifest_override[digest] = (data.replace(b'"schemaVersion"', b' "schemaVersion"'), 'application/vnd.oci.image.manifest.v1+json')
    with pytest.raises(errors.DigestMismatch) as caught:
        registry.pull(store_dir, '%s/app@%s' % (server.host, digest), insecure=True, search_default_auth_files=False)
    assert digest in str(caught.value)


def test_schema1_manifest_is_refused_with_the_reason(server, store_dir):
    server.manifest_override['1'] = (json.dumps({'schemaVersion': 1, 'name': 'app', 'tag': '1', 'fsLayers': []}).encode(),
                                     'application/vnd.docker.distribution.manifest.v1+prettyjws')
    with pytest.raises(errors.UnsupportedImage) as caught:
        _pull(server, store_dir)
    assert 'schema 1' in str(caught.value)


def test_artifact_that_is_not_an_image_is_refused(layout, server, store_dir):
    chart = layout.blob(b'chart')
    config = layout.blob(b'{}')
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                           'config': {'mediaType': 'application/vnd.cncf.helm.config.v1+json', 'digest': config, 'size': 2},
                           'layers': [{'mediaType': 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', 'digest': chart, 'size': 5}]}).encode()
    server.manifest_override['1'] = (manifest, 'application/vnd.oci.image.manifest.v1+json')
    with pytest.raises(errors.UnsupportedImage) as caught:
        _pull(server, store_dir)
    assert 'not a container image' in str(caught.value) and 'helm' in str(caught.value)
    assert _blob_gets(server) == []


def test_blob_larger_than_its_descriptor_is_cut_off(layout, server, store_dir):
    """A server sending more bytes than the descriptor's size is refused before it fills the disk."""
    manifest = json.loads(_stored_manifest(layout)[1])
    manifest['layers'][0]['size'] = 1000
    server.manifest_override['1'] = (json.dumps(manifest).encode(), 'application/vnd.oci.image.manifest.v1+json')
    with pytest.raises(errors.DigestMismatch):
        _pull(server, store_dir, concurrency=1)
    store = stores.Store(store_dir)
    assert not store.has_blob(layout.big['digest'])


def test_registry_that_refuses_head_is_asked_with_get(server, store_dir):
    assert _pull(server, store_dir)['changed'] is True
    server.requests.clear()
    server.fail_next = [405]
    again = _pull(server, store_dir)
    assert again['changed'] is False
    assert [(method, path) for method, path, _headers in server.requests] == [('HEAD', '/v2/app/manifests/1'), ('GET', '/v2/app/manifests/1')]
