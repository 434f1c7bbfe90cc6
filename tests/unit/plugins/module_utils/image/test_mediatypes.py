# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Telling manifests, indexes and layers apart."""

import json

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import mediatypes
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import UnsupportedImage


def _doc(**fields):
    return json.dumps(dict(schemaVersion=2, **fields)).encode()


def test_sniff_prefers_the_documents_own_type():
    data = _doc(mediaType=mediatypes.DOCKER_LIST, manifests=[])
    assert mediatypes.sniff(data, 'application/json')[0] == mediatypes.DOCKER_LIST
    assert mediatypes.sniff(_doc(config={}, layers=[]), mediatypes.DOCKER_MANIFEST)[0] == mediatypes.DOCKER_MANIFEST


def test_sniff_by_shape_when_untyped():
    assert mediatypes.sniff(_doc(manifests=[]), None)[0] == mediatypes.OCI_INDEX
    assert mediatypes.sniff(_doc(config={}, layers=[]), 'text/plain')[0] == mediatypes.OCI_MANIFEST


@pytest.mark.parametrize('data, declared, words', [
    (json.dumps({'schemaVersion': 1, 'fsLayers': []}).encode(), None, 'schema 1'),
    (_doc(config={}), mediatypes.DOCKER_SCHEMA1[1], 'schema 1'),
    (b'not json', None, 'not valid JSON'),
    (b'[]', None, 'not a JSON object'),
    (_doc(mediaType='application/vnd.cncf.helm.config.v1+json'), None, 'not an image manifest'),
    (json.dumps({'schemaVersion': 3, 'layers': []}).encode(), None, 'schemaVersion'),
])
def test_sniff_refuses(data, declared, words):
    with pytest.raises(UnsupportedImage) as caught:
        mediatypes.sniff(data, declared)
    assert words in str(caught.value)


def test_layer_compression():
    assert mediatypes.layer_compression(mediatypes.OCI_LAYER) is None
    assert mediatypes.layer_compression(mediatypes.DOCKER_LAYER_GZIP) == 'gzip'
    assert mediatypes.layer_compression('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip') == 'gzip'
    assert mediatypes.layer_compression(mediatypes.OCI_LAYER_ZSTD) == 'zstd'
    with pytest.raises(UnsupportedImage):
        mediatypes.layer_compression('application/vnd.in-toto+json')
