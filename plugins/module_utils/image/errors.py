# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the image package (store, registry, imports, layouts, layers), all part of the runtime's one hierarchy."""

from ..runtime.errors import ConfigError, RuntimeErrorBase


class ImageError(RuntimeErrorBase):
    """An image could not be found, fetched, stored or imported."""


class InvalidReference(ConfigError):
    """An image reference does not follow the distribution reference grammar."""

    def __init__(self, text, reason, field='name'):
        super().__init__(field, 'invalid image reference %r: %s' % (text, reason))
        self.text = text


class InvalidDigest(ConfigError):
    """A digest is malformed or uses an algorithm we cannot verify."""

    def __init__(self, text, reason, field='digest'):
        super().__init__(field, 'invalid digest %r: %s' % (text, reason))
        self.text = text


class ImageNotFound(ImageError):
    """The reference or digest is not in the store, or the registry does not know it."""


class StoreError(ImageError):
    """The store folder is not a usable OCI image layout."""


class DigestMismatch(ImageError):
    """Content did not hash to the digest (or size) its descriptor promised: a pulled, imported or stored blob,
    or a layer being unpacked."""

    def __init__(self, what, expected, actual):
        super().__init__('%s: content does not match its descriptor: expected %s, got %s (the content is corrupt, '
                         'truncated or was tampered with)' % (what, expected, actual))
        self.expected = expected
        self.actual = actual


class UnsupportedImage(ImageError):
    """The manifest, media type or layer compression is one we do not handle."""


class PlatformNotFound(ImageError):
    """An image index has no manifest for the requested platform."""


class RegistryError(ImageError):
    """The registry answered with an error, or could not be reached."""

    def __init__(self, message, status=None, transient=False):
        super().__init__(message)
        self.status = status
        self.transient = transient


class AuthError(RegistryError):
    """The registry (or its token server) refused our credentials or gave none we can use."""


class ArchiveError(ImageError):
    """An archive or directory to import is not in the format it claims or we detected."""


class LayerError(RuntimeErrorBase):
    """A layer could not be read or applied; the message names the layer and the entry."""


class UnsafeEntryError(LayerError):
    """A layer entry would act outside the root filesystem, or on the root itself."""


class CompressionError(LayerError, UnsupportedImage):
    """A stream's compression is unknown, or its decompressor is not installed (for a layer or an import)."""


class LayoutError(RuntimeErrorBase):
    """The OCI image layout is missing, malformed, or lacks the asked-for manifest."""
