# -*- coding: utf-8 -*-
import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors, log
from ansible_collections.runcible.oci.plugins.module_utils.runtime.security import capabilities


def test_names_resolve_to_kernel_numbers():
    sets = capabilities.resolve({'bounding': ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN'], 'effective': ['CAP_KILL']})
    assert sets.sets['bounding'] == [0, 5, 21]
    assert sets.mask('effective') == 1 << 5
    assert sets.sets['ambient'] == []


def test_unknown_name_is_an_error_naming_the_entry():
    with pytest.raises(errors.ConfigError) as caught:
        capabilities.resolve({'permitted': ['CAP_KILL', 'CAP_FLY']})
    assert caught.value.field == 'process.capabilities.permitted[1]'


def test_lowercase_or_unprefixed_names_are_unknown_as_in_runc():
    with pytest.raises(errors.ConfigError):
        capabilities.resolve({'bounding': ['kill']})


def test_capabilities_the_kernel_lacks_are_warned_and_skipped(monkeypatch):
    monkeypatch.setattr(capabilities, 'last_cap', lambda: 37)
    collected = []
    log.configure(collect=collected)
    try:
        sets = capabilities.resolve({'bounding': ['CAP_BPF', 'CAP_KILL']})
    finally:
        log.configure()
    assert sets.sets['bounding'] == [5]
    assert collected == [('warning', 'ignoring unknown or unavailable capabilities: [CAP_BPF]')]
