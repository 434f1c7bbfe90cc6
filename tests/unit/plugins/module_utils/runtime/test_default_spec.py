# -*- coding: utf-8 -*-
from ansible_collections.runcible.oci.plugins.module_utils.runtime.container.create import host_id_of_root
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec import default


def test_rootless_maps_the_caller_and_drops_network_and_device_rules():
    spec = default.rootless_spec(uid=1000, gid=100)
    assert spec['linux']['uidMappings'] == [{'containerID': 0, 'hostID': 1000, 'size': 1}]
    assert spec['linux']['gidMappings'] == [{'containerID': 0, 'hostID': 100, 'size': 1}]
    types = [n['type'] for n in spec['linux']['namespaces']]
    assert 'network' not in types and types[-1] == 'user'
    assert 'resources' not in spec['linux']
    sys_mount = [m for m in spec['mounts'] if m['destination'] == '/sys'][0]
    assert sys_mount['type'] == 'none' and 'rbind' in sys_mount['options']
    assert list(spec['linux']) == ['uidMappings', 'gidMappings', 'namespaces', 'maskedPaths', 'readonlyPaths']


def test_default_spec_is_a_fresh_copy():
    first = default.default_spec()
    first['process']['args'].append('x')
    assert default.default_spec()['process']['args'] == ['sh']


def test_host_id_of_container_root():
    assert host_id_of_root([{'containerID': 0, 'hostID': 100000, 'size': 65536}]) == 100000
    assert host_id_of_root([{'containerID': 1, 'hostID': 5, 'size': 10}]) == 0
    assert host_id_of_root([]) == 0
