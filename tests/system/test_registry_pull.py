# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulls from a real docker-registry on loopback: content, platforms, idempotence, resume, corruption, mirrors."""

import json
import os
import shutil

import pytest

from registry_fixtures import (OciLayoutBuilder, RegistryServer, TcpProxy, pseudo_random, skopeo_push,  # noqa: F401 pylint: disable=unused-import
                               busybox_files, certs, plain_registry, registry_workdir, sha256, store_dir, test_images)

from ansible_collections.runcible.oci.plugins.module_utils.image import errors, registry, store as stores


def _blob_hashes(store_path):
    """{digest: sha256 of the file} for every blob in the store."""
    found = {}
    folder = os.path.join(store_path, 'blobs', 'sha256')
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), 'rb') as handle:
            found['sha256:' + name] = sha256(handle.read())
    return found


def test_anonymous_pull_stores_every_blob_verified(plain_registry, test_images, store_dir):
    name = '%s/busybox:1' % plain_registry.host
    result = registry.pull(store_dir, name, insecure=True)

    manifest = test_images['busybox:1']
    assert result['changed'] is True
    assert result['digest'] == manifest['digest'] == plain_registry.pushed['busybox:1']
    assert result['reference'] == name
    layers = test_images['layers']
    expected = {manifest['digest'], layers['base']['digest'], layers['etc']['digest'], layers['data']['digest']}
    blobs = _blob_hashes(store_dir)
    assert expected <= set(blobs)
    for digest, actual in blobs.items():
        assert digest == actual
    info = stores.Store(store_dir).image_info(name)
    assert [layer['media_type'] for layer in info['layers']] == [
        'application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+zstd']
    assert info['config']['config']['Cmd'] == ['/bin/sh']
    assert info['platform'] == {'os': 'linux', 'architecture': 'amd64'}


def test_store_is_an_oci_layout_that_skopeo_reads(plain_registry, store_dir, tmp_path):
    """Another tool copies the image out of our store, verifying every blob itself."""
    name = '%s/busybox:1' % plain_registry.host
    registry.pull(store_dir, name, insecure=True)
    out = tmp_path / 'copy'
    from registry_fixtures import run
    run('skopeo', '--insecure-policy', 'copy', '--quiet', 'oci:%s:%s' % (store_dir, name), 'dir:%s' % out)
    with open(os.path.join(store_dir, 'index.json')) as handle:
        index = json.load(handle)
    assert [entry['annotations']['org.opencontainers.image.ref.name'] for entry in index['manifests']] == [name]
    assert (out / 'manifest.json').exists()


def test_unchanged_tag_reports_no_change_and_downloads_nothing(plain_registry, store_dir):
    proxy = TcpProxy(plain_registry.port)
    try:
        name = '%s/busybox:1' % proxy.host
        first = registry.pull(store_dir, name, insecure=True)
        blob_gets_first = len(proxy.blob_requests())
        proxy.requests.clear()
        second = registry.pull(store_dir, name, insecure=True)
    finally:
        proxy.stop()
    assert first["changed"] is True and blob_gets_first == 4  # three layers and the config
    assert second['changed'] is False
    assert second['downloaded_blobs'] == 0
    assert proxy.blob_requests() == []
    assert [(r['method'], r['path']) for r in proxy.requests] == [('HEAD', '/v2/busybox/manifests/1')]


def test_moved_tag_downloads_only_new_blobs(plain_registry, test_images, store_dir):
    proxy = TcpProxy(plain_registry.port)
    try:
        skopeo_push(test_images['layout'], 'busybox:1', plain_registry, 'moving', '1')
        name = '%s/moving:1' % proxy.host
        registry.pull(store_dir, name, insecure=True)
        skopeo_push(test_images['layout'], 'busybox:2', plain_registry, 'moving', '1')
        proxy.requests.clear()
        result = registry.pull(store_dir, name, insecure=True)
    finally:
        proxy.stop()
    assert result['changed'] is True
    assert result['digest'] == test_images['busybox:2']['digest']
    fetched = {request['path'].rsplit('/', 1)[1] for request in proxy.blob_requests()}
    # busybox:2 = the shared busybox layer (already stored) + its own layer + its config.
    assert test_images['layers']['extra']['digest'] in fetched
    assert test_images['layers']['base']['digest'] not in fetched
    assert len(fetched) == 2


def test_pull_by_digest_needs_no_request_once_stored(plain_registry, store_dir):
    digest = plain_registry.pushed['busybox:1']
    proxy = TcpProxy(plain_registry.port)
    try:
        name = '%s/busybox@%s' % (proxy.host, digest)
        assert registry.pull(store_dir, name, insecure=True)['changed'] is True
        proxy.requests.clear()
        again = registry.pull(store_dir, name, insecure=True)
    finally:
        proxy.stop()
    assert again['changed'] is False
    assert proxy.requests == []


@pytest.mark.parametrize('platform, key', [('linux/amd64', 'amd64'), ('linux/arm64', 'arm64'), ('linux/arm64/v8', 'arm64'),
                                           ('linux/arm/v7', 'armv7'), ('linux/arm/v8', 'armv7')])
