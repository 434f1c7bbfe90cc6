# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Digests name files in the store: only exact, verifiable forms pass."""

import hashlib

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import digest
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import InvalidDigest


def test_of_bytes_and_matches():
    value = digest.of_bytes(b'hello')
    assert value == 'sha256:' + hashlib.sha256(b'hello').hexdigest()
    assert digest.matches(b'hello', value)
    assert not digest.matches(b'hellO', value)
    assert digest.matches(b'x', 'sha512:' + hashlib.sha512(b'x').hexdigest())


@pytest.mark.parametrize('text', [
    'sha256:' + 'a' * 63, 'sha256:' + 'A' * 64, 'sha256:' + 'g' * 64, 'md5:' + 'a' * 32, 'sha256', None, 42,
    'sha256:../../../etc/passwd', 'sha256:' + 'a' * 64 + '/x', '../sha256:' + 'a' * 64, 'sha512:' + 'a' * 64,
])
def test_rejected(text):
    with pytest.raises(InvalidDigest):
        digest.split(text)
    assert not digest.is_digest(text)


def test_accepted():
    assert digest.split('sha256:' + 'a' * 64) == ('sha256', 'a' * 64)
    assert digest.is_digest('sha512:' + 'b' * 128)
