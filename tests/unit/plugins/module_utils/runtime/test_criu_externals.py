# -*- coding: utf-8 -*-
"""The keys CRIU knows external mounts by: mount destinations as the container sees them."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import externals


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / 'rootfs'
    (root / 'etc').mkdir(parents=True)
    (root / 'etc' / 'hosts').write_text('')
    os.symlink('/etc', str(root / 'config'))
    return str(root)


@pytest.mark.parametrize('destination, key', [
    ('/etc/hosts', '/etc/hosts'),
    ('/dev/shm', '/dev/shm'),                    # not in the rootfs (yet): the path itself
    ('dev/shm', '/dev/shm'),
    ('//run//.containerenv/', '/run/.containerenv'),
    ('/config/hosts', '/etc/hosts'),             # a symlink in the image, resolved inside the rootfs
    ('/', '/'),
])
def test_destination_keys_have_one_leading_slash(rootfs, destination, key):
    """A missing mount point gave '//dev/shm': CRIU matched no mount at dump and failed restores."""
    assert externals.destination_in_root(rootfs, destination) == key
