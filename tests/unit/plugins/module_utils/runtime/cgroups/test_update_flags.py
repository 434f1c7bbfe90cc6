# -*- coding: utf-8 -*-
"""`runc update` flags: runc's number parsing and docker's RAMInBytes sizes."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import resources
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.update import (
    ram_in_bytes, resources_from_update_flags)


@pytest.mark.parametrize('text, expected', [
    ('0', 0), ('150', 150), ('100m', 100 * 2 ** 20), ('100M', 100 * 2 ** 20), ('100mb', 100 * 2 ** 20),
    ('100MiB', 100 * 2 ** 20), ('1.5g', 1610612736), ('1.5 GiB', 1610612736), ('32k', 32768), ('2t', 2 * 2 ** 40),
    ('1p', 2 ** 50), ('7b', 7), ('0.5k', 512),
])
def test_ram_in_bytes_matches_docker_units(text, expected):
    assert ram_in_bytes(text) == expected


@pytest.mark.parametrize('text', ['', '10x', '-5', 'm', '1.2.3g', '1e3', ' 5', '5\n', '0x10'])
def test_ram_in_bytes_refuses_what_docker_units_refuses(text):
    with pytest.raises(ValueError):
        ram_in_bytes(text)


def test_flags_become_a_partial_resources_object():
    flags = {'memory': '100m', 'memory-swap': '-1', 'memory-reservation': '50M', 'cpu-share': '512',
             'cpu-period': '100000', 'cpu-quota': '-1', 'cpu-rt-period': '1000000', 'cpu-rt-runtime': '0',
             'cpuset-cpus': '0-1', 'cpuset-mems': '0', 'pids-limit': '20', 'blkio-weight': '300', 'cpu-idle': '1',
             'cpu-burst': '0'}
    assert resources_from_update_flags(flags) == {
        'memory': {'limit': 100 * 2 ** 20, 'swap': -1, 'reservation': 50 * 2 ** 20},
        'cpu': {'shares': 512, 'period': 100000, 'quota': -1, 'realtimePeriod': 1000000, 'realtimeRuntime': 0,
                'cpus': '0-1', 'mems': '0', 'idle': 1, 'burst': 0},
        'pids': {'limit': 20},
        'blockIO': {'weight': 300},
    }


def test_empty_and_zero_flags_change_nothing():
    assert resources_from_update_flags({'memory': '', 'pids-limit': '0', 'blkio-weight': '0', 'cpuset-cpus': ''}) == {}


def test_cpu_shares_spelling_is_accepted_too():
    assert resources_from_update_flags({'cpu-shares': '256'}) == {'cpu': {'shares': 256}}


def test_kernel_memory_flags_are_carried_and_then_ignored_with_runcs_warning():
    changes = resources_from_update_flags({'kernel-memory': '10m', 'kernel-memory-tcp': '1m'})
    assert changes == {'memory': {'kernel': 10 * 2 ** 20, 'kernelTCP': 2 ** 20}}
    assert resources.check(resources.merge_update({}, changes)) == [resources.KERNEL_MEMORY_WARNING]


@pytest.mark.parametrize('flags, words', [
    ({'memory': '10x'}, "--memory: invalid size: '10x'"),
    ({'cpu-period': '-5'}, '--cpu-period'),
    ({'cpu-share': '1.5'}, '--cpu-share'),
    ({'cpu-quota': 'lots'}, '--cpu-quota'),
    ({'pids-limit': 'abc'}, '--pids-limit'),
    ({'l3-cache-schema': 'L3:0=f'}, 'Intel RDT/CAT'),
    ({'mem-bw-schema': 'MB:0=70'}, 'Intel RDT/MBA'),
    ({'memroy': '1'}, '--memroy'),
])
def test_bad_flags_are_usage_errors_naming_the_flag(flags, words):
    with pytest.raises(errors.UsageError) as caught:
        resources_from_update_flags(flags)
    assert words in str(caught.value)
