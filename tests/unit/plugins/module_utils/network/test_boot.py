# -*- coding: utf-8 -*-
"""network-up's command line (the systemd unit of a container on networks runs it at boot)."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.network import boot


def test_arguments_in_any_order():
    assert boot._arguments(['--netns-dir', '/run/n', 'web', '--network-root', '/var/lib/r']) == \
        {'netns_dir': '/run/n', 'network_root': '/var/lib/r', 'name': 'web'}


@pytest.mark.parametrize('argv', [[], ['web'], ['--network-root', '/r', 'web'], ['--network-root', '/r',
                                  '--netns-dir', '/n', 'web', 'db'], ['--bogus', 'x', 'web'], ['--netns-dir']])
def test_bad_arguments_print_the_usage_and_exit_2(argv, capsys):
    assert boot.main(argv) == 2
    assert 'usage: network-up --network-root DIR --netns-dir DIR NAME' in capsys.readouterr().err


def test_a_container_on_no_network_is_nothing_to_do(tmp_path, capsys):
    assert boot.main(['--network-root', str(tmp_path / 'net'), '--netns-dir', str(tmp_path / 'ns'), 'web']) == 0
    assert 'container web is on no network' in capsys.readouterr().err
    assert not (tmp_path / 'ns').exists()


def test_an_invalid_name_is_an_error_not_a_traceback(tmp_path, capsys):
    assert boot.main(['--network-root', str(tmp_path), '--netns-dir', str(tmp_path / 'ns'), '../etc']) == 1
    assert capsys.readouterr().err.startswith('network-up: container ../etc: ')
