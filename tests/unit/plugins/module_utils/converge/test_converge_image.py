# -*- coding: utf-8 -*-
"""oci_image's logic on a real store: imports, check mode, diff, removal, messages that name the parameter.

Pulls need a registry; they are covered by tests/integration/targets/oci_image
(a docker-registry on loopback) and the library's system tests.
"""

import os

import pytest

from convergelib import image_params, rootfs_tarball

from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import failure_message
from ansible_collections.runcible.oci.plugins.module_utils.converge.image import ensure_image
from ansible_collections.runcible.oci.plugins.module_utils.image.store import Store
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import RuntimeErrorBase


def tree(path):
    """Every path under `path` with its size: what a user would compare to see that nothing changed."""
    found = {}
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(folder, name)
            found[os.path.relpath(full, path)] = os.lstat(full).st_size
    return found


def test_import_then_unchanged(tmp_path, tarball):
    store = str(tmp_path / 'store')
    first = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball))
    assert first['changed'] is True
    assert first['reference'] == 'localhost/app:1' and first['format'] == 'rootfs'
    assert first['digest'].startswith('sha256:') and first['size'] > 0
    assert first['config']['rootfs']['diff_ids'] and len(first['layers']) == 1
    assert first['platform']['os'] == 'linux'
    again = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball))
    assert again['changed'] is False and again['digest'] == first['digest']


def test_check_mode_imports_nothing(tmp_path, tarball):
    store = str(tmp_path / 'store')
    predicted = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball), check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert not os.path.exists(store)
    assert predicted['diff'] == {'before': {}, 'after': {'reference': 'localhost/app:1', 'digest': predicted['digest']}}
    real = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball))
    assert real['digest'] == predicted['digest']
    before = tree(store)
    unchanged = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball), check_mode=True)
    assert unchanged['changed'] is False
    assert tree(store) == before


def test_check_mode_sees_a_changed_source(tmp_path, tarball):
    store = str(tmp_path / 'store')
    old = ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball), diff=True)
    assert old['diff']['before'] == {}
    newer = rootfs_tarball(tmp_path / 'newer.tar.gz', {'etc': None, 'etc/version': b'2\n'})
    before = tree(store)
    predicted = ensure_image(image_params(name='localhost/app:1', store=store, import_from=newer), check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['diff']['before']['digest'] == old['digest']
    assert predicted['diff']['after']['digest'] not in (None, old['digest'])
    assert tree(store) == before


def test_absent_removes_the_reference_and_its_blobs(tmp_path, tarball):
    store = str(tmp_path / 'store')
    ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball))
    blobs = os.listdir(os.path.join(store, 'blobs', 'sha256'))
    predicted = ensure_image(image_params(name='localhost/app:1', store=store, state='absent'), check_mode=True)
    assert predicted['changed'] is True and Store(store).lookup('localhost/app:1') is not None
    removed = ensure_image(image_params(name='localhost/app:1', store=store, state='absent'))
    assert removed['changed'] is True and removed['removed_blobs'] == len(blobs)
    assert Store(store).lookup('localhost/app:1') is None
    assert os.listdir(os.path.join(store, 'blobs', 'sha256')) == []
    assert ensure_image(image_params(name='localhost/app:1', store=store, state='absent'))['changed'] is False


def test_absent_keeps_blobs_another_image_uses(tmp_path, tarball):
    store = str(tmp_path / 'store')
    ensure_image(image_params(name='localhost/app:1', store=store, import_from=tarball))
    ensure_image(image_params(name='localhost/app:2', store=store, import_from=tarball))
    removed = ensure_image(image_params(name='localhost/app:1', store=store, state='absent'))
    assert removed['changed'] is True and removed['removed_blobs'] == 0
    assert Store(store).image_info('localhost/app:2')['size'] > 0


@pytest.mark.parametrize('given, parameter', [
    ({'name': 'Bad Name'}, 'name: '),
    ({'import_from': '/nonexistent/runcible/archive.tar'}, 'import_from: '),
    ({'import_format': 'oci-dir'}, 'import_from: '),
    ({'image_config': {'Cmmd': ['x']}}, 'image_config.Cmmd: '),
])
def test_failures_name_the_parameter(tmp_path, tarball, given, parameter):
    params = image_params(name='localhost/app:1', store=str(tmp_path / 'store'), import_from=tarball)
    params.update(given)
    with pytest.raises(RuntimeErrorBase) as caught:
        ensure_image(params)
    assert failure_message(caught.value).startswith(parameter)
