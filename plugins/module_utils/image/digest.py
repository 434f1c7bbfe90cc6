# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content digests (`algorithm:hex`) as the OCI image-spec defines them, and a reader that checks one.

Only algorithms we can verify are accepted, and the hex part must have the exact
length and lower case the spec requires: a digest names a file in the store (and in
any OCI layout we read), so a loose parser would be a path traversal.
"""

import hashlib
import re

from .errors import DigestMismatch, InvalidDigest

# Registered algorithms (image-spec descriptor.md) and the length of their hex encoding.
HEX_LENGTHS = {'sha256': 64, 'sha384': 96, 'sha512': 128}
CANONICAL = 'sha256'

_HEX = re.compile(r'^[a-f0-9]+$')


def split(digest, field='digest'):
    """Return (algorithm, hex) of a digest string, or raise InvalidDigest."""
    if not isinstance(digest, str) or ':' not in digest:
        raise InvalidDigest(digest, 'a digest looks like sha256:<64 lower-case hex digits>', field)
    algorithm, hexpart = digest.split(':', 1)
    if algorithm not in HEX_LENGTHS:
        raise InvalidDigest(digest, 'unsupported algorithm %r (supported: %s)' % (algorithm, ', '.join(sorted(HEX_LENGTHS))), field)
    if len(hexpart) != HEX_LENGTHS[algorithm] or not _HEX.match(hexpart):
        raise InvalidDigest(digest, '%s needs exactly %d lower-case hex digits' % (algorithm, HEX_LENGTHS[algorithm]), field)
    return algorithm, hexpart


def validate(digest, field='digest'):
    """Return the digest unchanged if it is well formed, else raise InvalidDigest."""
    split(digest, field)
    return digest


def is_digest(text):
    """True if text is a well-formed digest of a supported algorithm."""
    try:
        split(text)
    except InvalidDigest:
        return False
    return True


def hasher_for(digest):
    """A fresh hashlib object of the digest's algorithm."""
    return hashlib.new(split(digest)[0])


def of_bytes(data, algorithm=CANONICAL):
    """The digest of a bytes object."""
    return '%s:%s' % (algorithm, hashlib.new(algorithm, data).hexdigest())


def matches(data, digest):
    """True if data hashes to digest (in the digest's own algorithm)."""
    hasher = hasher_for(digest)
    hasher.update(data)
    return '%s:%s' % (hasher.name, hasher.hexdigest()) == digest


class DigestingReader(object):
    """Reads from `source` and hashes every byte read, for checking against a digest at the end."""

    def __init__(self, source, algorithm=CANONICAL):
        self._source = source
        self._hash = hashlib.new(algorithm)
        self.algorithm = algorithm
        self.size = 0

    def read(self, size=1 << 20):
        data = self._source.read(size)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def drain(self):
        """Read (and hash) whatever is left; return how many bytes that was."""
        count = 0
        while True:
            data = self.read()
            if not data:
                return count
            count += len(data)

    @property
    def digest(self):
        return '%s:%s' % (self.algorithm, self._hash.hexdigest())

    def verify(self, expected, what, size=None):
        """Raise DigestMismatch unless what was read hashes to `expected` (and has `size` bytes)."""
        if size is not None and size != self.size:
            raise DigestMismatch(what, '%d bytes' % size, '%d bytes' % self.size)
        if self.digest != expected:
            raise DigestMismatch(what, expected, self.digest)
