# -*- coding: utf-8 -*-
"""Fixtures shared by the module_utils unit tests."""

import os

import pytest


@pytest.fixture
def outside(tmp_path):
    """A host folder beside the roots under test, with a sentinel file a crafted archive or layer must not touch."""
    path = tmp_path / 'outside'
    path.mkdir()
    (path / 'sentinel').write_bytes(b'host data')
    os.utime(str(path / 'sentinel'), (1000000000, 1000000000))
    return path
