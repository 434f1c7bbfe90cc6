# -*- coding: utf-8 -*-
"""Device rules: runc's defaults, the v1 emulator and its transitions, the v2 eBPF program.

The eBPF program is checked by running it: a small interpreter for the
instructions the generator emits decodes the assembled bytes and decides
device accesses, which must agree with what the emulated v1 cgroup allows.
"""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups import devices, ebpf
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cgroups.devices import WILDCARD, Emulator, Rule

RUNC_DEFAULT_LIST = ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm',
                     'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm']


def test_defaults_are_runc_1_1_allowed_devices_after_the_spec_rules():
    rules = devices.container_rules([{'allow': False, 'access': 'rwm'}])
    assert rules[0] == Rule('a', WILDCARD, WILDCARD, 'rwm', False)
    assert [r.cgroup_string() for r in rules[1:]] == RUNC_DEFAULT_LIST
    assert all(r.allow for r in rules[1:])


def test_a_linux_devices_entry_replaces_the_default_of_its_path():
    rules = devices.container_rules([], [{'path': '/dev/null', 'type': 'c', 'major': 1, 'minor': 3}])
    assert 'c 1:3 rwm' not in [r.cgroup_string() for r in rules]


def test_from_a_fresh_cgroup_the_transition_resets_then_allows_in_runcs_order():
    # A new v1 devices cgroup inherits "a *:* rwm" (allow everything).
    current = Emulator.from_list('a *:* rwm\n')
    target = Emulator.from_rules(devices.container_rules([{'allow': False, 'access': 'rwm'}]))
    writes = [(r.allow, r.cgroup_string()) for r in current.transition(target)]
    assert writes == [(False, 'a *:* rwm'), (True, 'b *:* m'), (True, 'c *:* m'), (True, 'c 1:3 rwm'),
                      (True, 'c 1:5 rwm'), (True, 'c 1:7 rwm'), (True, 'c 1:8 rwm'), (True, 'c 1:9 rwm'),
                      (True, 'c 5:0 rwm'), (True, 'c 5:2 rwm'), (True, 'c 10:200 rwm'), (True, 'c 136:* rwm')]


def test_a_whitelist_changes_without_a_disruptive_reset():
    current = Emulator.from_list('c 1:3 rwm\nc 1:5 rwm\nc 4:1 rw\n')
    target = Emulator.from_rules([Rule('c', 1, 3, 'rwm', True), Rule('c', 4, 1, 'r', True), Rule('b', 8, 0, 'r', True)])
    writes = [(r.allow, r.cgroup_string()) for r in current.transition(target)]
    assert writes == [(False, 'c 1:5 rwm'), (False, 'c 4:1 w'), (True, 'b 8:0 r')]


def test_an_unchanged_whitelist_needs_no_writes():
    state = Emulator.from_rules(devices.container_rules([]))
    listed = '\n'.join('%s %s:%s %s' % (k[0], '*' if k[1] < 0 else k[1], '*' if k[2] < 0 else k[2], v)
                       for k, v in state.rules.items())
    assert Emulator.from_list(listed).transition(state) == []


def test_punching_a_hole_in_a_wildcard_allow_is_refused_with_the_rule_index():
    spec = [{'allow': True, 'type': 'c', 'major': 1, 'access': 'rw'}, {'allow': False, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'w'}]
    with pytest.raises(errors.ConfigError) as caught:
        Emulator.from_rules(devices.container_rules(spec))
    assert caught.value.field == 'linux.resources.devices[1]'


# A BPF interpreter for the instructions ebpf.device_filter emits.

def run_program(code, kind, major, minor, access):
    regs = [0] * 11
    ctx = struct.pack('<III', (access << 16) | kind, major, minor)
    insns = [struct.unpack('<BBhi', code[i:i + 8]) for i in range(0, len(code), 8)]
    pc = 0
    for step in range(1000):  # pylint: disable=unused-variable
        op, regbyte, off, imm = insns[pc]
        dst, src = regbyte & 0xF, regbyte >> 4
        pc += 1
        if op == 0x61:
            assert src == 1
            regs[dst] = struct.unpack_from('<I', ctx, off)[0]
        elif op == 0x54:
            regs[dst] = (regs[dst] & imm) & 0xFFFFFFFF
        elif op == 0x74:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == 0xb4:
            regs[dst] = imm & 0xFFFFFFFF
        elif op == 0xbc:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == 0x55:
            if regs[dst] != imm & 0xFFFFFFFFFFFFFFFF:
                pc += off
        elif op == 0x5d:
            if regs[dst] != regs[src]:
                pc += off
        elif op == 0x95:
            return regs[0]
        else:
            raise AssertionError('unexpected opcode %#x' % op)
    raise AssertionError('program did not exit')


