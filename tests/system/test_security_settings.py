# -*- coding: utf-8 -*-
"""sysctl, personality, oomScoreAdj, time namespace offsets, AppArmor/SELinux refusal."""

import pytest

from systemlib import error_message, new_id


def _run(runtime, bundle, script, **changes):
    bundle.write(['sh', '-c', script], **changes)
    return runtime.cmd('run', '--bundle', bundle.path, new_id())


def test_namespaced_sysctls_and_oom_score_match_runc(pair, bundle):
    bundle.config['linux']['sysctl'] = {'net.ipv4.ip_forward': '1', 'kernel.shmmax': '65536',
                                        'net.ipv4.ping_group_range': '0 0'}
    bundle.config['process']['oomScoreAdj'] = 500
    script = ('cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/self/oom_score_adj; '
              'cat /proc/sys/net/ipv4/ping_group_range')
    results = [_run(runtime, bundle, script) for runtime in pair]
    assert [(r.returncode, r.stdout) for r in results][0] == [(r.returncode, r.stdout) for r in results][1]
    assert results[0].stdout.split() == ['1', '65536', '500', '0', '0']
    with open('/proc/sys/net/ipv4/ip_forward') as handle:
        host_forwarding = handle.read()
    assert host_forwarding.strip() in ('0', '1')


def test_non_namespaced_sysctl_is_refused_like_runc(pair, bundle):
    bundle.config['linux']['sysctl'] = {'vm.swappiness': '10'}
    for runtime in pair:
        result = _run(runtime, bundle, 'true')
        assert result.returncode == 1
        assert 'vm.swappiness' in error_message(result.stderr)
        assert runtime.ids() == []


def test_personality_linux32(runcible, bundle):
    """runc 1.1.5 ignores linux.personality (it came with runc 1.2), so no differential here."""
    bundle.config['linux']['personality'] = {'domain': 'LINUX32'}
    result = _run(runcible, bundle, 'uname -m')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ('i686', 'armv8l', 'armv7l')


def test_time_namespace_offsets_shift_boottime(runcible, bundle):
    bundle.config['linux']['namespaces'].append({'type': 'time'})
    bundle.config['linux']['timeOffsets'] = {'boottime': {'secs': 86400 * 365, 'nanosecs': 0},
                                             'monotonic': {'secs': 3600, 'nanosecs': 5}}
    with open('/proc/uptime') as handle:
        host_uptime = float(handle.read().split()[0])
    result = _run(runcible, bundle, 'cat /proc/uptime; cat /proc/self/timens_offsets')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    inside = float(lines[0].split()[0])
    assert 86400 * 365 <= inside - host_uptime < 86400 * 365 + 60
    assert [line.split() for line in lines[1:]] == [['monotonic', '3600', '5'], ['boottime', '31536000', '0']]


@pytest.mark.parametrize('field, value, changes', [
    ('process.apparmorProfile', 'docker-default', None),
    ('process.selinuxLabel', 'system_u:system_r:container_t:s0', None),
])
def test_lsm_labels_are_refused_on_a_host_without_them(runcible, bundle, field, value, changes):
    from runtime.security import lsm
    if lsm.apparmor_enabled() or lsm.selinux_enabled():
        pytest.skip('this host has AppArmor or SELinux: the refusal path cannot be shown here')
    bundle.config['process'][field.split('.')[1]] = value
    container_id = new_id()
    result = _run(runcible, bundle, 'true')
    assert result.returncode == 1
    assert error_message(result.stderr).startswith('runcible run failed: %s: ' % field)
    assert not runcible.ids()
    assert container_id not in runcible.ids()
