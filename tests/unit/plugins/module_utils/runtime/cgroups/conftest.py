# -*- coding: utf-8 -*-
"""Import path and fakes for the cgroups unit tests.

The repository root is the collection root; when the tests do not run under
ansible-test, a temporary ansible_collections/runcible/oci symlink gives the
same import path. FakeFiles stands in for the cgroup file system: it holds
file contents, records every write in order, and fails writes the way the
kernel would when told to.
"""

import atexit
import errno
import os
import shutil
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *(['..'] * 6)))

try:
    import ansible_collections.runcible.oci  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _TOP = tempfile.mkdtemp(prefix='runcible-cgroups-units-')
    atexit.register(shutil.rmtree, _TOP, True)
    os.makedirs(os.path.join(_TOP, 'ansible_collections', 'runcible'))
    os.symlink(REPO, os.path.join(_TOP, 'ansible_collections', 'runcible', 'oci'))
    sys.path.insert(0, _TOP)


class FakeFiles:
    """A cgroup directory tree in memory: {(directory, name): content}.

    `refuse` maps (directory, name) to an errno (or a function of the value
    returning an errno or None) that writes of that file fail with.
    """

    def __init__(self, files=None, refuse=None):
        self.files = dict(files or {})
        self.refuse = dict(refuse or {})
        self.writes = []

    def read(self, directory, name):
        try:
            return self.files[(directory, name)]
        except KeyError:
            raise FileNotFoundError(errno.ENOENT, 'No such file or directory', os.path.join(directory, name))

    def write(self, directory, name, value):
        key = (directory, name)
        if key not in self.files:
            raise FileNotFoundError(errno.ENOENT, 'No such file or directory', os.path.join(directory, name))
        refusal = self.refuse.get(key)
        if callable(refusal):
            refusal = refusal(value)
        if refusal:
            raise OSError(refusal, os.strerror(refusal), os.path.join(directory, name))
        self.writes.append((name, value))
        self.files[key] = value

    def exists(self, directory, name):
        return (directory, name) in self.files


@pytest.fixture
def fake_files():
    return FakeFiles
