# -*- coding: utf-8 -*-
"""cgroup v2 freezing on a fake directory (the v1 freezer and cgroup.freeze are tested for real in tests/system)."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import freezer

D = '/cg/ctr'


def test_freeze_waits_for_cgroup_events_and_state_follows(fake_files):
    files = fake_files({(D, 'cgroup.freeze'): '0', (D, 'cgroup.events'): 'populated 1\nfrozen 0\n'})
    reads = []
    original = files.read

    def read(directory, name):
        # The kernel reports "frozen 1" a little after the write.
        if name == 'cgroup.events':
            reads.append(name)
            if len(reads) == 3:
                files.files[(D, 'cgroup.events')] = 'populated 1\nfrozen 1\n'
        return original(directory, name)
    files.read = read
    assert freezer.state_v2(files, D) == freezer.THAWED
    freezer.set_v2(files, D, True, 5)
    assert len(reads) >= 3
    assert freezer.state_v2(files, D) == freezer.FROZEN


def test_a_freeze_that_never_completes_is_undone_and_reported(fake_files):
    files = fake_files({(D, 'cgroup.freeze'): '0', (D, 'cgroup.events'): 'populated 1\nfrozen 0\n'})
    with pytest.raises(errors.CgroupError):
        freezer.set_v2(files, D, True, 0.05)
    assert files.writes == [('cgroup.freeze', '1'), ('cgroup.freeze', '0')]
    assert freezer.state_v2(files, D) == freezer.THAWED


def test_no_freezer_file_is_undefined(fake_files):
    assert freezer.state_v2(fake_files(), D) == freezer.UNDEFINED
    assert freezer.state_v1(fake_files(), D, 0.1) == freezer.UNDEFINED


def test_v1_frozen_by_an_ancestor_only_is_thawed_for_this_container(fake_files):
    files = fake_files({(D, 'freezer.state'): 'FROZEN\n', (D, 'freezer.self_freezing'): '0\n'})
    assert freezer.state_v1(files, D, 0.1) == freezer.THAWED
    files.files[(D, 'freezer.self_freezing')] = '1\n'
    assert freezer.state_v1(files, D, 0.1) == freezer.FROZEN
