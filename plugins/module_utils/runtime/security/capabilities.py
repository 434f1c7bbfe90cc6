# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""process.capabilities: the five sets, applied around the switch of user.

Order (as runc): drop the bounding set while still root, keep permitted
capabilities across setuid (PR_SET_KEEPCAPS), switch user, then set
effective/permitted/inheritable with capset and raise the ambient set.
"""

import errno

from .. import errors, log
from ..linux import consts as c
from ..linux import syscalls

# The table is in consts: validating a config needs the names, not the system calls (ctypes) applying them.
NAMES = c.CAPABILITY_NAMES
NUMBERS = c.CAPABILITY_NUMBERS
SETS = ('bounding', 'effective', 'inheritable', 'permitted', 'ambient')


def last_cap():
    """The highest capability number this kernel knows."""
    try:
        with open('/proc/sys/kernel/cap_last_cap') as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return len(NAMES) - 1


class CapabilitySets:
    """The five sets as lists of capability numbers the kernel knows."""

    def __init__(self, sets):
        self.sets = sets

    def mask(self, name):
        value = 0
        for number in self.sets[name]:
            value |= 1 << number
        return value


def resolve(capabilities, field='process.capabilities', warn=True):
    """Numbers for each set; unknown names are an error, names this kernel lacks a warning."""
    top = last_cap()
    sets = {}
    capabilities = capabilities or {}
    for name in SETS:
        numbers = []
        for index, cap in enumerate(capabilities.get(name) or []):
            number = NUMBERS.get(cap)
            if number is None:
                raise errors.ConfigError('%s.%s[%d]' % (field, name, index),
                                         'unknown capability %r: names look like CAP_NET_ADMIN' % cap)
            if number > top:
                if warn:
                    log.warning('ignoring unknown or unavailable capabilities: [%s]' % cap)
                continue
            numbers.append(number)
        sets[name] = numbers
    return CapabilitySets(sets)


def drop_bounding(caps):
    """Drop from the bounding set every capability not listed (needs CAP_SETPCAP)."""
    keep = set(caps.sets['bounding'])
    for number in range(last_cap() + 1):
        if number not in keep:
            try:
                syscalls.prctl(c.PR_CAPBSET_DROP, number)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise


def keep_across_setuid(enable):
    syscalls.prctl(c.PR_SET_KEEPCAPS, 1 if enable else 0)


def apply(caps):
    """Set effective, permitted, inheritable; raise ambient (failures ignored, as runc)."""
    syscalls.capset(caps.mask('effective'), caps.mask('permitted'), caps.mask('inheritable'))
    for number in caps.sets['ambient']:
        try:
            syscalls.prctl(c.PR_CAP_AMBIENT, c.PR_CAP_AMBIENT_RAISE, number)
        except OSError:
            continue
