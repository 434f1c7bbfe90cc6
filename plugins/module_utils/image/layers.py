# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a layer blob as a stream of checked entries.

`read_layer` opens a blob, decompresses it as it goes, hands each tar member
to the caller as an Entry (a clean path tuple, a kind, the attributes to
apply, the data to copy), and at the end checks the blob against its digest
and the tar stream against the layer's DiffID. tarfile only parses headers
here: it never creates anything on disk (its extraction filters are not the
line of defence; see runtime/rootfs/securejoin.py and unpack.py).
"""

import base64
import tarfile

from ..runtime.rootfs.securejoin import display, split_path
from .compression import CHUNK, LAYER_KINDS, decompressed
from .digest import DigestingReader, split as split_digest
from .errors import LayerError, UnsafeEntryError

WHITEOUT_PREFIX = b'.wh.'
OPAQUE_WHITEOUT = b'.wh..wh..opq'
# aufs keeps its own bookkeeping under names with this prefix; they are not files.
AUFS_META_PREFIX = b'.wh..wh.'
# Nothing in a tar stream asks for more than this at once but a pax or GNU
# long-name header; a hostile layer could otherwise make us allocate at will.
MAX_SINGLE_READ = 16 << 20

LAYER_MEDIA_TYPES = (
    'application/vnd.oci.image.layer.v1.tar',
    'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.oci.image.layer.v1.tar+zstd',
    'application/vnd.oci.image.layer.nondistributable.v1.tar',
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
    'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
    'application/vnd.docker.image.rootfs.diff.tar',
    'application/vnd.docker.image.rootfs.diff.tar.gzip',
    'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
)

# Entry kinds
FILE, DIR, SYMLINK, HARDLINK, CHAR, BLOCK, FIFO, WHITEOUT, OPAQUE = (
    'file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'whiteout', 'opaque')


class Entry:
    """One layer entry, with its path already cleaned into a tuple of byte names.

    For WHITEOUT, `parts` is the path to remove; for OPAQUE, the directory
    whose lower contents are hidden. `link` is the symlink target (bytes, as
    stored) or, for a hardlink, the cleaned path tuple of its target.
    """

    __slots__ = ('kind', 'parts', 'name', 'link', 'mode', 'uid', 'gid', 'mtime_ns', 'atime_ns',
                 'devmajor', 'devminor', 'xattrs', 'size', 'member')

    def __init__(self, kind, parts, name, member=None):
        self.kind = kind
        self.parts = parts
        self.name = name
        self.member = member
        self.link = None
        self.mode = 0
        self.uid = 0
        self.gid = 0
        self.mtime_ns = 0
        self.atime_ns = 0
        self.devmajor = 0
        self.devminor = 0
        self.xattrs = {}
        self.size = 0

    def __repr__(self):
        return 'Entry(%s %s)' % (self.kind, display(self.parts))


def _pax_time_ns(text, fallback):
    """Nanoseconds of a pax time ("1700000000.123456789"), exactly; `fallback` (seconds) if absent."""
    if text is None:
        return int(round(fallback * 1000000000))
    sign = -1 if text.startswith('-') else 1
    whole, _unused, fraction = text.lstrip('+-').partition('.')
    try:
        return sign * (int(whole or '0') * 1000000000 + int((fraction + '000000000')[:9]))
    except ValueError:
        return int(round(fallback * 1000000000))


def _xattrs(pax):
    """Extended attributes from pax records: SCHILY.xattr.* (GNU tar, Go) and LIBARCHIVE.xattr.*."""
    found = {}
    for key, value in pax.items():
        if key.startswith('SCHILY.xattr.'):
            found[key[len('SCHILY.xattr.'):]] = value.encode('utf-8', 'surrogateescape')
        elif key.startswith('LIBARCHIVE.xattr.'):
            from urllib.parse import unquote
            name = unquote(key[len('LIBARCHIVE.xattr.'):])
            try:
                found[name] = base64.b64decode(value + '=' * (-len(value) % 4))
            except ValueError:
                raise LayerError('xattr %s has a malformed base64 value' % name)
    return found


def _kind(member):
    if member.isreg():
        return FILE
    if member.isdir():
        return DIR
    if member.issym():
        return SYMLINK
    if member.islnk():
        return HARDLINK
    if member.ischr():
        return CHAR
    if member.isblk():
        return BLOCK
    if member.isfifo():
        return FIFO
    return None


def to_entry(member, warn):
    """The Entry for tar `member`, or None for members that are not files (with a warning)."""
    raw = member.name.encode('utf-8', 'surrogateescape')
    try:
        parts, climbed = split_path(raw)
    except ValueError as exc:
        raise UnsafeEntryError('entry %r: %s' % (member.name, exc))
    if climbed:
        warn('entry %r climbs above the root with ".."; it is unpacked at %s, inside the root'
             % (member.name, display(parts)))
    base = parts[-1] if parts else b''
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_WHITEOUT:
            return Entry(OPAQUE, parts[:-1], member.name)
        if base.startswith(AUFS_META_PREFIX):
            return None
        target = base[len(WHITEOUT_PREFIX):]
        if target in (b'', b'.', b'..'):
            raise UnsafeEntryError('entry %r whites out %r, which is not a name in its directory: the layer is malformed '
                                   'or hostile' % (member.name, target.decode('utf-8', 'replace')))
        return Entry(WHITEOUT, parts[:-1] + (target,), member.name)
    kind = _kind(member)
    if kind is None:
        warn('entry %r has tar type %r, which is not a file type: skipped' % (member.name, member.type))
        return None
    if not parts and kind != DIR:
        raise UnsafeEntryError('entry %r would replace the root directory with a %s: the layer is malformed or hostile'
                               % (member.name, kind))
    entry = Entry(kind, parts, member.name, member)
    entry.mode = member.mode & 0o7777
    entry.uid = member.uid
    entry.gid = member.gid
    pax = member.pax_headers or {}
    entry.mtime_ns = _pax_time_ns(pax.get('mtime'), member.mtime)
    entry.atime_ns = _pax_time_ns(pax.get('atime'), entry.mtime_ns / 1e9) if 'atime' in pax else entry.mtime_ns
    entry.xattrs = _xattrs(pax) if pax else {}
    if kind == FILE:
        entry.size = member.size
    elif kind == SYMLINK:
        entry.link = member.linkname.encode('utf-8', 'surrogateescape')
        if not entry.link or b'\0' in entry.link or len(entry.link) >= 4096:
            raise UnsafeEntryError('entry %r: symlink target %r is empty, too long or has a NUL byte'
                                   % (member.name, member.linkname))
    elif kind == HARDLINK:
        try:
            entry.link, _unused = split_path(member.linkname)
        except ValueError as exc:
            raise UnsafeEntryError('entry %r: hardlink target %r: %s' % (member.name, member.linkname, exc))
        if not entry.link:
            raise UnsafeEntryError('entry %r is a hardlink to the root directory' % member.name)
    elif kind in (CHAR, BLOCK):
        entry.devmajor = member.devmajor
        entry.devminor = member.devminor
    return entry


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


class LayerReader:
    """Entries of one layer blob, checked against the blob digest and the DiffID at the end.

    Use as a context manager; iterate `entries()`, reading each FILE's data
    with `data(entry)` before asking for the next one; then call `finish()`.
    """

    def __init__(self, layout, descriptor, diff_id=None, warn=None):
        media_type = descriptor.get('mediaType')
        if media_type and media_type not in LAYER_MEDIA_TYPES:
            raise LayerError('layer %s has media type %s, which is not a layer this unpacker knows'
                             % (descriptor.get('digest'), media_type))
        self.digest = descriptor['digest']
        self.size = descriptor.get('size')
        self.diff_id = diff_id
        self.warn = warn or (lambda message: None)
        self._handle, self._blob = layout.open_blob(self.digest)
        self._tar = None
        try:
            kind, stream = decompressed(self._blob, LAYER_KINDS)
            self.compression = kind or 'none'
            algorithm = split_digest(diff_id)[0] if diff_id else 'sha256'
            self._stream = DigestingReader(stream, algorithm)
            self._reader = ForwardReader(self._stream)
        except BaseException:
            self._handle.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def entries(self):
        """Entry objects in layer order (members that are not files are skipped)."""
        try:
            self._tar = tarfile.open(fileobj=self._reader, mode='r:', encoding='utf-8', errors='surrogateescape')
        except tarfile.ReadError as exc:
            if self._reader.tell() == 0 or 'empty file' in str(exc):
                return
            raise LayerError('layer %s is not a tar archive: %s' % (self.digest, exc))
        while True:
            try:
                member = self._tar.next()
            except tarfile.TarError as exc:
                raise LayerError('layer %s: bad tar stream: %s' % (self.digest, exc))
            if member is None:
                return
            # tarfile keeps every member it has seen; a layer's can number millions.
            self._tar.members = []
            try:
                entry = to_entry(member, self.warn)
            except LayerError as exc:
                raise type(exc)('layer %s: %s' % (self.digest, exc.message))
            if entry is not None:
                yield entry

    def data(self, entry):
        """A file object of a FILE entry's content (read it before the next entry)."""
        return self._tar.extractfile(entry.member)

    def finish(self):
        """Read what is left and check both digests; raises DigestMismatch."""
        self._reader.drain()
        self._blob.drain()
        self._blob.verify(self.digest, 'layer %s' % self.digest, self.size)
        if self.diff_id:
            self._stream.verify(self.diff_id, 'uncompressed layer %s (diff_id)' % self.digest)

    @property
    def diff_digest(self):
        """The digest of the uncompressed tar stream read so far (the DiffID once finished)."""
        return self._stream.digest
