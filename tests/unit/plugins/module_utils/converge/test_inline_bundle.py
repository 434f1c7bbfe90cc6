# -*- coding: utf-8 -*-
"""oci_container's bundle_options: oci_bundle's options, checked by Ansible's validator, converged by its logic."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import inline_bundle
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors


def test_defaults_are_oci_bundles():
    params = inline_bundle.validated({'image': 'localhost/app:1'})
    assert params['rootfs_mode'] == 'copy'
    assert params['image_volumes'] == 'bind'
    assert params['store'] == '/var/lib/runcible/images'


@pytest.mark.parametrize('options, words', [
    ({'image': 'a:1', 'hostnme': 'x'}, ['unsupported options', 'hostnme']),
    ({'hostname': 'x'}, ['image', 'rootfs']),
    ({'image': 'a:1', 'rootfs_mode': 'sideways'}, ['rootfs_mode', 'sideways']),
    ({'image': 'a:1', 'process': {'no_new_privileges': 'perhaps'}}, ['no_new_privileges']),
])
def test_wrong_options_fail_under_bundle_options(options, words):
    with pytest.raises(errors.ConfigError) as caught:
        inline_bundle.validated(options)
    assert caught.value.field == 'bundle_options'
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize('name', ['path', 'state'])
def test_path_and_state_belong_to_oci_container(name):
    with pytest.raises(errors.ConfigError) as caught:
        inline_bundle.validated({'image': 'a:1', name: 'x'})
    assert caught.value.field == 'bundle_options.' + name


def test_the_bundle_is_made_then_left_alone(tmp_path, tarball):
    options = {'rootfs': tarball, 'store': str(tmp_path / 'store'), 'hostname': 'one', 'process': {'args': ['/bin/true']}}
    bundle = str(tmp_path / 'bundle')
    predicted = inline_bundle.converge(bundle, options, check_mode=True)
    assert predicted['changed'] and not os.path.exists(bundle)
    made = inline_bundle.converge(bundle, options)
    assert made['changed'] and made['config']['hostname'] == 'one'
    assert made['config_digest'] == predicted['config_digest']
    again = inline_bundle.converge(bundle, options)
    assert not again['changed']


def test_a_settings_error_names_the_option_under_bundle_options(tmp_path, tarball):
    options = {'rootfs': tarball, 'store': str(tmp_path / 'store'),
               'process': {'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 8192, 'hard': 4096}]}}
    with pytest.raises(errors.ConfigError) as caught:
        inline_bundle.converge(str(tmp_path / 'bundle'), options)
    assert caught.value.field.startswith('bundle_options.process.rlimits[0]')
