# -*- coding: utf-8 -*-
"""oci_host_info's report: parsing what /proc says, the namespace probe, and the verdict a role acts on."""

import os

from ansible_collections.runcible.oci.plugins.module_utils.host import report
from ansible_collections.runcible.oci.plugins.module_utils.runtime import cgroups
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import consts

# /proc/self/status of a root process with every capability, and of one inside a container without CAP_SYS_ADMIN.
FULL_CAPS = 'Name:\tpython3\nCapEff:\t000001ffffffffff\nSeccomp:\t0\nSeccomp_filters:\t0\n'
NO_SYS_ADMIN = 'Name:\tpython3\nCapEff:\t00000000a80425fb\nSeccomp:\t2\n'


def test_status_fields_and_capabilities():
    full = report.status_fields(FULL_CAPS)
    assert full['Seccomp'] == '0'
    assert report.has_capability(full, report.CAP_SYS_ADMIN)
    limited = report.status_fields(NO_SYS_ADMIN)
    assert not report.has_capability(limited, report.CAP_SYS_ADMIN)
    assert report.has_capability(limited, 0)  # CAP_CHOWN
    assert not report.has_capability({}, 0)
    assert not report.has_capability({'CapEff': 'zz'}, 0)


def test_probe_unshare_reports_the_kernels_refusal():
    # An unknown flag is refused by every kernel, as root or not: the child's errno comes back as text.
    assert report.probe_unshare(0x1) == os.strerror(22)
    # UTS alone: allowed as root; as another user the kernel says EPERM. Either way the caller learns which.
    result = report.probe_unshare(consts.CLONE_NEWUTS)
    assert result is None if os.geteuid() == 0 else result == os.strerror(1)


def test_namespaces_use_the_probe_only_for_supported_types():
    tried = []

    def refuse_mount(flag):
        tried.append(flag)
        return 'Operation not permitted' if flag == consts.CLONE_NEWNS else None

    found = report.namespaces(probe=refuse_mount)
    assert set(found) == {'mount', 'pid', 'ipc', 'uts', 'network', 'user', 'cgroup', 'time'}
    assert found['mount'] == {'supported': True, 'can_create': False, 'error': 'Operation not permitted'}
    assert found['pid']['can_create'] is True
    assert len(tried) == sum(1 for ns in found.values() if ns['supported'])


def test_cgroup_report_of_a_hybrid_tree(tmp_path):
    memory = tmp_path / 'memory'
    pids = tmp_path / 'pids'
    unified = tmp_path / 'unified'
    for folder in (memory, pids, unified):
        folder.mkdir()
    (unified / 'cgroup.controllers').write_text('hugetlb\n')
    hierarchies = [
        cgroups.Hierarchy(str(memory), '/', ('memory',), '/'),
        cgroups.Hierarchy(str(pids), '/', ('pids', 'name=systemd'), '/'),
        cgroups.Hierarchy(str(unified), '/', (), '/'),
    ]
    found = report.cgroup_report(hierarchies, layout='hybrid')
    assert found['layout'] == 'hybrid'
    assert found['v1_controllers'] == ['memory', 'pids']
    assert found['v2_controllers'] == ['hugetlb']
    assert found['writable'] is (os.access(str(memory), os.W_OK))


def test_no_cgroup_hierarchy_is_layout_none():
    found = report.cgroup_report([], layout='legacy')
    assert found['layout'] == 'none' and found['writable'] is False


def test_overlay_from_proc_filesystems():
    assert report.overlay_report('nodev\tsysfs\nnodev\toverlay\n', 'any') == {'supported': True, 'how': 'loaded'}
    assert report.overlay_report('nodev\tsysfs\n', 'no-such-release')['supported'] is False
    # "overlay" must be the file system's name, not part of another one's.
    assert report.overlay_report('nodev\toverlayish\n', 'no-such-release')['supported'] is False


def test_seccomp_report():
    status = report.status_fields(NO_SYS_ADMIN)
    found = report.seccomp_report(status, 'kill_process errno allow\n')
    assert found == {'supported': True, 'filter': True, 'actions': ['kill_process', 'errno', 'allow'], 'mode': 2}
    assert report.seccomp_report({}, None) == {'supported': False, 'filter': False, 'actions': [], 'mode': None}


