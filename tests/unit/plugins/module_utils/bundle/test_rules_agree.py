# -*- coding: utf-8 -*-
"""oci_bundle's validation and the runtime's create-time validation agree on every config.json.

Hypothesis makes configs from runc's default spec with the settings the rules
are about changed (namespaces, hostname, sysctls, ID mappings, the process'
user, rlimits, capabilities, mounts (into /proc too), devices and their fileMode,
resources, time offsets, cgroupsPath, the environment, NUL bytes...), often wrongly. For each, oci_bundle's verdict (bundle/validate.validate_config)
and create's (the checks create runs before it changes anything: load_bundle,
check_bundle and the cgroup manager's validate, on a bundle written to disk)
must be the same: a config oci_bundle writes is one create runs, and a config
create refuses is one oci_bundle refuses, naming the same field.

Outside the rules, on purpose: what this host can apply (a cgroup v1 host
refuses memory+swap under an unlimited memory limit: CgroupFieldError), and
the host's state at create (namespace files, whether a bind source is a
procfs): create's alone, as a bundle may be written before its namespaces
exist.
"""

import copy
import json
import os
import tempfile

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.bundle import validate as V
from ansible_collections.runcible.oci.plugins.module_utils.bundle.config import base_spec
from ansible_collections.runcible.oci.plugins.module_utils.runtime import cgroups, errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.manager import Manager
from ansible_collections.runcible.oci.plugins.module_utils.runtime.container import create
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec import config as specconfig

hypothesis = pytest.importorskip('hypothesis')
st = hypothesis.strategies

NAMESPACES = ('pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time')
SYSCTLS = ('net.ipv4.ip_forward', 'net/ipv4/ip_forward', 'kernel.shmmax', 'fs.mqueue.msg_max', 'kernel.hostname',
           'kernel.domainname', 'vm.swappiness', 'kernel.msgmax')
RLIMIT_TYPES = ('RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_CORE', 'RLIMIT_NOFLIE')
CAPABILITIES = ('CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BIND', 'CAP_SYS_ADMIN', 'CAP_CHOWN')


def _mapping():
    return st.fixed_dictionaries({'containerID': st.sampled_from([0, 1000]), 'hostID': st.just(100000),
                                  'size': st.sampled_from([0, 1, 65536])})


def _mount():
    # Into /proc only lxcfs' files (runc's list), and on /proc itself only a procfs.
    destinations = ['/data', 'data', '/srv/x', '/tmp', '/proc', '/proc/', '/proc/sys', '/proc/cpuinfo',
                    '//proc/../proc/kcore', '/proc/sys/kernel/ns_last_pid', '/procfs/x']
    return st.fixed_dictionaries({'destination': st.sampled_from(destinations)}, optional={
        'type': st.sampled_from(['tmpfs', 'bind', 'proc', 'sysfs']),
        'source': st.sampled_from(['tmpfs', '/srv', '', '/proc', '/tmp\x00']),
        'options': st.lists(st.sampled_from(['rbind', 'bind', 'ro', 'nosuid']), max_size=2, unique=True)})


def _device():
    return st.fixed_dictionaries({'path': st.sampled_from(['/dev/fuse', '/dev/sda']),
                                  'type': st.sampled_from(['c', 'b', 'p'])}, optional={
        'major': st.integers(0, 300), 'minor': st.integers(0, 300),
        # podman sends st_mode with its type bits (0o20600); other type bits, or more, are refused
        'fileMode': st.sampled_from([0o666, 0o20600, 0o60600, 0o10600, 0o200000])})


def _resources():
    return st.fixed_dictionaries({}, optional={
        'memory': st.fixed_dictionaries({}, optional={
            'limit': st.sampled_from([-1, 0, 1 << 26, 1 << 28]), 'swap': st.sampled_from([-1, 0, 1 << 25, 1 << 29]),
            'reservation': st.sampled_from([1 << 20, 1 << 30])}),
        'pids': st.fixed_dictionaries({'limit': st.sampled_from([-2, -1, 0, 64])}),
        'cpu': st.fixed_dictionaries({}, optional={'shares': st.sampled_from([1, 2, 1024])})})


