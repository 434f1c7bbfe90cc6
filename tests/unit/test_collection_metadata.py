# -*- coding: utf-8 -*-
"""The collection's metadata agrees with itself: versions, the action group, role argument specs."""

import os

import yaml

from ansible_collections.runcible.oci.plugins.module_utils import runtime

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def test_runtime_version_is_the_collections():
    # `runcible --version`, `runcible features` and the Galaxy artifact name one version.
    assert runtime.VERSION == _load('galaxy.yml')['version']


def test_the_action_group_holds_every_module():
    # oci_host_copy is run by action plugins with arguments of their own, never from a play's module_defaults.
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, 'plugins', 'modules'))
                     if name.endswith('.py') and name not in ('__init__.py', 'oci_host_copy.py'))
    assert sorted(_load('meta', 'runtime.yml')['action_groups']['oci']) == modules


def test_every_role_declares_its_variables():
    roles = sorted(name for name in os.listdir(os.path.join(REPO, 'roles'))
                   if os.path.isdir(os.path.join(REPO, 'roles', name)))
    assert roles
    for role in roles:
        spec = _load('roles', role, 'meta', 'argument_specs.yml')['argument_specs']['main']
        defaults_path = os.path.join(REPO, 'roles', role, 'defaults', 'main.yml')
        defaults = _load('roles', role, 'defaults', 'main.yml') if os.path.exists(defaults_path) else {}
        # Every default is a documented option with the same default, so ansible-doc and AWX show the truth.
        for name, value in (defaults or {}).items():
            assert name in spec['options'], '%s: %s has a default but no argument spec' % (role, name)
            option = spec['options'][name]
            if 'default' in option:
                assert option['default'] == value, '%s: %s defaults differ' % (role, name)