def test_user_namespace_switches():
    namespace = {'supported': True, 'can_create': True, 'error': None}
    found = report.user_namespace_report(namespace, '96362\n', None, None)
    assert found['supported'] and found['max'] == 96362
    assert found['unprivileged_clone'] and not found['apparmor_restricted']
    limited = report.user_namespace_report(namespace, '0\n', '0\n', '1\n')
    assert not limited['supported'] and not limited['unprivileged_clone'] and limited['apparmor_restricted']


def test_runtime_versions_from_their_output():
    assert report.runtime_version('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1\n') == '1.1.5+ds1'
    assert report.runtime_version('crun version 1.8.1\ncommit: f8a096be\n') == '1.8.1'
    assert report.runtime_version('nothing here') is None


def test_runtimes_report_of_a_missing_binary(tmp_path):
    found = report.runtimes_report(['runcible', str(tmp_path / 'no-runc')])
    assert found['runcible']['found'] and found['runcible']['version']
    assert found[str(tmp_path / 'no-runc')] == {'found': False, 'path': None, 'version': None}


def test_criu_report_names_a_missing_binary(tmp_path):
    found = report.criu_report(str(tmp_path / 'criu'))
    assert found['usable'] is False
    assert 'does not exist' in found['error']


def _report(**changes):
    names = {name: {'supported': True, 'can_create': True, 'error': None} for name, _p, _f in report.NAMESPACES}
    base = {
        'namespaces': names,
        'capabilities': {'sys_admin': True, 'sys_resource': True},
        'cgroup': {'layout': 'hybrid', 'writable': True, 'read_only': []},
        'overlayfs': {'supported': True},
        'seccomp': {'filter': True},
        'rootless': {'can_create': True, 'error': None},
        'criu': {'usable': True, 'error': None},
    }
    base.update(changes)
    return base


def test_verdict_of_a_capable_host():
    assert report.verdict(_report(), 0) == ([], [])


def test_verdict_inside_an_unprivileged_container():
    refused = {'supported': True, 'can_create': False, 'error': 'Operation not permitted'}
    names = dict(_report()['namespaces'], mount=refused, pid=refused, user=refused)
    problems, limitations = report.verdict(_report(
        namespaces=names, capabilities={'sys_admin': False, 'sys_resource': False},
        cgroup={'layout': 'hybrid', 'writable': False, 'read_only': ['/sys/fs/cgroup/memory']}), 0)
    assert problems[0] == 'cannot create mount namespaces (Operation not permitted)'
    assert problems[1] == 'cannot create pid namespaces (Operation not permitted)'
    assert 'CAP_SYS_ADMIN is missing' in problems[2]
    assert 'read-only here (/sys/fs/cgroup/memory)' in problems[3]
    assert any(text.startswith('user namespaces unavailable') for text in limitations)
    many = ['/sys/fs/cgroup/%s' % name for name in ('cpu', 'memory', 'pids')]
    problems = report.verdict(_report(cgroup={'layout': 'legacy', 'writable': False, 'read_only': many}), 0)[0]
    assert problems == ['the cgroup file system is read-only here (/sys/fs/cgroup/cpu and 2 more): '
                        'containers cannot get cgroups']


def test_verdict_without_cgroups_or_optional_features():
    problems, limitations = report.verdict(_report(
        cgroup={'layout': 'none', 'writable': False, 'read_only': []}, overlayfs={'supported': False},
        seccomp={'filter': False}, criu={'usable': False, 'error': 'criu is not installed'}), 0)
    assert problems == ['no cgroup file system is mounted (expected at /sys/fs/cgroup): mount cgroup2 there']
    assert limitations == [
        'no overlayfs: use rootfs_mode copy (the default) for bundles',
        'no seccomp filters (CONFIG_SECCOMP_FILTER): bundles with linux.seccomp will fail',
        'no checkpoint/restore: criu is not installed',
    ]


def test_criu_without_cap_sys_resource_is_a_limitation():
    limitations = report.verdict(_report(capabilities={'sys_admin': True, 'sys_resource': False}), 0)[1]
    assert limitations == ['CRIU can checkpoint only containers whose processes run as root here: '
                           'CAP_SYS_RESOURCE is missing from this process']


def test_verdict_for_an_unprivileged_user():
    assert report.verdict(_report(cgroup={'layout': 'none', 'writable': False, 'read_only': []}), 1000)[0] == []
    problems = report.verdict(_report(rootless={'can_create': False, 'error': 'Operation not permitted'}), 1000)[0]
    assert problems == ['not root, and rootless containers need user namespaces, which this host refuses '
                        '(Operation not permitted): run as root, or allow unprivileged user namespaces']
