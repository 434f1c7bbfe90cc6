# -*- coding: utf-8 -*-
"""cgroup limits, update, pause/resume and events: runcible against runc on the same bundles."""

import json
import os
import time

import pytest

from systemlib import block_io_weight_supported, error_message, leftovers_of, new_id

RESOURCES = {
    'memory': {'limit': 64 << 20, 'reservation': 32 << 20, 'swappiness': 10},
    'cpu': {'shares': 512, 'quota': 50000, 'period': 100000, 'cpus': '0'},
    'pids': {'limit': 32},
    'devices': [{'allow': False, 'access': 'rwm'}, {'allow': True, 'type': 'c', 'major': 1, 'minor': 3,
                                                    'access': 'rwm'}],
}
if block_io_weight_supported():
    RESOURCES['blockIO'] = {'weight': 300}
FILES = {
    'memory': ['memory.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.swappiness'],
    'cpu': ['cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us'],
    'cpuset': ['cpuset.cpus'],
    'pids': ['pids.max'],
    'devices': ['devices.list'],
}


def cgroup_files(pid):
    """{controller/file: value} read from the host for the cgroups of process `pid`."""
    values = {}
    with open('/proc/%d/cgroup' % pid) as handle:
        paths = {}
        for line in handle:
            _number, controllers, path = line.rstrip('\n').split(':', 2)
            for controller in controllers.split(','):
                paths[controller] = path
    for controller, names in FILES.items():
        for name in names:
            with open(os.path.join('/sys/fs/cgroup', controller, paths[controller].lstrip('/'), name)) as handle:
                values['%s/%s' % (controller, name)] = handle.read().split()
    return values


def _detached(runtime, bundle, args, resources=None):
    bundle.config['linux']['resources'] = json.loads(json.dumps(RESOURCES if resources is None else resources))
    bundle.write(list(args))
    container_id = new_id()
    runtime.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    return container_id


def test_cgroup_files_hold_the_values(pair, make_bundle):
    seen = []
    for runtime in pair:
        container_id = _detached(runtime, make_bundle(), ['sleep', '60'])
        seen.append(cgroup_files(runtime.state(container_id)['pid']))
    assert seen[0] == seen[1]
    assert seen[0]['memory/memory.limit_in_bytes'] == [str(64 << 20)]
    assert seen[0]['pids/pids.max'] == ['32']


def test_a_block_io_weight_on_a_kernel_without_bfq_is_refused_by_both(pair, bundle):
    """Without BFQ there is no file for the weight: runc and runcible both refuse, and runcible names the field."""
    if block_io_weight_supported():
        pytest.skip('this kernel has BFQ: the weight is set there, and compared with runc\'s in test_cgroups_runc')
    bundle.config['linux']['resources'] = {'blockIO': {'weight': 300}}
    bundle.write(['true'])
    ids = [new_id() for _runtime in pair]
    results = [runtime.cmd('run', '--bundle', bundle.path, container_id) for runtime, container_id in zip(pair, ids)]
    assert [result.returncode for result in results] == [1, 1], [result.stderr for result in results]
    assert 'weight' in error_message(results[1].stderr)
    assert 'linux.resources.blockIO.weight: ' in error_message(results[0].stderr)
    for runtime, container_id in zip(pair, ids):
        assert runtime.ids() == []
        assert leftovers_of(runtime, container_id, bundle.rootfs) == []


def test_memory_limit_kills_the_process_over_it(pair, bundle):
    """A shell holding 100 MB in a variable, in a 32 MiB container, is OOM-killed."""
    bundle.config['linux']['resources'] = {'memory': {'limit': 32 << 20, 'swap': 32 << 20}}
    bundle.write(['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived ${#x}'])
    codes = []
    for runtime in pair:
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        codes.append((result.returncode, result.stdout))
    assert codes[0] == codes[1]
    assert codes[0][0] == 137 and 'survived' not in codes[0][1]


