# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recognising compressed streams and reading through them: gzip, zstd, and (for imports) xz and bzip2.

One implementation for every reader of compressed data (layer unpacking,
the importers): the kind is told by the stream's first bytes, never by a
media type or file name, and every reader returns at most what it is asked
for, so a hostile stream cannot make us hold more than one chunk of output
in memory. gzip streams may be several concatenated members followed by NUL
padding (what `cat a.gz b.gz` and some registries produce). zstd comes from
the `zstandard` package or Python 3.14's compression.zstd, whichever is
there; without either a zstd stream fails with a message naming both.

Corrupt or truncated data raises LayerError; a compression that cannot be
read here raises CompressionError (also an UnsupportedImage).
"""

import bz2
import lzma
import zlib

from .errors import CompressionError, LayerError

CHUNK = 1 << 20
GZIP_MAGIC = b'\x1f\x8b'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'
XZ_MAGIC = b'\xfd7zXZ\x00'
BZIP2_MAGIC = b'BZh'
MAGIC_LENGTH = 6
# What OCI layers may use; a layer is never taken for xz or bzip2 (a tar whose first
# member is named "BZh9..." would otherwise be).
LAYER_KINDS = ('gzip', 'zstd')
ALL_KINDS = ('gzip', 'zstd', 'xz', 'bzip2')

ZSTD_HELP = ('the stream is zstd-compressed and this Python cannot decompress zstd: install the '
             'Python package zstandard on the target (Debian: apt-get install python3-zstandard; '
             'pip: pip install zstandard) or use Python 3.14 or newer')


def sniff(head, kinds=ALL_KINDS):
    """'gzip', 'zstd', 'xz', 'bzip2' (those of `kinds`) or None (uncompressed) from a stream's first bytes."""
    if head.startswith(GZIP_MAGIC):
        found = 'gzip'
    elif head.startswith(ZSTD_MAGIC):
        found = 'zstd'
    elif head.startswith(XZ_MAGIC):
        found = 'xz'
    elif head.startswith(BZIP2_MAGIC) and head[3:4].isdigit():
        found = 'bzip2'
    else:
        found = None
    return found if found in kinds else None


def zstd_available():
    """True if zstd streams can be decompressed here."""
    try:
        _zstd_module()
    except CompressionError:
        return False
    return True


class PeekedStream(object):
    """A read-only stream whose first bytes (`head`) were read to sniff its kind, and are read again."""

    def __init__(self, stream, length=MAGIC_LENGTH):
        self._stream = stream
        self.head = _read_up_to(stream, length)
        self._pending = self.head

    def read(self, size=-1):
        if not self._pending:
            return self._stream.read(size)
        if size is None or size < 0:
            data, self._pending = self._pending + self._stream.read(), b''
            return data
        data, self._pending = self._pending[:size], self._pending[size:]
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _read_up_to(stream, length):
    """Up to `length` bytes: a pipe or a decompressor may return less than asked before its end."""
    data = b''
    while len(data) < length:
        more = stream.read(length - len(data))
        if not more:
            break
        data += more
    return data


def decompressed(source, kinds=ALL_KINDS):
    """(kind or None, a reader of the uncompressed bytes) of stream `source`, its kind told by its first bytes."""
    peeked = PeekedStream(source)
    kind = sniff(peeked.head, kinds)
    if kind is None:
        return None, peeked
    return kind, DecompressingStream(peeked, kind)


class DecompressingStream(object):
    """Reads compressed stream `stream` of `kind` and returns the decompressed bytes, at most `size` per read."""

    def __init__(self, stream, kind):
        if kind == 'gzip':
            self._reader = _GzipReader(stream)
        elif kind == 'zstd':
            self._reader = _ZstdReader(stream)
        elif kind == 'xz':
            self._reader = _LimitedReader(stream, lzma.LZMADecompressor, lzma.LZMAError, 'xz')
        elif kind == 'bzip2':
            self._reader = _LimitedReader(stream, bz2.BZ2Decompressor, (OSError, ValueError), 'bzip2')
        else:
            raise CompressionError('unknown compression %r: expected one of %s' % (kind, ', '.join(ALL_KINDS)))
        self.kind = kind

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while True:
                data = self._reader.read(CHUNK)
                if not data:
                    return b''.join(parts)
                parts.append(data)
        return self._reader.read(size)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _GzipReader(object):
    """One or more concatenated gzip members (NUL padding between and after them is skipped)."""

    def __init__(self, source):
        self._source = source
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b''
        self._done = False

    def read(self, size):
        while not self._done:
            if self._inflate.eof:
                self._input = self._next_member(self._inflate.unused_data)
                if self._input is None:
                    self._done = True
                    return b''
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if not self._input:
                self._input = self._source.read(CHUNK)
                if not self._input:
                    raise LayerError('the gzip stream ends early: it is truncated')
            try:
                out = self._inflate.decompress(self._input, size)
            except zlib.error as exc:
                raise LayerError('the gzip stream is corrupt: %s' % exc)
            self._input = self._inflate.unconsumed_tail
            if out:
                return out
        return b''

    def _next_member(self, rest):
        """The input of the next gzip member after `rest`, or None at the end; NUL padding is skipped."""
        while True:
            # A gzip member starts with 0x1f, so leading NULs are always padding.
            rest = rest.lstrip(b'\0')
            if len(rest) >= len(GZIP_MAGIC):
                break
            more = self._source.read(CHUNK)
            if not more:
                if rest:
                    raise LayerError('trailing data after the gzip stream is neither padding nor another gzip member')
                return None
            rest += more
        if not rest.startswith(GZIP_MAGIC):
            raise LayerError('trailing data after the gzip stream is neither padding nor another gzip member')
        return rest


class _LimitedReader(object):
    """xz or bzip2 through a decompressor object that takes max_length (bounded output)."""

    def __init__(self, source, factory, errors, name):
        self._source = source
        self._decompressor = factory()
        self._errors = errors
        self._name = name

    def read(self, size):
        while not self._decompressor.eof:
            data = b''
            if self._decompressor.needs_input:
                data = self._source.read(CHUNK)
                if not data:
                    raise LayerError('the %s stream ends early: it is truncated' % self._name)
            try:
                out = self._decompressor.decompress(data, size)
            except self._errors as exc:
                raise LayerError('the %s stream is corrupt: %s' % (self._name, exc))
            if out:
                return out
        return b''


def _zstd_module():
    """('zstandard', module) or ('stdlib', compression.zstd); CompressionError when neither is installed."""
    try:
        import zstandard
        return 'zstandard', zstandard
    except ImportError:
        pass
    try:
        from compression import zstd  # Python 3.14+
        return 'stdlib', zstd
    except ImportError:
        raise CompressionError(ZSTD_HELP)


class _ZstdReader(object):
    """Every zstd frame of the stream, with the library's errors turned into LayerError."""

    def __init__(self, source):
        which, module = _zstd_module()
        if which == 'zstandard':
            self._errors = (OSError, ValueError, EOFError, module.ZstdError)
            try:
                self._reader = module.ZstdDecompressor().stream_reader(source, read_across_frames=True)
            except TypeError:
                self._reader = module.ZstdDecompressor().stream_reader(source)
        else:
            self._errors = (OSError, ValueError, EOFError, module.ZstdError)
            self._reader = module.ZstdFile(source, mode='rb')

    def read(self, size):
        try:
            return self._reader.read(size)
        except self._errors as exc:
            raise LayerError('the zstd stream is corrupt or truncated: %s' % exc)
