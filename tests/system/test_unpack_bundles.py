# -*- coding: utf-8 -*-
"""Bundles from an OCI layout: overlay rootfs shared by bundles, remounted after a reboot, run by runc.

As root, with real overlay mounts and a real runc. Every mount a test makes
is removed at its end.
"""

import os
import shutil
import subprocess
import uuid

import pytest

from unpacklib import layerlib
from layerlib import entry, tar_layer

from ansible_collections.runcible.oci.plugins.module_utils.bundle import config as bundle_config
from ansible_collections.runcible.oci.plugins.module_utils.bundle import rootfs as bundle_rootfs
from ansible_collections.runcible.oci.plugins.module_utils.bundle import validate, volumes, writer
from ansible_collections.runcible.oci.plugins.module_utils.image import layout_reader, overlay

BUSYBOX = '/bin/busybox'
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='overlay mounts need root')


def busybox_layers():
    with open(BUSYBOX, 'rb') as handle:
        binary = handle.read()
    base = [entry('bin', 'dir'), entry('bin/busybox', data=binary, mode=0o755)]
    for applet in ('sh', 'id', 'cat', 'touch', 'echo', 'ls', 'sleep', 'true'):
        base.append(entry('bin/' + applet, 'symlink', link='busybox'))
    base += [entry('etc', 'dir'), entry('etc/passwd', data=b'root:x:0:0:root:/root:/bin/sh\nsvc:x:101:201::/home/svc:/bin/sh\n'),
             entry('etc/group', data=b'root:x:0:\nsvc:x:201:\n'), entry('tmp', 'dir', mode=0o1777)]
    for name in ('proc', 'sys', 'dev', 'root'):
        base.append(entry(name, 'dir'))
    app = [entry('var', 'dir'), entry('var/lib', 'dir'), entry('var/lib/app', 'dir', uid=101, gid=201, mode=0o750),
           entry('var/lib/app/seed', data=b'seeded', uid=101, gid=201)]
    return [tar_layer(base), tar_layer(app)]


@pytest.fixture(scope='module')
def layout(tmp_path_factory):
    if not os.path.exists(BUSYBOX):
        pytest.skip('busybox-static is not installed')
    built = layerlib.Layout(tmp_path_factory.mktemp('bb') / 'layout')
    layers = busybox_layers()
    built.add_image(layers, tag='v1', config={'Cmd': ['/bin/sh'], 'Volumes': {'/var/lib/app': {}}})
    built.add_image(layers + [tar_layer([entry('VERSION', data=b'2')])], tag='v2')
    return built.path


@pytest.fixture
def bundles(tmp_path):
    made = []

    def make(name):
        path = str(tmp_path / name)
        made.append(path)
        return path
    yield make
    for path in made:
        if os.path.isdir(os.path.join(path, 'rootfs')) and overlay.mount_at(os.path.realpath(os.path.join(path, 'rootfs'))):
            subprocess.run(['umount', '-l', os.path.join(path, 'rootfs')], check=False)


def ensure(bundle, layout, tmp_path, ref='v1', mode='overlay', **kwargs):
    return bundle_rootfs.ensure_rootfs(bundle, layout, ref=ref, mode=mode, layer_cache=str(tmp_path / 'cache'), **kwargs)


def test_bundles_share_layers_and_keep_their_own_changes(layout, bundles, tmp_path):
    one, two = bundles('one'), bundles('two')
    first = ensure(one, layout, tmp_path)
    second = ensure(two, layout, tmp_path)
    assert first.changed and second.changed and first.action == 'unpack' and second.action == 'mount'
    assert first.digest == second.digest
    assert bundle_rootfs.read_state(one)['rootfs']['lower'] == bundle_rootfs.read_state(two)['rootfs']['lower']
    with open(os.path.join(first.path, 'etc', 'motd'), 'w') as handle:
        handle.write('one only\n')
    assert not os.path.exists(os.path.join(second.path, 'etc', 'motd'))
    assert os.path.exists(os.path.join(one, 'overlay', 'upper', 'etc', 'motd'))
    again = ensure(one, layout, tmp_path)
    assert not again.changed and again.digest == first.digest
    assert ensure(one, layout, tmp_path, verify=True).digest != first.digest


