# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux.resources of config.json: checking it and merging updates into it.

The drivers consume the OCI object as it is in config.json (camelCase keys).
`check` looks only at the object (no host access) and raises ConfigError
naming the JSON path; what depends on the host is checked by
Manager.validate.
"""

import copy

from .. import errors

PREFIX = 'linux.resources'

INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1
UINT64_MAX = 2 ** 64 - 1
UINT32_MAX = 2 ** 32 - 1
UINT16_MAX = 2 ** 16 - 1

KERNEL_MEMORY_WARNING = 'Kernel memory settings are ignored and will be removed'


def get(resources, *path):
    """resources[path[0]][path[1]]..., or None where a level is missing."""
    node = resources
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(value, field, low, high, what):
    if not _is_int(value):
        raise errors.ConfigError(field, 'must be an integer (%s), got %r' % (what, value))
    if not low <= value <= high:
        raise errors.ConfigError(field, 'must be %s, got %d' % (what, value))


def _int64(value, field):
    _integer(value, field, INT64_MIN, INT64_MAX, 'a 64-bit signed integer')


def _limit(value, field):
    """A byte or count limit: -1 means unlimited, 0 means unset."""
    _int64(value, field)
    if value < -1:
        raise errors.ConfigError(field, 'must be -1 (unlimited), 0 (unset) or a positive number, got %d' % value)


def _uint(value, field, high=UINT64_MAX, what='a 64-bit unsigned integer'):
    _integer(value, field, 0, high, what)


def _string(value, field):
    if not isinstance(value, str):
        raise errors.ConfigError(field, 'must be a string, got %r' % (value,))


def _bool(value, field):
    if not isinstance(value, bool):
        raise errors.ConfigError(field, 'must be true or false, got %r' % (value,))


def _object(value, field):
    if not isinstance(value, dict):
        raise errors.ConfigError(field, 'must be an object, got %r' % (value,))


def _list(value, field):
    if not isinstance(value, list):
        raise errors.ConfigError(field, 'must be an array, got %r' % (value,))


def _optional(section, key, field, checker, *args):
    if section.get(key) is not None:
        checker(section[key], '%s.%s' % (field, key), *args)


def check(resources):
    """Check linux.resources; return warnings (ignored settings), raise ConfigError on bad input."""
    if resources is None:
        return []
    _object(resources, PREFIX)
    warnings = []
    for key, checker in (('memory', _check_memory), ('cpu', _check_cpu), ('pids', _check_pids),
                         ('blockIO', _check_block_io), ('hugepageLimits', _check_hugepages),
                         ('network', _check_network), ('devices', _check_devices),
                         ('unified', _check_unified), ('rdma', _check_rdma)):
        if resources.get(key) is not None:
            warnings.extend(checker(resources[key], '%s.%s' % (PREFIX, key)) or [])
    return warnings


def _check_memory(memory, field):
    _object(memory, field)
    for key in ('limit', 'reservation', 'swap', 'kernel', 'kernelTCP'):
        _optional(memory, key, field, _limit)
    _optional(memory, 'swappiness', field, _uint)
    swappiness = memory.get('swappiness')
    if swappiness is not None and swappiness > 100:
        raise errors.ConfigError(field + '.swappiness', 'valid memory swappiness range is 0-100, got %d' % swappiness)
    for key in ('disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'):
        _optional(memory, key, field, _bool)
    check_swap(memory.get('limit'), memory.get('swap'), field)
    # Kernels ignore memory.kmem.limit_in_bytes; kernelTCP is the Manager's to judge (fs1.KMEM_TCP).
    if memory.get('kernel') is not None:
        return [KERNEL_MEMORY_WARNING]
    return []


def check_swap(limit, swap, field):
    """memory.swap is memory+swap: it needs a memory limit and cannot be below it.

    With an unlimited memory limit (-1) cgroup v2 limits swap alone (runc
    1.2); cgroup v1 refuses that, and the write reports it.
    """
    if swap in (None, 0, -1) or limit == -1:
        return
    if limit in (None, 0):
        raise errors.ConfigError(field + '.swap', 'memory+swap limit %d needs a memory limit (%s.limit): '
                                 'set both, or -1 for unlimited swap' % (swap, field))
    if swap < limit:
        raise errors.ConfigError(field + '.swap', 'memory+swap limit (%d) should be >= memory limit (%s.limit = %d)'
                                 % (swap, field, limit))


def _check_cpu(cpu, field):
    _object(cpu, field)
    for key in ('shares', 'period', 'realtimePeriod', 'burst'):
        _optional(cpu, key, field, _uint)
    for key in ('quota', 'realtimeRuntime', 'idle'):
        _optional(cpu, key, field, _int64)
    for key in ('cpus', 'mems'):
        _optional(cpu, key, field, _string)
    if cpu.get('shares') == 1:
        raise errors.ConfigError(field + '.shares', 'the minimum allowed cpu-shares is 2')
    if cpu.get('idle') not in (None, 0, 1):
        raise errors.ConfigError(field + '.idle', 'must be 0 or 1, got %d' % cpu['idle'])


def _check_pids(pids, field):
    _object(pids, field)
    if pids.get('limit') is None:
        raise errors.ConfigError(field + '.limit', 'is required when %s is given' % field)
    _limit(pids['limit'], field + '.limit')


def _check_block_io(block_io, field):
    _object(block_io, field)
    for key in ('weight', 'leafWeight'):
        _optional(block_io, key, field, _uint, UINT16_MAX, 'a 16-bit unsigned integer')
    for index, device in enumerate(block_io.get('weightDevice') or []):
        item = '%s.weightDevice[%d]' % (field, index)
        _device_numbers(device, item)
        for key in ('weight', 'leafWeight'):
            _optional(device, key, item, _uint, UINT16_MAX, 'a 16-bit unsigned integer')
    for key in ('throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'):
        devices = block_io.get(key)
        if devices is None:
            continue
        _list(devices, '%s.%s' % (field, key))
        for index, device in enumerate(devices):
            item = '%s.%s[%d]' % (field, key, index)
            _device_numbers(device, item)
            if device.get('rate') is None:
                raise errors.ConfigError(item + '.rate', 'is required')
            _uint(device['rate'], item + '.rate')


def _device_numbers(device, field):
    _object(device, field)
    for key in ('major', 'minor'):
        if device.get(key) is None:
            raise errors.ConfigError('%s.%s' % (field, key), 'is required')
        _integer(device[key], '%s.%s' % (field, key), 0, UINT32_MAX, 'a device number (0 to 4294967295)')


def _check_hugepages(limits, field):
    _list(limits, field)
    for index, limit in enumerate(limits):
        item = '%s[%d]' % (field, index)
        _object(limit, item)
        if not limit.get('pageSize'):
            raise errors.ConfigError(item + '.pageSize', 'is required (for example "2MB")')
        _string(limit['pageSize'], item + '.pageSize')
        if limit.get('limit') is None:
            raise errors.ConfigError(item + '.limit', 'is required')
        _uint(limit['limit'], item + '.limit')


def _check_network(network, field):
    _object(network, field)
    _optional(network, 'classID', field, _uint, UINT32_MAX, 'a 32-bit unsigned integer')
    priorities = network.get('priorities')
    if priorities is None:
        return
    _list(priorities, field + '.priorities')
    for index, priority in enumerate(priorities):
        item = '%s.priorities[%d]' % (field, index)
        _object(priority, item)
        if not priority.get('name'):
            raise errors.ConfigError(item + '.name', 'is required (an interface name)')
        _string(priority['name'], item + '.name')
        if priority.get('priority') is None:
            raise errors.ConfigError(item + '.priority', 'is required')
        _uint(priority['priority'], item + '.priority', UINT32_MAX, 'a 32-bit unsigned integer')


def _check_devices(devices, field):
    _list(devices, field)
    for index, device in enumerate(devices):
        item = '%s[%d]' % (field, index)
        _object(device, item)
        if device.get('allow') is None:
            raise errors.ConfigError(item + '.allow', 'is required (true or false)')
        _bool(device['allow'], item + '.allow')
        kind = device.get('type') or 'a'
        if kind not in ('a', 'b', 'c'):
            raise errors.ConfigError(item + '.type', 'must be "a", "b" or "c", got %r' % (kind,))
        for key in ('major', 'minor'):
            if device.get(key) is not None:
                _int64(device[key], '%s.%s' % (item, key))
                if device[key] < -1:
                    raise errors.ConfigError('%s.%s' % (item, key), 'must be a device number or -1 (any)')
        access = device.get('access')
        if not access:
            raise errors.ConfigError(item + '.access', 'cannot be empty (a combination of "r", "w" and "m")')
        _string(access, item + '.access')
        if set(access) - set('rwm'):
            raise errors.ConfigError(item + '.access', 'must be a combination of "r", "w" and "m", got %r' % access)


def _check_unified(unified, field):
    _object(unified, field)
    for key, value in unified.items():
        if '/' in key:
            raise errors.ConfigError('%s.%s' % (field, key), 'unified resource %r must be a file name (no slashes)' % key)
        if '.' not in key.strip('.'):
            raise errors.ConfigError('%s.%s' % (field, key), 'unified resource %r must be in the form CONTROLLER.PARAMETER' % key)
        _string(value, '%s.%s' % (field, key))


def _check_rdma(rdma, field):
    _object(rdma, field)
    for name, limits in rdma.items():
        item = '%s.%s' % (field, name)
        _object(limits, item)
        for key in ('hcaHandles', 'hcaObjects'):
            _optional(limits, key, item, _uint, UINT32_MAX, 'a 32-bit unsigned integer')


def merge_update(current, changes):
    """The resources after `runc update`: `changes` (a partial linux.resources) over `current`.

    Like runc, a memory limit of -1 with no swap given also makes swap
    unlimited. Unlike runc, values that are not given keep their current
    value in the result (runc forgets cpuset and pids settings it was not
    given). Devices are never changed by an update.
    """
    merged = copy.deepcopy(current) if current else {}
    changes = changes or {}
    _object(changes, PREFIX)
    # Sections merged by key must be well-formed before merging.
    check({key: changes[key] for key in ('hugepageLimits', 'unified', 'rdma') if changes.get(key) is not None})
    for section in ('memory', 'cpu', 'blockIO', 'pids', 'network'):
        update = changes.get(section)
        if not update:
            continue
        _object(update, '%s.%s' % (PREFIX, section))
        target = merged.setdefault(section, {})
        for key, value in update.items():
            if value is not None:
                target[key] = copy.deepcopy(value)
    memory = changes.get('memory') or {}
    if memory.get('limit') == -1 and memory.get('swap') is None:
        merged['memory']['swap'] = -1
    for section in ('hugepageLimits',):
        if changes.get(section):
            merged[section] = _merge_hugepages(merged.get(section) or [], changes[section])
    for section in ('unified', 'rdma'):
        if changes.get(section):
            merged.setdefault(section, {}).update(copy.deepcopy(changes[section]))
    check(merged)
    return merged


def _merge_hugepages(current, changes):
    by_size = {limit['pageSize']: dict(limit) for limit in current}
    for limit in changes:
        by_size[limit['pageSize']] = dict(limit)
    return [by_size[size] for size in sorted(by_size)]
