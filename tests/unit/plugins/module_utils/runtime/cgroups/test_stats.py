# -*- coding: utf-8 -*-
"""Stats in the shape of runc 1.1's `events --stats` data, from v1 and v2 files."""

import os

from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import stats

V1 = {name: '/cg/%s/ctr' % name for name in ('cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb')}
V2 = '/cg/unified/ctr'


def test_page_size_names_are_runcs(tmp_path):
    for name in ('hugepages-2048kB', 'hugepages-1048576kB', 'hugepages-64kB', 'other'):
        os.mkdir(str(tmp_path / name))
    assert stats.hugepage_sizes(str(tmp_path)) == ['64KB', '2MB', '1GB']
    assert stats.page_size_name(32 * 2 ** 20) == '32MB'


def test_cpu_lists():
    assert stats.parse_cpu_list('0-2,4,7-8\n') == [0, 1, 2, 4, 7, 8]
    assert stats.parse_cpu_list('') == []


def test_v1_stats(fake_files):
    d = V1
    ticks = os.sysconf('SC_CLK_TCK')
    files = fake_files({
        (d['cpu'], 'cpu.stat'): 'nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n',
        (d['cpuacct'], 'cpuacct.usage'): '900\n', (d['cpuacct'], 'cpuacct.stat'): 'user %d\nsystem %d\n' % (ticks, 2 * ticks),
        (d['cpuacct'], 'cpuacct.usage_percpu'): '600 300 \n',
        (d['cpuacct'], 'cpuacct.usage_all'): 'cpu user system\n0 400 200\n1 300 0\n',
        (d['cpuset'], 'cpuset.cpus'): '0-1\n', (d['cpuset'], 'cpuset.mems'): '0\n',
        (d['cpuset'], 'cpuset.sched_load_balance'): '1\n', (d['cpuset'], 'cpuset.sched_relax_domain_level'): '-1\n',
        (d['memory'], 'memory.stat'): 'cache 4096\nrss 8192\n', (d['memory'], 'memory.usage_in_bytes'): '12288\n',
        (d['memory'], 'memory.max_usage_in_bytes'): '20000\n', (d['memory'], 'memory.failcnt'): '0\n',
        (d['memory'], 'memory.limit_in_bytes'): '104857600\n',
        (d['memory'], 'memory.memsw.usage_in_bytes'): '12288\n', (d['memory'], 'memory.memsw.max_usage_in_bytes'): '0\n',
        (d['memory'], 'memory.memsw.failcnt'): '2\n', (d['memory'], 'memory.memsw.limit_in_bytes'): '209715200\n',
        (d['pids'], 'pids.current'): '3\n', (d['pids'], 'pids.max'): 'max\n',
        (d['blkio'], 'blkio.bfq.io_serviced_recursive'): '',
        (d['blkio'], 'blkio.throttle.io_serviced_recursive'): '8:0 Read 5\n8:0 Write 0\nTotal 5\n',
        (d['blkio'], 'blkio.throttle.io_service_bytes_recursive'): '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n',
        (d['hugetlb'], 'hugetlb.2MB.usage_in_bytes'): '0\n', (d['hugetlb'], 'hugetlb.2MB.max_usage_in_bytes'): '0\n',
        (d['hugetlb'], 'hugetlb.2MB.failcnt'): '1\n',
    })
    data = stats.read_v1(files, V1, ['2MB'])
    assert data['cpu'] == {'usage': {'total': 900, 'percpu': [600, 300], 'percpu_kernel': [200, 0], 'percpu_user': [400, 300],
                                     'kernel': 2 * 10 ** 9, 'user': 10 ** 9},
                           'throttling': {'periods': 10, 'throttledPeriods': 3, 'throttledTime': 5000}}
    assert data['cpuset']['cpus'] == [0, 1] and data['cpuset']['sched_relax_domain_level'] == -1
    assert data['memory']['cache'] == 4096
    assert data['memory']['usage'] == {'limit': 104857600, 'usage': 12288, 'max': 20000, 'failcnt': 0}
    assert data['memory']['swap'] == {'limit': 209715200, 'usage': 12288, 'failcnt': 2}
    assert data['memory']['kernel'] == {'limit': 0, 'failcnt': 0}
    assert data['memory']['raw'] == {'cache': 4096, 'rss': 8192}
    assert data['pids'] == {'current': 3}
    # The empty BFQ file sends runc (and us) to the throttle files; zero fields are omitted (omitempty).
    assert data['blkio'] == {'ioServicedRecursive': [{'major': 8, 'op': 'Read', 'value': 5}, {'major': 8, 'op': 'Write'}],
                             'ioServiceBytesRecursive': [{'major': 8, 'op': 'Read', 'value': 4096},
                                                         {'major': 8, 'op': 'Write'}]}
    assert data['hugetlb'] == {'2MB': {'failcnt': 1}}
    assert data['intel_rdt'] == {} and data['network_interfaces'] is None


def test_v2_stats(fake_files):
    files = fake_files({
        (V2, 'cpu.stat'): 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n',
        (V2, 'memory.stat'): 'anon 8192\nfile 4096\n', (V2, 'memory.current'): '12288\n', (V2, 'memory.max'): '1048576\n',
        (V2, 'memory.events'): 'low 0\nhigh 0\nmax 5\noom 0\noom_kill 0\n',
        (V2, 'memory.swap.current'): '100\n', (V2, 'memory.swap.max'): 'max\n',
        (V2, 'pids.current'): '2\n', (V2, 'pids.max'): '10\n',
        (V2, 'io.stat'): '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
        (V2, 'hugetlb.2MB.current'): '2097152\n', (V2, 'hugetlb.2MB.events'): 'max 3\n',
    })
    data = stats.read_v2(files, V2, ['2MB', '1GB'])
    assert data['cpu'] == {'usage': {'total': 1500000, 'kernel': 500000, 'user': 1000000},
                           'throttling': {'periods': 4, 'throttledPeriods': 1, 'throttledTime': 7000}}
    assert data['memory']['cache'] == 4096
    assert data['memory']['usage'] == {'limit': 1048576, 'usage': 12288, 'failcnt': 5}
    assert data['memory']['swap'] == {'limit': 2 ** 64 - 1, 'usage': 12388, 'failcnt': 0}
    assert data['pids'] == {'current': 2, 'limit': 10}
    assert data['blkio']['ioServiceBytesRecursive'] == [{'major': 8, 'op': 'Read', 'value': 4096},
                                                        {'major': 8, 'op': 'Write'}]
    assert data['hugetlb'] == {'2MB': {'usage': 2097152, 'failcnt': 3}}


def test_v2_pids_without_the_controller_count_processes(fake_files):
    files = fake_files({(V2, 'cgroup.procs'): '10\n11\n12\n'})
    assert stats.read_v2(files, V2, [])['pids'] == {'current': 3}


def test_empty_stats_have_every_top_level_key():
    assert sorted(stats.empty()) == ['blkio', 'cpu', 'cpuset', 'hugetlb', 'intel_rdt', 'memory', 'network_interfaces', 'pids']
