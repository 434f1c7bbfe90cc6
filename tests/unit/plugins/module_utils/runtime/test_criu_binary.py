# -*- coding: utf-8 -*-
"""Finding CRIU and taking `criu check`'s verdict, with stand-in criu scripts."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import binary


def fake_criu(tmp_path, version='4.2.1', check_exit=0, check_output='Looks good.'):
    path = tmp_path / 'criu'
    path.write_text('#!/bin/sh\ncase "$1" in\n  --version) echo "Version: %s"; exit 0 ;;\n'
                    '  check) echo "%s" >&2; exit %d ;;\nesac\nexit 3\n' % (version, check_output, check_exit))
    path.chmod(0o755)
    return str(path)


def test_parse_version():
    assert binary.parse_version('Version: 4.1.1\n') == (4, 1, 1)
    assert binary.parse_version('Version: 3.17\nGitID: v3.17') == (3, 17, 0)
    assert binary.parse_version('criu: command not found') is None


def test_a_working_criu(tmp_path):
    found = binary.find(fake_criu(tmp_path))
    assert (found.path, found.version, found.version_text) == (str(tmp_path / 'criu'), (4, 2, 1), '4.2.1')


def test_a_missing_criu_says_so(tmp_path, monkeypatch):
    with pytest.raises(errors.CriuError, match='does not exist'):
        binary.find(str(tmp_path / 'nothing'))
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(errors.CriuError, match='not installed'):
        binary.find('criu')


def test_a_criu_failing_check_gives_its_reason(tmp_path):
    path = fake_criu(tmp_path, version='3.17.1', check_exit=1,
                     check_output='Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds')
    with pytest.raises(errors.CriuError) as raised:
        binary.find(path)
    assert 'fails "criu check"' in raised.value.message
    assert 'vdso: Unexpected rt vDSO area bounds' in raised.value.message


def test_too_old_a_criu_is_refused(tmp_path):
    with pytest.raises(errors.CriuError, match='too old'):
        binary.find(fake_criu(tmp_path, version='3.14'))


def test_not_executable(tmp_path):
    path = tmp_path / 'criu'
    path.write_text('')
    with pytest.raises(errors.CriuError, match='not an executable'):
        binary.find(str(path))
