# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing linux.resources to a cgroup v2 directory, the way runc's fs2 driver does.

The OCI spec speaks cgroup v1; this converts as runc does: cpu.shares to
cpu.weight, memory+swap to memory.swap.max, blkio weight to io.weight,
throttles to io.max lines, hugetlb limits to hugetlb.<size>.max, devices to
an eBPF program. Settings v2 has no file for are warnings where runc ignores
them, errors where ignoring them would change what the container may do.
"""

import errno
import os

from . import ebpf
from .fs1 import rdma_line
from .fsio import CgroupFieldError, CgroupFiles, field_error, read_text, read_uint, write_field
from .resources import get

MEMORY = 'linux.resources.memory'
CPU = 'linux.resources.cpu'
BLOCK_IO = 'linux.resources.blockIO'

# Settings cgroup v2 cannot express; Manager.validate refuses them.
UNSUPPORTED = (
    (('cpu', 'realtimeRuntime'), 'cgroup v2 has no real-time CPU bandwidth control'),
    (('cpu', 'realtimePeriod'), 'cgroup v2 has no real-time CPU bandwidth control'),
    (('network', 'classID'), 'net_cls is a cgroup v1 controller and has no cgroup v2 equivalent'),
    (('network', 'priorities'), 'net_prio is a cgroup v1 controller and has no cgroup v2 equivalent'),
)

# Settings cgroup v2 has no file for and runc ignores there: (path, ignored when, warning).
IGNORED = (
    (('memory', 'swappiness'), lambda v: v is not None, 'memory.swappiness is not supported by cgroup v2 and is ignored'),
    (('memory', 'disableOOMKiller'), lambda v: v, 'memory.disableOOMKiller is not supported by cgroup v2 and is ignored'),
    (('memory', 'useHierarchy'), lambda v: v is False, 'cgroup v2 is always hierarchical: memory.useHierarchy=false is ignored'),
    (('blockIO', 'leafWeight'), lambda v: v, 'blockIO.leafWeight is not supported by cgroup v2 and is ignored'),
    (('memory', 'kernelTCP'), lambda v: v, 'memory.kernelTCP is not supported by cgroup v2 and is ignored'),
)


def cpu_weight(shares):
    """runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] onto [1, 10000]; 0 stays unset."""
    if not shares:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def io_weight(blkio_weight):
    """runc's ConvertBlkIOToIOWeightValue: [10, 1000] onto [1, 10000]; 0 stays unset."""
    if not blkio_weight:
        return 0
    return 1 + ((blkio_weight - 10) * 9999) // 990


def swap_max(swap, limit):
    """runc's ConvertMemorySwapToCgroupV2Value: memory+swap (v1 semantics) to swap alone.

    Returns the memory.swap.max value: -1 for "max", 0 for unset; raises ValueError.
    """
    if limit == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap
    if limit == -1:
        return swap
    if limit == 0:
        raise ValueError('unable to set swap limit without memory limit')
    if limit < 0:
        raise ValueError('invalid memory value: %d' % limit)
    if swap < limit:
        raise ValueError('memory+swap limit should be >= memory limit')
    return swap - limit


def _number(value):
    """runc's numToStr: -1 is "max", 0 is "" (nothing to write)."""
    if value == 0:
        return ''
    if value == -1:
        return 'max'
    return str(value)


def set_pids(files, directory, resources):
    value = _number(get(resources, 'pids', 'limit') or 0)
    if value:
        write_field(files, directory, 'pids.max', value, 'linux.resources.pids.limit')


