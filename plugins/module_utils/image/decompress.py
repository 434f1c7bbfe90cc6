# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streams for layer blobs: digest checking, decompression and a forward-only reader.

A layer is read once, front to back, and never held whole in memory: the blob
file feeds a digest of the compressed bytes, the decompressor feeds a digest
of the tar stream (the layer's DiffID), and tarfile reads from a forward-only
reader that supports the tell()/seek() tarfile needs to skip entry data.
The compression is told by the blob's first bytes, so a layer whose media
type names the wrong compression still unpacks.
"""

import hashlib
import zlib

from .layer_errors import CompressionError, DigestMismatch, LayerError

CHUNK = 1 << 20
# Nothing in a tar stream asks for more than this at once but a pax or GNU
# long-name header; a hostile layer could otherwise make us allocate at will.
MAX_SINGLE_READ = 16 << 20

GZIP_MAGIC = b'\x1f\x8b'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'

_ZSTD_HELP = ('the layer is zstd-compressed and this Python cannot decompress zstd: install the '
              '"zstandard" module on the target (Debian: apt-get install python3-zstandard; '
              'pip: pip install zstandard) or use Python 3.14 or newer')


def split_digest(digest):
    """('sha256', hex) of a digest string; LayerError if it is not one we can check."""
    algorithm, _unused, value = (digest or '').partition(':')
    if algorithm not in ('sha256', 'sha512') or not value:
        raise LayerError('unsupported digest %r: expected sha256:<hex> or sha512:<hex>' % (digest,))
    width = 64 if algorithm == 'sha256' else 128
    if len(value) != width or value.strip('0123456789abcdef'):
        raise LayerError('malformed digest %r: expected %s:<%d lowercase hex digits>' % (digest, algorithm, width))
    return algorithm, value


class DigestingReader:
    """Reads from `source` and hashes every byte read, for checking at the end."""

    def __init__(self, source, algorithm='sha256'):
        self._source = source
        self._hash = hashlib.new(algorithm)
        self.algorithm = algorithm
        self.size = 0

    def read(self, size=CHUNK):
        data = self._source.read(size)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def drain(self):
        """Read (and hash) whatever is left; return how many bytes that was."""
        count = 0
        while True:
            data = self.read(CHUNK)
            if not data:
                return count
            count += len(data)

    @property
    def digest(self):
        return '%s:%s' % (self.algorithm, self._hash.hexdigest())

    def verify(self, expected, what, size=None):
        """Raise DigestMismatch unless what was read hashes to `expected` (and has `size` bytes)."""
        if size is not None and size != self.size:
            raise DigestMismatch('%s: size is %d bytes, the descriptor says %d: the blob is truncated or corrupt'
                                 % (what, self.size, size))
        if self.digest != expected:
            raise DigestMismatch('%s: content hashes to %s, expected %s: the blob is corrupt or was tampered with'
                                 % (what, self.digest, expected))


class _Prefixed:
    """`head` followed by the rest of `source`: lets us sniff magic bytes and still read them."""

    def __init__(self, head, source):
        self._head = head
        self._source = source

    def read(self, size=CHUNK):
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                data, self._head = self._head, b''
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._source.read(CHUNK if size is None or size < 0 else size)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _GzipReader:
    """Decompresses one or more concatenated gzip members, with bounded output per call."""

    def __init__(self, source):
        self._source = source
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b''
        self._done = False

    def read(self, size=CHUNK):
        size = CHUNK if size is None or size < 0 else size
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
                    raise LayerError('the gzip stream ends early: the layer blob is truncated')
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


def _zstd_reader(source):
    """(reader, the exception types its library raises for bad data)."""
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        errors = (OSError, ValueError, EOFError, zstandard.ZstdError)
        try:
            return zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True), errors
        except TypeError:
            return zstandard.ZstdDecompressor().stream_reader(source), errors
    try:
        from compression import zstd  # Python 3.14+
    except ImportError:
        raise CompressionError(_ZSTD_HELP)
    return zstd.ZstdFile(source, mode='rb'), (OSError, ValueError, EOFError, zstd.ZstdError)


def compression_of(head):
    """'gzip', 'zstd' or 'none' from a blob's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return 'gzip'
    if head.startswith(ZSTD_MAGIC):
        return 'zstd'
    return 'none'


def decompressed(source):
    """(compression name, a reader of the uncompressed stream) for a blob reader `source`."""
    head = source.read(CHUNK)
    kind = compression_of(head)
    stream = _Prefixed(head, source)
    if kind == 'gzip':
        return kind, _GzipReader(stream)
    if kind == 'zstd':
        reader, errors = _zstd_reader(stream)
        return kind, _ZstdAdapter(reader, errors)
    return kind, stream


class _ZstdAdapter:
    """Turns the zstd library's errors into LayerError with the layer's words."""

    def __init__(self, reader, errors):
        self._reader = reader
        self._errors = errors

    def read(self, size=CHUNK):
        try:
            return self._reader.read(CHUNK if size is None or size < 0 else size)
        except self._errors as exc:
            raise LayerError('the zstd stream is corrupt or truncated: %s' % exc)


class ForwardReader:
    """A buffered, forward-only file object over `source.read` with the tell()/seek() tarfile uses.

    seek() may only move forward (it reads and drops the bytes between);
    tarfile reads a layer in order, so it never needs to go back.
    """

    def __init__(self, source):
        self._source = source
        self._buf = b''
        self._at = 0
        self._pos = 0

    def tell(self):
        return self._pos

    def _fill(self):
        data = self._source.read(CHUNK)
        if not data:
            return False
        self._buf = self._buf[self._at:] + data if self._at < len(self._buf) else data
        self._at = 0
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            raise LayerError('internal error: unbounded read of a layer stream')
        if size > MAX_SINGLE_READ:
            raise LayerError('a tar header asks for %d bytes at once: the layer is malformed or hostile' % size)
        while len(self._buf) - self._at < size:
            if not self._fill():
                break
        data = self._buf[self._at:self._at + size]
        self._at += len(data)
        self._pos += len(data)
        return data

    def seek(self, offset, whence=0):
        if whence == 1:
            offset += self._pos
        elif whence != 0:
            raise LayerError('internal error: a layer stream cannot seek from its end')
        if offset < self._pos:
            raise LayerError('internal error: a layer stream cannot go back (to %d from %d)' % (offset, self._pos))
        while offset > self._pos:
            step = min(offset - self._pos, CHUNK)
            if len(self._buf) - self._at == 0 and not self._fill():
                break
            step = min(step, len(self._buf) - self._at)
            self._at += step
            self._pos += step
        return self._pos

    def drain(self):
        """Read everything left (so digests cover the whole stream); return the byte count."""
        count = len(self._buf) - self._at
        self._buf, self._at = b'', 0
        while True:
            data = self._source.read(CHUNK)
            if not data:
                break
            count += len(data)
        self._pos += count
        return count
