# -*- coding: utf-8 -*-
"""Fixtures for unpacking tests: build a layout from layers and unpack it in copy or overlay form."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from layerlib import Layout  # noqa: E402

from ansible_collections.runcible.oci.plugins.module_utils.image import layout_reader, overlay, unpack  # noqa: E402

ROOT = os.geteuid() == 0


class Unpacker:
    """Unpacks images made of given layers into fresh directories under tmp_path."""

    def __init__(self, tmp_path, mode):
        self.tmp_path = tmp_path
        self.mode = mode
        self.count = 0
        self.warnings = []

    def __call__(self, *layers, compression='gzip'):
        self.count += 1
        layout = Layout(self.tmp_path / ('layout%d' % self.count))
        digest = layout.add_image(list(layers), compression=compression)
        reader = layout_reader.OCILayout(layout.path)
        image = reader.image(digest=digest)
        if self.mode == 'copy':
            target = str(self.tmp_path / ('rootfs%d' % self.count))
            unpack.unpack_image(reader, image, target, warn=self.warnings.append)
            return target
        cache = overlay.LayerCache(str(self.tmp_path / ('cache%d' % self.count)))
        roots, _unused = cache.ensure(reader, image, warn=self.warnings.append)
        return roots


@pytest.fixture
def unpack_copy(tmp_path):
    return Unpacker(tmp_path, 'copy')


@pytest.fixture
def unpack_layers(tmp_path):
    """Unpacks into overlay-form layer directories (returns their paths, bottom first); needs root."""
    if not ROOT:
        pytest.skip('overlay-form layers hold whiteout devices and trusted.* xattrs: needs root')
    return Unpacker(tmp_path, 'overlay')
