# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource usage of a container, shaped like the `data` of `runc events --stats`.

The keys and the omitted zero values follow runc 1.1's types.Stats
(encoding/json with omitempty): for example "throttling" is {} until the
cgroup has been throttled, and a memory entry always has "limit" and
"failcnt" but "usage" and "max" only when they are not zero.
"""

import os

from .fsio import parse_uint, read_key_values, read_text

HUGEPAGES_DIR = '/sys/kernel/mm/hugepages'
NANOSECONDS = 1000000000


def hugepage_sizes(directory=HUGEPAGES_DIR):
    """The host's huge page sizes as runc names them ("2MB", "1GB"), sorted by size."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    sizes = []
    for name in names:
        if name.startswith('hugepages-') and name.endswith('kB'):
            try:
                sizes.append(int(name[len('hugepages-'):-2]) * 1024)
            except ValueError:
                continue
    return [page_size_name(size) for size in sorted(sizes)]


def page_size_name(size):
    """runc's name for a page size in bytes: 2097152 -> "2MB" (units.CustomSize "%g%s", base 1024)."""
    units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
    index = 0
    value = float(size)
    while value >= 1024 and index < len(units) - 1:
        value /= 1024
        index += 1
    return '%g%s' % (value, units[index])


def _omit_zero(entry, keys):
    """Drop the keys that are omitempty in runc's types when their value is zero/empty."""
    return {key: value for key, value in entry.items() if key not in keys or value}


def _memory_entry(limit=0, usage=0, peak=0, failcnt=0):
    return _omit_zero({'limit': limit, 'usage': usage, 'max': peak, 'failcnt': failcnt}, ('usage', 'max'))


def _blkio_entries(entries):
    return [_omit_zero({'major': e[0], 'minor': e[1], 'op': e[2], 'value': e[3]}, ('major', 'minor', 'op', 'value'))
            for e in entries]


def empty():
    """Stats of a container without cgroups (everything zero)."""
    return assemble({}, {}, {}, {}, {}, {}, {})


def assemble(cpu_usage, throttling, cpuset, memory, pids, blkio, hugetlb):
    """The `data` object from the parts the v1 and v2 readers collect."""
    usage = {'total': cpu_usage.get('total', 0), 'percpu': cpu_usage.get('percpu', []),
             'percpu_kernel': cpu_usage.get('percpu_kernel', []), 'percpu_user': cpu_usage.get('percpu_user', []),
             'kernel': cpu_usage.get('kernel', 0), 'user': cpu_usage.get('user', 0)}
    cpuset_data = {'cpus': cpuset.get('cpus', []), 'cpu_exclusive': cpuset.get('cpu_exclusive', 0),
                   'mems': cpuset.get('mems', []), 'mem_hardwall': cpuset.get('mem_hardwall', 0),
                   'mem_exclusive': cpuset.get('mem_exclusive', 0), 'memory_migrate': cpuset.get('memory_migrate', 0),
                   'memory_spread_page': cpuset.get('memory_spread_page', 0),
                   'memory_spread_slab': cpuset.get('memory_spread_slab', 0),
                   'memory_pressure': cpuset.get('memory_pressure', 0),
                   'sched_load_balance': cpuset.get('sched_load_balance', 0),
                   'sched_relax_domain_level': cpuset.get('sched_relax_domain_level', 0)}
    memory_data = {'cache': memory.get('cache', 0),
                   'usage': _memory_entry(**memory.get('usage', {})),
                   'swap': _memory_entry(**memory.get('swap', {})),
                   'kernel': _memory_entry(**memory.get('kernel', {})),
                   'kernelTCP': _memory_entry(**memory.get('kernelTCP', {})),
                   'raw': memory.get('raw', {})}
    blkio_data = {key: _blkio_entries(blkio.get(key, [])) for key in (
        'ioServiceBytesRecursive', 'ioServicedRecursive', 'ioQueueRecursive', 'ioServiceTimeRecursive',
        'ioWaitTimeRecursive', 'ioMergedRecursive', 'ioTimeRecursive', 'sectorsRecursive')}
    return {
        'cpu': {'usage': _omit_zero(usage, ('total', 'percpu', 'percpu_kernel', 'percpu_user')),
                'throttling': _omit_zero({'periods': throttling.get('periods', 0),
                                          'throttledPeriods': throttling.get('throttledPeriods', 0),
                                          'throttledTime': throttling.get('throttledTime', 0)},
                                         ('periods', 'throttledPeriods', 'throttledTime'))},
        'cpuset': _omit_zero(cpuset_data, ('cpus', 'mems')),
        'memory': _omit_zero(memory_data, ('cache', 'raw')),
        'pids': _omit_zero({'current': pids.get('current', 0), 'limit': pids.get('limit', 0)}, ('current', 'limit')),
        'blkio': _omit_zero(blkio_data, tuple(blkio_data)),
        'hugetlb': {size: _omit_zero({'usage': value.get('usage', 0), 'max': value.get('max', 0),
                                      'failcnt': value.get('failcnt', 0)}, ('usage', 'max'))
                    for size, value in hugetlb.items()},
        'intel_rdt': {},
        'network_interfaces': None,
    }


