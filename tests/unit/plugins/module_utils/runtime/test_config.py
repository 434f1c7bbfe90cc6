# -*- coding: utf-8 -*-
"""config.json validation: every fault names its field, before anything touches the host."""

import copy
import json
import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec import config, default


def _spec():
    spec = default.default_spec()
    spec['process']['terminal'] = False
    return spec


def _set(spec, path, value):
    target = spec
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return spec


@pytest.mark.parametrize('path, value, field', [
    (('ociVersion',), 1, 'ociVersion'),
    (('root',), KeyError, 'root'),
    (('root', 'path'), '', 'root.path'),
    (('process',), KeyError, 'process'),
    (('process', 'args'), [], 'process.args'),
    (('process', 'args'), ['sh', 3], 'process.args[1]'),
    (('process', 'cwd'), 'relative', 'process.cwd'),
    (('process', 'user', 'uid'), -1, 'process.user.uid'),
    (('process', 'user', 'gid'), 'root', 'process.user.gid'),
    (('process', 'rlimits'), [{'type': 'RLIMIT_BOGUS', 'soft': 1, 'hard': 1}], 'process.rlimits[0].type'),
    (('process', 'rlimits'), [{'type': 'RLIMIT_NOFILE', 'soft': 10, 'hard': 5}], 'process.rlimits[0].soft'),
    (('process', 'rlimits'), [{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1}] * 2, 'process.rlimits[1].type'),
    (('process', 'capabilities', 'bounding'), 'CAP_KILL', 'process.capabilities.bounding'),
    (('process', 'oomScoreAdj'), 5000, 'process.oomScoreAdj'),
    (('mounts',), [{'destination': 'relative', 'type': 'tmpfs'}], 'mounts[0].destination'),
    (('mounts',), [{'destination': '/x', 'type': 'bind'}], 'mounts[0].source'),
    (('mounts',), [{'destination': '/x', 'options': 'ro'}], 'mounts[0].options'),
    (('hooks',), {'prestart': [{'path': 'relative'}]}, 'hooks.prestart[0].path'),
    (('hooks',), {'poststart': [{'path': '/bin/true', 'timeout': 0}]}, 'hooks.poststart[0].timeout'),
    (('hooks',), {'bogus': []}, 'hooks.bogus'),
    (('linux', 'namespaces'), [{'type': 'mount'}, {'type': 'bogus'}], 'linux.namespaces[1].type'),
    (('linux', 'namespaces'), [{'type': 'mount'}, {'type': 'mount'}], 'linux.namespaces[1].type'),
    (('linux', 'namespaces'), [{'type': 'mount'}, {'type': 'network', 'path': '/no/such/ns'}],
     'linux.namespaces[1].path'),
    (('linux', 'uidMappings'), [{'containerID': 0, 'hostID': 1000, 'size': 1}], 'linux.uidMappings'),
    (('linux', 'maskedPaths'), ['proc/kcore'], 'linux.maskedPaths[0]'),
    (('linux', 'devices'), [{'path': '/dev/x', 'type': 'z'}], 'linux.devices[0].type'),
    (('linux', 'devices'), [{'path': 'dev/x', 'type': 'c', 'major': 1, 'minor': 1}], 'linux.devices[0].path'),
    (('linux', 'devices'), [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 0o60600}],
     'linux.devices[0].fileMode'),
    (('linux', 'devices'), [{'path': '/dev/x', 'type': 'p', 'fileMode': 0o100644}], 'linux.devices[0].fileMode'),
    (('linux', 'devices'), [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 0o1000000}],
     'linux.devices[0].fileMode'),
    (('linux', 'rootfsPropagation'), 'sideways', 'linux.rootfsPropagation'),
])
def test_fault_names_its_field(path, value, field):
    spec = _set(_spec(), path, value)
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == field
    assert caught.value.message.startswith(field + ': ')


def test_no_mount_namespace_is_valid():
    """runtime-spec: without one the container shares the runtime's mount namespace (runc and crun run it)."""
    spec = _spec()
    spec['linux']['namespaces'] = [n for n in spec['linux']['namespaces'] if n['type'] != 'mount']
    config.validate(spec)


