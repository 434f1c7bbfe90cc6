# -*- coding: utf-8 -*-
"""Shared set-up for the unpack system tests: collection imports and the layer builders of the unit tests."""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit', 'plugins', 'module_utils', 'image'))

try:
    import ansible_collections.runcible.oci  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _TOP = tempfile.mkdtemp(prefix='runcible-system-')
    import atexit
    atexit.register(shutil.rmtree, _TOP, True)
    os.makedirs(os.path.join(_TOP, 'ansible_collections', 'runcible'))
    os.symlink(REPO, os.path.join(_TOP, 'ansible_collections', 'runcible', 'oci'))
    sys.path.insert(0, _TOP)

import layerlib  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


def xattrs(root):
    """{relative path: {name: value}} of user.* and trusted.* xattrs in a tree (symlinks excluded)."""
    found = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            if os.path.islink(path):
                continue
            values = {key: os.getxattr(path, key) for key in os.listxattr(path)}
            if values:
                found[os.path.relpath(path, root)] = values
    return found
