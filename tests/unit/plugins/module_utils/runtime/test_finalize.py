# -*- coding: utf-8 -*-
"""The container process' last steps that need no root: the program lookup and the cwd check."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import syscalls
from ansible_collections.runcible.oci.plugins.module_utils.runtime.process import finalize


@pytest.fixture
def programs(tmp_path):
    runnable = tmp_path / 'runnable'
    runnable.write_text('#!/bin/sh\n')
    runnable.chmod(0o755)
    plain = tmp_path / 'plain'
    plain.write_text('data\n')
    plain.chmod(0o644)
    return tmp_path


def test_eaccess_accepts_an_executable_and_refuses_a_plain_file(programs):
    syscalls.eaccess(str(programs / 'runnable'))
    with pytest.raises(PermissionError):
        syscalls.eaccess(str(programs / 'plain'))
    with pytest.raises(FileNotFoundError):
        syscalls.eaccess(str(programs / 'missing'))


def test_find_executable_on_path_and_by_path(programs):
    assert finalize.find_executable('runnable', '/nonexistent:%s' % programs) == str(programs / 'runnable')
    assert finalize.find_executable(str(programs / 'runnable'), None) == str(programs / 'runnable')
    with pytest.raises(errors.SetupError, match='executable file not found in \\$PATH'):
        finalize.find_executable('plain', str(programs))
    with pytest.raises(errors.SetupError, match='permission denied'):
        finalize.find_executable(str(programs / 'plain'), None)


def test_cwd_below_root_from_a_deep_directory(tmp_path):
    deep = tmp_path / 'a' / 'b' / 'c'
    deep.mkdir(parents=True)
    before = os.getcwd()
    os.chdir(str(deep))
    try:
        assert finalize.cwd_below_root()
        # A climb shorter than the path cannot reach the root: refused, never assumed inside.
        assert not finalize.cwd_below_root(max_depth=2)
        finalize.verify_cwd()
    finally:
        os.chdir(before)