def test_hostname_needs_uts_namespace():
    spec = _spec()
    spec['linux']['namespaces'] = [n for n in spec['linux']['namespaces'] if n['type'] != 'uts']
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'hostname' and 'UTS namespace' in caught.value.message


def test_user_namespace_needs_mappings():
    spec = _spec()
    spec['linux']['namespaces'].append({'type': 'user'})
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'linux.uidMappings'


@pytest.mark.parametrize('kind, mode', [
    ('c', 0o20600), ('u', 0o20666), ('b', 0o60660), ('p', 0o10600), ('c', 0o7777), ('c', 0)])
def test_device_file_mode_may_carry_its_own_type_bits(kind, mode):
    """podman sends st_mode as fileMode (8576 = 0o20600 for a character device), as runc and crun accept."""
    spec = _spec()
    spec['linux']['devices'] = [{'path': '/dev/x', 'type': kind, 'major': 1, 'minor': 3, 'fileMode': mode}]
    config.validate(spec)


def test_device_file_mode_with_another_type_says_what_to_give():
    spec = _spec()
    spec['linux']['devices'] = [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 0o60640}]
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.message == ("linux.devices[0].fileMode: 24992 (0o60640) has the file-type bits 0o60000, "
                                    "but type 'c' needs 0o20000: give the permission bits alone (0o640)")


def test_default_and_rootless_specs_are_valid():
    config.validate(_spec())
    config.validate(default.rootless_spec(uid=1000, gid=1000))


def _bundle(tmp_path, spec=None, rootfs=True):
    if rootfs:
        (tmp_path / 'rootfs').mkdir()
    if spec is not None:
        (tmp_path / 'config.json').write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return str(tmp_path)


def test_load_bundle_resolves_rootfs(tmp_path):
    bundle = config.load_bundle(_bundle(tmp_path, _spec()))
    assert bundle.rootfs == os.path.realpath(str(tmp_path / 'rootfs'))
    assert bundle.path == str(tmp_path)
    assert bundle.has_namespace('pid') and not bundle.has_namespace('user')


@pytest.mark.parametrize('spec, rootfs, field, text', [
    (None, True, 'config.json', 'no such file or directory'),
    ('{"ociVersion": ', True, 'config.json', 'not valid JSON'),
    ('[]', True, 'config.json', 'a JSON object'),
    ('SPEC', False, 'root.path', 'does not exist'),
])
def test_load_bundle_errors(tmp_path, spec, rootfs, field, text):
    if spec == 'SPEC':
        spec = _spec()
    with pytest.raises(errors.ConfigError) as caught:
        config.load_bundle(_bundle(tmp_path, spec, rootfs))
    assert caught.value.field == field and text in caught.value.message


def test_missing_bundle_directory(tmp_path):
    with pytest.raises(errors.ConfigError) as caught:
        config.load_bundle(str(tmp_path / 'nope'))
    assert caught.value.field == 'bundle'


@pytest.mark.parametrize('container_id', ['a', 'A-b_c.d+e', 'x' * 1024, '0'])
def test_valid_ids(container_id):
    config.validate_id(container_id)


@pytest.mark.parametrize('container_id', ['', '.', '..', 'a/b', '../x', 'a b', 'é', 'a\n', 'x' * 1025])
def test_invalid_ids(container_id):
    with pytest.raises(errors.InvalidContainerID):
        config.validate_id(container_id)


def test_validation_does_not_mutate():
    spec = _spec()
    before = copy.deepcopy(spec)
    config.validate(spec)
    assert spec == before