CHANGES = st.fixed_dictionaries({}, optional={
    'namespaces': st.lists(st.sampled_from(NAMESPACES), min_size=0, max_size=6),
    'hostname': st.sampled_from([None, 'web', 'we\x00b']),
    'domainname': st.sampled_from([None, 'example.org']),
    'sysctl': st.dictionaries(st.sampled_from(SYSCTLS), st.just('1'), max_size=3),
    'uidMappings': st.lists(_mapping(), max_size=2),
    'gidMappings': st.lists(_mapping(), max_size=2),
    'user': st.fixed_dictionaries({'uid': st.sampled_from([0, 101, 70000]), 'gid': st.sampled_from([0, 201])}),
    'rlimits': st.lists(st.fixed_dictionaries({'type': st.sampled_from(RLIMIT_TYPES),
                                               'soft': st.sampled_from([0, 1024, 4096]),
                                               'hard': st.sampled_from([1024, 2048])}), max_size=3),
    'capabilities': st.lists(st.sampled_from(CAPABILITIES), max_size=3),
    'mounts': st.lists(_mount(), max_size=3),
    'devices': st.lists(_device(), max_size=2),
    'resources': _resources(),
    'timeOffsets': st.sampled_from([None, {'monotonic': {'secs': 10}}, {'realtime': {'secs': 1}}]),
    'args': st.sampled_from([['sh'], [], ['sh', '-c\x00'], ['sh\ud800']]),
    'env': st.lists(st.sampled_from(['PATH=/bin', 'A=', 'NOVALUE', '=v', 'A=\x00', '']), max_size=3),
    'cgroupsPath': st.sampled_from(['/runcible/x', 'x..y/z', '../../../x', '/a/../../x', 'a/..', '/', '//']),
    'annotations': st.sampled_from([{'org.example/blob': 'a\x00b'}, {'key\x00': 'v'}]),
    'cwd': st.sampled_from(['/', '/srv', 'srv']),
    'rootfsPropagation': st.sampled_from(['', 'rslave', 'private']),
    'personality': st.sampled_from([None, {'domain': 'LINUX'}, {'domain': 'LINUX32', 'flags': ['x']}]),
})


def make_config(changes):
    config = copy.deepcopy(base_spec())
    config['process']['terminal'] = False
    linux = config['linux']
    process = config['process']
    for key, value in changes.items():
        if key == 'namespaces':
            linux['namespaces'] = [{'type': kind} for kind in value]
        elif key in ('hostname', 'domainname'):
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        elif key in ('sysctl', 'uidMappings', 'gidMappings', 'devices', 'resources', 'rootfsPropagation',
                     'cgroupsPath'):
            linux[key] = value
        elif key in ('timeOffsets', 'personality'):
            if value is not None:
                linux[key] = value
        elif key in ('user', 'rlimits', 'args', 'cwd', 'env'):
            process[key] = value
        elif key == 'capabilities':
            process['capabilities'] = {'bounding': value, 'effective': value, 'permitted': value}
        elif key == 'annotations':
            config['annotations'] = value
        elif key == 'mounts':
            config['mounts'] = list(config.get('mounts') or []) + value
    return config


def create_refuses(config):
    """The ConfigError create's checks raise before it changes anything on the host, or None."""
    with tempfile.TemporaryDirectory(prefix='runcible-rules-') as folder:
        os.mkdir(os.path.join(folder, 'rootfs'))
        with open(os.path.join(folder, 'config.json'), 'w') as handle:
            json.dump(config, handle)
        try:
            bundle = specconfig.load_bundle(folder)
            create.check_bundle(bundle)
            Manager.for_path('runcible-rules-agree', cgroups.discover()).validate(
                bundle.linux.get('resources') or {}, bundle.linux.get('devices'))
        except errors.ConfigError as exc:
            return exc
        except errors.CgroupError as exc:
            hypothesis.event('this host cannot apply it: %s' % exc.message.split(':')[0])
    return None


def _binds_a_non_procfs_onto_proc(config):
    """A bind onto /proc whose source is no procfs: create looks at the source on the host, oci_bundle cannot."""
    return any(isinstance(m, dict) and specconfig.normalize(m['destination']) == '/proc' and specconfig.is_bind(m)
               and m.get('source') not in (None, '', '/proc') for m in config.get('mounts') or [])