@pytest.mark.parametrize('limit, refused', [(6, True), (100, False)])
def test_pids_limit_refuses_forks(pair, bundle, limit, refused):
    """Ten background sleeps: with pids.limit 6 the shell cannot fork them all; with 100 it can."""
    bundle.config['linux']['resources'] = {'pids': {'limit': limit}}
    bundle.write(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; wait; echo all-forked'])
    outputs = []
    for runtime in pair:
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        outputs.append((result.returncode, result.stdout, "can't fork" in result.stderr))
    assert outputs[0] == outputs[1]
    assert outputs[0][2] is refused and ('all-forked' in outputs[0][1]) is not refused


def test_update_changes_a_live_limit(pair, make_bundle):
    seen = []
    for runtime in pair:
        container_id = _detached(runtime, make_bundle(), ['sleep', '60'])
        pid = runtime.state(container_id)['pid']
        runtime.cmd('update', '--memory', '100m', '--pids-limit', '70', '--cpu-quota', '20000', container_id,
                    check=True)
        after_flags = cgroup_files(pid)
        result = runtime.cmd('update', '-r', '-', container_id, input=json.dumps({'pids': {'limit': 80}}).encode(),
                             check=True)
        seen.append((after_flags, cgroup_files(pid)['pids/pids.max'], result.returncode))
    assert seen[0] == seen[1]
    assert seen[0][0]['memory/memory.limit_in_bytes'] == [str(100 << 20)]
    assert seen[0][0]['cpu/cpu.cfs_quota_us'] == ['20000']
    assert seen[0][1] == ['80']


def _kernel_tcp_file(pid):
    with open('/proc/%d/cgroup' % pid) as handle:
        path = [line.rstrip('\n').split(':', 2)[2] for line in handle if ':memory:' in line][0]
    directory = os.path.join('/sys/fs/cgroup/memory', path.lstrip('/'))
    with open(os.path.join(directory, 'memory.kmem.tcp.limit_in_bytes')) as handle:
        return handle.read().strip()


@pytest.mark.skipif(not os.path.exists('/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes'),
                    reason='needs cgroup v1 memory with kernel memory accounting (memory.kmem.tcp.limit_in_bytes)')
def test_kernel_tcp_limit_is_written_as_crun_writes_it(runcible, crun, make_bundle):
    """memory.kernelTCP, at create and by `update --kernel-memory-tcp`: the cgroup file holds it.

    crun writes memory.kmem.tcp.limit_in_bytes; runc 1.1 ignores kernelTCP with
    "Kernel memory settings are ignored" (the kernel itself ignores only
    memory.kmem.limit_in_bytes). runcible does as crun, without that warning.
    """
    seen = {}
    for runtime in (runcible, crun):
        container_id = _detached(runtime, make_bundle(), ['sleep', '60'], {'memory': {'kernelTCP': 2 << 20}})
        pid = runtime.state(container_id)['pid']
        at_create = _kernel_tcp_file(pid)
        assert at_create == str(2 << 20), runtime.name
        result = runtime.cmd('update', '--kernel-memory-tcp', str(4 << 20), container_id, check=True)
        seen[runtime.name] = (at_create, _kernel_tcp_file(pid), 'Kernel memory' in result.stderr)
    assert seen['runcible'] == seen['crun'] == (str(2 << 20), str(4 << 20), False), seen


def test_pause_freezes_a_counter_and_resume_continues_it(pair, make_bundle):
    # Written to a temporary file and renamed: a freeze between the truncation and the write of
    # `echo > count` left an empty counter to read (failed once in CI).
    script = ('i=0; while true; do i=$((i+1)); echo $i > /dev/shm/count.new; mv /dev/shm/count.new /dev/shm/count; '
              'sleep 0.05; done')
    for runtime in pair:
        container_id = _detached(runtime, make_bundle(), ['sh', '-c', script], resources={})

        def count():
            result = runtime.cmd('exec', container_id, 'cat', '/dev/shm/count')
            return int(result.stdout.strip() or 0)

        time.sleep(0.3)
        runtime.cmd('pause', container_id, check=True)
        assert runtime.state(container_id)['status'] == 'paused'
        assert runtime.cmd('exec', container_id, 'true').returncode == 255
        runtime.cmd('resume', container_id, check=True)
        before = count()
        runtime.cmd('pause', container_id, check=True)
        frozen = count_from_host(runtime, container_id)
        time.sleep(0.4)
        assert count_from_host(runtime, container_id) == frozen, runtime.name
        runtime.cmd('resume', container_id, check=True)
        time.sleep(0.4)
        assert count() > max(before, frozen), runtime.name


def count_from_host(runtime, container_id):
    """Read the counter through /proc/<init>/root without entering the (frozen) container."""
    pid = runtime.state(container_id)['pid']
    with open('/proc/%d/root/dev/shm/count' % pid) as handle:
        return int(handle.read())


def test_pause_resume_errors_match(pair, bundle):
    outcomes = []
    for runtime in pair:
        container_id = _detached(runtime, bundle, ['sleep', '60'], resources={})
        steps = [runtime.cmd('resume', container_id), runtime.cmd('pause', container_id),
                 runtime.cmd('pause', container_id), runtime.cmd('resume', container_id),
                 runtime.cmd('kill', container_id, 'KILL')]
        for _attempt in range(100):
            if runtime.state(container_id)['status'] == 'stopped':
                break
            time.sleep(0.05)
        steps += [runtime.cmd('pause', container_id), runtime.cmd('update', '--memory', '50m', container_id),
                  runtime.cmd('events', '--stats', container_id)]
        outcomes.append([(r.returncode, (error_message(r.stderr) or '').replace(container_id, 'ID')) for r in steps])
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == (1, 'container not paused')


def _keys(value, prefix=''):
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            found |= {prefix + key} | _keys(item, prefix + key + '.')
        return found
    return set()


def test_events_stats_fields_match(pair, make_bundle):
    seen = []
    for runtime in pair:
        container_id = _detached(runtime, make_bundle(), ['sleep', '60'])
        # cpu.throttling is left out while zero (runc's omitempty, matched): its period counter counts once the
        # first CFS period (100 ms here) after the container used CPU has ended. Sampled earlier, the keys
        # depended on which runtime was quicker (seen in CI: runc's had `periods`, ours not yet).
        time.sleep(3 * RESOURCES['cpu']['period'] / 1e6)
        result = runtime.cmd('events', '--stats', container_id, check=True)
        event = json.loads(result.stdout)
        seen.append((event['type'], event['id'] == container_id, _keys(event['data'])))
    assert seen[0][:2] == seen[1][:2] == ('stats', True)
    ours, theirs = seen[0][2], seen[1][2]
    assert theirs - ours == set(), sorted(theirs - ours)


@pytest.mark.parametrize('flags', [['--memory', 'lots'], ['--pids-limit', 'x'], ['--l3-cache-schema', 'L3:0=f']])
def test_update_rejects_bad_flags(pair, bundle, flags):
    codes = []
    for runtime in pair:
        container_id = _detached(runtime, bundle, ['sleep', '60'], resources={})
        result = runtime.cmd('update', *(flags + [container_id]))
        codes.append(result.returncode)
        assert error_message(result.stderr)
    assert codes == [1, 1]
