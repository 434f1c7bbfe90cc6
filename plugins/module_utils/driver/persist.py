# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A copy of the runtime and the supervisor on the target's disk.

A module runs from a temporary payload that Ansible deletes when the task
ends, but a container's supervisor, the runtime command it calls to restart
the container, and systemd units outlive the task. So the sources they need
are copied once to /var/lib/runcible/lib/<content digest>/ (written to a
temporary folder and renamed: a version is complete or absent), as the
package `runcible_utils` with two entry scripts:

  <dir>/runcible     the runtime's command line (as bin/runcible)
  <dir>/supervise    a container's supervisor
  <dir>/network-up   a container put back on its networks at boot (network/boot.py; its unit runs it)

hostcopy.py writes the copy and checks it (root runs this code, so a copy is used
only if no one else could have written it). A module that runs from a full copy
of module_utils (oci_container, oci_bundle and oci_image, through hostcopy.load) uses that
copy here too: it holds these packages.
"""

import os
import sys

from .. import hostcopy
from ..hostcopy import LIB_ROOT, PACKAGE, untrusted  # noqa: F401  pylint: disable=unused-import
from ..runtime.errors import SetupError

# Packages of plugins/module_utils the persisted programs import.
PACKAGES = ('runtime', 'supervisor', 'network')

_cache = {}


def _split_zip(path):
    marker = '.zip' + os.sep
    if marker in path:
        archive, inner = path.split(marker, 1)
        return archive + '.zip', inner.replace(os.sep, '/')
    return None, None


def sources():
    """{relative path under module_utils: bytes} of every .py file of the persisted packages."""
    base = hostcopy.module_utils_dir()
    archive, inner = _split_zip(base)
    if not archive:
        return hostcopy.collect(base, PACKAGES)
    import zipfile  # only when the sources are in Ansible's payload: 13 ms of imports a no-op run need not pay
    found = {}
    with zipfile.ZipFile(archive) as payload:
        for name in payload.namelist():
            if not name.startswith(inner + '/') or not name.endswith('.py'):
                continue
            relative = name[len(inner) + 1:]
            if relative.split('/')[0] in PACKAGES:
                found[relative] = payload.read(name)
    return found


def ensure(lib_root=LIB_ROOT):
    """The folder holding this version's copy, made if missing."""
    if lib_root in _cache:
        return _cache[lib_root]
    base = hostcopy.module_utils_dir()
    if os.path.basename(base) == PACKAGE and os.path.dirname(os.path.dirname(base)) == os.path.abspath(lib_root):
        # This code runs from a full copy (hostcopy.load checked it): its supervisors and commands run from it too.
        _cache[lib_root] = os.path.dirname(base)
        return _cache[lib_root]
    files = sources()
    target = os.path.join(lib_root, hostcopy.digest(files))
    hostcopy.write(target, files)
    problem = untrusted(target)
    if problem:
        raise SetupError('the runtime copy in %s cannot be used: %s. Root runs it, so no one else may be able to change it: '
                         'remove %s and run again' % (target, problem, target))
    _cache[lib_root] = target
    return target


def cli_command(lib_root=LIB_ROOT):
    """argv that runs the persisted runtime command line."""
    return [sys.executable, '-S', os.path.join(ensure(lib_root), 'runcible')]


def supervisor_command(lib_root=LIB_ROOT):
    """argv that runs the persisted supervisor."""
    return [sys.executable, '-S', os.path.join(ensure(lib_root), 'supervise')]


def network_up_command(lib_root=LIB_ROOT):
    """argv that puts a container back on its networks (network/boot.py). Without -S: pyroute2 is a package of
    the system's Python (python3-pyroute2 in dist-packages) or of its site-packages."""
    return [sys.executable, os.path.join(ensure(lib_root), 'network-up')]
