# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recognising compressed streams and reading through them (one module for imports and layer unpacking)."""

import bz2
import gzip
import io
import lzma

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import compression
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import LayerError, UnsupportedImage

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
        compression.DecompressingStream(io.BytesIO(b''), 'zstd')
    assert 'zstandard' in str(caught.value) and '3.14' in str(caught.value)


def test_layers_are_only_gzip_or_zstd():
    """A tar whose first member is named like a bzip2 header is still a tar for a layer."""
    head = b'BZh9-looks-like-bzip2'
    assert compression.sniff(head) == 'bzip2'
    assert compression.sniff(head, compression.LAYER_KINDS) is None
    kind, stream = compression.decompressed(io.BytesIO(head), compression.LAYER_KINDS)
    assert kind is None and stream.read() == head


def test_concatenated_gzip_members_with_padding():
    stream = compression.DecompressingStream(io.BytesIO(gzip.compress(b'one') + gzip.compress(b'two') + b'\0' * 100), 'gzip')
    assert stream.read() == b'onetwo'


def test_reads_are_bounded():
    stream = compression.DecompressingStream(io.BytesIO(gzip.compress(b'\0' * (8 << 20))), 'gzip')
    assert len(stream.read(4096)) <= 4096


def test_peeked_stream_returns_everything_once():
    stream = compression.PeekedStream(io.BytesIO(b'abcdefghij'), length=4)
    assert stream.head == b'abcd'
    assert stream.read(2) == b'ab'
    assert stream.read(5) == b'cdefg'
    assert stream.read() == b'hij'
    assert stream.read() == b''


@pytest.mark.parametrize('kind, pack', [('gzip', gzip.compress), ('xz', lzma.compress), ('bzip2', bz2.compress)])
def test_corrupt_or_truncated_streams_raise_a_layer_error(kind, pack):
    packed = pack(DATA)
    for broken in (packed[:12] + b'\xff' * 64, packed[:len(packed) // 2]):
        with pytest.raises(LayerError):
            compression.DecompressingStream(io.BytesIO(broken), kind).read()
