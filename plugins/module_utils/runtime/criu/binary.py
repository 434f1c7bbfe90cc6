# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the criu binary and make sure it works on this kernel, before anything is touched.

`criu check` is CRIU's own verdict on the kernel: a CRIU too old for it (Debian
12's 3.17 on kernels >= 6.13: "vdso: Unexpected rt vDSO area bounds") fails
there, and its reason is the one the user needs to see.
"""

import os

from .. import errors, jsonc, state as statemod
from ..linux import spawn

# External network and PID namespaces (what runc relies on) arrived in CRIU 3.11 and 3.15.
MINIMUM_VERSION = (3, 15)
_CHECK_TIMEOUT = 60


class Criu:
    """A usable criu: its absolute path and version tuple."""

    def __init__(self, path, version):
        self.path = path
        self.version = version

    @property
    def version_text(self):
        return '.'.join(str(part) for part in self.version)


def locate(criu):
    """The absolute path of `criu` (a path, or a name looked up on PATH); CriuError if there is none."""
    if '/' in criu:
        path = os.path.abspath(criu)
        if not os.path.exists(path):
            raise errors.CriuError('criu binary %s does not exist: install CRIU (%s or newer) or point --criu at it'
                                   % (path, '.'.join(map(str, MINIMUM_VERSION))))
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise errors.CriuError('criu binary %s is not an executable file' % path)
        return path
    for directory in (os.environ.get('PATH') or os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or '.', criu)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise errors.CriuError('%s is not installed (not found on PATH): install CRIU (%s or newer) or point --criu at '
                           'its binary' % (criu, '.'.join(map(str, MINIMUM_VERSION))))


def _run(path, *args):
    try:
        result = spawn.run([path] + list(args), executable=path, timeout=_CHECK_TIMEOUT)
    except OSError as exc:
        raise errors.CriuError('cannot run %s: %s' % (path, errors.strerror(exc)))
    text = (result.stdout + result.stderr).decode('utf-8', 'replace')
    if result.timed_out:
        raise errors.CriuError('%s %s did not finish within %ds' % (path, ' '.join(args), _CHECK_TIMEOUT))
    return result.returncode, text


def parse_version(text):
    """(major, minor, sublevel) from `criu --version` output ("Version: 4.1.1"); None if absent."""
    import re
    match = re.search(r'Version:\s*(\d+)\.(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def check_reason(text):
    """The lines of `criu check` output that say why it failed (its Error lines, else the last line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith('Error') or 'error' in line.lower()]
    chosen = failures[:3] if failures else lines[-1:]
    return '; '.join(chosen) or 'no output'


def cache_file(root):
    """Where runcible remembers a passed `criu check`: beside the containers of `root`."""
    return os.path.join(root, '.criu-check.json')


def _identity(path):
    """What a passed check depends on: this boot of the kernel and this very criu file."""
    try:
        with open('/proc/sys/kernel/random/boot_id') as handle:
            boot = handle.read().strip()
        info = os.stat(path)
    except OSError:
        return None
    return '%s %s %d %d %d %d' % (boot, os.path.realpath(path), info.st_dev, info.st_ino, info.st_size,
                                  info.st_mtime_ns)


def _cached(cache_file, identity):
    if not cache_file or not identity:
        return None
    try:
        with open(cache_file) as handle:
            data = jsonc.loads(handle.read())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get('identity') == identity and isinstance(data.get('version'), list):
        return tuple(data['version'])
    return None


def _remember(cache_file, identity, version):
    if not cache_file or not identity:
        return
    try:
        statemod.atomic_write(cache_file, jsonc.dumps({'identity': identity, 'version': list(version)}).encode(),
                              mode=0o600)
    except OSError:
        pass


def find(criu, cache_file=None):
    """A Criu for `--criu` that exists, is recent enough, and passes `criu check`; else CriuError.

    `criu check` takes 70-200 ms, so a pass is remembered in `cache_file`
    for this criu file (path, inode, size, mtime) and this boot of the
    kernel; a failure is never remembered.
    """
    path = locate(criu)
    identity = _identity(path)
    version = _cached(cache_file, identity)
    if version is not None:
        return Criu(path, version)
    code, text = _run(path, '--version')
    version = parse_version(text) if code == 0 else None
    if version is None:
        raise errors.CriuError('%s --version failed (exit %d): %s' % (path, code, check_reason(text)))
    if version[:2] < MINIMUM_VERSION:
        raise errors.CriuError('criu %s is too old: runcible needs CRIU %s or newer' % (
            '.'.join(map(str, version)), '.'.join(map(str, MINIMUM_VERSION))))
    code, text = _run(path, 'check')
    if code != 0:
        raise errors.CriuError('criu %s (%s) fails "criu check" on this kernel: %s' % (
            '.'.join(map(str, version)), path, check_reason(text)))
    _remember(cache_file, identity, version)
    return Criu(path, version)
