# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`features`: what this runtime implements, in runc's JSON shape (runtime-spec features.md)."""

from . import VERSION
from .rootfs import options
from .security import capabilities
from .spec.config import NAMESPACE_FLAGS
from .spec.default import OCI_VERSION


def features():
    linux = {
        'namespaces': sorted(NAMESPACE_FLAGS),
        'capabilities': list(capabilities.NAMES),
        'cgroup': {'v1': True, 'v2': True, 'systemd': False, 'systemdUser': False},
        'seccomp': _seccomp(),
        'apparmor': {'enabled': False},
        'selinux': {'enabled': False},
    }
    return {
        'ociVersionMin': '1.0.0',
        'ociVersionMax': OCI_VERSION,
        'hooks': ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
        'mountOptions': options.known_options(),
        'linux': linux,
        'annotations': {'org.opencontainers.runcible.version': VERSION},
    }


def _seccomp():
    try:
        from .security import seccomp
    except ImportError:
        return {'enabled': False}
    describe = getattr(seccomp, 'features', None)
    return describe() if describe is not None else {'enabled': True}