@pytest.mark.parametrize('key, namespaces, field_ok', [
    ('net.ipv4.ip_forward', ['mount', 'network'], True),
    ('net/ipv4/ip_forward', ['mount', 'network'], True),
    ('net.ipv4.ip_forward', ['mount'], False),
    ('kernel.shmmax', ['mount', 'ipc'], True),
    ('fs.mqueue.msg_max', ['mount', 'ipc'], True),
    ('kernel.shmmax', ['mount'], False),
    ('kernel.domainname', ['mount', 'uts'], True),
    ('kernel.hostname', ['mount', 'uts'], False),
    ('vm.swappiness', ['mount', 'uts', 'ipc', 'network'], False),
])
def test_sysctls_must_belong_to_a_namespace_the_container_has(key, namespaces, field_ok):
    spec = _spec()
    spec['linux']['namespaces'] = [{'type': t} for t in namespaces]
    spec.pop('hostname')
    spec['linux']['sysctl'] = {key: '1'}
    if field_ok:
        config.validate(spec)
        return
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'linux.sysctl["%s"]' % key


def test_net_sysctl_in_the_host_network_namespace_is_refused():
    spec = _spec()
    spec['linux']['namespaces'] = [{'type': 'mount'}, {'type': 'uts'}, {'type': 'network', 'path': '/proc/self/ns/net'}]
    spec['linux']['sysctl'] = {'net.ipv4.ip_forward': '1'}
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert 'host network namespace' in caught.value.message


@pytest.mark.parametrize('linux_changes, field', [
    ({'personality': {'domain': 'BSD'}}, 'linux.personality.domain'),
    ({'personality': {'domain': 'LINUX', 'flags': ['ADDR_NO_RANDOMIZE']}}, 'linux.personality.flags'),
    ({'timeOffsets': {'monotonic': {'secs': 5}}}, 'linux.timeOffsets'),
    ({'timeOffsets': {'realtime': {'secs': 5}}, 'namespaces': [{'type': 'mount'}, {'type': 'uts'}, {'type': 'time'}]},
     'linux.timeOffsets.realtime'),
    ({'timeOffsets': {'boottime': {'nanosecs': -1}},
      'namespaces': [{'type': 'mount'}, {'type': 'uts'}, {'type': 'time'}]},
     'linux.timeOffsets.boottime.nanosecs'),
])
def test_personality_and_time_offsets(linux_changes, field):
    spec = _spec()
    spec['linux'].update(linux_changes)
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == field


@pytest.mark.parametrize('path, value, field', [
    (('process', 'env'), ['PATH=/bin', 'A=1', 'B=2', 'TERM=x\x00y'], 'process.env[3]'),
    (('process', 'args'), ['sh', '-c\x00', 'true'], 'process.args[1]'),
    (('process', 'cwd'), '/\x00', 'process.cwd'),
    (('hostname',), 'a\x00b', 'hostname'),
    (('mounts',), [{'destination': '/x', 'type': 'bind', 'source': '/tmp\x00', 'options': ['bind']}],
     'mounts[0].source'),
    (('linux', 'sysctl'), {'net.ipv4.ip_forward\x00': '1'}, 'linux.sysctl["net.ipv4.ip_forward\\u0000"]'),
    (('process', 'env'), ['A=\ud800'], 'process.env[0]'),
])
def test_text_the_kernel_cannot_take_is_refused_at_create(path, value, field):
    """Before: create passed and start failed with only "embedded null byte" (or a UnicodeEncodeError)."""
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(_set(_spec(), path, value))
    assert caught.value.field == field
    assert 'NUL byte' in caught.value.reason or 'surrogate' in caught.value.reason


def test_annotations_are_opaque_text():
    config.validate(_set(_spec(), ('annotations',), {'org.example/blob': 'a\x00b'}))


def _with_mount(mount):
    spec = _spec()
    spec['mounts'].append(mount)
    return spec


