# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised while reading an image layout and unpacking its layers."""

from ..runtime.errors import RuntimeErrorBase
from .errors import UnsupportedImage


class LayerError(RuntimeErrorBase):
    """A layer could not be read or applied; the message names the layer and the entry."""


class UnsafeEntryError(LayerError):
    """A layer entry would act outside the root filesystem, or on the root itself."""


class CompressionError(LayerError, UnsupportedImage):
    """A stream's compression is unknown, or its decompressor is not installed (for a layer or an import)."""


class DigestMismatch(LayerError):
    """A blob's content does not match the digest that names it."""


class LayoutError(RuntimeErrorBase):
    """The OCI image layout is missing, malformed, or lacks the asked-for manifest."""