def _uint_or_zero(files, directory, name):
    text = read_text(files, directory, name)
    if not text:
        return 0
    try:
        return parse_uint(text)
    except ValueError:
        return 0


def _int_or_zero(files, directory, name):
    text = read_text(files, directory, name)
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def parse_cpu_list(text):
    """"0-2,4" -> [0, 1, 2, 4]."""
    found = []
    for part in (text or '').strip().split(','):
        if not part:
            continue
        low, high = (part.split('-', 1) + [''])[:2]
        found.extend(range(int(low), int(high or low) + 1))
    return found


def _memory_v1(files, directory, name):
    prefix = 'memory.' + name + '.' if name else 'memory.'
    if name and read_text(files, directory, prefix + 'usage_in_bytes') is None:
        return {}
    return {'usage': _uint_or_zero(files, directory, prefix + 'usage_in_bytes'),
            'peak': _uint_or_zero(files, directory, prefix + 'max_usage_in_bytes'),
            'failcnt': _uint_or_zero(files, directory, prefix + 'failcnt'),
            'limit': _uint_or_zero(files, directory, prefix + 'limit_in_bytes')}


def _blkio_v1(files, directory):
    """runc's order of preference: BFQ debug files, BFQ, CFQ, throttle (recursive), throttle."""
    groups = (
        (('blkio.bfq.sectors_recursive', 'sectorsRecursive'),
         ('blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'),
         ('blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'),
         ('blkio.bfq.io_merged_recursive', 'ioMergedRecursive'),
         ('blkio.bfq.io_queued_recursive', 'ioQueueRecursive'),
         ('blkio.bfq.time_recursive', 'ioTimeRecursive'),
         ('blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'),
         ('blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive')),
        (('blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'),
         ('blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive')),
        (('blkio.sectors_recursive', 'sectorsRecursive'),
         ('blkio.io_service_time_recursive', 'ioServiceTimeRecursive'),
         ('blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'),
         ('blkio.io_merged_recursive', 'ioMergedRecursive'),
         ('blkio.io_queued_recursive', 'ioQueueRecursive'),
         ('blkio.time_recursive', 'ioTimeRecursive'),
         ('blkio.io_serviced_recursive', 'ioServicedRecursive'),
         ('blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive')),
        (('blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'),
         ('blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive')),
        (('blkio.throttle.io_serviced', 'ioServicedRecursive'),
         ('blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive')),
    )
    for group in groups:
        found = {}
        for index, (name, key) in enumerate(group):
            entries = _blkio_file(files, directory, name)
            if not entries:
                # An empty first file means "not this scheduler": try the next group.
                if index == 0:
                    break
                return found
            found[key] = entries
        else:
            return found
    return {}


def _blkio_file(files, directory, name):
    """'8:0 Read 1282048' lines as (major, minor, op, value); the 'Total' lines are skipped."""
    text = read_text(files, directory, name)
    entries = []
    for line in (text or '').splitlines():
        fields = line.replace(':', ' ').split()
        if len(fields) < 3:
            continue
        if len(fields) == 4:
            entries.append((int(fields[0]), int(fields[1]), fields[2], int(fields[3])))
        else:
            entries.append((int(fields[0]), int(fields[1]), '', int(fields[2])))
    return entries


def read_v1(files, dirs, page_sizes):
    """Stats from the v1 controllers in `dirs` ({controller: directory})."""
    cpu_usage = {}
    throttling = {}
    cpuset = {}
    memory = {}
    pids = {}
    blkio = {}
    hugetlb = {}
    if 'cpu' in dirs:
        stat = read_key_values(files, dirs['cpu'], 'cpu.stat')
        throttling = {'periods': stat.get('nr_periods', 0), 'throttledPeriods': stat.get('nr_throttled', 0),
                      'throttledTime': stat.get('throttled_time', 0)}
    if 'cpuacct' in dirs:
        cpu_usage = _cpuacct(files, dirs['cpuacct'])
    if 'cpuset' in dirs:
        directory = dirs['cpuset']
        cpuset = {'cpus': parse_cpu_list(read_text(files, directory, 'cpuset.cpus')),
                  'mems': parse_cpu_list(read_text(files, directory, 'cpuset.mems'))}
        for key in ('cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page',
                    'memory_spread_slab', 'memory_pressure', 'sched_load_balance'):
            cpuset[key] = _uint_or_zero(files, directory, 'cpuset.' + key)
        cpuset['sched_relax_domain_level'] = _int_or_zero(files, directory, 'cpuset.sched_relax_domain_level')
    if 'memory' in dirs:
        directory = dirs['memory']
        raw = read_key_values(files, directory, 'memory.stat')
        memory = {'cache': raw.get('cache', 0), 'raw': raw, 'usage': _memory_v1(files, directory, ''),
                  'swap': _memory_v1(files, directory, 'memsw'), 'kernel': _memory_v1(files, directory, 'kmem'),
                  'kernelTCP': _memory_v1(files, directory, 'kmem.tcp')}
    if 'pids' in dirs:
        limit = _uint_or_zero(files, dirs['pids'], 'pids.max')
        pids = {'current': _uint_or_zero(files, dirs['pids'], 'pids.current'),
                'limit': 0 if limit == 2 ** 64 - 1 else limit}
    if 'blkio' in dirs:
        blkio = _blkio_v1(files, dirs['blkio'])
    if 'hugetlb' in dirs:
        for size in page_sizes:
            prefix = 'hugetlb.%s.' % size
            hugetlb[size] = {'usage': _uint_or_zero(files, dirs['hugetlb'], prefix + 'usage_in_bytes'),
                             'max': _uint_or_zero(files, dirs['hugetlb'], prefix + 'max_usage_in_bytes'),
                             'failcnt': _uint_or_zero(files, dirs['hugetlb'], prefix + 'failcnt')}
    return assemble(cpu_usage, throttling, cpuset, memory, pids, blkio, hugetlb)