@pytest.mark.parametrize('mount, refused', [
    ({'destination': '/proc/sys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}, True),
    ({'destination': '/proc/../proc/sysrq-trigger', 'type': 'bind', 'source': '/dev/null', 'options': ['bind']}, True),
    ({'destination': '//proc/kcore', 'type': 'tmpfs', 'source': 'tmpfs'}, True),
    ({'destination': '/proc/acpi', 'type': 'tmpfs', 'source': 'tmpfs'}, True),
    ({'destination': '/proc', 'type': 'tmpfs', 'source': 'tmpfs'}, True),
    ({'destination': '/proc/', 'type': 'sysfs', 'source': 'sysfs'}, True),
    ({'destination': '/proc/meminfo', 'type': 'bind', 'source': '/var/lib/lxcfs/proc/meminfo', 'options': ['bind']},
     False),
    ({'destination': '/proc/sys/kernel/ns_last_pid', 'type': 'bind', 'source': '/tmp/x', 'options': ['bind']}, False),
    ({'destination': '/proc', 'type': 'bind', 'source': '/proc', 'options': ['rbind']}, False),
    ({'destination': '/procfs/sys', 'type': 'tmpfs', 'source': 'tmpfs'}, False),
])
def test_mounts_into_proc_follow_runcs_list(mount, refused):
    """CVE-2019-16884 class: a bind of the host's /proc/sys let a container write vm.swappiness."""
    spec = _with_mount(mount)
    if not refused:
        config.validate(spec)
        return
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'mounts[%d].destination' % (len(spec['mounts']) - 1)


def test_a_bind_onto_proc_needs_a_procfs_source():
    mount = {'destination': '/proc', 'type': 'bind', 'source': '/tmp', 'options': ['rbind']}
    assert config.mount_target_problem(mount, '/proc', source_is_procfs=True) is None
    assert 'not one' in config.mount_target_problem(mount, '/proc', source_is_procfs=False)


def test_proc_and_sysfs_are_not_mounted_through_a_symlink():
    proc = {'destination': '/proc', 'type': 'proc', 'source': 'proc'}
    assert config.mount_target_problem(proc, '/proc') is None
    assert 'through a symlink' in config.mount_target_problem(proc, '/tmp')
    tmpfs = {'destination': '/data', 'type': 'tmpfs', 'source': 'tmpfs'}
    assert config.mount_target_problem(tmpfs, '/srv/data') is None
    assert '/data resolves to /proc/sys' in config.mount_target_problem(tmpfs, '/proc/sys')


@pytest.mark.parametrize('cgroups_path, refused', [
    ('../../../x', True),
    ('/a/../../x', True),
    ('a/..', True),
    ('/', True),
    ('//', True),
    ('/runcible/x', False),
    ('x..y/z', False),
    ('', False),
])
def test_cgroups_path_may_not_climb(cgroups_path, refused):
    """runc clamps "../../../x" to the hierarchy's root silently; we name the field."""
    spec = _set(_spec(), ('linux', 'cgroupsPath'), cgroups_path)
    if not refused:
        config.validate(spec)
        return
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'linux.cgroupsPath'


def test_rootfs_that_is_a_file_is_named_as_such(tmp_path):
    """Before: reported as missing."""
    (tmp_path / 'rootfs').write_text('')
    with pytest.raises(errors.ConfigError) as caught:
        config.load_bundle(_bundle(tmp_path, _spec(), rootfs=False))
    assert caught.value.field == 'root.path' and 'is not a directory' in caught.value.message


def test_long_values_are_shortened_in_messages():
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(_set(_spec(), ('process', 'terminal'), ['x' * 1000]))
    assert len(caught.value.message) < 200


@pytest.mark.parametrize('parts, text', [
    ((), '$'),
    (('process', 'rlimits', 0, 'hard'), 'process.rlimits[0].hard'),
    (('linux', 'sysctl', 'net.ipv4.ip_forward'), 'linux.sysctl["net.ipv4.ip_forward"]'),
    (('annotations', 'é'), 'annotations["\\u00e9"]'),
])
def test_field_names(parts, text):
    assert config.field_name(parts) == text


@pytest.mark.parametrize('path, value, field', [
    # Found by tests/system/test_fuzz.py: a list where a name belongs raised "unhashable type: 'list'".
    (('linux', 'namespaces'), [{'type': 'mount'}, {'type': ['pid']}], 'linux.namespaces[1].type'),
    (('process', 'rlimits'), [{'type': ['RLIMIT_NOFILE'], 'soft': 1, 'hard': 1}], 'process.rlimits[0].type'),
    (('linux', 'personality'), {'domain': ['LINUX']}, 'linux.personality.domain'),
    # ...and an environment entry the init could not export failed at start ("illegal environment variable name").
    (('process', 'env'), ['PATH=/bin', ''], 'process.env[1]'),
    (('process', 'env'), ['=value'], 'process.env[0]'),
    (('process', 'env'), ['NOVALUE'], 'process.env[0]'),
    # ...and an annotation with an empty key was named "annotations.".
    (('annotations',), {'': None}, 'annotations[""]'),
])
def test_fuzzed_faults_name_their_field(path, value, field):
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(_set(_spec(), path, value))
    assert caught.value.field == field


def test_recorded_config_with_a_list_for_a_namespace_type():
    with pytest.raises(errors.ConfigError) as caught:
        config.validate_recorded({'linux': {'namespaces': [{'type': ['pid']}]}})
    assert caught.value.field == 'linux.namespaces[0].type'


def test_problems_collects_every_rule_and_every_item_validate_stops_at_the_first():
    spec = _spec()
    spec['process']['cwd'] = 'srv'
    spec['process']['rlimits'] = [{'type': 'RLIMIT_NOFLIE', 'soft': 1, 'hard': 1},
                                  {'type': 'RLIMIT_NOFILE', 'soft': 9, 'hard': 1}]
    spec['mounts'] = [{'destination': 'data', 'type': 'tmpfs'}, {'destination': '/ok', 'type': 'tmpfs'},
                      {'destination': '/b', 'options': ['rbind']}]
    spec['linux']['sysctl'] = {'vm.swappiness': '1', 'kernel.hostname': 'x'}
    found = config.problems(spec)
    assert [field for field, _message in found] == [
        'process.cwd', 'process.rlimits[0].type', 'process.rlimits[1].soft', 'mounts[0].destination',
        'mounts[2].source', 'linux.sysctl["vm.swappiness"]', 'linux.sysctl["kernel.hostname"]']
    assert 'did you mean RLIMIT_NOFILE' in dict(found)['process.rlimits[0].type']
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert (caught.value.field, caught.value.reason) == found[0]


def test_problems_leaves_the_hosts_state_to_create():
    """A bundle may name a namespace made after it: the file must exist at create, not before."""
    spec = _spec()
    spec['linux']['namespaces'] = [ns for ns in spec['linux']['namespaces'] if ns['type'] != 'network']
    spec['linux']['namespaces'].append({'type': 'network', 'path': '/run/netns/made-later'})
    assert config.problems(spec) == []
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field.startswith('linux.namespaces[')


def test_problems_names_every_nul_byte_validate_the_first():
    spec = _spec()
    spec['process']['args'] = ['sh', '-c\x00']
    spec['hostname'] = 'a\x00b'
    found = config.problems(spec)
    assert sorted(field for field, _message in found) == ['hostname', 'process.args[1]']
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert (caught.value.field, caught.value.reason) == found[0]


@pytest.mark.parametrize('kind, path, words', [
    ('network', '/etc/hostname', 'is not a namespace file'),
    ('pid', '/proc/self/ns/net', 'is a network namespace, not a pid namespace'),
    ('network', '/nonexistent/ns/net', 'does not exist'),
])
def test_a_joined_namespace_file_is_one_of_its_type(kind, path, words):
    """Before: create passed and the init failed with "setns: Invalid argument", naming no field."""
    spec = _spec()
    spec['linux']['namespaces'] = [ns for ns in spec['linux']['namespaces'] if ns['type'] != kind]
    spec['linux']['namespaces'].append({'type': kind, 'path': path})
    with pytest.raises(errors.ConfigError) as caught:
        config.validate(spec)
    assert caught.value.field == 'linux.namespaces[%d].path' % (len(spec['linux']['namespaces']) - 1)
    assert words in caught.value.reason
    assert config.problems(spec) == []


def test_a_joined_namespace_of_its_type_is_accepted():
    spec = _spec()
    spec['linux']['namespaces'] = [ns for ns in spec['linux']['namespaces'] if ns['type'] != 'network']
    spec['linux']['namespaces'].append({'type': 'network', 'path': '/proc/self/ns/net'})
    config.validate(spec)
