# -*- coding: utf-8 -*-
"""The container's mount namespace: none at all, and linux.rootfsPropagation of its root.

Each test runs the runtimes in a scratch mount namespace of its own (held by
a sleeping process, entered with nsenter), which they treat as the host's:
whatever a runtime leaves mounted there never reaches the machine and goes
with the namespace.

Without a "mount" entry in linux.namespaces the container shares the
runtime's mount namespace (runtime-spec). runc 1.1.5 and crun 1.8.1 mount
config.json's mounts under the rootfs there and chroot; both leave every
one of those mounts behind after `delete`, and run `exec` in the host's
root. runcible mounts the same, removes its mounts at `delete` and chroots
`exec` into the container's root (README, differences from runc).

linux.rootfsPropagation: runc 1.1 applies it to "/" before binding the
rootfs, so `unbindable` fails with EINVAL and `shared` never shows inside;
crun applies it to the new root after pivot_root, and so does runcible.
"""

import os
import re

import pytest

from systemlib import ScratchMountNamespace, new_id


@pytest.fixture
def scratch_ns(request):
    """A private scratch mount namespace; `request.param` may ask for "shared"."""
    namespace = ScratchMountNamespace(getattr(request, 'param', 'private'))
    made = []

    def runtime(name, tmp_root):
        made.append(namespace.runtime(name, tmp_root))
        return made[-1]

    namespace.make_runtime = runtime
    yield namespace
    for item in made:
        item.cleanup()
    namespace.close()


def without_mount_namespace(bundle, args, masked=False):
    linux = bundle.config['linux']
    linux['namespaces'] = [ns for ns in linux['namespaces'] if ns['type'] != 'mount']
    if not masked:
        # runc refuses masked and read-only paths without a mount namespace; crun and runcible apply them.
        linux.pop('maskedPaths', None)
        linux.pop('readonlyPaths', None)
    bundle.config['root']['readonly'] = False
    bundle.write(args)


SHARED_NS_SCRIPT = ('ls /; cat /proc/self/comm; id; echo ok > /tmp/x && cat /tmp/x; '
                    'ls /sys/fs/cgroup/memory | grep -c limit_in_bytes; grep -c . /proc/self/cgroup; pwd')


def test_no_mount_namespace_runs_as_under_runc_and_crun(scratch_ns, bundle, tmp_path):
    without_mount_namespace(bundle, ['sh', '-c', SHARED_NS_SCRIPT])
    outcomes = {}
    left = {}
    for name in ('runcible', 'runc', 'crun'):
        runtime = scratch_ns.make_runtime(name, str(tmp_path / (name + '-root')))
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        outcomes[name] = (result.returncode, result.stdout)
        left[name] = scratch_ns.mounts_under(bundle.rootfs)
        for mountpoint in reversed(left[name]):
            scratch_ns.run('umount', '-l', mountpoint)
    assert outcomes['runcible'][0] == 0, outcomes
    assert outcomes['runcible'] == outcomes['runc'] == outcomes['crun']
    assert outcomes['runcible'][1].startswith('bin\ndev\netc\nproc\nroot\nsys\ntmp\ncat\n')
    # Ours leaves nothing mounted in the runtime's namespace (runc 1.1.5 and crun 1.8.1 leave theirs).
    assert left['runcible'] == [], left


def test_no_mount_namespace_masked_paths_as_crun(scratch_ns, bundle, tmp_path):
    """Masked and read-only paths apply as crun applies them (runc 1.1 refuses the config)."""
    without_mount_namespace(bundle, ['sh', '-c', 'wc -c < /proc/keys; echo 1 > /proc/sys/vm/swappiness; echo $?'],
                            masked=True)
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    crun = scratch_ns.make_runtime('crun', str(tmp_path / 'crun-root'))
    result = ours.cmd('run', '--bundle', bundle.path, new_id())
    assert scratch_ns.mounts_under(bundle.rootfs) == []
    theirs = crun.cmd('run', '--bundle', bundle.path, new_id())
    assert (result.returncode, result.stdout) == (theirs.returncode, theirs.stdout) == (0, '0\n1\n'), (result, theirs)


def test_no_mount_namespace_exec_runs_in_the_container_root(scratch_ns, bundle, tmp_path):
    """exec sees what the container sees (runc and crun run it in the host's root: a documented difference)."""
    without_mount_namespace(bundle, ['sleep', '60'])
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    container_id = new_id()
    ours.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
    mounted = scratch_ns.mounts_under(bundle.rootfs)
    assert os.path.join(bundle.rootfs, 'proc') in mounted
    result = ours.cmd('exec', container_id, 'sh', '-c', 'ls /; readlink /proc/1/exe; ps -o pid,comm | grep sleep')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('bin\ndev\netc\nproc\nroot\nsys\ntmp\n/bin/busybox\n')
    assert re.search(r'^\s*1 sleep$', result.stdout, re.M), result.stdout
    ours.cmd('delete', '--force', container_id, check=True)
    assert scratch_ns.mounts_under(bundle.rootfs) == []


