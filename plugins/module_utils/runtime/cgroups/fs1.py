# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing linux.resources to cgroup v1 controllers, the way runc's fs driver does.

One function per controller, called in runc's order (cpuset, devices, memory,
cpu, pids, blkio, hugetlb, net_cls, net_prio). Each takes the directory of
its controller and the OCI resources object, and names the spec field in
every error.
"""

import errno
import os

from .fsio import CgroupFieldError, field_error, read_text, read_uint, write_field
from .resources import get

MEMORY = 'linux.resources.memory'
CPU = 'linux.resources.cpu'
BLOCK_IO = 'linux.resources.blockIO'

# Which spec sections each v1 controller applies; a section given for an
# unmounted controller is an error (Manager.validate).
CONTROLLER_OF_SECTION = (
    (('cpu', 'cpus'), 'cpuset'),
    (('cpu', 'mems'), 'cpuset'),
    (('memory',), 'memory'),
    (('cpu', 'shares'), 'cpu'),
    (('cpu', 'quota'), 'cpu'),
    (('cpu', 'period'), 'cpu'),
    (('cpu', 'burst'), 'cpu'),
    (('cpu', 'realtimeRuntime'), 'cpu'),
    (('cpu', 'realtimePeriod'), 'cpu'),
    (('cpu', 'idle'), 'cpu'),
    (('pids',), 'pids'),
    (('blockIO',), 'blkio'),
    (('hugepageLimits',), 'hugetlb'),
    (('network', 'classID'), 'net_cls'),
    (('network', 'priorities'), 'net_prio'),
    (('rdma',), 'rdma'),
)


def set_cpuset(files, directory, resources):
    for key, name in (('cpus', 'cpuset.cpus'), ('mems', 'cpuset.mems')):
        value = get(resources, 'cpu', key)
        if value:
            write_field(files, directory, name, value, '%s.%s' % (CPU, key))


# The TCP buffer limit (linux.resources.memory.kernelTCP): cgroup v1 only,
# on kernels built with kernel memory accounting. crun writes it; runc 1.1
# ignores it with its kernel memory warning.
KMEM_TCP = 'memory.kmem.tcp.limit_in_bytes'
KMEM_TCP_MISSING = ('memory.kernelTCP is ignored: this kernel has no %s (no kernel memory accounting)' % KMEM_TCP)


def kernel_tcp_supported(files, directory):
    """Whether the memory cgroup `directory` (or, before it exists, an ancestor) has KMEM_TCP."""
    while not files.exists(directory, KMEM_TCP):
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return True


def set_memory(files, directory, resources):
    memory = get(resources, 'memory') or {}
    _set_memory_and_swap(files, directory, memory.get('limit') or 0, memory.get('swap') or 0)
    if memory.get('reservation'):
        write_field(files, directory, 'memory.soft_limit_in_bytes', memory['reservation'], MEMORY + '.reservation')
    if memory.get('disableOOMKiller'):
        write_field(files, directory, 'memory.oom_control', '1', MEMORY + '.disableOOMKiller')
    if memory.get('swappiness') is not None:
        write_field(files, directory, 'memory.swappiness', memory['swappiness'], MEMORY + '.swappiness')
    if memory.get('kernelTCP') and files.exists(directory, KMEM_TCP):
        write_field(files, directory, KMEM_TCP, memory['kernelTCP'], MEMORY + '.kernelTCP')
    if memory.get('useHierarchy') is not None:
        # Kernels since 5.19 are always hierarchical and refuse 0.
        write_field(files, directory, 'memory.use_hierarchy', '1' if memory['useHierarchy'] else '0',
                    MEMORY + '.useHierarchy')


def _set_memory_and_swap(files, directory, limit, swap):
    """memory.limit_in_bytes and memory.memsw.limit_in_bytes, in the order the kernel accepts.

    The kernel keeps memsw >= memory at every moment, so when the new
    memory+swap limit is above the current memory limit it goes first.
    """
    swap_file = files.exists(directory, 'memory.memsw.limit_in_bytes')
    if limit == -1 and swap == 0 and swap_file:
        swap = -1
    if swap == -1 and not swap_file:
        # Without swap accounting there is no swap limit: unlimited holds already.
        swap = 0
    if swap and not swap_file:
        raise CgroupFieldError(MEMORY + '.swap', 'this kernel has no swap accounting (memory.memsw.limit_in_bytes is '
                               'missing; boot with swapaccount=1) so a memory+swap limit cannot be applied')
    if limit and swap:
        current = read_uint(files, directory, 'memory.limit_in_bytes')
        if swap == -1 or current < swap:
            _write_swap(files, directory, swap)
            _write_limit(files, directory, limit)
            return
    _write_limit(files, directory, limit)
    _write_swap(files, directory, swap)


def _write_limit(files, directory, limit):
    if not limit:
        return
    try:
        files.write(directory, 'memory.limit_in_bytes', str(limit))
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise field_error(MEMORY + '.limit', directory, 'memory.limit_in_bytes', limit, exc)
        # EBUSY: the new limit is below what the cgroup already uses.
        usage = read_uint(files, directory, 'memory.usage_in_bytes')
        peak = read_uint(files, directory, 'memory.max_usage_in_bytes')
        raise CgroupFieldError(MEMORY + '.limit', 'unable to set memory limit to %d (current usage: %d, peak usage: %d)'
                               % (limit, usage, peak))


def _write_swap(files, directory, swap):
    if swap:
        write_field(files, directory, 'memory.memsw.limit_in_bytes', swap, MEMORY + '.swap')


def set_cpu(files, directory, resources):
    cpu = get(resources, 'cpu') or {}
    shares = cpu.get('shares')
    if shares:
        write_field(files, directory, 'cpu.shares', shares, CPU + '.shares')
        # The kernel clamps shares to [2, 262144]; report what it did.
        applied = read_uint(files, directory, 'cpu.shares')
        if shares > applied:
            raise CgroupFieldError(CPU + '.shares', 'the maximum allowed cpu-shares is %d' % applied)
        if shares < applied:
            raise CgroupFieldError(CPU + '.shares', 'the minimum allowed cpu-shares is %d' % applied)
    quota_follows = bool(cpu.get('quota'))
    period = _try_write(files, directory, 'cpu.cfs_period_us', cpu.get('period'), CPU + '.period', quota_follows)
    burst = _try_write(files, directory, 'cpu.cfs_burst_us', cpu.get('burst'), CPU + '.burst', quota_follows,
                       allow_zero=True)
    if cpu.get('quota'):
        write_field(files, directory, 'cpu.cfs_quota_us', cpu['quota'], CPU + '.quota')
        # A period or burst the kernel refused before the new quota was in place gets a second try.
        if period is not None:
            write_field(files, directory, 'cpu.cfs_period_us', period, CPU + '.period')
        if burst is not None:
            write_field(files, directory, 'cpu.cfs_burst_us', burst, CPU + '.burst')
    if cpu.get('idle') is not None:
        write_field(files, directory, 'cpu.idle', cpu['idle'], CPU + '.idle')
    set_realtime(files, directory, resources)


def _try_write(files, directory, name, value, field, quota_follows, allow_zero=False):
    """Write a value the kernel may refuse (EINVAL) until the new quota is in; return it if it must be retried."""
    if value is None or (value == 0 and not allow_zero):
        return None
    try:
        files.write(directory, name, str(value))
        return None
    except OSError as exc:
        if exc.errno != errno.EINVAL or not quota_follows:
            raise field_error(field, directory, name, value, exc)
        return value


def set_realtime(files, directory, resources):
    """cpu.rt_period_us and cpu.rt_runtime_us (runc also sets these before a process joins).

    A cgroup's real-time runtime must fit in its parent's, and new v1 cpu
    cgroups start with none: the parents need a runtime set first.
    """
    for key, name in (('realtimePeriod', 'cpu.rt_period_us'), ('realtimeRuntime', 'cpu.rt_runtime_us')):
        value = get(resources, 'cpu', key)
        if not value:
            continue
        try:
            files.write(directory, name, str(value))
        except OSError as exc:
            error = field_error('%s.%s' % (CPU, key), directory, name, value, exc)
            parent = os.path.dirname(directory)
            available = read_text(files, parent, 'cpu.rt_runtime_us')
            if exc.errno == errno.EINVAL and key == 'realtimeRuntime' and available is not None:
                error = CgroupFieldError(error.field, '%s; the parent cgroup %s has cpu.rt_runtime_us %s, and a child '
                                         'cannot get more real-time runtime than its parent (set it on the parents first)'
                                         % (error.reason, parent, available))
            raise error


def set_pids(files, directory, resources):
    limit = get(resources, 'pids', 'limit')
    if limit:
        write_field(files, directory, 'pids.max', limit if limit > 0 else 'max', 'linux.resources.pids.limit')


def set_blkio(files, directory, resources):
    block_io = get(resources, 'blockIO') or {}
    # CFQ had blkio.weight; with BFQ the files are blkio.bfq.weight*.
    if files.exists(directory, 'blkio.weight'):
        weight_file, weight_device_file = 'blkio.weight', 'blkio.weight_device'
    else:
        weight_file, weight_device_file = 'blkio.bfq.weight', 'blkio.bfq.weight_device'
    if block_io.get('weight'):
        write_field(files, directory, weight_file, block_io['weight'], BLOCK_IO + '.weight')
    if block_io.get('leafWeight'):
        write_field(files, directory, 'blkio.leaf_weight', block_io['leafWeight'], BLOCK_IO + '.leafWeight')
    for index, device in enumerate(block_io.get('weightDevice') or []):
        field = '%s.weightDevice[%d]' % (BLOCK_IO, index)
        if device.get('weight'):
            write_field(files, directory, weight_device_file, '%d:%d %d' % (device['major'], device['minor'], device['weight']),
                        field + '.weight')
        if device.get('leafWeight'):
            write_field(files, directory, 'blkio.leaf_weight_device',
                        '%d:%d %d' % (device['major'], device['minor'], device['leafWeight']), field + '.leafWeight')
    for key, name in (('throttleReadBpsDevice', 'blkio.throttle.read_bps_device'),
                      ('throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'),
                      ('throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'),
                      ('throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device')):
        for index, device in enumerate(block_io.get(key) or []):
            write_field(files, directory, name, '%d:%d %d' % (device['major'], device['minor'], device['rate']),
                        '%s.%s[%d]' % (BLOCK_IO, key, index))


def set_hugetlb(files, directory, resources):
    check_reservations = True
    for index, limit in enumerate(get(resources, 'hugepageLimits') or []):
        field = 'linux.resources.hugepageLimits[%d]' % index
        prefix = 'hugetlb.%s' % limit['pageSize']
        write_field(files, directory, prefix + '.limit_in_bytes', limit['limit'], field + '.limit')
        # Limit reservations too where the kernel has them (runc 1.2), so
        # that a mapping cannot reserve past the limit and fault later.
        if check_reservations:
            if files.exists(directory, prefix + '.rsvd.limit_in_bytes'):
                write_field(files, directory, prefix + '.rsvd.limit_in_bytes', limit['limit'], field + '.limit')
            else:
                check_reservations = False


def set_net_cls(files, directory, resources):
    class_id = get(resources, 'network', 'classID')
    if class_id:
        write_field(files, directory, 'net_cls.classid', class_id, 'linux.resources.network.classID')


def set_net_prio(files, directory, resources):
    for index, priority in enumerate(get(resources, 'network', 'priorities') or []):
        write_field(files, directory, 'net_prio.ifpriomap', '%s %d' % (priority['name'], priority['priority']),
                    'linux.resources.network.priorities[%d]' % index)


def set_rdma(files, directory, resources):
    for name, limits in sorted((get(resources, 'rdma') or {}).items()):
        write_field(files, directory, 'rdma.max', rdma_line(name, limits), 'linux.resources.rdma.%s' % name)


def rdma_line(name, limits):
    """'mlx4_0 hca_handle=2 hca_object=2000' (a missing limit is left out, as runc does)."""
    parts = [name]
    if limits.get('hcaHandles') is not None:
        parts.append('hca_handle=%d' % limits['hcaHandles'])
    if limits.get('hcaObjects') is not None:
        parts.append('hca_object=%d' % limits['hcaObjects'])
    return ' '.join(parts)


# (controller, setter) in runc's order; devices sits between cpuset and memory.
SETTERS = (
    ('cpuset', set_cpuset),
    ('memory', set_memory),
    ('cpu', set_cpu),
    ('pids', set_pids),
    ('blkio', set_blkio),
    ('hugetlb', set_hugetlb),
    ('net_cls', set_net_cls),
    ('net_prio', set_net_prio),
    ('rdma', set_rdma),
)
