# -*- coding: utf-8 -*-
"""Fixtures for the converge tests."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from convergelib import GROUP, PASSWD, rootfs_tarball  # noqa: E402


@pytest.fixture
def tarball(tmp_path):
    """A small root filesystem tarball with an /etc/passwd that names user app (101:201)."""
    return rootfs_tarball(tmp_path / 'rootfs.tar.gz', {'bin': None, 'bin/true': b'#!/bin/sh\n', 'etc': None,
                                                       'etc/passwd': PASSWD, 'etc/group': GROUP})
