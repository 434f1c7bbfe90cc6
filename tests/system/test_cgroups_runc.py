# -*- coding: utf-8 -*-
"""Differential: the cgroup files runc 1.1 writes for a busybox container vs what the Manager writes.

runc runs `sleep` detached in a bundle whose linux.resources sets every
controller this host has; a Manager applies the same resources to a cgroup
next to it. The files must hold the same values. The Manager then reads
runc's cgroup for stats and the freezer state, and runc must see a freeze
made by the Manager as "paused".
"""

import json
import os
import shutil
import subprocess

import pytest

from cgroupslib import BUSYBOX, cgroups, leftovers, make_busybox_rootfs, unique_name
from systemlib import block_io_weight_supported
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import update
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.manager import Manager

RUNC = shutil.which('runc')
MIB = 2 ** 20

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='runc and cgroup system tests need root'),
    pytest.mark.skipif(RUNC is None, reason='runc is not installed (apt-get install runc)'),
    pytest.mark.skipif(not os.path.exists(BUSYBOX), reason='busybox-static is not installed'),
    pytest.mark.skipif(cgroups.layout() == 'unified', reason='compares cgroup v1 files; resource limits on v2 cannot be exercised here'),
]

# (controller, file) pairs compared (memory.oom_control without its counters).
COMPARED = [
    ('memory', 'memory.limit_in_bytes'), ('memory', 'memory.memsw.limit_in_bytes'), ('memory', 'memory.soft_limit_in_bytes'),
    ('memory', 'memory.swappiness'), ('memory', 'memory.oom_control'), ('memory', 'memory.kmem.limit_in_bytes'),
    ('memory', 'memory.kmem.tcp.limit_in_bytes'), ('memory', 'memory.use_hierarchy'),
    ('cpu', 'cpu.shares'), ('cpu', 'cpu.cfs_quota_us'), ('cpu', 'cpu.cfs_period_us'), ('cpu', 'cpu.idle'),
    ('cpuset', 'cpuset.cpus'), ('cpuset', 'cpuset.mems'), ('pids', 'pids.max'),
    ('blkio', 'blkio.bfq.weight'), ('blkio', 'blkio.throttle.read_bps_device'), ('blkio', 'blkio.throttle.write_bps_device'),
    ('blkio', 'blkio.throttle.read_iops_device'), ('blkio', 'blkio.throttle.write_iops_device'),
    ('devices', 'devices.list'), ('freezer', 'freezer.state'), ('hugetlb', 'hugetlb.2MB.limit_in_bytes'),
]


def _block_device():
    for name in sorted(os.listdir('/sys/block')):
        if not name.startswith(('loop', 'zram', 'ram')):
            with open('/sys/block/%s/dev' % name) as handle:
                return tuple(int(n) for n in handle.read().split(':'))
    return None


def _resources():
    device = _block_device()
    resources = {
        'devices': [{'allow': False, 'access': 'rwm'}, {'allow': True, 'type': 'c', 'major': 10, 'minor': 229, 'access': 'rw'}],
        'memory': {'limit': 100 * MIB, 'reservation': 50 * MIB, 'swap': 200 * MIB, 'kernel': 64 * MIB, 'swappiness': 10,
                   'disableOOMKiller': False},
        'cpu': {'shares': 512, 'quota': 50000, 'period': 100000, 'cpus': '0', 'mems': '0'},
        'pids': {'limit': 50},
        'blockIO': {'weight': 300} if block_io_weight_supported() else {},
    }
    if device:
        for key, rate in (('throttleReadBpsDevice', MIB), ('throttleWriteBpsDevice', 2 * MIB),
                          ('throttleReadIOPSDevice', 100), ('throttleWriteIOPSDevice', 200)):
            resources['blockIO'][key] = [{'major': device[0], 'minor': device[1], 'rate': rate}]
    if any('hugetlb' in h.subsystems for h in cgroups.discover()):
        resources['hugepageLimits'] = [{'pageSize': '2MB', 'limit': 4 * MIB}]
    return resources


class Runc:
    def __init__(self, root):
        self.root = root

    def __call__(self, *args, **kwargs):
        return subprocess.run([RUNC, '--root', self.root] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False, **kwargs)

    def run_detached(self, container_id, bundle, log):
        """`runc run -d`: the container keeps its stdio, so it gets /dev/null and a log file, not our pipes."""
        with open(log, 'w') as stderr:
            returncode = subprocess.call([RUNC, '--root', self.root, 'run', '-d', container_id], cwd=bundle,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, timeout=60)
        with open(log) as handle:
            return returncode, handle.read()


