# -*- coding: utf-8 -*-
"""linux.resources checking (field names in errors) and `runc update` merging."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import resources

MIB = 1024 * 1024


def field_of(resources_object):
    with pytest.raises(errors.ConfigError) as caught:
        resources.check(resources_object)
    return caught.value.field


def test_a_full_valid_object_passes_and_warns_only_about_kernel_memory():
    full = {
        'memory': {'limit': 100 * MIB, 'reservation': 50 * MIB, 'swap': 200 * MIB, 'kernel': MIB, 'kernelTCP': MIB,
                   'swappiness': 10, 'disableOOMKiller': True, 'useHierarchy': True, 'checkBeforeUpdate': True},
        'cpu': {'shares': 512, 'quota': 50000, 'burst': 1000, 'period': 100000, 'realtimeRuntime': 0,
                'realtimePeriod': 0, 'cpus': '0', 'mems': '0', 'idle': 0},
        'pids': {'limit': 50},
        'blockIO': {'weight': 500, 'leafWeight': 300, 'weightDevice': [{'major': 8, 'minor': 0, 'weight': 600}],
                    'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1000}]},
        'hugepageLimits': [{'pageSize': '2MB', 'limit': 2 * MIB}],
        'network': {'classID': 0x100001, 'priorities': [{'name': 'lo', 'priority': 2}]},
        'devices': [{'allow': False, 'access': 'rwm'}, {'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rw'}],
        'unified': {'memory.high': '1000000'},
    }
    assert resources.check(full) == [resources.KERNEL_MEMORY_WARNING]
    del full['memory']['kernel']
    # kernelTCP is written where cgroup v1 has the file: the Manager decides whether to warn.
    assert resources.check(full) == []


@pytest.mark.parametrize('bad, field', [
    ({'memory': {'limit': 'big'}}, 'linux.resources.memory.limit'),
    ({'memory': {'limit': True}}, 'linux.resources.memory.limit'),
    ({'memory': {'limit': -2}}, 'linux.resources.memory.limit'),
    ({'memory': {'limit': 100 * MIB, 'swap': 50 * MIB}}, 'linux.resources.memory.swap'),
    ({'memory': {'swap': 50 * MIB}}, 'linux.resources.memory.swap'),
    ({'memory': {'swappiness': 101}}, 'linux.resources.memory.swappiness'),
    ({'memory': {'disableOOMKiller': 1}}, 'linux.resources.memory.disableOOMKiller'),
    ({'cpu': {'shares': -1}}, 'linux.resources.cpu.shares'),
    ({'cpu': {'shares': 1}}, 'linux.resources.cpu.shares'),
    ({'cpu': {'period': 2 ** 64}}, 'linux.resources.cpu.period'),
    ({'cpu': {'cpus': 0}}, 'linux.resources.cpu.cpus'),
    ({'cpu': {'idle': 2}}, 'linux.resources.cpu.idle'),
    ({'pids': {}}, 'linux.resources.pids.limit'),
    ({'blockIO': {'weight': 70000}}, 'linux.resources.blockIO.weight'),
    ({'blockIO': {'weightDevice': [{'major': 8, 'weight': 10}]}}, 'linux.resources.blockIO.weightDevice[0].minor'),
    ({'blockIO': {'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0}]}},
     'linux.resources.blockIO.throttleWriteIOPSDevice[0].rate'),
    ({'hugepageLimits': [{'limit': 1}]}, 'linux.resources.hugepageLimits[0].pageSize'),
    ({'network': {'classID': 2 ** 32}}, 'linux.resources.network.classID'),
    ({'network': {'priorities': [{'name': 'eth0'}]}}, 'linux.resources.network.priorities[0].priority'),
    ({'devices': [{'access': 'rwm'}]}, 'linux.resources.devices[0].allow'),
    ({'devices': [{'allow': True, 'access': ''}]}, 'linux.resources.devices[0].access'),
    ({'devices': [{'allow': True, 'access': 'rx'}]}, 'linux.resources.devices[0].access'),
    ({'devices': [{'allow': True, 'type': 'p', 'access': 'r'}]}, 'linux.resources.devices[0].type'),
    ({'unified': {'../memory.max': '1'}}, 'linux.resources.unified.../memory.max'),
    ({'unified': {'memory': '1'}}, 'linux.resources.unified.memory'),
    ({'unified': {'memory.max': 1}}, 'linux.resources.unified.memory.max'),
])
def test_bad_values_name_their_field(bad, field):
    assert field_of(bad) == field


def test_swap_equal_to_limit_or_unlimited_is_fine():
    assert resources.check({'memory': {'limit': 100 * MIB, 'swap': 100 * MIB}}) == []
    assert resources.check({'memory': {'limit': 100 * MIB, 'swap': -1}}) == []
    assert resources.check({'memory': {'limit': -1}}) == []


def test_update_changes_only_what_is_given():
    current = {'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}, 'cpu': {'shares': 512, 'cpus': '0'},
               'pids': {'limit': 50}, 'devices': [{'allow': False, 'access': 'rwm'}]}
    merged = resources.merge_update(current, {'cpu': {'quota': 20000}, 'pids': {'limit': 70}})
    assert merged == {'memory': {'limit': 100 * MIB, 'swap': 200 * MIB},
                      'cpu': {'shares': 512, 'cpus': '0', 'quota': 20000},
                      'pids': {'limit': 70}, 'devices': [{'allow': False, 'access': 'rwm'}]}
    assert current['cpu'] == {'shares': 512, 'cpus': '0'}


def test_update_to_unlimited_memory_also_unlimits_swap():
    merged = resources.merge_update({'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}}, {'memory': {'limit': -1}})
    assert merged['memory'] == {'limit': -1, 'swap': -1}


def test_update_is_checked_against_the_current_values():
    with pytest.raises(errors.ConfigError) as caught:
        resources.merge_update({'memory': {'limit': 100 * MIB, 'swap': 200 * MIB}}, {'memory': {'limit': 300 * MIB}})
    assert caught.value.field == 'linux.resources.memory.swap'


def test_update_merges_hugepages_and_unified_by_key():
    current = {'hugepageLimits': [{'pageSize': '2MB', 'limit': 10}, {'pageSize': '1GB', 'limit': 0}],
               'unified': {'memory.high': '1', 'pids.max': '5'}}
    merged = resources.merge_update(current, {'hugepageLimits': [{'pageSize': '2MB', 'limit': 20}],
                                              'unified': {'pids.max': '9'}})
    assert merged['hugepageLimits'] == [{'pageSize': '1GB', 'limit': 0}, {'pageSize': '2MB', 'limit': 20}]
    assert merged['unified'] == {'memory.high': '1', 'pids.max': '9'}


def test_update_refuses_a_section_that_is_not_an_object():
    with pytest.raises(errors.ConfigError) as caught:
        resources.merge_update({}, {'memory': [1]})
    assert caught.value.field == 'linux.resources.memory'
