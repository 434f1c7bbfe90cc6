# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AppArmor profiles and SELinux labels: applied when the host has the module, refused clearly when not."""

import os

from .. import errors


def apparmor_enabled():
    try:
        with open('/sys/module/apparmor/parameters/enabled') as handle:
            return handle.read().strip() == 'Y'
    except OSError:
        return False


def selinux_enabled():
    return os.path.exists('/sys/fs/selinux/enforce')


def validate(process, linux):
    """Before anything touches the host: asked-for labels need the module on this host."""
    if process.get('apparmorProfile') and not apparmor_enabled():
        raise errors.ConfigError('process.apparmorProfile', 'AppArmor is not enabled on this host: remove the '
                                 'profile or run on a host with AppArmor')
    if process.get('selinuxLabel') and not selinux_enabled():
        raise errors.ConfigError('process.selinuxLabel', 'SELinux is not enabled on this host: remove the label '
                                 'or run on a host with SELinux')
    if linux.get('mountLabel') and not selinux_enabled():
        raise errors.ConfigError('linux.mountLabel', 'SELinux is not enabled on this host: remove the label '
                                 'or run on a host with SELinux')


def apply_exec_labels(process):
    """Ask the kernel to switch profile/label at the next exec (call just before execve)."""
    profile = process.get('apparmorProfile')
    if profile:
        _write_attr(('/proc/self/attr/apparmor/exec', '/proc/self/attr/exec'), 'exec ' + profile,
                    'process.apparmorProfile')
    label = process.get('selinuxLabel')
    if label:
        _write_attr(('/proc/self/attr/exec',), label, 'process.selinuxLabel')


def _write_attr(paths, value, field):
    last = None
    for path in paths:
        try:
            with open(path, 'w') as handle:
                handle.write(value)
            return
        except OSError as exc:
            last = exc
    raise errors.SetupError('%s: cannot set %r: %s' % (field, value, errors.describe(last)))
