# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the importers: member names and what marks an image archive."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import importers

HEX = 'a' * 64


@pytest.mark.parametrize('name, clean', [('./manifest.json', 'manifest.json'), ('blobs/sha256/', 'blobs/sha256'), ('.', ''),
                                         ('./', ''), ('a/../b', 'b'), ('../../etc/passwd', 'etc/passwd'), ('/abs/x', 'abs/x')])
def test_clean(name, clean):
    assert importers._clean(name) == clean


@pytest.mark.parametrize('name', ['oci-layout', 'index.json', 'manifest.json', 'repositories', 'blobs', 'blobs/sha256', 'blobs/sha256/' + HEX,
                                  HEX, HEX + '/', HEX + '/layer.tar', HEX + '/json', HEX + '/VERSION', HEX + '.json', HEX + '.tar'])
def test_archive_members(name):
    assert importers._ARCHIVE_MEMBER.match(name)


@pytest.mark.parametrize('name', ['etc', 'bin/sh', 'usr/lib/os-release', 'blobs/sha256/' + HEX + '/x', HEX + '/other', 'manifest.json.bak'])
def test_rootfs_members(name):
    assert not importers._ARCHIVE_MEMBER.match(name)
