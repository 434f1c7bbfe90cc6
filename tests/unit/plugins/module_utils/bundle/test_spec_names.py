# -*- coding: utf-8 -*-
"""The snake_case <-> camelCase table: one name per field, derived from the schema, rendered in the docs."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.bundle import spec_names

DOCS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'docs', 'bundles.md')


@pytest.mark.parametrize('camel, snake', [
    ('noNewPrivileges', 'no_new_privileges'), ('hostID', 'host_id'), ('disableOOMKiller', 'disable_oom_killer'),
    ('kernelTCP', 'kernel_tcp'), ('blockIO', 'block_io'), ('throttleReadIOPSDevice', 'throttle_read_iops_device'),
    ('l3CacheSchema', 'l3_cache_schema'), ('execCPUAffinity', 'exec_cpu_affinity'), ('ociVersion', 'oci_version'),
    ('classID', 'class_id'), ('enableCMT', 'enable_cmt'), ('args', 'args'),
])
def test_camel_to_snake(camel, snake):
    assert spec_names.camel_to_snake(camel) == snake


def test_table_is_one_to_one():
    rows = spec_names.option_table()
    assert len({snake for snake, _unused, _unused in rows}) == len(rows)
    assert len({camel for _unused, camel, _unused in rows}) == len(rows)
    for snake, camel, _unused in rows:
        assert '.'.join(spec_names.camel_to_snake(p) if p not in ('<key>',) else p
                        for p in camel.replace('[]', '').split('.')) == snake.replace('[]', '')


def test_table_covers_the_settings_users_need():
    snakes = {snake for snake, _unused, _unused in spec_names.option_table()}
    for wanted in ('process.user.uid', 'process.user.additional_gids', 'process.rlimits[].soft', 'root.readonly',
                   'process.no_new_privileges', 'linux.resources.memory.limit', 'linux.resources.memory.swap',
                   'linux.resources.pids.limit', 'linux.namespaces[].type', 'mounts[].source', 'linux.sysctl.<key>'):
        assert wanted in snakes


def test_map_keys_and_values_are_kept():
    given = {'annotations': {'my_key': 'v'},
             'linux': {'sysctl': {'net.ipv4.ip_forward': '1'}, 'resources': {'unified': {'memory.high': '1'}}}}
    assert spec_names.to_spec(given) == given


def test_docs_carry_the_current_table():
    with open(DOCS) as handle:
        assert spec_names.render_markdown_table() in handle.read()
