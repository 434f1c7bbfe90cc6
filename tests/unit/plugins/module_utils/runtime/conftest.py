# -*- coding: utf-8 -*-
"""Fixtures for the runtime's unit tests: the recording kernel double."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakekernel import FakeKernel  # noqa: E402


@pytest.fixture
def kernel(monkeypatch):
    """The kernel seam replaced by a recording double (fakekernel.py)."""
    return FakeKernel(monkeypatch)
