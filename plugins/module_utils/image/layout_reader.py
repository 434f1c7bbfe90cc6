# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small reader of OCI image layouts: index, manifests, image configs and layer blobs.

Only what unpacking needs: find a manifest by digest (or by the ref-name
annotation), follow an index to the host's platform, and open blobs whose
content is checked against their digest as they are read. Writing layouts
is the image store's job.
"""

import json
import os

from .digest import DigestingReader, split as split_digest
from .errors import DigestMismatch, LayoutError

INDEX_TYPES = (
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
)
MANIFEST_TYPES = (
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
)
REF_NAME = 'org.opencontainers.image.ref.name'
MAX_JSON_BLOB = 8 << 20

_ARCHITECTURES = {'x86_64': 'amd64', 'aarch64': 'arm64', 'armv7l': 'arm', 'armv6l': 'arm', 'i686': '386',
                  'ppc64le': 'ppc64le', 's390x': 's390x', 'riscv64': 'riscv64'}


def host_platform():
    """{'os': 'linux', 'architecture': ...} of this machine, in OCI's words."""
    machine = os.uname().machine
    return {'os': 'linux', 'architecture': _ARCHITECTURES.get(machine, machine)}


class Image:
    """One image of a layout: its manifest digest, manifest, config and layer descriptors."""

    def __init__(self, digest, manifest, config):
        self.digest = digest
        self.manifest = manifest
        self.config = config

    @property
    def layers(self):
        return self.manifest.get('layers') or []

    @property
    def diff_ids(self):
        return (self.config.get('rootfs') or {}).get('diff_ids') or []


class OCILayout:
    """An OCI image layout directory (oci-layout, index.json, blobs/<alg>/<hex>)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        marker = os.path.join(self.path, 'oci-layout')
        try:
            with open(marker, 'rb') as handle:
                version = json.loads(handle.read().decode('utf-8')).get('imageLayoutVersion')
        except FileNotFoundError:
            raise LayoutError('%s is not an OCI image layout: it has no oci-layout file' % self.path)
        except (ValueError, OSError, AttributeError) as exc:
            raise LayoutError('%s: cannot read oci-layout: %s' % (marker, exc))
        if not isinstance(version, str) or not version.startswith('1.'):
            raise LayoutError('%s: unsupported imageLayoutVersion %r (expected 1.x)' % (marker, version))

    def blob_path(self, digest):
        algorithm, value = split_digest(digest)
        return os.path.join(self.path, 'blobs', algorithm, value)

    def has_blob(self, digest):
        return os.path.isfile(self.blob_path(digest))

    def open_blob(self, digest):
        """(file, DigestingReader) of blob `digest`; call reader.verify(digest, ...) after reading it all."""
        path = self.blob_path(digest)
        try:
            handle = open(path, 'rb')
        except FileNotFoundError:
            raise LayoutError('blob %s is missing from %s' % (digest, self.path))
        return handle, DigestingReader(handle, split_digest(digest)[0])

    def read_json(self, digest, what='blob'):
        """The parsed JSON blob `digest`, checked against its digest."""
        handle, reader = self.open_blob(digest)
        with handle:
            data = reader.read(MAX_JSON_BLOB + 1)
            if len(data) > MAX_JSON_BLOB:
                raise LayoutError('%s %s is larger than %d bytes: not a manifest or config' % (what, digest, MAX_JSON_BLOB))
            reader.drain()
        try:
            reader.verify(digest, '%s %s' % (what, digest))
        except DigestMismatch as exc:
            raise LayoutError(exc.message)
        try:
            return json.loads(data.decode('utf-8'))
        except ValueError as exc:
            raise LayoutError('%s %s is not valid JSON: %s' % (what, digest, exc))

    def index(self):
        path = os.path.join(self.path, 'index.json')
        try:
            with open(path, 'rb') as handle:
                index = json.loads(handle.read().decode('utf-8'))
        except (OSError, ValueError) as exc:
            raise LayoutError('%s: cannot read index.json: %s' % (self.path, exc))
        if not isinstance(index, dict) or not isinstance(index.get('manifests', []), list):
            raise LayoutError('%s: index.json has no "manifests" list' % path)
        return index

    def find(self, digest=None, ref=None, platform=None):
        """The descriptor of the image manifest named by `digest` or by ref-name `ref`.

        A digest may name a manifest or an index (followed to `platform`, by
        default this host's); it does not have to be listed in index.json.
        """
        if digest:
            descriptor = self._listed(lambda d: d.get('digest') == digest) or {'digest': digest}
        elif ref:
            descriptor = self._listed(lambda d: (d.get('annotations') or {}).get(REF_NAME) == ref)
            if descriptor is None:
                raise LayoutError('%s has no image tagged %r (index.json ref.name annotations)' % (self.path, ref))
        else:
            manifests = self.index().get('manifests') or []
            if len(manifests) != 1:
                raise LayoutError('%s holds %d images: name one by digest or ref' % (self.path, len(manifests)))
            descriptor = manifests[0]
        return self._to_manifest(descriptor, platform or host_platform(), depth=0)

    def _listed(self, match):
        for descriptor in self.index().get('manifests') or []:
            if isinstance(descriptor, dict) and match(descriptor):
                return descriptor
        return None

    def _to_manifest(self, descriptor, platform, depth):
        if depth > 4:
            raise LayoutError('indexes nest more than 4 deep under %s' % descriptor.get('digest'))
        media_type = descriptor.get('mediaType')
        if media_type in MANIFEST_TYPES:
            return descriptor
        document = self.read_json(descriptor['digest'], 'manifest')
        media_type = document.get('mediaType') or media_type
        if media_type in INDEX_TYPES or (media_type is None and 'manifests' in document):
            return self._to_manifest(self._pick_platform(document, platform, descriptor['digest']), platform, depth + 1)
        return dict(descriptor, mediaType=media_type or MANIFEST_TYPES[0])

    @staticmethod
    def _pick_platform(index, platform, digest):
        fallback = None
        for entry in index.get('manifests') or []:
            found = entry.get('platform') or {}
            if (entry.get('annotations') or {}).get('vnd.docker.reference.type') == 'attestation-manifest':
                continue
            if found.get('os') == platform['os'] and found.get('architecture') == platform['architecture']:
                wanted = platform.get('variant')
                if not wanted or found.get('variant') == wanted:
                    return entry
                fallback = fallback or entry
        if fallback:
            return fallback
        raise LayoutError('index %s has no image for %s/%s' % (digest, platform['os'], platform['architecture']))

    def image(self, digest=None, ref=None, platform=None):
        """The Image (manifest and config) named by `digest` or `ref`."""
        descriptor = self.find(digest=digest, ref=ref, platform=platform)
        manifest = self.read_json(descriptor['digest'], 'manifest')
        if not isinstance(manifest, dict) or not isinstance(manifest.get('config'), dict):
            raise LayoutError('manifest %s has no config descriptor' % descriptor['digest'])
        layers = manifest.get('layers')
        if not isinstance(layers, list):
            raise LayoutError('manifest %s has no "layers" list' % descriptor['digest'])
        config = self.read_json(manifest['config']['digest'], 'image config')
        if not isinstance(config, dict):
            raise LayoutError('image config %s is not a JSON object' % manifest['config']['digest'])
        image = Image(descriptor['digest'], manifest, config)
        if image.diff_ids and len(image.diff_ids) != len(layers):
            raise LayoutError('image %s lists %d layers but its config has %d diff_ids'
                              % (descriptor['digest'], len(layers), len(image.diff_ids)))
        return image