@hypothesis.settings(max_examples=300, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(CHANGES)
def test_oci_bundle_and_create_agree(changes):
    config = make_config(changes)
    hypothesis.assume(not _binds_a_non_procfs_onto_proc(config))
    schema_ok = not V.schema_errors(config)
    bundle_problems = V.validate_config(config)
    refused = create_refuses(config)
    hypothesis.event('schema %s, create %s' % ('ok' if schema_ok else 'refuses', 'refuses' if refused else 'accepts'))
    if not schema_ok:
        # The schema is oci_bundle's own addition (it refuses keys the runtime-spec does not define, for one).
        assert bundle_problems
        return
    assert (refused is None) == (bundle_problems == []), (refused, bundle_problems)
    if refused is not None:
        assert (refused.field, refused.reason) in bundle_problems


def test_the_hostname_sysctl_with_a_uts_namespace_is_refused_by_both():
    """oci_bundle accepted it and create refused it, before there was one rule set."""
    config = make_config({'namespaces': ['pid', 'mount', 'uts'], 'sysctl': {'kernel.hostname': 'other'}})
    refused = create_refuses(config)
    assert refused is not None and refused.field == 'linux.sysctl["kernel.hostname"]'
    assert V.validate_config(config) == [(refused.field, refused.reason)]


def test_the_domainname_sysctl_with_a_uts_namespace_is_accepted_by_both():
    config = make_config({'namespaces': ['pid', 'mount', 'uts'], 'sysctl': {'kernel.domainname': 'example.org'}})
    assert create_refuses(config) is None and V.validate_config(config) == []


def test_a_config_without_a_mount_namespace_is_accepted_by_both():
    """The container shares the runtime's mount namespace, as under runc and crun."""
    config = make_config({'namespaces': ['pid', 'uts', 'ipc']})
    assert create_refuses(config) is None and V.validate_config(config) == []


@pytest.mark.parametrize('kind, mode, refused', [
    ('c', 0o20600, False), ('b', 0o60600, False), ('p', 0o10600, False), ('c', 0o600, False),
    ('b', 0o20600, True), ('c', 0o60600, True), ('c', 0o200000, True),
])
def test_device_file_mode_type_bits_are_judged_alike(kind, mode, refused):
    device = {'path': '/dev/x', 'type': kind, 'fileMode': mode}
    if kind != 'p':
        device.update(major=10, minor=229)
    config = make_config({'devices': [device]})
    error = create_refuses(config)
    assert (error is not None) == refused
    assert V.validate_config(config) == ([(error.field, error.reason)] if refused else [])
    if refused:
        assert error.field == 'linux.devices[0].fileMode'


@pytest.mark.parametrize('changes, field', [
    ({'mounts': [{'destination': '/proc/sys', 'type': 'bind', 'source': '/proc/sys', 'options': ['rbind']}]},
     'mounts[%d].destination'),
    ({'mounts': [{'destination': '/proc', 'type': 'tmpfs', 'source': 'tmpfs'}]}, 'mounts[%d].destination'),
    ({'args': ['sh', '-c\x00']}, 'process.args[1]'),
    ({'env': ['PATH=/bin', 'TERM=x\x00']}, 'process.env[1]'),
    ({'env': ['NOVALUE']}, 'process.env[0]'),
    ({'cgroupsPath': '../../../x'}, 'linux.cgroupsPath'),
])
def test_issue_14s_hostile_configs_are_refused_by_both(changes, field):
    """Mounts into /proc, NUL bytes, an environment the init cannot export, a cgroupsPath that climbs."""
    config = make_config(changes)
    if '%d' in field:
        field %= len(config['mounts']) - 1
    refused = create_refuses(config)
    assert refused is not None and refused.field == field
    found = V.validate_config(config)
    # The schema's own words where it speaks first (NAME=value is a pattern of it); the same field.
    assert found == ([(field, found[0][1])] if V.schema_errors(config) else [(refused.field, refused.reason)])


def test_an_lxcfs_file_in_proc_is_accepted_by_both():
    config = make_config({'mounts': [{'destination': '/proc/meminfo', 'type': 'bind',
                                      'source': '/var/lib/lxcfs/proc/meminfo', 'options': ['bind']}]})
    assert create_refuses(config) is None and V.validate_config(config) == []
