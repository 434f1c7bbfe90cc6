# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Importing images from files into the store.

Formats (detected, or given as `fmt`):

    docker-archive  `docker save` output: manifest.json + repositories, layers as
                    <id>/layer.tar (legacy) or blobs/sha256/<hex> (Docker 25+, which
                    also carries an OCI layout); a tarball or its unpacked folder
    oci-archive     an OCI image layout in a tarball
    oci-dir         an OCI image layout folder
    rootfs          a tarball of a root file system (`docker export`), plain or
                    gzip/zstd/xz/bzip2-compressed: becomes a one-layer image
    dir             a plain folder: tarred (deterministically) into a one-layer image

Every blob is verified against its digest on the way in; an import of unchanged
input yields the same digests, so it reports changed: false.
"""

import copy
import hashlib
import json
import os
import posixpath
import re
import stat
import tarfile

from ..runtime.rootfs.securejoin import RootDir, split_path
from . import compression
from . import digest as digests
from . import mediatypes
from . import platform as platforms
from . import reference as references
from .errors import (ArchiveError, CompressionError, ConfigError, DigestMismatch, ImageError, LayerError, RuntimeErrorBase,
                     UnsupportedImage)
from .store import Store

FORMATS = ('docker-archive', 'oci-archive', 'oci-dir', 'rootfs', 'dir')
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
CONTAINERD_IMAGE_NAME = 'io.containerd.image.name'
_MAX_JSON = 16 * 1024 * 1024
# Names that may appear at the top of a docker save or OCI archive; anything else is a root file system.
_ARCHIVE_MEMBER = re.compile(r'^(?:oci-layout|index\.json|manifest\.json|repositories|blobs(?:/[a-z0-9]+(?:/[a-f0-9]+)?)?'
                             r'|[a-f0-9]{64}(?:\.json|\.tar|/|/VERSION|/json|/layer\.tar)?)/?$')
# Image config keys a user may set on imports that carry no config of their own.
CONFIG_KEYS = ('User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal')


def detect_format(path):
    """Tell which of FORMATS `path` is, by looking at it (never by its name)."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, 'oci-layout')) and os.path.isfile(os.path.join(path, 'index.json')) \
                and not os.path.isfile(os.path.join(path, 'manifest.json')):
            return 'oci-dir'
        if os.path.isfile(os.path.join(path, 'manifest.json')) and os.path.isdir(os.path.join(path, 'blobs')) \
                or os.path.isfile(os.path.join(path, 'manifest.json')) and os.path.isfile(os.path.join(path, 'repositories')):
            return 'docker-archive'
        return 'dir'
    if not os.path.isfile(path):
        raise ArchiveError('%s does not exist (or is not a file or folder)' % path)
    with open(path, 'rb') as handle:
        kind = compression.sniff(handle.read(compression.MAGIC_LENGTH))
    if kind == 'zstd':
        return 'rootfs'
    names = set()
    try:
        with tarfile.open(path, 'r:*') as archive:
            for member in archive:
                name = _clean(member.name)
                if not name:
                    continue
                if not _ARCHIVE_MEMBER.match(name):
                    return 'rootfs'
                names.add(name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError('%s is neither a folder nor a readable tar archive: %s' % (path, exc))
    if 'manifest.json' in names:
        return 'docker-archive'
    if 'oci-layout' in names and 'index.json' in names:
        return 'oci-archive'
    return 'rootfs'


def import_image(store, path, reference=None, fmt=None, source_ref=None, platform=None, image_config=None):
    """Import `path` into the store under `reference`; return what happened.

    `fmt` is one of FORMATS (detected when None). `source_ref` picks the image inside
    an archive that holds several (a ref.name or a repo tag); `platform` picks from a
    multi-platform OCI index (default: the host's); `image_config` sets config
    fields (Cmd, Entrypoint, Env, ...) of the image made from a rootfs or dir.
    Returns a dict: changed, reference, digest, format, platform.
    """
    store = store if isinstance(store, Store) else Store(store)
    if not os.path.exists(path):
        raise ArchiveError('%s does not exist' % path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ConfigError('import_format', 'unknown format %r: use one of %s' % (fmt, ', '.join(FORMATS)))
    if fmt != 'docker-archive':
        needs_folder = fmt in ('dir', 'oci-dir')
        if needs_folder != os.path.isdir(path):
            raise ArchiveError('import_format %s needs a %s, and %s is not one' % (fmt, 'folder' if needs_folder else 'file', path))
    if image_config is not None and fmt not in ('rootfs', 'dir'):
        raise ConfigError('image_config', 'only images imported from a rootfs or dir take image_config; %s archives carry their own' % fmt)
    ref = references.parse(reference) if reference else None
    wanted = platforms.parse(platform) if platform else platforms.host()
    with store.writing():
        if fmt == 'docker-archive':
            ref, descriptor = _import_docker(store, _open_source(path), ref, source_ref)
        elif fmt in ('oci-archive', 'oci-dir'):
            ref, descriptor = _import_oci(store, _open_source(path), ref, source_ref, wanted)
        else:
            if ref is None:
                raise ConfigError('name', 'give the reference to store the %s import under, e.g. name: localhost/myapp:1.0' % fmt)
            layer = _ingest_rootfs(store, path) if fmt == 'rootfs' else _ingest_dir(store, path)
            descriptor = _single_layer_image(store, layer, wanted, image_config)
        changed = store.tag(ref, descriptor)
    return {'changed': changed, 'reference': str(ref), 'digest': descriptor['digest'], 'format': fmt,
            'platform': descriptor.get('platform', {})}


# -- sources: a tarball or a folder, read by member name ----------------------

def _clean(name):
    """A member name without './' prefixes or trailing slashes; '' for the root."""
    name = posixpath.normpath('/' + name).lstrip('/')
    return '' if name == '.' else name


def _open_source(path):
    return _DirSource(path) if os.path.isdir(path) else _TarSource(path)


class _DirSource(object):
    """An unpacked archive: members are regular files below the folder, symlinks resolved inside it."""

    def __init__(self, path):
        self.root = os.path.realpath(path)

    def _open(self, name):
        """An fd of member `name`; ArchiveError if there is no such regular file inside the folder."""
        try:
            parts, _climbed = split_path(name)
            with RootDir(self.root) as tree:
                return tree.open_file(parts)
        except (OSError, ValueError):
            raise ArchiveError('%s has no file %r' % (self.root, name))

    def exists(self, name):
        try:
            os.close(self._open(name))
        except ArchiveError:
            return False
        return True

    def open(self, name):
        return os.fdopen(self._open(name), 'rb')

    def close(self):
        pass


class _TarSource(object):
    """A tarball read by member name; links between members are followed inside the archive."""

    def __init__(self, path):
        self.path = path
        try:
            self._tar = tarfile.open(path, 'r:*')
            self._members = {}
            for member in self._tar.getmembers():
                self._members[_clean(member.name)] = member
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError('%s is not a readable tar archive: %s' % (path, exc))

    def exists(self, name):
        return _clean(name) in self._members

    def open(self, name):
        member = self._members.get(_clean(name))
        for _hop in range(16):
            if member is None:
                raise ArchiveError('%s has no member %r' % (self.path, name))
            if member.isfile():
                return self._tar.extractfile(member)
            if member.issym():
                target = posixpath.join(posixpath.dirname(_clean(member.name)), member.linkname)
            elif member.islnk():
                target = member.linkname
            else:
                raise ArchiveError('%s: member %r is not a file' % (self.path, name))
            member = self._members.get(_clean(target))
        raise ArchiveError('%s: member %r is a chain of links too long to follow' % (self.path, name))

    def close(self):
        self._tar.close()


def _read_json(source, name, what):
    with source.open(name) as handle:
        data = handle.read(_MAX_JSON + 1)
    if len(data) > _MAX_JSON:
        raise ArchiveError('%s is larger than %d bytes' % (what, _MAX_JSON))
    try:
        return data, json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError('%s is not valid JSON: %s' % (what, exc))


def _manifest_bytes(config_descriptor, layers):
    doc = {'schemaVersion': 2, 'mediaType': mediatypes.OCI_MANIFEST, 'config': config_descriptor, 'layers': layers}
    return json.dumps(doc, separators=(',', ':'), sort_keys=True).encode('utf-8')


def _store_manifest(store, config_bytes, config, layers, platform=None):
    """Store config and manifest of an image whose layers are stored; return the manifest descriptor."""
    config_digest = store.put_bytes(config_bytes)
    data = _manifest_bytes({'mediaType': mediatypes.OCI_CONFIG, 'digest': config_digest, 'size': len(config_bytes)}, layers)
    digest = store.put_bytes(data)
    if platform is None:
        platform = {key: config[key] for key in ('architecture', 'os', 'variant') if config.get(key)}
    descriptor = {'mediaType': mediatypes.OCI_MANIFEST, 'digest': digest, 'size': len(data)}
    if platform:
        descriptor['platform'] = platform
    return descriptor


# -- layers -------------------------------------------------------------------

def _ingest_layer(store, stream, expected_diff_id=None, what='layer'):
    """Store one layer as it is (tar, gzip or zstd; xz and bzip2 are decompressed first); return its descriptor and diff_id."""
    try:
        peeked = compression.PeekedStream(stream)
        kind = compression.sniff(peeked.head)
        if kind in ('xz', 'bzip2'):
            peeked = compression.PeekedStream(compression.DecompressingStream(peeked, kind))
            kind = compression.sniff(peeked.head)
            if kind is not None:
                raise ArchiveError('%s is compressed twice' % what)
        if kind is None:
            return _ingest_tar(store, peeked, expected_diff_id, what)
        media_type = mediatypes.OCI_LAYER_GZIP if kind == 'gzip' else mediatypes.OCI_LAYER_ZSTD
        if kind == 'zstd' and not compression.zstd_available():
            raise CompressionError(compression.ZSTD_HELP)
        # Stored first, then read back for the diff_id: one decompressor for imports and unpacking. A blob
        # that turns out not to be a layer stays unreferenced until gc.
        digest, size = store.ingest_stream(peeked)
        diff_id = _diff_id_of_blob(store, digest, kind, what)
    except CompressionError:
        raise
    except LayerError as exc:
        raise ArchiveError('%s: %s' % (what, exc.message))
    if expected_diff_id and diff_id != expected_diff_id:
        raise DigestMismatch('%s (rootfs.diff_ids of the image config)' % what, expected_diff_id, diff_id)
    return {'mediaType': media_type, 'digest': digest, 'size': size}, diff_id


def _ingest_tar(store, stream, expected_diff_id, what):
    """Store an uncompressed layer; its digest is its diff_id."""
    if _is_sha256(expected_diff_id) and store.has_blob(expected_diff_id):
        return {'mediaType': mediatypes.OCI_LAYER, 'digest': expected_diff_id,
                'size': os.stat(store.blob_path(expected_diff_id)).st_size}, expected_diff_id
    checker = _TarHeaderCheck(what)
    digest, size = store.ingest_stream(stream, expected_digest=expected_diff_id if _is_sha256(expected_diff_id) else None,
                                       observer=checker)
    checker.finish()
    if expected_diff_id and digest != expected_diff_id:
        raise DigestMismatch('%s (rootfs.diff_ids of the image config)' % what, expected_diff_id, digest)
    return {'mediaType': mediatypes.OCI_LAYER, 'digest': digest, 'size': size}, digest


def _diff_id_of_blob(store, digest, kind, what):
    """The digest of the tar stream inside stored compressed blob `digest`, checked to be a tar archive."""
    hasher = hashlib.sha256()
    checker = _TarHeaderCheck(what)
    with open(store.blob_path(digest), 'rb') as handle:
        stream = compression.DecompressingStream(handle, kind)
        while True:
            data = stream.read(compression.CHUNK)
            if not data:
                break
            hasher.update(data)
            checker(data)
    checker.finish()
    return 'sha256:' + hasher.hexdigest()


def _is_sha256(value):
    return bool(value) and digests.is_digest(value) and value.startswith('sha256:')


class _TarHeaderCheck(object):
    """Observes an uncompressed layer stream and checks that it starts like a tar archive."""

    def __init__(self, what):
        self._what = what
        self._head = b''

    def __call__(self, chunk):
        if len(self._head) < tarfile.BLOCKSIZE:
            self._head += chunk[:tarfile.BLOCKSIZE - len(self._head)]

    def finish(self):
        if len(self._head) < tarfile.BLOCKSIZE:
            raise ArchiveError('%s is not a tar archive (%d bytes)' % (self._what, len(self._head)))
        if self._head == b'\0' * tarfile.BLOCKSIZE:
            return
        try:
            tarfile.TarInfo.frombuf(self._head, 'utf-8', 'surrogateescape')
        except tarfile.HeaderError as exc:
            raise ArchiveError('%s is not a tar archive: %s' % (self._what, exc))


def _ingest_rootfs(store, path):
    with open(path, 'rb') as handle:
        descriptor, diff_id = _ingest_layer(store, handle, what='rootfs tarball %s' % path)
    return descriptor, diff_id


class _HashingFile(object):
    """A write-only file wrapper that hashes and counts what tarfile writes."""

    def __init__(self, handle):
        self._handle = handle
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.hasher.update(data)
        self.size += len(data)
        return self._handle.write(data)

    def tell(self):
        return self.size


def _ingest_dir(store, path):
    """Tar a folder into a layer: sorted names, numeric owners, whole-second mtimes, xattrs; same folder, same digest."""
    root = os.path.abspath(path)
    tmp = os.path.join(store.ingest_dir, 'dir-%s.tmp' % os.urandom(8).hex())
    try:
        with open(tmp, 'wb') as handle:
            hashing = _HashingFile(handle)
            with tarfile.open(fileobj=hashing, mode='w', format=tarfile.PAX_FORMAT) as archive:
                for full, name in _walk_sorted(root):
                    _add_entry(archive, full, name)
            handle.flush()
            os.fsync(handle.fileno())
        digest = 'sha256:' + hashing.hasher.hexdigest()
        store.adopt_file(tmp, digest)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return {'mediaType': mediatypes.OCI_LAYER, 'digest': digest, 'size': hashing.size}, digest


def _walk_sorted(root):
    """(path, archive name) of everything below root, parents before children, names sorted."""
    pending = [(root, '')]
    while pending:
        folder, prefix = pending.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise ArchiveError('cannot read folder %s: %s' % (folder, exc))
        children = []
        for name in names:
            full = os.path.join(folder, name)
            arcname = prefix + name
            yield full, arcname
            if stat.S_ISDIR(os.lstat(full).st_mode):
                children.append((full, arcname + '/'))
        pending.extend(reversed(children))


def _add_entry(archive, full, name):
    info = archive.gettarinfo(full, name)
    if info is None:
        # Sockets cannot be archived; they are recreated by whoever listens on them.
        return
    info.uname = info.gname = ''
    info.mtime = int(info.mtime)
    xattrs = _xattrs(full)
    if xattrs:
        info.pax_headers = dict(info.pax_headers, **xattrs)
    if info.isreg():
        with open(full, 'rb') as handle:
            archive.addfile(info, handle)
    else:
        archive.addfile(info)


def _xattrs(path):
    """SCHILY.xattr.* PAX records for a file's extended attributes (SELinux labels are the host's, not the image's)."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    records = {}
    for name in sorted(names):
        if name == 'security.selinux':
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        records['SCHILY.xattr.' + name] = value.decode('utf-8', 'surrogateescape')
    return records


def _single_layer_image(store, layer, wanted, image_config):
    """Config and manifest for a one-layer image (rootfs or dir imports)."""
    descriptor, diff_id = layer
    settings = {'Env': ['PATH=' + DEFAULT_PATH]}
    for key, value in (image_config or {}).items():
        if key not in CONFIG_KEYS:
            raise ConfigError('image_config.%s' % key, 'unknown image config field: use one of %s' % ', '.join(CONFIG_KEYS))
        settings[key] = copy.deepcopy(value)
    config = {
        'architecture': wanted['architecture'],
        'os': wanted['os'],
        'config': settings,
        'rootfs': {'type': 'layers', 'diff_ids': [diff_id]},
        'history': [{'created_by': 'runcible.oci import', 'comment': 'imported from a root file system'}],
    }
    if wanted.get('variant'):
        config['variant'] = wanted['variant']
    config_bytes = json.dumps(config, separators=(',', ':'), sort_keys=True).encode('utf-8')
    return _store_manifest(store, config_bytes, config, [descriptor], platforms.as_descriptor_field(wanted))


# -- docker save --------------------------------------------------------------

def _import_docker(store, source, ref, source_ref):
    try:
        _data, manifest = _read_json(source, 'manifest.json', 'manifest.json of the docker archive')
        if not isinstance(manifest, list) or not manifest:
            raise ArchiveError('manifest.json of the docker archive lists no images')
        entry = _pick_docker_entry(manifest, ref, source_ref)
        if ref is None:
            tags = entry.get('RepoTags') or []
            if not tags:
                raise ConfigError('name', 'the docker archive has no tag for this image: give name to store it under')
            ref = references.parse(tags[0])
        config_name = entry.get('Config')
        if not isinstance(config_name, str):
            raise ArchiveError('manifest.json entry has no Config')
        config_bytes, config = _read_json(source, config_name, 'image config %s' % config_name)
        diff_ids = ((config.get('rootfs') or {}).get('diff_ids') or []) if isinstance(config, dict) else []
        layer_names = entry.get('Layers') or []
        if len(diff_ids) != len(layer_names):
            raise ArchiveError('the image config lists %d layers (rootfs.diff_ids) but manifest.json %d' % (len(diff_ids), len(layer_names)))
        layers = []
        for position, name in enumerate(layer_names):
            with source.open(name) as handle:
                descriptor, _diff_id = _ingest_layer(store, handle, diff_ids[position], what='layer %d (%s)' % (position, name))
            layers.append(descriptor)
        return ref, _store_manifest(store, config_bytes, config, layers)
    finally:
        source.close()


def _pick_docker_entry(manifest, ref, source_ref):
    wanted = source_ref or (str(ref) if ref else None)
    if wanted:
        wanted_ref = _parse_quietly(wanted)
        for entry in manifest:
            for tag in entry.get('RepoTags') or []:
                if tag == wanted or (wanted_ref is not None and _parse_quietly(tag) == wanted_ref):
                    return entry
    if len(manifest) == 1:
        if source_ref:
            raise ArchiveError('the docker archive holds %s, not %s' % (', '.join(manifest[0].get('RepoTags') or ['an untagged image']), source_ref))
        return manifest[0]
    tags = [', '.join(entry.get('RepoTags') or ['<untagged>']) for entry in manifest]
    raise ConfigError('source_ref', 'the docker archive holds %d images (%s): say which one with source_ref' % (len(manifest), '; '.join(tags)))


def _parse_quietly(text):
    try:
        return references.parse(text)
    except RuntimeErrorBase:
        return None


# -- OCI layouts ---------------------------------------------------------------

def _import_oci(store, source, ref, source_ref, wanted):
    try:
        if not source.exists('oci-layout'):
            raise ArchiveError('not an OCI image layout: oci-layout is missing')
        _data, layout = _read_json(source, 'oci-layout', 'oci-layout')
        if not isinstance(layout, dict) or layout.get('imageLayoutVersion') != mediatypes.OCI_LAYOUT_VERSION:
            raise ArchiveError('oci-layout has imageLayoutVersion %r; expected %s' % (
                layout.get('imageLayoutVersion') if isinstance(layout, dict) else layout, mediatypes.OCI_LAYOUT_VERSION))
        _data, index = _read_json(source, 'index.json', 'index.json')
        entries = index.get('manifests') if isinstance(index, dict) else None
        if not entries:
            raise ArchiveError('index.json of the OCI layout lists no images')
        entry = _pick_oci_entry(entries, ref, source_ref)
        if ref is None:
            name = (entry.get('annotations') or {}).get(CONTAINERD_IMAGE_NAME) or (entry.get('annotations') or {}).get(mediatypes.REF_NAME)
            parsed = _parse_quietly(name) if name and ('/' in name or ':' in name) else None
            if parsed is None:
                raise ConfigError('name', 'the OCI layout does not name this image with a full reference: give name to store it under')
            ref = parsed
        return ref, _copy_oci(store, source, entry, wanted, depth=0)
    finally:
        source.close()


def _entry_names(entry):
    annotations = entry.get('annotations') or {}
    return [name for name in (annotations.get(mediatypes.REF_NAME), annotations.get(CONTAINERD_IMAGE_NAME)) if name]


def _pick_oci_entry(entries, ref, source_ref):
    if source_ref:
        for entry in entries:
            if source_ref in _entry_names(entry):
                return entry
        raise ArchiveError('the OCI layout has no image named %r (it has: %s)'
                           % (source_ref, ', '.join(n for e in entries for n in _entry_names(e)) or 'unnamed images'))
    if ref is not None:
        # A layout may name images by full reference, by `repository:tag` or by tag alone.
        short = '%s:%s' % (ref.path.rsplit('/', 1)[-1], ref.tag)
        for entry in entries:
            for name in _entry_names(entry):
                if name in (str(ref), ref.familiar(), short, ref.tag) or _parse_quietly(name) == ref:
                    return entry
    if len(entries) == 1:
        return entries[0]
    raise ConfigError('source_ref', 'the OCI layout holds %d images (%s): say which one with source_ref'
                      % (len(entries), ', '.join(n for e in entries for n in _entry_names(e)) or 'unnamed'))


def _copy_blob(store, source, descriptor, what):
    digest = digests.validate(descriptor.get('digest'), what + '.digest')
    algorithm, hexpart = digests.split(digest)
    size = descriptor.get('size')
    if not isinstance(size, int):
        raise ArchiveError('%s has no size' % what)
    if store.has_blob(digest, size):
        return
    with source.open('blobs/%s/%s' % (algorithm, hexpart)) as handle:
        store.ingest_stream(handle, expected_digest=digest, expected_size=size)


def _copy_oci(store, source, descriptor, wanted, depth):
    """Copy a manifest (choosing from an index by platform) and its blobs; return the manifest's descriptor."""
    if depth > 4:
        raise UnsupportedImage('OCI layout nests indexes too deeply')
    digest = digests.validate(descriptor.get('digest'), 'manifests[].digest')
    algorithm, hexpart = digests.split(digest)
    with source.open('blobs/%s/%s' % (algorithm, hexpart)) as handle:
        data = handle.read(mediatypes.MAX_MANIFEST_SIZE + 1)
    if not digests.matches(data, digest):
        raise DigestMismatch('manifest %s in the OCI layout' % digest, digest, digests.of_bytes(data, algorithm))
    media_type, doc = mediatypes.sniff(data, descriptor.get('mediaType'))
    if mediatypes.is_index(media_type):
        chosen = platforms.select(doc.get('manifests') or [], wanted, what='image index %s in the OCI layout' % digest)
        return _copy_oci(store, source, chosen, wanted, depth + 1)
    config = doc.get('config') or {}
    if config.get('mediaType') not in (mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG):
        raise UnsupportedImage('manifest %s is not a container image (config media type %r)' % (digest, config.get('mediaType')))
    _copy_blob(store, source, config, 'config')
    for position, layer in enumerate(doc.get('layers') or []):
        mediatypes.layer_compression(layer.get('mediaType', ''))
        _copy_blob(store, source, layer, 'layers[%d]' % position)
    store.put_bytes(data, digest)
    result = {'mediaType': media_type, 'digest': digest, 'size': len(data)}
    platform = descriptor.get('platform')
    if not platform:
        try:
            parsed = store.read_json(config['digest'])
            platform = {key: parsed[key] for key in ('architecture', 'os', 'variant') if parsed.get(key)}
        except ImageError:
            platform = None
    if platform:
        result['platform'] = {key: platform[key] for key in ('architecture', 'os', 'os.version', 'variant') if platform.get(key)}
    return result
