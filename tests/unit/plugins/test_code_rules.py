# -*- coding: utf-8 -*-
"""Rules about the code itself that docs/architecture.md states: checked on the source, so they cannot drift.

The layers and who may import whom are docs/architecture.md's table; LAYERS below is the same table.
"""

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
    assert len(found) > 10, 'no plugins found under %s' % top
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


# Package (under plugins/) -> the packages it may import besides itself. docs/architecture.md, "Who imports whom".
LAYERS = {
    'module_utils/runtime': set(),
    'module_utils/image': {'module_utils/runtime'},
    'module_utils/driver': {'module_utils/runtime', 'module_utils/bytecode', 'module_utils/hostcopy'},
    'module_utils/supervisor': {'module_utils/runtime'},
    'module_utils/network': {'module_utils/runtime'},
    'module_utils/host': {'module_utils/runtime'},
    'module_utils/bytecode': set(),
    'module_utils/hostcopy': {'module_utils/bytecode'},
    'module_utils/bundle': {'module_utils/runtime', 'module_utils/image'},
    'module_utils/converge': {'module_utils/runtime', 'module_utils/image', 'module_utils/bundle', 'module_utils/driver',
                              'module_utils/supervisor', 'module_utils/network'},
    'plugin_utils': {'module_utils/runtime'},
    'connection': {'module_utils/runtime', 'module_utils/driver', 'module_utils/bundle', 'plugin_utils'},
    'modules': {'module_utils/converge', 'module_utils/runtime', 'module_utils/image', 'module_utils/supervisor',
                'module_utils/network', 'module_utils/host', 'module_utils/bytecode', 'module_utils/hostcopy'},
    'action': {'module_utils/hostcopy'},
    'doc_fragments': set(),
}
# The runtime's verbs and the processes behind them: only the driver calls them (and the runtime itself).
RUNTIME_VERBS = ('module_utils/runtime/container', 'module_utils/runtime/process', 'module_utils/runtime/cli')


def package_of(path):
    """'module_utils/converge' for plugins/module_utils/converge/x.py, 'modules' for plugins/modules/x.py."""
    parts = os.path.relpath(path, PLUGINS).split(os.sep)
    package = '/'.join(parts[:2]) if parts[0] == 'module_utils' else parts[0]
    return package[:-len('.py')] if package.endswith('.py') else package


def imported(path):
    """(line, the plugins-relative path of each module or package `path` imports from this collection)."""
    folder = os.path.relpath(os.path.dirname(path), PLUGINS).split(os.sep)
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = folder[:len(folder) - (node.level - 1)]
                target = base + (node.module.split('.') if node.module else [])
            elif (node.module or '').startswith('ansible_collections.runcible.oci.plugins'):
                target = node.module.split('.')[4:]
            else:
                continue
            for alias in node.names:
                yield node.lineno, '/'.join(target + [alias.name])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('ansible_collections.runcible.oci.plugins'):
                    yield node.lineno, '/'.join(alias.name.split('.')[4:])


def owner(target):
    """The LAYERS package a plugins-relative import target belongs to."""
    parts = target.split('/')
    return '/'.join(parts[:2]) if parts[0] == 'module_utils' else parts[0]


def test_each_layer_imports_only_the_layers_below_it():
    offenders = []
    for path in python_files():
        package = package_of(path)
        assert package in LAYERS, 'plugins/%s is a layer docs/architecture.md and LAYERS do not know' % package
        for line, target in imported(path):
            if owner(target) not in LAYERS[package] | {package}:
                offenders.append('%s:%d imports %s' % (os.path.relpath(path, PLUGINS), line, target))
    assert offenders == []


def test_the_runtime_imports_nothing_from_outside_it_and_only_relatively():
    """bin/runcible runs it as the top-level package `runtime`: an absolute or outside import breaks that."""
    offenders = []
    for path in python_files(os.path.join(PLUGINS, 'module_utils', 'runtime')):
        for node in ast.walk(parsed(path)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ''] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders.extend('%s:%d %s' % (os.path.relpath(path, PLUGINS), node.lineno, name) for name in names
                             if name.split('.')[0] in ('ansible_collections', 'ansible', 'runtime'))
        offenders.extend('%s:%d %s' % (os.path.relpath(path, PLUGINS), line, target) for line, target in imported(path)
                         if not target.startswith('module_utils/runtime/'))
    assert offenders == []


def test_converge_reaches_the_runtime_verbs_only_through_the_driver():
    offenders = []
    for path in python_files():
        if package_of(path) in ('module_utils/runtime', 'module_utils/driver'):
            continue
        for line, target in imported(path):
            if target.startswith(RUNTIME_VERBS) and not _ships_a_program(path, target):
                offenders.append('%s:%d imports %s' % (os.path.relpath(path, PLUGINS), line, target))
    assert offenders == []


def _ships_a_program(path, target):
    """A module imports the runtime's command line unused, so that Ansible ships it (persist.py copies it)."""
    return package_of(path) == 'modules' and target == 'module_utils/runtime/cli/main'
