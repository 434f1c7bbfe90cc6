# -*- coding: utf-8 -*-
"""Known container escapes of other runtimes must not work against ours.

Each test says what it would catch if the defence were removed. The escapes
covered elsewhere: CVE-2019-5736 (/proc/<pid>/exe of a joining process) in
test_exec.py, CVE-2024-21626 (leaked fds and cwd) in test_lifecycle.py and
test_exec.py.
"""

import ctypes
import os
import threading
import time

import pytest

from systemlib import error_message, leftovers_of, new_id

_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _exchange(directory_fd, first, second):
    """renameat2(RENAME_EXCHANGE): swap two names atomically, as the CVE-2021-30465 exploit did."""
    return _libc.renameat2(directory_fd, first.encode(), directory_fd, second.encode(), _RENAME_EXCHANGE)


def test_mount_destination_swapped_for_a_symlink_during_setup(runcible, bundle, tmp_path):
    """CVE-2021-30465: a directory on a mount's path is swapped with a symlink to a host folder.

    The runtime resolves each destination one component at a time with
    O_NOFOLLOW inside the rootfs and mounts onto the fd it opened. A runtime
    that checks the path and then mounts (or mkdirs) by name follows the
    symlink when the swap lands in between: the tmpfs or the `data` folder it
    creates ends up in the host folder, or the container starts without its
    mount. Both are checked on every run.
    """
    outside = tmp_path / 'outside'
    outside.mkdir()
    os.mkdir(os.path.join(bundle.rootfs, 'vol'))
    os.symlink(str(outside), os.path.join(bundle.rootfs, 'vol.alt'))
    bundle.config['mounts'].append({'destination': '/vol/data', 'type': 'tmpfs', 'source': 'tmpfs'})
    bundle.write(['sh', '-c', 'grep -c " /vol/data " /proc/self/mountinfo'])
    stop = threading.Event()
    swaps = [0]

    def racer():
        directory = os.open(bundle.rootfs, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while not stop.is_set():
                _exchange(directory, 'vol', 'vol.alt')
                swaps[0] += 1
        finally:
            os.close(directory)

    thread = threading.Thread(target=racer)
    thread.start()
    outcomes = {'mounted': 0, 'refused': 0}
    try:
        deadline = time.monotonic() + 20
        for _attempt in range(40):
            if time.monotonic() > deadline:
                break
            result = runcible.cmd('run', '--bundle', bundle.path, new_id())
            if result.returncode == 0:
                assert result.stdout.strip() == '1', 'container started without its /vol/data mount'
                outcomes['mounted'] += 1
            else:
                outcomes['refused'] += 1
            assert os.listdir(str(outside)) == [], 'the runtime wrote into the host folder'
    finally:
        stop.set()
        thread.join()
    assert swaps[0] > 100
    assert outcomes['mounted'] + outcomes['refused'] >= 10
    assert runcible.ids() == []


def test_masked_paths_refuse_a_swapped_dev_null(runcible, bundle, tmp_path):
    """CVE-2025-31133: /dev/null replaced by a symlink before masking.

    A createContainer hook runs in the container's mount namespace before the
    masks are applied, like a second container sharing it would. runc before
    1.2.8 bound whatever /dev/null named over the masked paths, so the
    container got the symlink's target (here a writable procfs file) where
    /proc/kcore should be unreadable. We check /dev/null is the char device
    1:3 and refuse otherwise; without the check this test sees the create
    succeed.
    """
    hook = tmp_path / 'swap-null.sh'
    hook.write_text('#!/bin/sh\nrm -f "$1/dev/null"\nln -s /proc/sys/kernel/core_pattern "$1/dev/null"\n')
    hook.chmod(0o755)
    bundle.config['hooks'] = {'createContainer': [{'path': str(hook), 'args': [str(hook), bundle.rootfs]}]}
    bundle.write(['sh', '-c', 'cat /proc/kcore | wc -c'])
    container_id = new_id()
    result = runcible.cmd('run', '--bundle', bundle.path, container_id)
    assert result.returncode == 1
    assert 'is not the null device' in error_message(result.stderr)
    assert runcible.ids() == []


def test_image_dev_symlink_pointing_outside(runcible, bundle, tmp_path):
    """An image whose /dev is a symlink to a host path: devices are made inside the rootfs, never there.

    Resolution treats the absolute link as relative to the rootfs; a runtime
    that follows it on the host would mount a tmpfs on, and mknod into, the
    host folder.
    """
    host_dev = tmp_path / 'hostdev'
    host_dev.mkdir()
    os.rmdir(os.path.join(bundle.rootfs, 'dev'))
    os.symlink(str(host_dev), os.path.join(bundle.rootfs, 'dev'))
    bundle.write(['sh', '-c', 'ls -l /dev/null | cut -c1; grep " %s " /proc/self/mountinfo | cut -d" " -f9' % host_dev])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    # The /dev tmpfs sits where the link leads inside the rootfs, with the devices in it.
    assert (result.returncode, result.stdout) == (0, 'c\ntmpfs\n'), result.stderr
    assert os.listdir(str(host_dev)) == []
    inside = os.path.join(bundle.rootfs, str(host_dev).lstrip('/'))
    assert os.path.isdir(inside)


def _host_proc_sys(bundle):
    bundle.config['linux']['readonlyPaths'].remove('/proc/sys')
    return {'destination': '/proc/sys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}


def _via_image_symlink(bundle):
    bundle.config['linux']['readonlyPaths'].remove('/proc/sys')
    os.symlink('/proc/sys', os.path.join(bundle.rootfs, 'psys'))
    return {'destination': '/psys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}


def _tmpfs_over_proc(bundle):
    bundle.config['mounts'] = [m for m in bundle.config['mounts'] if m['destination'] != '/proc']
    return {'destination': '/proc', 'type': 'tmpfs', 'source': 'tmpfs'}


def _proc_through_a_symlink(bundle):
    os.rmdir(os.path.join(bundle.rootfs, 'proc'))
    os.symlink('/tmp', os.path.join(bundle.rootfs, 'proc'))
    return None


def _symlink_from_an_earlier_mount(bundle):
    """The image has no such link: it arrives with mounts[7], so only the check at mount time sees it."""
    bundle.config['linux']['readonlyPaths'].remove('/proc/sys')
    volume = os.path.join(bundle.path, 'volume')
    os.mkdir(volume)
    os.symlink('/proc/sys', os.path.join(volume, 'psys'))
    bundle.extra_mounts = [{'destination': '/data/psys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}]
    return {'destination': '/data', 'type': 'bind', 'source': volume, 'options': ['rbind']}


def _net_dev(bundle):
    return {'destination': '/proc/net/dev', 'type': 'bind', 'source': os.path.join(bundle.path, 'fake'),
            'options': ['bind', 'ro']}


def _lxcfs_files(bundle):
    bundle.extra_mounts = [{'destination': '/proc/' + name, 'type': 'bind', 'source': os.path.join(bundle.path, 'fake'),
                            'options': ['bind', 'ro']} for name in ('meminfo', 'uptime', 'sys/kernel/ns_last_pid')]
    return None


def _host_proc(bundle):
    bundle.config['mounts'][0] = {'destination': '/proc', 'type': 'bind', 'source': '/proc', 'options': ['rbind']}
    return None


@pytest.mark.parametrize('case, refused_field, script', [
    # CVE-2019-16884 class: the host's /proc/sys over the container's, read-write
    (_host_proc_sys, 'mounts[7].destination', 'cat /proc/sys/vm/swappiness'),
    (_via_image_symlink, 'mounts[7].destination', 'cat /psys/vm/swappiness'),
    # runc 1.1 fails later (no /proc/self/fd), runc 1.2 refuses it as we do; crun runs it
    (_symlink_from_an_earlier_mount, 'mounts[8].destination', 'cat /data/psys/vm/swappiness'),
    (_tmpfs_over_proc, 'mounts[6].destination', 'true'),
    (_proc_through_a_symlink, 'mounts[0].destination', 'true'),
    # in runc 1.1's list, but /proc/net is a symlink to self/net: it resolves to /proc/1/net/dev
    (_net_dev, 'mounts[7].destination', 'cat /proc/net/dev'),
    # allowed: what lxcfs binds, and a procfs over /proc
    (_lxcfs_files, None, 'cat /proc/meminfo /proc/uptime /proc/sys/kernel/ns_last_pid'),
    (_host_proc, None, 'test -r /proc/self/status && echo procfs'),
])
def test_mounts_into_proc_are_refused_as_runc_refuses_them(pair, make_bundle, case, refused_field, script):
    """A mount into /proc bypasses readonlyPaths and maskedPaths: before, the container wrote the host's vm.swappiness.

    Refused (both runtimes exit 1, ours naming the field, nothing left) unless
    it is one of the files lxcfs emulates or a procfs on /proc itself, which
    both runtimes run with the same output.
    """
    outcomes = []
    for runtime in pair:
        bundle = make_bundle()
        with open(os.path.join(bundle.path, 'fake'), 'w') as handle:
            handle.write('fake\n')
        bundle.extra_mounts = []
        mount = case(bundle)
        if mount:
            bundle.config['mounts'].append(mount)
        bundle.config['mounts'].extend(bundle.extra_mounts)
        bundle.write(['sh', '-c', script])
        container_id = new_id()
        result = runtime.cmd('run', '--bundle', bundle.path, container_id)
        outcomes.append((result.returncode, result.stdout))
        if runtime.name == 'runcible' and refused_field:
            assert error_message(result.stderr).startswith('runcible run failed: ' + refused_field), result.stderr
        assert leftovers_of(runtime, container_id, bundle.rootfs) == []
    if refused_field:
        assert [rc for rc, _out in outcomes] == [1, 1], outcomes
    else:
        assert outcomes[0] == outcomes[1] and outcomes[0][0] == 0, outcomes