def test_multi_arch_index_selects_the_platform(plain_registry, test_images, store_dir, platform, key):
    name = '%s/multi:1' % plain_registry.host
    result = registry.pull(store_dir, name, platform=platform, insecure=True)
    expected = test_images['multi:platforms'][key]
    assert result['digest'] == expected['digest']
    assert result['resolved_digest'] == test_images['multi:1']['digest'] == plain_registry.pushed['multi:1']
    assert result['platform']['architecture'] == expected['platform']['architecture']
    # Only the chosen platform's manifest is kept: no other platform's or the attestation's blobs.
    blobs = set(_blob_hashes(store_dir))
    for other, descriptor in test_images['multi:platforms'].items():
        if other != key:
            assert descriptor['digest'] not in blobs


def test_multi_arch_default_is_the_host_and_skips_attestations(plain_registry, test_images, store_dir):
    if os.uname().machine != 'x86_64':
        pytest.skip('the test index has its runnable default for amd64 hosts')
    result = registry.pull(store_dir, '%s/multi:1' % plain_registry.host, insecure=True)
    assert result['digest'] == test_images['multi:platforms']['amd64']['digest']
    assert test_images['multi:platforms']['attestation']['digest'] not in _blob_hashes(store_dir)


def test_platform_missing_from_index_is_a_clear_error(plain_registry, store_dir):
    with pytest.raises(errors.PlatformNotFound) as caught:
        registry.pull(store_dir, '%s/multi:1' % plain_registry.host, platform='linux/s390x', insecure=True)
    message = str(caught.value)
    assert 'linux/s390x' in message and 'linux/arm64/v8' in message and 'unknown' not in message


def test_changing_platform_of_a_stored_tag_pulls_again(plain_registry, test_images, store_dir):
    name = '%s/multi:1' % plain_registry.host
    registry.pull(store_dir, name, platform='linux/arm64', insecure=True)
    result = registry.pull(store_dir, name, platform='linux/arm/v7', insecure=True)
    assert result['changed'] is True
    assert result['digest'] == test_images['multi:platforms']['armv7']['digest']


def test_missing_tag_is_image_not_found(plain_registry, store_dir):
    with pytest.raises(errors.ImageNotFound) as caught:
        registry.pull(store_dir, '%s/busybox:nope' % plain_registry.host, insecure=True)
    assert 'MANIFEST_UNKNOWN' in str(caught.value)


def test_plain_http_needs_insecure(plain_registry, store_dir):
    with pytest.raises(errors.RegistryError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % plain_registry.host, timeout=5)
    assert 'insecure' in str(caught.value)
    assert not os.path.exists(os.path.join(store_dir, 'blobs', 'sha256')) or not os.listdir(os.path.join(store_dir, 'blobs', 'sha256'))


def test_interrupted_download_resumes_with_range(plain_registry, test_images, store_dir):
    big = test_images['layers']['big']
    proxy = TcpProxy(plain_registry.port, cut_after=600 * 1024, cuts=2)
    try:
        result = registry.pull(store_dir, '%s/big:1' % proxy.host, insecure=True, concurrency=1)
    finally:
        proxy.stop()
    assert result['changed'] is True
    assert proxy.cuts_done == 2
    layer_gets = [r for r in proxy.blob_requests() if r['path'].endswith(big['digest']) and r['method'] == 'GET']
    assert len(layer_gets) == 3
    assert layer_gets[0]['range'] is None
    offsets = [int(r['range'].split('=')[1].rstrip('-')) for r in layer_gets[1:]]
    assert offsets[0] > 0 and offsets[1] > offsets[0]
    # Resuming means the layer crossed the wire about once, not three times.
    assert proxy.bytes_to_client < big['size'] * 1.3
    path = stores.Store(store_dir).blob_path(big['digest'])
    with open(path, 'rb') as handle:
        assert sha256(handle.read()) == big['digest']
    assert os.listdir(stores.Store(store_dir).ingest_dir) == []


def test_partial_download_survives_a_failed_pull_and_is_resumed_by_the_next(plain_registry, test_images, store_dir):
    big = test_images['layers']['big']
    proxy = TcpProxy(plain_registry.port, cut_after=500 * 1024, cuts=10)
    try:
        with pytest.raises(errors.RegistryError) as caught:
            registry.pull(store_dir, '%s/big:1' % proxy.host, insecure=True, retries=1, concurrency=1)
        assert 'interrupted' in str(caught.value) or 'ended after' in str(caught.value)
        store = stores.Store(store_dir)
        partials = os.listdir(store.ingest_dir)
        assert partials == ['sha256-%s.partial' % big['digest'].split(':')[1]]
        kept = os.path.getsize(os.path.join(store.ingest_dir, partials[0]))
        assert 0 < kept < big['size']
        proxy.cut_after = None
        proxy.requests.clear()
        result = registry.pull(store_dir, '%s/big:1' % proxy.host, insecure=True)
    finally:
        proxy.stop()
    assert result['changed'] is True
    layer_gets = [r for r in proxy.blob_requests() if r['path'].endswith(big['digest'])]
    assert [r['range'] for r in layer_gets] == ['bytes=%d-' % kept]


