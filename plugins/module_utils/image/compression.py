# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recognising and decompressing layer streams: gzip, zstd, and (for imports) xz and bzip2.

zstd comes from Python 3.14's compression.zstd or the `zstandard` package, whichever
is there; without either a zstd stream fails with a message naming both.
"""

import bz2
import lzma
import zlib

from .errors import UnsupportedImage

GZIP_MAGIC = b'\x1f\x8b'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'
XZ_MAGIC = b'\xfd7zXZ\x00'
BZIP2_MAGIC = b'BZh'
MAGIC_LENGTH = 6
# What decompress() raises on corrupt input, whatever the format.
ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def sniff(head):
    """'gzip', 'zstd', 'xz', 'bzip2' or None (uncompressed) from the first bytes of a stream."""
    if head.startswith(GZIP_MAGIC):
        return 'gzip'
    if head.startswith(ZSTD_MAGIC):
        return 'zstd'
    if head.startswith(XZ_MAGIC):
        return 'xz'
    if head.startswith(BZIP2_MAGIC) and len(head) > 3 and head[3:4].isdigit():
        return 'bzip2'
    return None


class _Zstd(object):
    """A streaming zstd decompressor over whichever implementation is installed."""

    def __init__(self):
        try:
            from compression import zstd
            self._impl = zstd.ZstdDecompressor()
            self._error = zstd.ZstdError
        except ImportError:
            try:
                import zstandard
            except ImportError:
                raise UnsupportedImage('this layer is zstd-compressed: install the Python package zstandard on the target, or use Python 3.14 or newer')
            self._impl = zstandard.ZstdDecompressor().decompressobj()
            self._error = zstandard.ZstdError

    def decompress(self, data):
        try:
            return self._impl.decompress(data)
        except self._error as exc:
            raise ValueError('zstd: %s' % exc)


def decompressor(kind):
    """An object with decompress(chunk) -> bytes for a compression kind (None: identity)."""
    if kind == 'gzip':
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == 'zstd':
        return _Zstd()
    if kind == 'xz':
        return lzma.LZMADecompressor()
    if kind == 'bzip2':
        return bz2.BZ2Decompressor()
    if kind is None:
        return None
    raise UnsupportedImage('unknown compression %r' % kind)


def zstd_available():
    """True if zstd streams can be decompressed here."""
    try:
        _Zstd()
    except UnsupportedImage:
        return False
    return True


class PeekedStream(object):
    """A read-only stream whose first bytes were already read to sniff the format."""

    def __init__(self, stream, length=MAGIC_LENGTH):
        self._stream = stream
        self.head = stream.read(length)
        self._pending = self.head

    def read(self, size=-1):
        if self._pending:
            if size is None or size < 0:
                data, self._pending = self._pending + self._stream.read(), b''
                return data
            data, self._pending = self._pending[:size], self._pending[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)


class DecompressingStream(object):
    """Reads a compressed stream and returns the decompressed bytes."""

    def __init__(self, stream, kind, chunk=1024 * 1024):
        self._stream = stream
        self._decompressor = decompressor(kind)
        self._buffer = b''
        self._chunk = chunk
        self._eof = False

    def read(self, size=-1):
        while not self._eof and (size is None or size < 0 or len(self._buffer) < size):
            raw = self._stream.read(self._chunk)
            if not raw:
                self._eof = True
                break
            self._buffer += self._decompressor.decompress(raw)
        if size is None or size < 0:
            data, self._buffer = self._buffer, b''
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