def test_no_mount_namespace_keeps_mounts_that_were_there(scratch_ns, bundle, tmp_path):
    """delete removes the container's mounts only: one made under the rootfs before create stays."""
    without_mount_namespace(bundle, ['sh', '-c', 'cat /premounted/marker'])
    premounted = os.path.join(bundle.rootfs, 'premounted')
    os.mkdir(premounted)
    assert scratch_ns.run('mount', '-t', 'tmpfs', 'tmpfs', premounted).returncode == 0
    scratch_ns.run('sh', '-c', 'echo here > %s/marker' % premounted)
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    result = ours.cmd('run', '--bundle', bundle.path, new_id())
    assert (result.returncode, result.stdout) == (0, 'here\n'), result.stderr
    assert scratch_ns.mounts_under(bundle.rootfs) == [premounted]


def test_no_mount_namespace_failed_create_leaves_no_mounts(scratch_ns, bundle, tmp_path):
    bundle.config['mounts'].append({'destination': '/broken', 'type': 'no-such-filesystem', 'source': 'none'})
    without_mount_namespace(bundle, ['true'])
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    result = ours.cmd('create', '--bundle', bundle.path, new_id())
    assert result.returncode == 1 and 'mounts[7]' in result.stderr, result.stderr
    assert scratch_ns.mounts_under(bundle.rootfs) == []
    assert ours.ids() == []


# --- linux.rootfsPropagation ---------------------------------------------------

ROOT_LINE = 'grep -E "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / " /proc/self/mountinfo'


def root_propagation(mountinfo_line):
    """The optional fields of the "/" line, without peer group numbers: "shared", "master", "unbindable"."""
    fields = mountinfo_line.split()
    tags = fields[6:fields.index('-')]
    return ' '.join(sorted(re.sub(r':\d+$', '', tag) for tag in tags))


EXPECTED = {'shared': 'shared', 'rshared': 'shared', 'slave': '', 'rslave': '', 'private': '', 'rprivate': '',
            'unbindable': 'unbindable'}


@pytest.mark.parametrize('propagation', sorted(EXPECTED))
def test_rootfs_propagation_of_the_root_as_crun(scratch_ns, bundle, tmp_path, propagation):
    """On a host whose "/" is private (these machines), "/" inside shows what crun shows."""
    bundle.config['linux']['rootfsPropagation'] = propagation
    bundle.write(['sh', '-c', ROOT_LINE])
    seen = {}
    for name in ('runcible', 'crun'):
        runtime = scratch_ns.make_runtime(name, str(tmp_path / (name + '-root')))
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        assert result.returncode == 0, (name, result.stderr)
        seen[name] = root_propagation(result.stdout)
    assert seen['runcible'] == seen['crun'] == EXPECTED[propagation]


def test_runbindable_makes_every_mount_unbindable(scratch_ns, bundle, tmp_path):
    """runbindable: every mount of the container is unbindable.

    crun 1.8.1 and runc 1.1.5 both fail this config: they make the host's
    mounts unbindable before binding the cgroup, /dev/null and rootfs mounts
    from them (EINVAL). runcible applies it last, to the container's mounts.
    """
    bundle.config['linux']['rootfsPropagation'] = 'runbindable'
    bundle.write(['sh', '-c', 'cut -d" " -f5,7 /proc/self/mountinfo'])
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    result = ours.cmd('run', '--bundle', bundle.path, new_id())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.split()[1] == 'unbindable' for line in lines), lines
    crun = scratch_ns.make_runtime('crun', str(tmp_path / 'crun-root'))
    assert crun.cmd('run', '--bundle', bundle.path, new_id()).returncode != 0


HOST_EVENTS = {'': True, 'slave': True, 'rslave': True, 'private': False, 'shared': False, 'unbindable': False}


@pytest.mark.parametrize('scratch_ns', ['shared'], indirect=True)
@pytest.mark.parametrize('propagation', sorted(HOST_EVENTS))
def test_rootfs_propagation_and_mounts_made_on_the_host(scratch_ns, bundle, tmp_path, propagation):
    """On a host whose "/" is shared: does a mount made on the host under the rootfs show up inside?

    As the runtime-spec says and runc does: yes for slave and rslave (and by
    default, runc's rslave); no for private, shared (a new peer group, not
    the host's) and unbindable, as crun. crun 1.8.1 makes the root private
    before applying slave, so under crun a slave receives nothing.
    """
    os.mkdir(os.path.join(bundle.rootfs, 'mnt'))
    if propagation:
        bundle.config['linux']['rootfsPropagation'] = propagation
    bundle.write(['sleep', '60'])
    ours = scratch_ns.make_runtime('runcible', str(tmp_path / 'runcible-root'))
    reference = scratch_ns.make_runtime('runc' if HOST_EVENTS[propagation] else 'crun',
                                        str(tmp_path / 'reference-root'))
    seen = {}
    for runtime in (ours, reference):
        container_id = new_id()
        runtime.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
        target = os.path.join(bundle.rootfs, 'mnt')
        assert scratch_ns.run('mount', '-t', 'tmpfs', 'from-the-host', target).returncode == 0
        try:
            result = runtime.cmd('exec', container_id, 'sh', '-c', 'grep -c from-the-host /proc/self/mountinfo')
        finally:
            scratch_ns.run('umount', target)
            runtime.cmd('delete', '--force', container_id)
        seen[runtime.name] = result.stdout.strip()
    assert seen[ours.name] == seen[reference.name] == ('1' if HOST_EVENTS[propagation] else '0'), seen