def test_corrupted_blob_in_the_registry_is_rejected(registry_workdir, store_dir, tmp_path):
    """A blob tampered with in the registry's storage (same size, other bytes) never enters the store."""
    folder = tmp_path / 'tamper'
    registry_server = RegistryServer(str(folder))
    try:
        builder = OciLayoutBuilder(str(tmp_path / 'layout'))
        layer = builder.layer({'victim.bin': pseudo_random(200 * 1024, 99)}, 'gzip')
        builder.tag('victim:1', builder.image([layer]))
        skopeo_push(builder.path, 'victim:1', registry_server, 'victim', '1')
        data_path = registry_server.blob_data_path(layer['digest'])
        with open(data_path, 'r+b') as handle:
            handle.seek(layer['size'] // 2)
            byte = handle.read(1)
            handle.seek(layer['size'] // 2)
            handle.write(bytes([byte[0] ^ 0xFF]))
        with pytest.raises(errors.DigestMismatch) as caught:
            registry.pull(store_dir, '%s/victim:1' % registry_server.host, insecure=True)
    finally:
        registry_server.stop()
    assert layer['digest'] in str(caught.value)
    store = stores.Store(store_dir)
    assert not store.has_blob(layer['digest'])
    assert store.lookup('%s/victim:1' % registry_server.host) is None
    assert os.listdir(store.ingest_dir) == []


def test_mirror_is_tried_first_then_the_origin(plain_registry, registry_workdir, test_images, store_dir, tmp_path):
    mirror = RegistryServer(str(tmp_path / 'mirror'))
    origin = TcpProxy(plain_registry.port)
    try:
        # The mirror has busybox:1 under the origin's repository name; it lacks busybox:2.
        skopeo_push(test_images['layout'], 'busybox:1', mirror, 'busybox', '1')
        mirrors = ['http://%s' % mirror.host]
        first = registry.pull(store_dir, '%s/busybox:1' % origin.host, insecure=True, mirrors=mirrors)
        assert first['digest'] == test_images['busybox:1']['digest']
        assert origin.requests == []
        second = registry.pull(store_dir, '%s/busybox:2' % origin.host, insecure=True, mirrors=mirrors)
        assert second['digest'] == test_images['busybox:2']['digest']
        assert ('GET', '/v2/busybox/manifests/2') in [(r['method'], r['path']) for r in origin.requests]
    finally:
        origin.stop()
        mirror.stop()
    assert ('GET', '/v2/busybox/manifests/2', 404) in mirror.requests()


def test_unreachable_mirror_falls_through_to_the_origin(plain_registry, test_images, store_dir):
    from registry_fixtures import free_port
    dead = '127.0.0.1:%d' % free_port()
    result = registry.pull(store_dir, '%s/busybox:1' % plain_registry.host, insecure=True, mirrors=['http://' + dead], retries=0)
    assert result['digest'] == test_images['busybox:1']['digest']


def test_gc_keeps_shared_layers_and_drops_the_rest(plain_registry, test_images, store_dir):
    one = '%s/busybox:1' % plain_registry.host
    two = '%s/busybox:2' % plain_registry.host
    registry.pull(store_dir, one, insecure=True)
    registry.pull(store_dir, two, insecure=True)
    store = stores.Store(store_dir)
    layers = test_images['layers']
    assert store.remove(one) is True
    assert store.remove(one) is False
    result = store.gc()
    removed = set(result['removed'])
    assert {layers['etc']['digest'], layers['data']['digest'], test_images['busybox:1']['digest']} <= removed
    assert layers['base']['digest'] not in removed
    assert result['freed_bytes'] >= layers['etc']['size'] + layers['data']['size']
    assert store.missing_blobs(store.resolve(two)) == []
    kept = {test_images['busybox:2']['digest'], layers['base']['digest'], layers['extra']['digest'], store.image_info(two)['config_digest']}
    assert set(_blob_hashes(store_dir)) == kept
    assert store.gc()['removed'] == []


def test_removed_image_pulls_again_from_blobs_still_there(plain_registry, store_dir):
    name = '%s/busybox:1' % plain_registry.host
    registry.pull(store_dir, name, insecure=True)
    stores.Store(store_dir).remove(name)
    result = registry.pull(store_dir, name, insecure=True)
    assert result['changed'] is True
    assert result['downloaded_blobs'] == 0


def test_check_mode_question_costs_one_head(plain_registry, store_dir):
    name = '%s/busybox:1' % plain_registry.host
    with registry.Registry(store_dir, insecure=True) as client:
        assert client.is_current(name) is False
        client.pull(name)
        assert client.is_current(name) is True
    shutil.rmtree(os.path.join(store_dir, 'blobs', 'sha256'))
    os.makedirs(os.path.join(store_dir, 'blobs', 'sha256'))
    with registry.Registry(store_dir, insecure=True) as client:
        assert client.is_current(name) is False
