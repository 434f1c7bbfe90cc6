# -*- coding: utf-8 -*-
"""validate_config: the schema and the checks beside it, with paths and fixes; both validators agree."""

import copy

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.bundle import validate as V
from ansible_collections.runcible.oci.plugins.module_utils.bundle.config import base_spec
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError

try:
    import jsonschema  # noqa: F401  pylint: disable=unused-import
    VALIDATORS = [False, True]
except ImportError:
    VALIDATORS = [False]


def changed(**paths):
    config = base_spec()
    for dotted, value in paths.items():
        node = config
        keys = dotted.split('__')
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return config


@pytest.fixture(params=VALIDATORS, ids=lambda v: 'jsonschema' if v else 'own')
def validate(request):
    return lambda config: V.validate_config(config, use_jsonschema=request.param)


def paths(problems):
    return [path for path, _unused in problems]


def test_runc_default_spec_is_valid(validate):
    assert validate(base_spec()) == []


@pytest.mark.parametrize('config, path, words', [
    (changed(process__rlimits=[{'type': 'RLIMIT_NOFILE', 'soft': '1024', 'hard': 1024}]),
     'process.rlimits[0].soft', 'without quotes'),
    (changed(process__noNewPrivilege=True), 'process.noNewPrivilege', "did you mean 'noNewPrivileges'"),
    (changed(linux__resources={'memory': {'limit': -5, 'swap': 'x'}}), 'linux.resources.memory.swap', 'integer'),
    (changed(linux__namespaces=[{'type': 'net'}]), 'linux.namespaces[0].type', 'one of'),
    (changed(process__user={'uid': -1, 'gid': 0}), 'process.user.uid', 'at least 0'),
    (changed(root={'readonly': True}), 'root.path', 'required'),
    (changed(process__env=['NOEQUALS']), 'process.env[0]', 'NAME=value'),
    (changed(linux__maskedPaths=['proc/kcore']), 'linux.maskedPaths[0]', 'absolute'),
    (changed(ociVersion='2.0.0'), 'ociVersion', 'match'),
])
def test_schema_errors_name_path_and_fix(validate, config, path, words):
    problems = validate(config)
    assert path in paths(problems), problems
    assert words in dict(problems)[path]


