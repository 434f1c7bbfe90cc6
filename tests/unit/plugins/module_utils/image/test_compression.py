# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recognising compressed streams and reading through them."""

import bz2
import gzip
import io
import lzma

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import compression
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import UnsupportedImage

DATA = b'some tar-like payload ' * 5000


@pytest.mark.parametrize('kind, pack', [('gzip', gzip.compress), ('xz', lzma.compress), ('bzip2', bz2.compress), (None, lambda data: data)])
def test_sniff_and_decompress(kind, pack):
    packed = pack(DATA)
    peeked = compression.PeekedStream(io.BytesIO(packed))
    assert compression.sniff(peeked.head) == kind
    stream = compression.DecompressingStream(peeked, kind) if kind else peeked
    out = b''
    while True:
        chunk = stream.read(7000)
        if not chunk:
            break
        out += chunk
    assert out == DATA


def test_zstd_magic_and_missing_module():
    assert compression.sniff(b'\x28\xb5\x2f\xfd\x00\x00') == 'zstd'
    if compression.zstd_available():
        pytest.skip('a zstd implementation is installed here')
    with pytest.raises(UnsupportedImage) as caught:
        compression.decompressor('zstd')
    assert 'zstandard' in str(caught.value) and '3.14' in str(caught.value)


def test_peeked_stream_returns_everything_once():
    stream = compression.PeekedStream(io.BytesIO(b'abcdefghij'), length=4)
    assert stream.head == b'abcd'
    assert stream.read(2) == b'ab'
    assert stream.read(5) == b'cdefg'
    assert stream.read() == b'hij'
    assert stream.read() == b''


def test_corrupt_gzip_raises_a_known_error():
    broken = gzip.compress(DATA)[:10] + b'\xff' * 64
    with pytest.raises(compression.ERRORS):
        compression.decompressor('gzip').decompress(broken)
