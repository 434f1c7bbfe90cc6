# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `ansible_collections.runcible.oci` importable when pytest runs outside ansible-test."""

import atexit
import os
import shutil
import sys
import tempfile

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *(['..'] * 5)))


def _ensure_collection_importable():
    try:
        import ansible_collections.runcible.oci.plugins.module_utils.image  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    base = tempfile.mkdtemp(prefix='runcible-collection-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'runcible'))
    os.symlink(REPO_ROOT, os.path.join(base, 'ansible_collections', 'runcible', 'oci'))
    sys.path.insert(0, base)
    atexit.register(shutil.rmtree, base, True)
    for name in [name for name in sys.modules if name == 'ansible_collections' or name.startswith('ansible_collections.')]:
        del sys.modules[name]


_ensure_collection_importable()
