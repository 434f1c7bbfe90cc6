# -*- coding: utf-8 -*-
"""Rules about the code itself that docs/architecture.md states: checked on the source, so they cannot drift."""

import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGINS = os.path.join(REPO, 'plugins')
# Ansible looks doc fragments up by this class name: every fragment file has one.
SAME_NAME_BY_CONVENTION = {'ModuleDocFragment'}


def python_files(top=PLUGINS):
    found = []
    for folder, _dirs, files in os.walk(top):
        found.extend(os.path.join(folder, name) for name in sorted(files) if name.endswith('.py'))
    assert len(found) > 100, 'no plugins found under %s' % top
    return found


def parsed(path):
    with open(path, 'rb') as handle:
        return ast.parse(handle.read(), path)


def test_no_two_classes_share_a_name():
    """One exception hierarchy (and one of everything else): two DigestMismatch or ArchiveError classes were two
    things a caller could catch the wrong one of."""
    seen = {}
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.ClassDef) and node.name not in SAME_NAME_BY_CONVENTION:
                seen.setdefault(node.name, []).append(os.path.relpath(path, PLUGINS))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_the_kernel_seam_is_reached_through_its_module():
    """`from ..linux.syscalls import mount` would keep the real call where a test put the double (fakekernel.py)."""
    offenders = []
    for path in python_files():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[-1] == 'syscalls':
                offenders.append('%s:%d' % (os.path.relpath(path, PLUGINS), node.lineno))
    assert offenders == []
