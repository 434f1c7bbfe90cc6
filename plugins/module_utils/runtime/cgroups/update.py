# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`runc update`'s flags as a partial linux.resources object.

Parsing follows runc 1.1: memory sizes go through docker's units.RAMInBytes
("100m", "1.5g", "512KiB"; binary units), "-1" means unlimited, numbers are
plain decimal. The result is merged into the container's resources with
resources.merge_update.
"""

import re

from .. import errors

_SIZE = re.compile(r'^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?\Z')
_UNITS = {'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40, 'p': 1 << 50}
_UINT = re.compile(r'^\d+\Z')
_INT = re.compile(r'^[+-]?\d+\Z')

MEMORY_FLAGS = (('memory', 'limit'), ('memory-swap', 'swap'), ('memory-reservation', 'reservation'),
                ('kernel-memory', 'kernel'), ('kernel-memory-tcp', 'kernelTCP'))
CPU_UINT_FLAGS = (('cpu-share', 'shares'), ('cpu-period', 'period'), ('cpu-rt-period', 'realtimePeriod'),
                  ('cpu-burst', 'burst'))
CPU_INT_FLAGS = (('cpu-quota', 'quota'), ('cpu-rt-runtime', 'realtimeRuntime'), ('cpu-idle', 'idle'))
KNOWN_FLAGS = frozenset(['blkio-weight', 'cpuset-cpus', 'cpuset-mems', 'pids-limit', 'l3-cache-schema', 'mem-bw-schema',
                         'cpu-shares'] + [pair[0] for pair in MEMORY_FLAGS + CPU_UINT_FLAGS + CPU_INT_FLAGS])


def ram_in_bytes(text):
    """docker's units.RAMInBytes: "100m" -> 104857600; binary units, case-insensitive, optional "i"/"b"."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError("invalid size: '%s'" % text)
    try:
        size = float(match.group(1))
    except ValueError:
        raise ValueError("invalid size: '%s'" % text)
    unit = (match.group(3) or '').lower()
    return int(size * _UNITS.get(unit, 1))


def _parse(flag, text, pattern, what):
    if not pattern.match(text):
        raise errors.UsageError('invalid value for --%s: %r is not %s' % (flag, text, what))
    return int(text)


def resources_from_update_flags(flags):
    """A partial linux.resources from `runc update` flags ({"memory": "100m", "cpu-quota": "50000", ...}).

    Flags missing or given as "" are not changed. --kernel-memory and
    --kernel-memory-tcp are carried into memory.kernel/kernelTCP: the
    Manager ignores the first with runc's warning and writes the second
    where cgroup v1 has the file (as crun); the Intel RDT flags are refused.
    """
    unknown = sorted(set(flags) - KNOWN_FLAGS)
    if unknown:
        raise errors.UsageError('unknown update flag(s): %s' % ', '.join('--' + name for name in unknown))
    given = {name: value for name, value in flags.items() if value not in (None, '')}
    for flag, what in (('l3-cache-schema', 'l3 cache schema'), ('mem-bw-schema', 'memory bandwidth schema')):
        if flag in given:
            kind = 'CAT' if flag == 'l3-cache-schema' else 'MBA'
            raise errors.UsageError('Intel RDT/%s: %s is not enabled (runcible does not manage Intel RDT)' % (kind, what))
    if 'cpu-shares' in given:
        given.setdefault('cpu-share', given.pop('cpu-shares'))
    memory = {}
    for flag, key in MEMORY_FLAGS:
        if flag in given:
            text = str(given[flag])
            try:
                memory[key] = -1 if text == '-1' else ram_in_bytes(text)
            except ValueError as exc:
                raise errors.UsageError('invalid value for --%s: %s' % (flag, exc))
    cpu = {}
    for flag, key in CPU_UINT_FLAGS:
        if flag in given:
            cpu[key] = _parse(flag, str(given[flag]), _UINT, 'an unsigned integer')
    for flag, key in CPU_INT_FLAGS:
        if flag in given:
            cpu[key] = _parse(flag, str(given[flag]), _INT, 'an integer')
    for flag, key in (('cpuset-cpus', 'cpus'), ('cpuset-mems', 'mems')):
        if flag in given:
            cpu[key] = str(given[flag])
    result = {}
    if memory:
        result['memory'] = memory
    if cpu:
        result['cpu'] = cpu
    if 'blkio-weight' in given:
        weight = _parse('blkio-weight', str(given['blkio-weight']), _INT, 'an integer')
        if weight:
            result['blockIO'] = {'weight': weight}
    if 'pids-limit' in given:
        limit = _parse('pids-limit', str(given['pids-limit']), _INT, 'an integer')
        if limit:
            result['pids'] = {'limit': limit}
    return result
