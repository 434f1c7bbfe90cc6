# -*- coding: utf-8 -*-
"""Make the repository importable as ansible_collections.runcible.oci for unit tests.

The repository root is the collection root; Ansible imports it under
ansible_collections/runcible/oci. A temporary tree with a symlink gives the
same import path without installing anything.
"""

import atexit
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import ansible_collections.runcible.oci  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _TOP = tempfile.mkdtemp(prefix='runcible-units-')
    atexit.register(shutil.rmtree, _TOP, True)
    os.makedirs(os.path.join(_TOP, 'ansible_collections', 'runcible'))
    os.symlink(REPO, os.path.join(_TOP, 'ansible_collections', 'runcible', 'oci'))
    sys.path.insert(0, _TOP)
