# -*- coding: utf-8 -*-
"""oci_container's systemd unit: its text, its files, and what systemd-analyze says of it."""

import json
import os
import shutil

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import systemd_unit
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


def _unit_text(**changes):
    arguments = dict(name='web', supervisor_folder='/run/runcible-supervisor/abc-web',
                     settings_path='/var/lib/runcible/units/runcible-web.json',
                     supervise_argv=['/usr/bin/python3', '-S', '/var/lib/runcible/lib/0123/supervise'],
                     runtime_argv=['/usr/sbin/runc', '--root', '/run/runc'], stop_timeout=10, bundle='/srv/bundles/web')
    arguments.update(changes)
    return systemd_unit.render(**arguments)


def test_the_unit_restores_the_settings_then_runs_the_supervisor():
    lines = _unit_text().splitlines()
    assert lines[0] == systemd_unit.MARKER
    assert 'ExecStartPre=/bin/cp /var/lib/runcible/units/runcible-web.json /run/runcible-supervisor/abc-web/settings.json' in lines
    assert 'ExecStartPre=-/usr/sbin/runc --root /run/runc delete --force web' in lines
    assert 'ExecStart=/usr/bin/python3 -S /var/lib/runcible/lib/0123/supervise /run/runcible-supervisor/abc-web' in lines
    assert 'TimeoutStopSec=25' in lines
    assert 'WantedBy=multi-user.target' in lines


def test_a_container_on_networks_is_put_back_on_them_first_after_nftables():
    plain = _unit_text().splitlines()
    assert not [line for line in plain if 'network-up' in line] and 'nftables' not in '\n'.join(plain)
    lines = _unit_text(network_up_argv=['/usr/bin/python3', '/var/lib/runcible/lib/0123/network-up', '--network-root',
                                        '/var/lib/runcible/network', '--netns-dir', '/run/runcible-netns',
                                        'web']).splitlines()
    starts = [line for line in lines if line.startswith('ExecStartPre=')]
    assert starts[0] == ('ExecStartPre=/usr/bin/python3 /var/lib/runcible/lib/0123/network-up --network-root '
                         '/var/lib/runcible/network --netns-dir /run/runcible-netns web')
    assert 'After=local-fs.target network.target nftables.service' in lines


def test_words_are_escaped_for_systemd():
    text = _unit_text(bundle='/srv/my bundles/100%', runtime_argv=['/opt/run time/runc'])
    assert 'RequiresMountsFor="/srv/my bundles/100%%"' in text
    assert 'ExecStartPre=-"/opt/run time/runc" delete --force web' in text


def test_write_enable_and_remove(tmp_path):
    unit = systemd_unit.Unit('web', unit_dir=str(tmp_path / 'system'), settings_dir=str(tmp_path / 'units'))
    assert not unit.exists()
    unit.write(_unit_text(), systemd_unit.settings_text({'id': 'web'}))
    assert unit.ours()
    assert os.readlink(unit.wants) == unit.path
    assert unit.current() == (_unit_text(), systemd_unit.settings_text({'id': 'web'}))
    assert json.loads(unit.current()[1]) == {'id': 'web'}
    unit.remove()
    assert not unit.exists() and not os.path.lexists(unit.wants)


def test_a_unit_written_by_hand_is_neither_replaced_nor_removed(tmp_path):
    unit = systemd_unit.Unit('web', unit_dir=str(tmp_path), settings_dir=str(tmp_path / 'units'))
    with open(unit.path, 'w') as handle:
        handle.write('[Service]\nExecStart=/bin/true\n')
    with pytest.raises(errors.ConfigError) as caught:
        unit.write(_unit_text(), '{}')
    assert caught.value.field == 'systemd_unit'
    unit.remove()
    assert os.path.exists(unit.path)


@pytest.mark.skipif(not shutil.which('systemd-analyze'), reason='systemd-analyze is not installed')
def test_systemd_analyze_accepts_the_unit_and_reports_a_broken_one():
    assert systemd_unit.verify('runcible-web.service', _unit_text()) == ''
    broken = _unit_text().replace('Type=simple', 'Type=sometimes')
    assert 'sometimes' in systemd_unit.verify('runcible-web.service', broken)