def _cpuacct(files, directory):
    ticks = os.sysconf('SC_CLK_TCK') or 100
    stat = read_key_values(files, directory, 'cpuacct.stat')
    usage = {'total': _uint_or_zero(files, directory, 'cpuacct.usage'),
             'user': stat.get('user', 0) * NANOSECONDS // ticks,
             'kernel': stat.get('system', 0) * NANOSECONDS // ticks,
             'percpu': [int(v) for v in (read_text(files, directory, 'cpuacct.usage_percpu') or '').split()]}
    rows = (read_text(files, directory, 'cpuacct.usage_all') or '').splitlines()[1:]
    kernel, user = [], []
    for row in rows:
        fields = row.split()
        if len(fields) == 3:
            user.append(int(fields[1]))
            kernel.append(int(fields[2]))
    usage['percpu_kernel'] = kernel
    usage['percpu_user'] = user
    return usage


def read_v2(files, directory, page_sizes):
    """Stats from one cgroup v2 directory."""
    stat = read_key_values(files, directory, 'cpu.stat')
    cpu_usage = {'total': stat.get('usage_usec', 0) * 1000, 'user': stat.get('user_usec', 0) * 1000,
                 'kernel': stat.get('system_usec', 0) * 1000}
    throttling = {'periods': stat.get('nr_periods', 0), 'throttledPeriods': stat.get('nr_throttled', 0),
                  'throttledTime': stat.get('throttled_usec', 0) * 1000}
    raw = read_key_values(files, directory, 'memory.stat')
    memory = {'cache': raw.get('file', 0), 'raw': raw}
    if read_text(files, directory, 'memory.current') is not None:
        usage = {'usage': _uint_or_zero(files, directory, 'memory.current'),
                 'limit': _uint_or_zero(files, directory, 'memory.max'),
                 'peak': _uint_or_zero(files, directory, 'memory.peak'),
                 'failcnt': read_key_values(files, directory, 'memory.events').get('max', 0)}
        memory['usage'] = usage
        if read_text(files, directory, 'memory.swap.current') is not None:
            # v1 reported memory+swap; keep that meaning, as runc does.
            swap_limit = _uint_or_zero(files, directory, 'memory.swap.max')
            if swap_limit != 2 ** 64 - 1:
                swap_limit += usage['limit']
            memory['swap'] = {'usage': _uint_or_zero(files, directory, 'memory.swap.current') + usage['usage'],
                              'limit': min(swap_limit, 2 ** 64 - 1)}
    pids_max = read_text(files, directory, 'pids.max')
    if pids_max is not None:
        pids = {'current': _uint_or_zero(files, directory, 'pids.current'),
                'limit': 0 if pids_max == 'max' else _uint_or_zero(files, directory, 'pids.max')}
    else:
        procs = read_text(files, directory, 'cgroup.procs') or ''
        pids = {'current': len(procs.split()), 'limit': 0}
    blkio = _io_v2(files, directory)
    hugetlb = {}
    for size in page_sizes:
        prefix = 'hugetlb.%s.' % size
        if read_text(files, directory, prefix + 'current') is None:
            continue
        hugetlb[size] = {'usage': _uint_or_zero(files, directory, prefix + 'current'),
                         'failcnt': read_key_values(files, directory, prefix + 'events').get('max', 0)}
    return assemble(cpu_usage, throttling, {}, memory, pids, blkio, hugetlb)


def _io_v2(files, directory):
    """io.stat in v1's tables: rbytes/wbytes as service bytes, rios/wios as serviced."""
    tables = {'ioServiceBytesRecursive': [], 'ioServicedRecursive': []}
    targets = {'rbytes': ('ioServiceBytesRecursive', 'Read'), 'wbytes': ('ioServiceBytesRecursive', 'Write'),
               'rios': ('ioServicedRecursive', 'Read'), 'wios': ('ioServicedRecursive', 'Write')}
    for line in (read_text(files, directory, 'io.stat') or '').splitlines():
        parts = line.split()
        if len(parts) < 2 or ':' not in parts[0]:
            continue
        major, minor = (int(n) for n in parts[0].split(':'))
        for item in parts[1:]:
            key, value = (item.split('=', 1) + [''])[:2]
            if key in targets:
                table, op = targets[key]
                tables[table].append((major, minor, op, int(value)))
    return tables
