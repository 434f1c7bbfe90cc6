# -*- coding: utf-8 -*-
"""checkpoint/restore flags: defaults, refusals with their reasons, what CRIU is told."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import messages
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu.options import CriuOptions

CLONE_NEWNET = 0x40000000


def test_defaults_are_runcs():
    options = CriuOptions().validate()
    assert options.image_path == os.path.join(os.getcwd(), 'checkpoint')
    opts = options.rpc_opts()
    assert opts['manage_cgroups_mode'] == messages.CGROUP_MODES[''] and opts['empty_ns'] == CLONE_NEWNET
    assert opts['orphan_pts_master'] and opts['notify_scripts'] and not opts['tcp_established']


@pytest.mark.parametrize('mode, number', [('soft', 3), ('full', 4), ('strict', 5), ('ignore', 0)])
def test_cgroup_modes(mode, number):
    assert CriuOptions(manage_cgroups_mode=mode).validate().rpc_opts()['manage_cgroups_mode'] == number


@pytest.mark.parametrize('kwargs, message', [
    ({'manage_cgroups_mode': 'props'}, 'invalid manage-cgroups-mode'),
    ({'empty_ns': ['pid']}, 'namespace "pid" is not supported'),
    ({'refused': {'pre_dump': True}}, 'soft-dirty'),
    ({'refused': {'lazy_pages': True}}, 'lazy-pages'),
    ({'refused': {'page_server': '10.0.0.1:27'}}, 'page-server'),
    ({'refused': {'lsm_profile': 'apparmor:x'}}, 'AppArmor'),
])
def test_bad_or_refused_flags(kwargs, message):
    with pytest.raises(errors.UsageError, match=message):
        CriuOptions(**kwargs).validate()


def test_flags_reach_criu():
    opts = CriuOptions(tcp_established=True, ext_unix_sk=True, shell_job=True, file_locks=True, auto_dedup=True,
                       empty_ns=['network'], refused={'pre_dump': False}).validate().rpc_opts()
    assert all(opts[name] for name in ('tcp_established', 'ext_unix_sk', 'shell_job', 'file_locks', 'auto_dedup'))
    assert opts['empty_ns'] == CLONE_NEWNET