def test_remounted_after_reboot_with_changes_kept(layout, bundles, tmp_path):
    bundle = bundles('reboot')
    result = ensure(bundle, layout, tmp_path)
    with open(os.path.join(result.path, 'kept'), 'w') as handle:
        handle.write('state\n')
    subprocess.run(['umount', result.path], check=True)
    assert overlay.overlay_state(result.path, bundle_rootfs.read_state(bundle)['rootfs']['lower']) == 'unmounted'
    assert ensure(bundle, layout, tmp_path, check_mode=True).changed
    back = ensure(bundle, layout, tmp_path)
    assert back.changed and back.action == 'mount'
    with open(os.path.join(back.path, 'kept')) as handle:
        assert handle.read() == 'state\n'
    assert not ensure(bundle, layout, tmp_path).changed


def test_new_image_starts_from_a_clean_upper(layout, bundles, tmp_path):
    bundle = bundles('upgrade')
    result = ensure(bundle, layout, tmp_path)
    with open(os.path.join(result.path, 'scratch'), 'w') as handle:
        handle.write('x')
    newer = ensure(bundle, layout, tmp_path, ref='v2')
    assert newer.changed and newer.digest != result.digest
    assert os.path.exists(os.path.join(newer.path, 'VERSION')) and not os.path.exists(os.path.join(newer.path, 'scratch'))


def test_mode_switches(layout, bundles, tmp_path):
    bundle = bundles('switch')
    over = ensure(bundle, layout, tmp_path)
    copy = ensure(bundle, layout, tmp_path, mode='copy')
    assert copy.changed and copy.digest == over.digest
    assert overlay.mount_at(os.path.realpath(copy.path)) is None and not os.path.exists(os.path.join(bundle, 'overlay'))
    assert not ensure(bundle, layout, tmp_path, mode='copy').changed
    back = ensure(bundle, layout, tmp_path)
    assert back.changed and overlay.mount_at(os.path.realpath(back.path))[0] == 'overlay'
    bundle_rootfs.remove_rootfs(bundle)
    assert not os.path.exists(back.path)


def test_check_mode_writes_nothing(layout, tmp_path):
    bundle = str(tmp_path / 'checked')
    result = ensure(bundle, layout, tmp_path, check_mode=True)
    assert result.changed and not os.path.exists(bundle) and not os.path.exists(str(tmp_path / 'cache'))
    result = bundle_rootfs.ensure_rootfs(bundle, layout, ref='v1', mode='copy', check_mode=True)
    assert result.changed and not os.path.exists(bundle)


@pytest.fixture
def runc_root(tmp_path):
    if shutil.which('runc') is None:
        pytest.skip('runc is not installed')
    root = str(tmp_path / 'runc-root')
    yield root
    for name in os.listdir(root) if os.path.isdir(root) else []:
        subprocess.run(['runc', '--root', root, 'delete', '--force', name], check=False, capture_output=True)


@pytest.mark.parametrize('mode', ['overlay', 'copy'])
def test_generated_bundle_runs_under_runc_with_the_usual_settings(layout, bundles, tmp_path, runc_root, mode):
    bundle = bundles('run-' + mode)
    result = ensure(bundle, layout, tmp_path, mode=mode)
    host = tmp_path / 'hostdata'
    host.mkdir()
    (host / 'hello').write_text('from the host\n')
    reader = layout_reader.OCILayout(layout)
    options = {
        'process': {'args': ['/bin/sh', '-c', 'id -u; id -g; ulimit -n; cat /data/hello; '
                                              'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; '
                                              'cat /sys/fs/cgroup/pids/pids.max; ls /var/lib/app; '
                                              'touch /rootfs-write 2>/dev/null && echo writable || echo read-only'],
                    'user': '101:201', 'rlimits': [{'type': 'nofile', 'soft': 4096, 'hard': 4096}],
                    'no_new_privileges': True},
        'root': {'readonly': True},
        'resources': {'memory': {'limit': '64m', 'swap': '128m'}, 'pids': {'limit': 32}},
        'mounts': [{'source': str(host), 'destination': '/data', 'options': ['ro']}],
        'linux': {'cgroups_path': '/runcible-test-%s' % uuid.uuid4().hex[:8]},
    }
    config = bundle_config.generate_config(reader.image(ref='v1').config, result.path, options)
    assert validate.validate_config(config) == []
    assert volumes.prepare_volumes(bundle, config, result.path)
    assert writer.write_config(bundle, config)[0]
    assert not writer.write_config(bundle, config)[0]
    run = subprocess.run(['runc', '--root', runc_root, 'run', '--bundle', bundle, 'unpack-' + mode],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split()
    assert lines == ['101', '201', '4096', 'from', 'the', 'host', str(64 << 20), '32', 'seed', 'read-only']
