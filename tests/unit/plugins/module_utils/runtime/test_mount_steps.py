# -*- coding: utf-8 -*-
"""The rootfs mount steps (rootfs/mount.py) against the recording kernel double: what is mounted where, with which
flags, in which order, and what is refused before any mount. The mounts themselves are the system tests' job
(tests/system/test_lifecycle.py, test_escapes.py, test_differential.py)."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import consts as c
from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import mount
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec.config import Bundle


@pytest.fixture
def bundle(tmp_path):
    rootfs = tmp_path / 'bundle' / 'rootfs'
    (rootfs / 'srv' / 'data').mkdir(parents=True)
    (rootfs / 'tmp').mkdir()
    os.chmod(str(rootfs / 'tmp'), 0o1777)
    os.symlink('/srv/data', str(rootfs / 'data'))
    os.symlink('../../../../../../..', str(rootfs / 'up'))
    (tmp_path / 'bundle' / 'shared').mkdir()
    (tmp_path / 'bundle' / 'one.conf').write_text('x')
    return Bundle(str(tmp_path / 'bundle'), str(rootfs), {'linux': {}})


def entry(kernel, bundle, mount_spec, context=None):
    root_fd = os.open(bundle.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mount.mount_entry(root_fd, bundle, mount_spec, context or mount.RootfsContext(), 'mounts[0]')
    finally:
        os.close(root_fd)
    return [(call.name,) + call.args for call in kernel.calls]


def test_a_tmpfs_lands_on_its_destination_inside_the_rootfs_and_keeps_its_mode(kernel, bundle):
    calls = entry(kernel, bundle, {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',
                                   'options': ['nosuid', 'nodev', 'size=64k']})
    assert calls == [('mount', 'tmpfs', bundle.rootfs + '/tmp', 'tmpfs', c.MS_NOSUID | c.MS_NODEV, 'size=64k')]
    # As runc: the tmpfs takes the mode of the folder it covers.
    assert oct(os.stat(bundle.rootfs + '/tmp').st_mode & 0o7777) == oct(0o1777)


def test_a_missing_destination_is_made_inside_the_rootfs(kernel, bundle):
    calls = entry(kernel, bundle, {'destination': '/run/lock', 'type': 'tmpfs', 'source': 'tmpfs'})
    assert calls[0][2] == bundle.rootfs + '/run/lock'
    assert os.path.isdir(bundle.rootfs + '/run/lock')


def test_a_destination_through_a_symlink_is_resolved_inside_the_rootfs(kernel, bundle):
    calls = entry(kernel, bundle, {'destination': '/data/cache', 'type': 'tmpfs', 'source': 'tmpfs'})
    assert calls[0][2] == bundle.rootfs + '/srv/data/cache'


def test_a_destination_climbing_out_is_refused_before_any_mount(kernel, bundle, tmp_path):
    for destination in ('/up/escaped', '/../escaped'):
        with pytest.raises(errors.ConfigError) as caught:
            entry(kernel, bundle, {'destination': destination, 'type': 'tmpfs', 'source': 'tmpfs'})
        assert caught.value.field == 'mounts[0].destination'
    assert kernel.calls == []
    assert not os.path.exists('/escaped') and not (tmp_path / 'escaped').exists()


def test_a_read_only_bind_is_a_bind_then_a_read_only_remount(kernel, bundle):
    calls = entry(kernel, bundle, {'destination': '/shared', 'type': 'bind', 'source': 'shared',
                                   'options': ['rbind', 'ro']})
    target = bundle.rootfs + '/shared'
    assert calls == [('mount', bundle.path + '/shared', target, '', c.MS_BIND | c.MS_REC, None),
                     ('mount', None, target, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | c.MS_REC, None)]


def test_a_bind_of_a_file_gets_a_file_mount_point(kernel, bundle):
    entry(kernel, bundle, {'destination': '/etc/one.conf', 'type': 'bind', 'source': 'one.conf', 'options': ['bind']})
    assert os.path.isfile(bundle.rootfs + '/etc/one.conf')
    assert kernel.named('mount')[0].args[1] == bundle.rootfs + '/etc/one.conf'


def test_a_missing_bind_source_names_the_field(kernel, bundle):
    with pytest.raises(errors.ConfigError) as caught:
        entry(kernel, bundle, {'destination': '/x', 'type': 'bind', 'source': '/nonexistent/src', 'options': ['bind']})
    assert caught.value.field == 'mounts[0].source'
    assert kernel.calls == []


def test_propagation_options_follow_the_mount(kernel, bundle):
    calls = entry(kernel, bundle, {'destination': '/shared', 'type': 'bind', 'source': 'shared',
                                   'options': ['rbind', 'rslave']})
    assert calls[-1] == ('mount', None, bundle.rootfs + '/shared', None, c.MS_SLAVE | c.MS_REC, None)


def test_a_read_only_dev_tmpfs_is_remounted_read_only_only_after_the_devices(kernel, bundle):
    context = mount.RootfsContext()
    calls = entry(kernel, bundle, {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['ro']},
                  context)
    assert calls[0][4] & c.MS_RDONLY == 0
    assert context.remount_dev_readonly


def test_a_failed_mount_names_the_entry(kernel, bundle):
    kernel.fail('mount')
    with pytest.raises(errors.SetupError, match=r'^mounts\[0\]: '):
        entry(kernel, bundle, {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs'})


def test_a_v1_cgroup_mount_binds_each_hierarchy_read_only(kernel, bundle):
    context = mount.RootfsContext(cgroup_binds=[('memory', '/sys/fs/cgroup/memory/c1', ['memory']),
                                                ('cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct/c1', ['cpu', 'cpuacct'])])
    calls = entry(kernel, bundle, {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',
                                   'options': ['ro', 'nosuid']}, context)
    top = bundle.rootfs + '/sys/fs/cgroup'
    assert calls[0] == ('mount', 'tmpfs', top, 'tmpfs', c.MS_NOEXEC | c.MS_NOSUID | c.MS_NODEV, 'mode=755')
    assert ('mount', '/sys/fs/cgroup/memory/c1', top + '/memory', '', c.MS_BIND | c.MS_REC, None) in calls
    assert ('mount', None, top + '/memory', None,
            c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | c.MS_NOSUID | c.MS_REC, None) in calls
    # A joined hierarchy gets a symlink per controller, as on the host.
    assert os.readlink(top + '/cpu') == 'cpu,cpuacct' and os.readlink(top + '/cpuacct') == 'cpu,cpuacct'


def test_prepare_binds_the_rootfs_onto_itself_before_the_mounts(kernel, bundle):
    bundle.config['mounts'] = [{'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs'},
                               {'destination': '/dev', 'type': 'bind', 'source': 'shared', 'options': ['rbind']}]
    os.close(mount.prepare(bundle, mount.RootfsContext()))
    calls = [(call.name,) + call.args for call in kernel.calls]
    assert calls[:2] == [('mount', None, '/', None, c.MS_SLAVE | c.MS_REC, None),
                         ('mount', bundle.rootfs, bundle.rootfs, 'bind', c.MS_BIND | c.MS_REC, None)]
    assert [call[2] for call in calls[2:]] == [bundle.rootfs + '/tmp', bundle.rootfs + '/dev']
