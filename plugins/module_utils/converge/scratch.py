# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away image store for check mode: what an import would give, without touching the real store."""

import contextlib
import shutil
import tempfile

from ..image.store import Store


@contextlib.contextmanager
def scratch_store():
    """A Store in a new temporary folder, removed when the block ends."""
    path = tempfile.mkdtemp(prefix='runcible-check-')
    try:
        yield Store(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
