# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several processes on one store: concurrent pulls, gc against a running pull, and other tools reading the store."""

import filecmp
import json
import os
import shutil
import threading


from registry_fixtures import (TcpProxy, need, plain_registry, registry_workdir, run, run_python, skopeo_push,  # noqa: F401 pylint: disable=unused-import
                               store_dir, test_images)

from ansible_collections.runcible.oci.plugins.module_utils.image import registry, store as stores

PULL = '''
import json, sys
from ansible_collections.runcible.oci.plugins.module_utils.image import registry
print(json.dumps(registry.pull(%r, %r, insecure=True)))
'''
WAIT = 120


def _pull_in_processes(store_path, names):
    processes = [run_python(PULL % (store_path, name)) for name in names]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=WAIT)
        assert process.returncode == 0, err.decode()
        results.append(json.loads(out))
    return results


def test_same_image_pulled_by_six_processes_downloads_each_blob_once(plain_registry, test_images, store_dir):
    proxy = TcpProxy(plain_registry.port)
    try:
        name = '%s/busybox:1' % proxy.host
        results = _pull_in_processes(store_dir, [name] * 6)
    finally:
        proxy.stop()
    assert {result['digest'] for result in results} == {test_images['busybox:1']['digest']}
    assert any(result['changed'] for result in results)
    gets = [request['path'] for request in proxy.blob_requests() if request['method'] == 'GET']
    assert sorted(gets) == sorted(set(gets)) and len(gets) == 4
    store = stores.Store(store_dir)
    assert [entry['annotations']['org.opencontainers.image.ref.name'] for entry in store.entries()] == [name]
    assert store.missing_blobs(store.resolve(name)) == []
    assert os.listdir(store.ingest_dir) == []


def test_different_images_pulled_concurrently_are_all_recorded(plain_registry, test_images, store_dir):
    for number in range(6):
        skopeo_push(test_images['layout'], 'busybox:2' if number % 2 else 'busybox:1', plain_registry, 'many%d' % number, '1')
    names = ['%s/many%d:1' % (plain_registry.host, number) for number in range(6)]
    results = _pull_in_processes(store_dir, names)
    assert all(result['changed'] for result in results)
    store = stores.Store(store_dir)
    assert sorted(entry['annotations']['org.opencontainers.image.ref.name'] for entry in store.entries()) == sorted(names)
    for name in names:
        assert store.missing_blobs(store.resolve(name)) == []


def test_gc_waits_for_a_running_pull(plain_registry, test_images, store_dir):
    """A pull's blobs are unreferenced until it tags them; gc must not collect them meanwhile."""
    writer = stores.Store(store_dir)
    collector = stores.Store(store_dir)
    writer.ensure()
    written = threading.Event()
    release = threading.Event()
    gc_result = {}

    def pull_half_way():
        with writer.writing():
            digest = writer.put_bytes(b'{"pretend": "config"}')
            manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                                   'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': digest, 'size': 21},
                                   'layers': []}).encode()
            gc_result['manifest'] = writer.put_bytes(manifest)
            gc_result['config'] = digest
            written.set()
            release.wait(WAIT)
            writer.tag('localhost/half:1', {'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                                            'digest': gc_result['manifest'], 'size': len(manifest)})

    puller = threading.Thread(target=pull_half_way)
    puller.start()
    assert written.wait(WAIT)
    collecting = threading.Thread(target=lambda: gc_result.update(collector.gc()))
    collecting.start()
    collecting.join(0.5)
    blocked = collecting.is_alive()
    release.set()
    puller.join(WAIT)
    collecting.join(WAIT)
    assert blocked, 'gc ran while a writer held the store'
    assert gc_result['removed'] == []
    assert collector.has_blob(gc_result['manifest']) and collector.has_blob(gc_result['config'])


def test_umoci_unpacks_an_image_from_the_store(plain_registry, test_images, store_dir, tmp_path):
    """The store is a plain OCI layout: umoci (another implementation) unpacks what we pulled."""
    need('umoci')
    name = '%s/busybox:2' % plain_registry.host
    registry.pull(store_dir, name, insecure=True)
    bundle = tmp_path / 'bundle'
    run('umoci', 'unpack', '--image', '%s:%s' % (store_dir, name), str(bundle))
    assert filecmp.cmp(str(bundle / 'rootfs' / 'bin' / 'busybox'), '/bin/busybox', shallow=False)
    assert os.path.samefile(str(bundle / 'rootfs' / 'bin' / 'sh'), str(bundle / 'rootfs' / 'bin' / 'busybox'))
    assert (bundle / 'rootfs' / 'extra.txt').read_bytes() == b'only in busybox:2\n'
    shutil.rmtree(str(bundle))
