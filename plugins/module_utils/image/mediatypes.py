# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Media types of the OCI image-spec and Docker's schema 2, and how to tell them apart."""

import json

from .errors import UnsupportedImage

OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar'
OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
OCI_LAYOUT_VERSION = '1.0.0'

DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
DOCKER_SCHEMA1 = ('application/vnd.docker.distribution.manifest.v1+json',
                  'application/vnd.docker.distribution.manifest.v1+prettyjws')

INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)

# What we ask registries for, best first; schema 1 is deliberately absent.
ACCEPT = ', '.join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

REF_NAME = 'org.opencontainers.image.ref.name'
DOCKER_REFERENCE_TYPE = 'vnd.docker.reference.type'

# Largest manifest or index we read into memory (containerd uses the same bound).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


def is_index(media_type):
    """True for an OCI image index or a Docker manifest list."""
    return media_type in INDEXES


def is_manifest(media_type):
    """True for an OCI image manifest or a Docker schema 2 manifest."""
    return media_type in MANIFESTS


def layer_compression(media_type):
    """'gzip', 'zstd' or None for a layer media type; UnsupportedImage for anything else."""
    base = media_type.replace('.nondistributable', '')
    if base in (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER):
        return 'gzip'
    if base == OCI_LAYER_ZSTD:
        return 'zstd'
    if base == OCI_LAYER:
        return None
    raise UnsupportedImage('layer media type %r is not a tar, tar+gzip or tar+zstd layer' % media_type)


def sniff(data, declared=None):
    """The media type of a manifest or index document.

    `declared` is what the transport said (Content-Type or a descriptor); when it is
    missing or generic, the document's own mediaType field and shape decide.
    Schema 1 manifests are refused with a message that says why.
    """
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise UnsupportedImage('manifest is not valid JSON: %s' % exc)
    if not isinstance(doc, dict):
        raise UnsupportedImage('manifest is not a JSON object')
    declared = (declared or '').split(';')[0].strip()
    media_type = doc.get('mediaType') or (declared if declared not in ('', 'application/json', 'text/plain') else '')
    if media_type in DOCKER_SCHEMA1 or doc.get('schemaVersion') == 1:
        raise UnsupportedImage('Docker schema 1 manifests are deprecated and not supported: push the image again with a current client')
    if not media_type:
        media_type = OCI_INDEX if 'manifests' in doc else OCI_MANIFEST
    if not (is_index(media_type) or is_manifest(media_type)):
        raise UnsupportedImage('media type %r is not an image manifest or index' % media_type)
    if doc.get('schemaVersion') != 2:
        raise UnsupportedImage('manifest schemaVersion %r is not 2' % doc.get('schemaVersion'))
    return media_type, doc