def _files(manager):
    found = {}
    for controller, name in COMPARED:
        path = os.path.join(manager.dirs.get(controller, '/nonexistent'), name)
        if os.path.exists(path):
            with open(path) as handle:
                lines = handle.read().splitlines()
            found[(controller, name)] = lines[:1] if name == 'memory.oom_control' else lines
    return found


@pytest.fixture
def runc_container(tmp_path):
    """(runc, Manager of runc's cgroup, resources, name): a detached busybox `sleep` under runc."""
    name = unique_name()
    bundle = tmp_path / 'bundle'
    make_busybox_rootfs(str(bundle / 'rootfs'))
    runc = Runc(str(tmp_path / 'runc-root'))
    subprocess.run([RUNC, 'spec'], cwd=str(bundle), check=True)
    with open(str(bundle / 'config.json')) as handle:
        config = json.load(handle)
    resources = _resources()
    config['process'].update(terminal=False, args=['sleep', '1000'])
    config['linux']['cgroupsPath'] = '%s/runc' % name
    config['linux']['resources'] = resources
    with open(str(bundle / 'config.json'), 'w') as handle:
        json.dump(config, handle)
    try:
        returncode, log = runc.run_detached('ctr', str(bundle), str(tmp_path / 'runc.log'))
        assert returncode == 0, log
        yield runc, Manager.for_path('%s/runc' % name, cgroups.discover()), resources, name
    finally:
        runc('delete', '-f', 'ctr')
        # runc leaves the parents of its cgroup; remove them so the check below sees only what the Manager left.
        for directory in leftovers(name):
            try:
                os.rmdir(os.path.join(directory, 'runc')) if os.path.isdir(os.path.join(directory, 'runc')) else None
                os.rmdir(directory)
            except OSError:
                pass
        assert leftovers(name) == []


def test_the_manager_writes_what_runc_writes(runc_container):
    runc, theirs, resources, name = runc_container
    ours = cgroups.new_manager('%s/ours' % name, 'ours')
    try:
        ours.create()
        warnings = ours.set(resources)
        assert warnings == ['Kernel memory settings are ignored and will be removed']
        expected = _files(theirs)
        assert len(expected) >= 15
        assert _files(ours) == expected, (expected, _files(ours))

        # runc update and Manager.update with the same flags change the same files.
        flags = {'memory': '150m', 'memory-swap': '300m', 'pids-limit': '70', 'cpu-quota': '20000', 'cpuset-cpus': '0-1'}
        args = []
        for flag, value in sorted(flags.items()):
            args += ['--' + flag, value]
        result = runc('update', *(args + ['ctr']))
        assert result.returncode == 0, result.stderr
        ours.update(resources, update.resources_from_update_flags(flags))
        after = _files(theirs)
        assert after != expected
        assert _files(ours) == after
    finally:
        ours.destroy()


def test_stats_read_from_runcs_cgroup_match_runc_events(runc_container):
    runc, theirs = runc_container[:2]
    result = runc('events', '--stats', 'ctr')
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout)['data']
    data = theirs.stats()
    assert sorted(data) == sorted(expected)
    assert data['cpuset'] == expected['cpuset']
    assert data['pids'] == expected['pids']
    assert sorted(data['memory']) == sorted(expected['memory'])
    for entry in ('usage', 'swap', 'kernel', 'kernelTCP'):
        assert data['memory'][entry]['limit'] == expected['memory'][entry]['limit']
    assert sorted(data['memory']['raw']) == sorted(expected['memory']['raw'])
    assert sorted(data['cpu']['usage']) == sorted(expected['cpu']['usage'])
    assert len(data['cpu']['usage']['percpu']) == len(expected['cpu']['usage']['percpu'])
    assert data['cpu']['usage']['total'] >= expected['cpu']['usage']['total']
    assert data['hugetlb'].keys() == expected['hugetlb'].keys()
    assert (data['blkio'], data['intel_rdt'], data['network_interfaces']) == (expected['blkio'], {}, None)


def _status(runc):
    result = runc('state', 'ctr')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)['status']


def test_freezes_are_seen_both_ways(runc_container):
    runc, theirs = runc_container[:2]
    assert theirs.freezer_state() == 'THAWED'
    theirs.freeze()
    assert _status(runc) == 'paused'
    theirs.thaw()
    assert _status(runc) == 'running'
    assert runc('pause', 'ctr').returncode == 0
    assert theirs.freezer_state() == 'FROZEN'
    assert runc('resume', 'ctr').returncode == 0
    assert theirs.freezer_state() == 'THAWED'