@pytest.mark.parametrize('config, path, words', [
    (changed(mounts=[{'destination': 'data', 'type': 'tmpfs', 'source': 'tmpfs'}]), 'mounts[0].destination', "'/data'"),
    (changed(mounts=[{'destination': '/data', 'options': ['rbind']}]), 'mounts[0].source', 'source path on the host'),
    (changed(linux__namespaces=[{'type': 'pid'}, {'type': 'user'}]), 'linux.uidMappings', 'needs uidMappings and gidMappings'),
    (changed(linux__uidMappings=[{'containerID': 0, 'hostID': 1000, 'size': 1}]), 'linux.uidMappings', 'user namespace'),
    (changed(linux__sysctl={'net.ipv4.ip_forward': '1'}, linux__namespaces=[{'type': 'pid'}, {'type': 'uts'}]),
     'linux.sysctl["net.ipv4.ip_forward"]', 'network namespace'),
    (changed(linux__sysctl={'kernel.shmmax': '1'}, linux__namespaces=[{'type': 'uts'}]),
     'linux.sysctl["kernel.shmmax"]', 'IPC namespace'),
    (changed(linux__sysctl={'vm.swappiness': '1'}), 'linux.sysctl["vm.swappiness"]', 'not in a separate kernel namespace'),
    (changed(process__rlimits=[{'type': 'RLIMIT_NOFILE', 'soft': 10, 'hard': 5}]), 'process.rlimits[0].soft', 'above the hard limit'),
    (changed(process__rlimits=[{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}, {'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}]),
     'process.rlimits[1].type', 'already set at process.rlimits[0]'),
    (changed(process__rlimits=[{'type': 'RLIMIT_NOFLIE', 'soft': 1, 'hard': 1}]), 'process.rlimits[0].type', 'RLIMIT_NOFILE'),
    (changed(linux__namespaces=[{'type': 'pid'}, {'type': 'pid'}, {'type': 'uts'}]), 'linux.namespaces[1].type', 'duplicated ns'),
    (changed(linux__namespaces=[{'type': 'pid'}]), 'hostname', 'UTS namespace'),
    (changed(process__capabilities={'bounding': ['CAP_NET_BIND']}), 'process.capabilities.bounding[0]', 'CAP_NET_BIND_SERVICE'),
    (changed(linux__resources={'memory': {'limit': 1000, 'swap': 500}}), 'linux.resources.memory.swap', 'memory+swap limit (500) should be >='),
    (changed(process__args=[]), 'process.args', 'program to run'),
    (changed(process__cwd='srv'), 'process.cwd', "'/srv'"),
    (changed(linux__devices=[{'type': 'c', 'path': '/dev/x'}]), 'linux.devices[0].major', 'required'),
    (changed(linux__devices=[{'type': 'b', 'path': '/dev/x', 'major': 7, 'minor': 0, 'fileMode': 0o20600}]),
     'linux.devices[0].fileMode', "type 'b' needs 0o60000"),
    (changed(linux__devices=[{'type': 'c', 'path': '/dev/x', 'major': 1, 'minor': 3, 'fileMode': 0o200000}]),
     'linux.devices[0].fileMode', 'permission bits'),
])
def test_checks_beyond_the_schema(validate, config, path, words):
    problems = validate(config)
    assert path in paths(problems), problems
    assert words in dict(problems)[path]


def test_device_file_mode_with_its_own_type_bits_is_valid(validate):
    """podman's linux.devices[].fileMode is the host's st_mode (0o20600 for /dev/fuse)."""
    config = changed(linux__devices=[{'type': 'c', 'path': '/dev/fuse', 'major': 10, 'minor': 229, 'fileMode': 8576}])
    assert validate(config) == []


def test_user_outside_the_mappings(validate):
    config = changed(linux__namespaces=[{'type': 'user'}, {'type': 'mount'}, {'type': 'uts'}],
                     linux__uidMappings=[{'containerID': 0, 'hostID': 100000, 'size': 100}],
                     linux__gidMappings=[{'containerID': 0, 'hostID': 100000, 'size': 65536}],
                     process__user={'uid': 101, 'gid': 201})
    assert paths(validate(config)) == ['process.user.uid']


def test_non_strict_allows_unknown_keys(validate):
    config = changed(process__vendorExtension=True)
    assert paths(V.validate_config(config, strict=False)) == []
    assert paths(validate(config)) == ['process.vendorExtension']


def test_both_validators_agree_on_a_bad_config():
    if True not in VALIDATORS:
        pytest.skip('jsonschema is not installed')
    config = changed(process__user={'uid': 'root'}, linux__resources={'pids': {}}, mounts=[{'type': 'tmpfs'}],
                     annotations={'a': 1}, hooks={'prestart': [{'path': 'rel'}]}, process__terminal='yes')
    assert V.validate_config(config, use_jsonschema=True) == V.validate_config(config, use_jsonschema=False)


def test_check_config_raises_with_all_problems():
    config = copy.deepcopy(base_spec())
    config['process']['cwd'] = 'x'
    config['process']['args'] = []
    with pytest.raises(ConfigError) as caught:
        V.check_config(config)
    assert caught.value.field == 'process.args' and 'process.cwd' in caught.value.reason


@pytest.mark.parametrize('config, path', [
    (changed(process__env=['PATH=/bin', 'A=1', 'B=2', 'C=\x00']), 'process.env[3]'),
    (changed(process__args=['sh', '-c\x00']), 'process.args[1]'),
    (changed(mounts=[{'destination': '/proc/sys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}]),
     'mounts[0].destination'),
    (changed(mounts=[{'destination': '/proc', 'type': 'tmpfs', 'source': 'tmpfs'}]), 'mounts[0].destination'),
    (changed(linux__cgroupsPath='../../../x'), 'linux.cgroupsPath'),
])
def test_the_runtimes_rules_give_the_same_verdict(validate, config, path):
    """oci_bundle refuses what `create` would refuse, with the same field (the rules live in the runtime)."""
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec import config as runtime_config
    with pytest.raises(ConfigError) as caught:
        runtime_config.validate(config)
    assert caught.value.field == path
    assert path in paths(validate(config))