def set_memory(files, directory, resources):
    memory = get(resources, 'memory') or {}
    limit = memory.get('limit') or 0
    swap = memory.get('swap') or 0
    reservation = memory.get('reservation') or 0
    if not (limit or swap or reservation):
        return
    if memory.get('checkBeforeUpdate') and limit > 0:
        current = read_uint(files, directory, 'memory.current')
        if limit < current:
            raise CgroupFieldError(MEMORY + '.limit', 'rejecting memory limit %d below current usage %d' % (limit, current))
    try:
        swap_value = swap_max(swap, limit)
    except ValueError as exc:
        raise CgroupFieldError(MEMORY + '.swap', str(exc))
    text = _number(swap_value)
    if not text and swap > 0:
        # memory and memory+swap equal: no swap at all.
        text = '0'
    if text:
        try:
            files.write(directory, 'memory.swap.max', text)
        except OSError as exc:
            # Without swap accounting there is no swap to limit: "max" and "0" hold anyway.
            if not (exc.errno == errno.ENOENT and text in ('max', '0')):
                raise field_error(MEMORY + '.swap', directory, 'memory.swap.max', text, exc)
    if _number(limit):
        write_field(files, directory, 'memory.max', _number(limit), MEMORY + '.limit')
    if _number(reservation):
        write_field(files, directory, 'memory.low', _number(reservation), MEMORY + '.reservation')


def set_io(files, directory, resources):
    block_io = get(resources, 'blockIO') or {}
    if block_io.get('weight'):
        _write_weight(files, directory, None, block_io['weight'], BLOCK_IO + '.weight')
    for index, device in enumerate(block_io.get('weightDevice') or []):
        if device.get('weight'):
            _write_weight(files, directory, '%d:%d' % (device['major'], device['minor']), device['weight'],
                          '%s.weightDevice[%d].weight' % (BLOCK_IO, index))
    for key, name in (('throttleReadBpsDevice', 'rbps'), ('throttleWriteBpsDevice', 'wbps'),
                      ('throttleReadIOPSDevice', 'riops'), ('throttleWriteIOPSDevice', 'wiops')):
        for index, device in enumerate(block_io.get(key) or []):
            write_field(files, directory, 'io.max', '%d:%d %s=%d' % (device['major'], device['minor'], name, device['rate']),
                        '%s.%s[%d]' % (BLOCK_IO, key, index))


def _write_weight(files, directory, device, weight, field):
    """io.bfq.weight takes blkio's scale; without BFQ, io.weight takes the converted value."""
    prefix = device + ' ' if device else ''
    try:
        files.write(directory, 'io.bfq.weight', prefix + str(weight))
        return
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise field_error(field, directory, 'io.bfq.weight', prefix + str(weight), exc)
    write_field(files, directory, 'io.weight', prefix + str(io_weight(weight)), field)


def set_cpu(files, directory, resources):
    cpu = get(resources, 'cpu') or {}
    if cpu.get('idle') is not None:
        write_field(files, directory, 'cpu.idle', cpu['idle'], CPU + '.idle')
    weight = cpu_weight(cpu.get('shares') or 0)
    if weight:
        write_field(files, directory, 'cpu.weight', weight, CPU + '.shares')
    quota = cpu.get('quota') or 0
    period = cpu.get('period') or 0
    burst = cpu.get('burst')
    retry_burst = False
    if burst is not None:
        try:
            files.write(directory, 'cpu.max.burst', str(burst))
        except OSError as exc:
            # A burst above the old quota is refused until the new quota is in.
            if exc.errno != errno.EINVAL or not quota:
                raise field_error(CPU + '.burst', directory, 'cpu.max.burst', burst, exc)
            retry_burst = True
    if quota or period:
        value = '%s %d' % (quota if quota > 0 else 'max', period or 100000)
        write_field(files, directory, 'cpu.max', value, CPU + ('.quota' if quota else '.period'))
        if retry_burst:
            write_field(files, directory, 'cpu.max.burst', burst, CPU + '.burst')


def set_devices(directory, rules):
    ebpf.attach(directory, rules)


def set_cpuset(files, directory, resources):
    for key, name in (('cpus', 'cpuset.cpus'), ('mems', 'cpuset.mems')):
        value = get(resources, 'cpu', key)
        if value:
            write_field(files, directory, name, value, '%s.%s' % (CPU, key))


