# -*- coding: utf-8 -*-
"""oci_bundle's options are the runtime-spec table: every field once, typed as the schema says, documented."""

import ast
import os

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.runcible.oci.plugins.module_utils.bundle.config import generate_config
from ansible_collections.runcible.oci.plugins.module_utils.bundle.spec_names import option_table
from ansible_collections.runcible.oci.plugins.module_utils.bundle.validate import validate_config
from ansible_collections.runcible.oci.plugins.module_utils.converge import bundle_options

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..')
FRAGMENT = os.path.join(REPO, 'plugins', 'doc_fragments', 'bundle_spec.py')
ANSIBLE_TYPES = {'string': 'str', 'integer': 'int', 'boolean': 'bool', 'object': 'dict', 'map': 'dict',
                 'list of objects': 'list', 'list of strings': 'list', 'list of integers': 'list'}


def declared(spec, path):
    """The argument spec entry of option path 'resources.memory.limit' (list items are transparent)."""
    parts = path.replace('[]', '').split('.')
    entry = spec[parts[0]]
    for part in parts[1:]:
        entry = entry['options'][part]
    return entry


def test_every_offered_field_of_the_table_is_an_option_of_its_type():
    spec = bundle_options.argument_spec()
    checked = 0
    for snake, camel, shape in option_table():
        path = bundle_options.module_path(snake)
        if path is None or '<key>' in path:
            continue
        if any(path.replace('[]', '').startswith(raw + '.') for raw in bundle_options.RAW):
            continue
        entry = declared(spec, path)
        checked += 1
        if path in bundle_options.RAW:
            assert 'raw' in (entry['type'], entry.get('elements')), path
            continue
        assert entry['type'] == ANSIBLE_TYPES[shape], (path, camel)
        if shape.startswith('list of '):
            assert entry['elements'] == {'objects': 'dict', 'strings': 'str', 'integers': 'int'}[shape.split()[-1]], path
    assert checked == len(bundle_options.option_rows()) > 150


def test_the_linux_fields_are_top_level_and_the_bundle_owns_its_root_path():
    spec = bundle_options.argument_spec()
    for name in ('resources', 'namespaces', 'sysctl', 'masked_paths', 'seccomp', 'uid_mappings'):
        assert name in spec
    assert 'linux' not in spec and 'oci_version' not in spec
    assert set(spec['root']['options']) == {'readonly'}
    assert spec['process']['options']['no_new_privileges'] == {'type': 'bool'}
    assert spec['resources']['options']['pids']['options']['limit'] == {'type': 'int'}


def test_the_doc_fragment_is_the_rendered_table():
    with open(FRAGMENT) as handle:
        current = handle.read()
    assert current == bundle_options.render_doc_fragment(), (
        'plugins/doc_fragments/bundle_spec.py is out of date: regenerate it as its header says')


def test_the_doc_fragment_documents_exactly_the_argument_spec():
    yaml = pytest.importorskip('yaml')
    with open(FRAGMENT) as handle:
        tree = ast.parse(handle.read())
    text = next(node.value.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'DOCUMENTATION')
    documented = yaml.safe_load(text)['options']

    def compare(docs, spec, where):
        assert set(docs) == set(spec), where
        for name, entry in spec.items():
            doc = docs[name]
            assert doc['type'] == entry['type'] and doc.get('elements') == entry.get('elements'), where + name
            assert doc['description'], where + name
            if 'options' in entry:
                compare(doc['suboptions'], entry['options'], where + name + '.')
            else:
                assert 'suboptions' not in doc, where + name
    compare(documented, bundle_options.argument_spec(), '')


def test_ansible_validates_and_converts_what_users_write():
    spec = dict(bundle_options.argument_spec(), path={'type': 'path'})
    given = {
        'path': '/srv/b',
        'process': {'args': ['sh', '-c', 'id'], 'user': '101:201', 'env': {'MODE': 'prod'},
                    'rlimits': [{'type': 'nofile', 'soft': '4096'}], 'no_new_privileges': 'yes'},
        'root': {'readonly': True},
        'mounts': [{'source': '/srv/data', 'destination': '/data', 'options': ['ro']}],
        'resources': {'memory': {'limit': '256m', 'swap': 536870912}, 'pids': {'limit': '100'}},
        'namespaces': ['pid', 'mount', 'ipc', 'uts', {'type': 'network', 'path': '/run/netns/x'}],
    }
    result = ArgumentSpecValidator(spec).validate(given)
    assert result.error_messages == []
    params = result.validated_parameters
    assert params['process']['rlimits'][0]['soft'] == 4096 and params['process']['no_new_privileges'] is True
    assert params['resources']['pids']['limit'] == 100
    assert params['mounts'][0]['type'] is None  # what Ansible fills in, and params_to_options prunes
    options = bundle_options.params_to_options(params)
    assert options['mounts'] == [{'source': '/srv/data', 'destination': '/data', 'options': ['ro']}]
    assert 'path' not in options
    config = generate_config(None, None, options)
    assert validate_config(config) == []
    assert config['process']['user'] == {'uid': 101, 'gid': 201}
    assert config['process']['rlimits'] == [{'type': 'RLIMIT_NOFILE', 'soft': 4096, 'hard': 4096}]
    assert 'MODE=prod' in config['process']['env']
    assert config['linux']['resources']['memory'] == {'limit': 256 << 20, 'swap': 512 << 20}
    assert config['linux']['namespaces'][-1] == {'type': 'network', 'path': '/run/netns/x'}


def test_ansible_refuses_unknown_options_with_their_path():
    spec = bundle_options.argument_spec()
    result = ArgumentSpecValidator(spec).validate({'process': {'no_new_privilege': True}})
    assert 'no_new_privilege' in ' '.join(result.error_messages)
    assert 'process' in ' '.join(result.error_messages)


@pytest.mark.parametrize('field, option', [
    ('linux.resources.memory.swap', 'resources.memory.swap'),
    ('process.noNewPrivileges', 'process.no_new_privileges'),
    ('process.rlimits[0].soft', 'process.rlimits[0].soft'),
    ('mounts[7].destination', 'mounts[7].destination'),
    ('linux.uidMappings[1].hostID', 'uid_mappings[1].host_id'),
    ('linux.sysctl.net.ipv4.ip_forward', 'sysctl.net.ipv4.ip_forward'),
    ('annotations.someKey', 'annotations.someKey'),
    ('linux.resources.blockIO.throttleReadIOPSDevice[0].rate', 'resources.block_io.throttle_read_iops_device[0].rate'),
    ('notAField', 'notAField'),
])
def test_config_json_paths_name_their_option(field, option):
    assert bundle_options.option_path(field) == option
