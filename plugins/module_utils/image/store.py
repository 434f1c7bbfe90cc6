# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local image store: a content-addressed OCI image layout.

    <root>/oci-layout              {"imageLayoutVersion": "1.0.0"}
    <root>/index.json              one manifest descriptor per image reference
    <root>/blobs/<alg>/<hex>       manifests, configs and layers
    <root>/.runcible/ingest/       partial downloads (resumable) and temporary files
    <root>/.runcible/*.lock        flock files

Any OCI tool (umoci, skopeo `oci:`) can read the store. Each index.json entry carries
the full normalised reference (docker.io/library/golang:1.22) in the
`org.opencontainers.image.ref.name` annotation, and the digest the registry resolved
the reference to (an index digest for multi-arch images) in
`io.runcible.image.resolved-digest`, so that a later pull can tell "unchanged" from
one HEAD request.

Concurrency: blob writes and index updates hold a shared store lock; gc() holds it
exclusively, so it never deletes a blob a pull has written but not tagged yet.
index.json is rewritten atomically under its own lock. Two processes ingesting the
same blob serialise on the partial file's lock; the second finds the blob done.
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import threading

from ..runtime.linux.locks import flocked
from . import digest as digests
from . import mediatypes
from . import reference as references
from .errors import DigestMismatch, ImageError, ImageNotFound, RuntimeErrorBase, StoreError
from .locking import lock_open_file

DEFAULT_STORE = '/var/lib/runcible/images'
RESOLVED_DIGEST = 'io.runcible.image.resolved-digest'
_PRIVATE = '.runcible'
# What a store folder may hold before oci-layout is written (by a concurrent initialisation).
_OWN_NAMES = frozenset((_PRIVATE, 'blobs', 'index.json', 'oci-layout'))
_CHUNK = 1024 * 1024


class Store(object):
    """An OCI image layout used as a content-addressed image store."""

    def __init__(self, root=DEFAULT_STORE):
        self.root = os.path.abspath(root)
        self._writers = 0
        self._writers_lock = threading.Lock()
        self._writers_fd = None

    # -- paths -------------------------------------------------------------

    @property
    def index_path(self):
        return os.path.join(self.root, 'index.json')

    @property
    def ingest_dir(self):
        return os.path.join(self.root, _PRIVATE, 'ingest')

    def blob_path(self, digest):
        """Where a blob lives (whether or not it is there)."""
        algorithm, hexpart = digests.split(digest)
        return os.path.join(self.root, 'blobs', algorithm, hexpart)

    def _partial_path(self, digest):
        algorithm, hexpart = digests.split(digest)
        return os.path.join(self.ingest_dir, '%s-%s.partial' % (algorithm, hexpart))

    # -- layout ------------------------------------------------------------

    def exists(self):
        """True if the folder already is an OCI image layout."""
        return os.path.isfile(os.path.join(self.root, 'oci-layout'))

    def ensure(self):
        """Create the layout if it is not there yet; refuse a folder that is something else.

        Safe when several processes initialise the same store at once: creation happens
        under the index lock and oci-layout, the marker of a complete layout, comes last.
        """
        layout = os.path.join(self.root, 'oci-layout')
        if os.path.isfile(layout):
            self._check_layout_version(layout)
            if os.path.isdir(self.ingest_dir):
                return
        elif os.path.isdir(self.root) and set(os.listdir(self.root)) - _OWN_NAMES:
            raise StoreError('store folder %s is not empty and not an OCI image layout: give an empty or new folder as store'
                             % self.root)
        for path, mode in ((self.root, 0o700), (os.path.join(self.root, _PRIVATE), 0o700)):
            _makedirs(path, mode)
        with flocked(self._lock_path('index')):
            for path in (os.path.join(self.root, 'blobs', digests.CANONICAL), self.ingest_dir):
                _makedirs(path)
            if not os.path.isfile(self.index_path):
                self._write_atomic(self.index_path, _dumps({'schemaVersion': 2, 'mediaType': mediatypes.OCI_INDEX, 'manifests': []}))
            if not os.path.isfile(layout):
                self._write_atomic(layout, _dumps({'imageLayoutVersion': mediatypes.OCI_LAYOUT_VERSION}))

    def _check_layout_version(self, layout):
        try:
            with open(layout, 'rb') as handle:
                version = json.loads(handle.read().decode('utf-8')).get('imageLayoutVersion')
        except (OSError, ValueError, AttributeError) as exc:
            raise StoreError('%s is not a readable OCI image layout: %s' % (self.root, exc))
        if version != mediatypes.OCI_LAYOUT_VERSION:
            raise StoreError('%s holds OCI image layout version %r; this store writes %s'
                             % (self.root, version, mediatypes.OCI_LAYOUT_VERSION))

    def _lock_path(self, name):
        return os.path.join(self.root, _PRIVATE, name + '.lock')

    @contextlib.contextmanager
    def writing(self):
        """Hold the shared store lock: gc() waits until the with-block ends. Re-entrant."""
        self.ensure()
        with self._writers_lock:
            if self._writers == 0:
                fd = os.open(self._lock_path('store'), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self._writers_fd = fd
            self._writers += 1
        try:
            yield self
        finally:
            with self._writers_lock:
                self._writers -= 1
                if self._writers == 0:
                    os.close(self._writers_fd)
                    self._writers_fd = None

    def _write_atomic(self, path, data):
        # The temporary file sits in our private folder, so that the layout's own
        # folders only ever show complete files to other readers.
        tmp = os.path.join(self.root, _PRIVATE, '%s.%s.tmp' % (os.path.basename(path), os.urandom(8).hex()))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    # -- blobs -------------------------------------------------------------

    def has_blob(self, digest, size=None):
        """True if the blob is stored (and, if size is given, has that size)."""
        try:
            stat = os.stat(self.blob_path(digest))
        except FileNotFoundError:
            return False
        return size is None or stat.st_size == size

    def read_blob(self, digest, max_size=mediatypes.MAX_MANIFEST_SIZE):
        """The bytes of a small blob (a manifest, index or config), verified against its digest."""
        try:
            with open(self.blob_path(digest), 'rb') as handle:
                data = handle.read(max_size + 1)
        except FileNotFoundError:
            raise ImageNotFound('blob %s is not in the store %s' % (digest, self.root))
        if len(data) > max_size:
            raise ImageError('blob %s is larger than %d bytes, too large to read into memory' % (digest, max_size))
        if not digests.matches(data, digest):
            raise DigestMismatch('stored blob %s' % digest, digest, digests.of_bytes(data, digests.split(digest)[0]))
        return data

    def read_json(self, digest):
        """A stored JSON blob, parsed."""
        try:
            return json.loads(self.read_blob(digest).decode('utf-8'))
        except ValueError as exc:
            raise ImageError('blob %s is not valid JSON: %s' % (digest, exc))

    def put_bytes(self, data, expected_digest=None):
        """Store a bytes object as a blob; return its digest. Verifies expected_digest when given."""
        digest = digests.of_bytes(data, digests.split(expected_digest)[0] if expected_digest else digests.CANONICAL)
        if expected_digest and digest != expected_digest:
            raise DigestMismatch('blob', expected_digest, digest)
        with self.writing():
            if not self.has_blob(digest, len(data)):
                path = self.blob_path(digest)
                _makedirs(os.path.dirname(path))
                self._write_atomic(path, data)
        return digest

    def blob_writer(self, digest, size):
        """A BlobWriter for downloading one blob with resume; use it as a context manager."""
        return BlobWriter(self, digest, size)

    def ingest_stream(self, stream, expected_digest=None, expected_size=None, observer=None):
        """Copy a file-like object into the store as a blob; return (digest, size).

        The digest is computed while copying (sha256 unless expected_digest names
        another algorithm) and must equal expected_digest when given; a blob already
        stored under expected_digest is not read again. `observer(chunk)` sees every
        chunk, e.g. to hash the uncompressed stream too.
        """
        if expected_digest and self.has_blob(expected_digest, expected_size) and observer is None:
            return expected_digest, os.stat(self.blob_path(expected_digest)).st_size
        algorithm = digests.split(expected_digest)[0] if expected_digest else digests.CANONICAL
        with self.writing():
            tmp = os.path.join(self.ingest_dir, 'import-%s.tmp' % os.urandom(8).hex())
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                hasher = hashlib.new(algorithm)
                size = 0
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    hasher.update(chunk)
                    if observer is not None:
                        observer(chunk)
                    _write_all(fd, chunk)
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise DigestMismatch('blob %s' % (expected_digest or ''), '%d bytes' % expected_size, 'more')
                os.fsync(fd)
                os.close(fd)
                fd = None
                digest = '%s:%s' % (algorithm, hasher.hexdigest())
                if expected_digest and digest != expected_digest:
                    raise DigestMismatch('blob', expected_digest, digest)
                if expected_size is not None and size != expected_size:
                    raise DigestMismatch('blob %s' % digest, '%d bytes' % expected_size, '%d bytes' % size)
                path = self.blob_path(digest)
                if self.has_blob(digest, size):
                    _unlink_quietly(tmp)
                else:
                    _makedirs(os.path.dirname(path))
                    os.replace(tmp, path)
                return digest, size
            finally:
                if fd is not None:
                    os.close(fd)
                _unlink_quietly(tmp)

    def adopt_file(self, path, digest):
        """Move a file written in ingest_dir, whose digest the caller computed while writing it, into blobs/."""
        with self.writing():
            target = self.blob_path(digest)
            if os.path.exists(target):
                _unlink_quietly(path)
                return digest
            _makedirs(os.path.dirname(target))
            os.replace(path, target)
        return digest

    # -- index -------------------------------------------------------------

    def _read_index(self):
        try:
            with open(self.index_path, 'rb') as handle:
                index = json.loads(handle.read().decode('utf-8'))
        except FileNotFoundError:
            return {'schemaVersion': 2, 'mediaType': mediatypes.OCI_INDEX, 'manifests': []}
        except ValueError as exc:
            raise StoreError('%s is not valid JSON: %s' % (self.index_path, exc))
        if not isinstance(index, dict) or not isinstance(index.get('manifests', []), list):
            raise StoreError('%s is not an OCI image index' % self.index_path)
        index.setdefault('manifests', [])
        return index

    @contextlib.contextmanager
    def _updating_index(self):
        """Read-modify-write index.json under its lock; the block edits the yielded dict."""
        self.ensure()
        with flocked(self._lock_path('index')):
            index = self._read_index()
            before = _dumps(index)
            yield index
            after = _dumps(index)
            if after != before:
                self._write_atomic(self.index_path, after)

    def entries(self):
        """The descriptors in index.json (copies)."""
        if not self.exists():
            return []
        return [dict(entry) for entry in self._read_index()['manifests']]

    def lookup(self, name):
        """The index.json descriptor for a reference or manifest digest, or None.

        A reference is normalised first (`golang` finds docker.io/library/golang:latest).
        A reference with a digest also finds an image of that repository stored under a
        tag whose manifest or resolved digest is that digest.
        """
        entries = self.entries()
        if digests.is_digest(name):
            for entry in entries:
                if entry.get('digest') == name or _annotation(entry, RESOLVED_DIGEST) == name:
                    return entry
            return None
        ref = references.parse(name)
        text = str(ref)
        for entry in entries:
            if _annotation(entry, mediatypes.REF_NAME) == text:
                return entry
        if ref.digest:
            for entry in entries:
                stored = _annotation(entry, mediatypes.REF_NAME)
                if stored and _repository_of(stored) == ref.name and ref.digest in (entry.get('digest'), _annotation(entry, RESOLVED_DIGEST)):
                    return entry
        return None

    def resolve(self, name):
        """Like lookup(), but raise ImageNotFound when the image is not stored."""
        entry = self.lookup(name)
        if entry is None:
            raise ImageNotFound('image %s is not in the store %s: pull or import it first' % (name, self.root))
        return entry

    def tag(self, ref, descriptor, resolved_digest=None):
        """Record `ref` (a Reference or string) as naming the manifest `descriptor`; return True if index.json changed.

        An earlier entry for the same reference is replaced.
        """
        text = str(ref if isinstance(ref, references.Reference) else references.parse(ref))
        entry = {key: descriptor[key] for key in ('mediaType', 'digest', 'size', 'platform') if descriptor.get(key)}
        annotations = {mediatypes.REF_NAME: text}
        if resolved_digest and resolved_digest != descriptor['digest']:
            annotations[RESOLVED_DIGEST] = resolved_digest
        entry['annotations'] = annotations
        with self.writing(), self._updating_index() as index:
            previous = [old for old in index['manifests'] if _annotation(old, mediatypes.REF_NAME) == text]
            if previous == [entry]:
                return False
            index['manifests'] = [old for old in index['manifests'] if _annotation(old, mediatypes.REF_NAME) != text] + [entry]
        return True

    def remove(self, name):
        """Forget a reference (blobs stay until gc()); return True if it was there."""
        if not self.exists():
            return False
        entry = self.lookup(name)
        if entry is None:
            return False
        text = _annotation(entry, mediatypes.REF_NAME)
        with self._updating_index() as index:
            before = len(index['manifests'])
            index['manifests'] = [old for old in index['manifests']
                                  if not (_annotation(old, mediatypes.REF_NAME) == text and old.get('digest') == entry.get('digest'))]
            return len(index['manifests']) != before

    # -- images ------------------------------------------------------------

    def manifest(self, descriptor):
        """(media_type, parsed document) of a stored manifest or index."""
        data = self.read_blob(descriptor['digest'])
        return mediatypes.sniff(data, descriptor.get('mediaType'))

    def missing_blobs(self, descriptor):
        """Digests that an image needs and the store lacks (empty for a complete image)."""
        missing = []
        for child in self._walk(descriptor, missing):
            if not self.has_blob(child['digest'], child.get('size')):
                missing.append(child['digest'])
        return missing

    def _walk(self, descriptor, missing=None):
        """Yield every descriptor reachable from `descriptor`: itself, nested manifests, configs and layers."""
        yield descriptor
        media_type = descriptor.get('mediaType')
        if not (mediatypes.is_index(media_type) or mediatypes.is_manifest(media_type)):
            return
        if not self.has_blob(descriptor['digest']):
            return
        try:
            media_type, doc = self.manifest(descriptor)
        except ImageError:
            if missing is not None:
                missing.append(descriptor['digest'])
            return
        if mediatypes.is_index(media_type):
            for child in doc.get('manifests') or []:
                yield from self._walk(child, missing)
        else:
            if doc.get('config'):
                yield doc['config']
            yield from doc.get('layers') or []

    def image_info(self, name):
        """What a user asks about an image: digest, platform, config, layers and total size."""
        entry = self.resolve(name)
        media_type, manifest = self.manifest(entry)
        if mediatypes.is_index(media_type):
            raise ImageError('%s names an image index, not a single-platform image' % name)
        config = self.read_json(manifest['config']['digest'])
        layers = [{'digest': layer['digest'], 'size': layer['size'], 'media_type': layer['mediaType']} for layer in manifest.get('layers') or []]
        platform = dict(entry.get('platform') or {})
        if not platform:
            platform = {'os': config.get('os', ''), 'architecture': config.get('architecture', '')}
            if config.get('variant'):
                platform['variant'] = config['variant']
        return {
            'reference': _annotation(entry, mediatypes.REF_NAME),
            'digest': entry['digest'],
            'resolved_digest': _annotation(entry, RESOLVED_DIGEST) or entry['digest'],
            'media_type': media_type,
            'platform': platform,
            'config_digest': manifest['config']['digest'],
            'config': config,
            'layers': layers,
            'size': entry['size'] + manifest['config']['size'] + sum(layer['size'] for layer in layers),
        }

    # -- garbage collection -----------------------------------------------

    def gc(self):
        """Delete every blob no index.json entry reaches, all partial downloads and left-over temporary files.

        Waits for running pulls and imports (they hold the shared store lock).
        Returns {'removed': [digests], 'freed_bytes': n}.
        """
        if not self.exists():
            return {'removed': [], 'freed_bytes': 0}
        self.ensure()
        removed, freed = [], 0
        with flocked(self._lock_path('store'), exclusive=True):
            reachable = set()
            for entry in self._read_index()['manifests']:
                for descriptor in self._walk(entry):
                    reachable.add(descriptor.get('digest'))
            blobs = os.path.join(self.root, 'blobs')
            for algorithm in sorted(os.listdir(blobs)):
                folder = os.path.join(blobs, algorithm)
                if algorithm not in digests.HEX_LENGTHS or not os.path.isdir(folder):
                    continue
                for hexpart in sorted(os.listdir(folder)):
                    digest = '%s:%s' % (algorithm, hexpart)
                    if not digests.is_digest(digest) or digest in reachable:
                        continue
                    path = os.path.join(folder, hexpart)
                    try:
                        size = os.lstat(path).st_size
                        os.unlink(path)
                    except FileNotFoundError:
                        continue
                    removed.append(digest)
                    freed += size
            for name in os.listdir(self.ingest_dir):
                _unlink_quietly(os.path.join(self.ingest_dir, name))
            private = os.path.join(self.root, _PRIVATE)
            for name in os.listdir(private):
                if name.endswith('.tmp'):
                    _unlink_quietly(os.path.join(private, name))
        return {'removed': removed, 'freed_bytes': freed}


class BlobWriter(object):
    """Downloads one blob into the store: resumable, verified, atomic.

    Inside the with-block: `complete` is True if the blob is already stored (nothing to
    do); otherwise `offset` bytes of an earlier partial download are already on disk
    (hashed again on entry), write() appends, reset() starts over, commit() checks size
    and digest and renames the partial file into blobs/. A failed download keeps its
    partial file for the next attempt; a digest mismatch deletes it.
    """

    def __init__(self, store, digest, size):
        self.store = store
        self.digest = digests.validate(digest)
        self.size = size
        self.complete = False
        self.offset = 0
        self.resumed_from = 0
        self._fd = None
        self._hasher = None
        self._stack = None

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(self.store.writing())
        try:
            if self.store.has_blob(self.digest, self.size):
                self.complete = True
                return self
            path = self.store._partial_path(self.digest)
            self._fd = lock_open_file(path, os.O_RDWR)
            if self.store.has_blob(self.digest, self.size):
                # Another process finished it while we waited for the lock; the
                # file we locked is a fresh empty one that only we know about.
                _unlink_quietly(path)
                self.complete = True
                return self
            self._rehash()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc_info):
        if self._fd is not None and not self.complete and self.offset == 0:
            _unlink_quietly(self.store._partial_path(self.digest))
        self._close()
        return False

    def _close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def _rehash(self):
        self._hasher = digests.hasher_for(self.digest)
        length = os.fstat(self._fd).st_size
        if length > self.size:
            length = 0
        os.ftruncate(self._fd, length)
        os.lseek(self._fd, 0, os.SEEK_SET)
        done = 0
        while done < length:
            chunk = os.read(self._fd, min(_CHUNK, length - done))
            if not chunk:
                break
            self._hasher.update(chunk)
            done += len(chunk)
        self.offset = self.resumed_from = done

    def reset(self):
        """Throw away what is on disk and start from byte 0 (the server ignored our Range)."""
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._hasher = digests.hasher_for(self.digest)
        self.offset = 0

    def write(self, data):
        """Append a chunk; more bytes than the descriptor's size is a DigestMismatch."""
        if self.offset + len(data) > self.size:
            self.discard()
            raise DigestMismatch('blob %s' % self.digest, '%d bytes' % self.size, 'more')
        _write_all(self._fd, data)
        self._hasher.update(data)
        self.offset += len(data)

    def discard(self):
        """Delete the partial file (after bad content)."""
        _unlink_quietly(self.store._partial_path(self.digest))
        self.reset()

    def commit(self):
        """Verify size and digest, then move the blob into place."""
        if self.offset != self.size:
            raise ImageError('blob %s: got %d of %d bytes' % (self.digest, self.offset, self.size))
        actual = '%s:%s' % (self._hasher.name, self._hasher.hexdigest())
        if actual != self.digest:
            self.discard()
            raise DigestMismatch('blob %s' % self.digest, self.digest, actual)
        os.fsync(self._fd)
        path = self.store.blob_path(self.digest)
        _makedirs(os.path.dirname(path))
        os.replace(self.store._partial_path(self.digest), path)
        self.complete = True


def _annotation(descriptor, key):
    return (descriptor.get('annotations') or {}).get(key)


def _repository_of(text):
    try:
        return references.parse(text).name
    except RuntimeErrorBase:
        return None


def _dumps(doc):
    return json.dumps(doc, separators=(',', ':'), sort_keys=False).encode('utf-8')


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _makedirs(path, mode=0o755):
    try:
        os.makedirs(path, mode)
    except FileExistsError:
        pass


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