def set_hugetlb(files, directory, resources):
    check_reservations = True
    for index, limit in enumerate(get(resources, 'hugepageLimits') or []):
        field = 'linux.resources.hugepageLimits[%d].limit' % index
        prefix = 'hugetlb.%s' % limit['pageSize']
        write_field(files, directory, prefix + '.max', limit['limit'], field)
        if check_reservations:
            if files.exists(directory, prefix + '.rsvd.max'):
                write_field(files, directory, prefix + '.rsvd.max', limit['limit'], field)
            else:
                check_reservations = False


def set_rdma(files, directory, resources):
    for name, limits in sorted((get(resources, 'rdma') or {}).items()):
        write_field(files, directory, 'rdma.max', rdma_line(name, limits), 'linux.resources.rdma.%s' % name)


def set_unified(files, directory, resources):
    for key, value in sorted((get(resources, 'unified') or {}).items()):
        field = 'linux.resources.unified.%s' % key
        try:
            files.write(directory, key, value)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EPERM, errno.EACCES):
                controller = key.split('.', 1)[0]
                available = (read_text(files, directory, 'cgroup.controllers') or '').split()
                if controller != 'cgroup' and controller not in available:
                    raise CgroupFieldError(field, 'unified resource %r cannot be set: controller %r is not available in %s'
                                           % (key, controller, directory))
            raise field_error(field, directory, key, value, exc)


def set_all(files, directory, resources, rules):
    """Every setting, in runc's order; `rules` None leaves the device filter alone (update)."""
    set_pids(files, directory, resources)
    set_memory(files, directory, resources)
    set_io(files, directory, resources)
    set_cpu(files, directory, resources)
    if rules is not None:
        set_devices(directory, rules)
    set_cpuset(files, directory, resources)
    set_hugetlb(files, directory, resources)
    set_rdma(files, directory, resources)
    set_unified(files, directory, resources)


def create_path(root, directory, files=None, made=None, domain_limits=False):
    """mkdir the cgroup and its parents below `root`, enabling the root's controllers on the way down.

    Returns the directories it made (also appended to `made`). As in runc, a
    level in "domain invalid" state (processes in an inner node) is turned
    "threaded" unless the container needs domain controllers (memory, io,
    cpu, hugetlb: `domain_limits`), which threaded cgroups cannot have.
    """
    files = files or CgroupFiles()
    available = (read_text(files, root, 'cgroup.controllers') or '').split()
    enable = ' '.join('+' + name for name in available)
    relative = os.path.relpath(directory, root)
    parts = [] if relative == '.' else relative.split(os.sep)
    made = [] if made is None else made
    current = root
    for part in parts:
        if enable:
            _enable(files, current, enable)
        current = os.path.join(current, part)
        try:
            os.mkdir(current, 0o755)
            made.append(current)
        except FileExistsError:
            pass
        except OSError as exc:
            raise CgroupFieldError('linux.cgroupsPath', 'cannot create cgroup %s: %s' % (current, exc.strerror or exc))
        _check_type(files, current, domain_limits)
    return made


def _check_type(files, directory, domain_limits):
    kind = read_text(files, directory, 'cgroup.type')
    if kind == 'domain invalid':
        if domain_limits:
            raise CgroupFieldError('linux.cgroupsPath', 'cannot use cgroup %s for memory, io, cpu or hugetlb limits: it is '
                                   'in "domain invalid" state (its parent has processes of its own)' % directory)
        try:
            files.write(directory, 'cgroup.type', 'threaded')
        except OSError:
            pass
    elif kind in ('domain threaded', 'threaded') and domain_limits:
        raise CgroupFieldError('linux.cgroupsPath', 'cannot use cgroup %s for memory, io, cpu or hugetlb limits: it is '
                               'in %s mode' % (directory, kind))


def _enable(files, directory, enable):
    """Enable every controller for the children of `directory`, one by one if all at once fails."""
    try:
        files.write(directory, 'cgroup.subtree_control', enable)
    except OSError:
        for name in enable.split():
            try:
                files.write(directory, 'cgroup.subtree_control', name)
            except OSError:
                continue