ACCESS_BITS = {'m': ebpf.BPF_DEVCG_ACC_MKNOD, 'r': ebpf.BPF_DEVCG_ACC_READ, 'w': ebpf.BPF_DEVCG_ACC_WRITE}


def allowed_by_whitelist(emulator, kind, major, minor, access):
    """The v1 kernel's rule for an allow-list: one exception must match and cover every requested access."""
    for (t, ma, mi), granted in emulator.rules.items():
        if t == kind and ma in (WILDCARD, major) and mi in (WILDCARD, minor) and set(access) <= set(granted):
            return True
    return False


def decide(code, kind, major, minor, access):
    bits = sum(ACCESS_BITS[c] for c in access)
    bpf_kind = ebpf.BPF_DEVCG_DEV_CHAR if kind == 'c' else ebpf.BPF_DEVCG_DEV_BLOCK
    return bool(run_program(code, bpf_kind, major, minor, bits))


def test_no_rules_is_the_six_loads_then_deny():
    program, default_allow = ebpf.device_filter([])
    assert default_allow is False
    assert [(i.code, i.dst, i.src, i.off, i.imm) for i in program] == [
        (0x61, 2, 1, 0, 0), (0x54, 2, 0, 0, 0xFFFF), (0x61, 3, 1, 0, 0), (0x74, 3, 0, 0, 16),
        (0x61, 4, 1, 4, 0), (0x61, 5, 1, 8, 0), (0xb4, 0, 0, 0, 0), (0x95, 0, 0, 0, 0)]


def test_allow_all_is_accept_and_a_denied_device_in_it_is_rejected():
    code = ebpf.assemble(ebpf.device_filter([Rule('a', WILDCARD, WILDCARD, 'rwm', True)])[0])
    assert decide(code, 'b', 8, 0, 'rw')
    code = ebpf.assemble(ebpf.device_filter([Rule('a', WILDCARD, WILDCARD, 'rwm', True), Rule('b', 8, 0, 'rwm', False)])[0])
    assert not decide(code, 'b', 8, 0, 'r')
    assert decide(code, 'b', 8, 1, 'r')


def test_the_default_rules_allow_the_standard_devices_only():
    code = ebpf.assemble(ebpf.device_filter(devices.container_rules([{'allow': False, 'access': 'rwm'}]))[0])
    assert decide(code, 'c', 1, 3, 'rw')            # /dev/null
    assert decide(code, 'c', 136, 7, 'rw')          # a pty
    assert decide(code, 'b', 8, 0, 'm')             # mknod of anything
    assert not decide(code, 'b', 8, 0, 'r')         # but not reading a disk
    assert not decide(code, 'c', 1, 11, 'r')        # /dev/kmsg
    assert decide(code, 'c', 1, 3, 'rm')            # one rule covers both accesses


def test_a_mknod_only_rule_does_not_grant_read():
    code = ebpf.assemble(ebpf.device_filter([Rule('c', WILDCARD, WILDCARD, 'm', True)])[0])
    assert decide(code, 'c', 4, 4, 'm')
    assert not decide(code, 'c', 4, 4, 'rm')
    assert not decide(code, 'c', 4, 4, 'r')


rules_strategy = st.lists(st.builds(
    Rule, st.sampled_from('bc'), st.sampled_from([WILDCARD, 1, 5, 8]), st.sampled_from([WILDCARD, 0, 3, 9]),
    st.sampled_from(['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm']), st.just(True)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rules_strategy, st.sampled_from('bc'), st.sampled_from([1, 5, 8, 77]), st.sampled_from([0, 3, 9, 42]),
       st.sampled_from(['r', 'w', 'm', 'rw', 'rwm']))
def test_the_program_decides_like_the_v1_allow_list(rules, kind, major, minor, access):
    emulator = Emulator.from_rules(rules)
    code = ebpf.assemble(ebpf.device_filter(rules)[0])
    assert decide(code, kind, major, minor, access) == allowed_by_whitelist(emulator, kind, major, minor, access)
