# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seccomp compiler: its filters run in a BPF interpreter on synthetic syscalls.

Expected outcomes come from the OCI runtime-spec and runc's documented
behaviour (and the kernel's syscall numbers), not from the compiler.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpf_interpreter
from fixtures import docker_profile
from runtime import errors
from runtime.security import seccomp

AUDIT_X86_64 = 0xc000003e
AUDIT_I386 = 0x40000003
AUDIT_ARM = 0x40000028
AUDIT_AARCH64 = 0xc00000b7

ALLOW = 0x7fff0000
KILL_THREAD = 0x00000000
KILL_PROCESS = 0x80000000
TRAP = 0x00030000
LOG = 0x7ffc0000


def ERRNO(n):
    return 0x00050000 | n


def TRACE(n):
    return 0x7ff00000 | n


# Kernel syscall numbers used below.
X86_64 = {'read': 0, 'write': 1, 'socket': 41, 'clone': 56, 'getpid': 39, 'mkdir': 83, 'personality': 135,
          'mount': 165, 'clone3': 435, 'cachestat': 451}
I386 = {'getpid': 20, 'mkdir': 39, 'socketcall': 102, 'personality': 136, 'socket': 359}
X32_BIT = 0x40000000
UINT64 = (1 << 64) - 1


def compile_(spec, native='SCMP_ARCH_X86_64'):
    return seccomp.compile_filter(spec, native_arch=native)


def decide(compiled, nr, arch=AUDIT_X86_64, args=(0, 0, 0, 0, 0, 0)):
    bpf_interpreter.check(compiled.program)
    return bpf_interpreter.evaluate(compiled.program, nr, arch, args)


def rule(names, action, **extra):
    entry = {'names': names, 'action': action}
    entry.update(extra)
    return entry


def arg(index, op, value, value_two=None):
    condition = {'index': index, 'op': op, 'value': value}
    if value_two is not None:
        condition['valueTwo'] = value_two
    return condition


# --- comparisons -------------------------------------------------------------

OPS = {
    'SCMP_CMP_NE': lambda a, v, two: a != v,
    'SCMP_CMP_LT': lambda a, v, two: a < v,
    'SCMP_CMP_LE': lambda a, v, two: a <= v,
    'SCMP_CMP_EQ': lambda a, v, two: a == v,
    'SCMP_CMP_GE': lambda a, v, two: a >= v,
    'SCMP_CMP_GT': lambda a, v, two: a > v,
    # libseccomp (and so runc) masks the expected value too: (arg & value) == (valueTwo & value).
    'SCMP_CMP_MASKED_EQ': lambda a, v, two: a & v == two & v,
}

# Values around the 32-bit word boundaries, where a 64-bit comparison made of
# two 32-bit loads goes wrong if the high and low words are mixed up.
EDGES = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1 << 32, (1 << 32) + 1, (1 << 32) - 1,
         0x100000000ffffffff & UINT64, 0xffffffff00000000, 0xfffffffe00000001, 1 << 63, (1 << 63) - 1, UINT64 - 1, UINT64]
values = st.one_of(st.sampled_from(EDGES), st.integers(0, UINT64))


def _near(value):
    candidates = {(value + d) & UINT64 for d in (-1, 0, 1)} | {value ^ (1 << 32), value & 0xffffffff, value | 0xffffffff}
    return st.sampled_from(sorted(candidates))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(OPS)), values, values, st.data())
def test_every_comparison_on_64_bit_arguments(op, value, value_two, data):
    argument = data.draw(st.one_of(values, _near(value), _near(value_two)))
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(2, op, value, value_two)])]}
    expected = ALLOW if OPS[op](argument, value, value_two) else ERRNO(1)
    assert decide(compile_(spec), X86_64['personality'], args=(UINT64, 0, argument, 7, 0, 0)) == expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(OPS)), values, values, st.data())
def test_every_comparison_on_a_32_bit_abi_uses_the_low_word(op, value, value_two, data):
    argument = data.draw(st.one_of(values, _near(value)))
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(1, op, value, value_two)])]}
    low = 0xffffffff
    expected = ALLOW if OPS[op](argument & low, value & low, value_two & low) else ERRNO(1)
    compiled = compile_(spec, native='SCMP_ARCH_X86')
    assert decide(compiled, I386['personality'], AUDIT_I386, args=(0, argument, 0, 0, 0, 0)) == expected


def test_arguments_of_one_rule_are_anded():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW',
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_EQ', 1), arg(1, 'SCMP_CMP_GT', 0o700)])]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['mkdir'], args=(1, 0o755, 0, 0, 0, 0)) == ERRNO(1)
    assert decide(compiled, X86_64['mkdir'], args=(1, 0o600, 0, 0, 0, 0)) == ALLOW
    assert decide(compiled, X86_64['mkdir'], args=(2, 0o755, 0, 0, 0, 0)) == ALLOW


def test_an_argument_compared_twice_in_one_rule_means_either_as_runc_does():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_EQ', 0), arg(0, 'SCMP_CMP_EQ', 8)])]}
    compiled = compile_(spec)
    assert [decide(compiled, X86_64['personality'], args=(p, 0, 0, 0, 0, 0)) for p in (0, 8, 1)] == [ALLOW, ALLOW, ERRNO(1)]


def test_rules_for_one_syscall_are_ored():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_EQ', 0)]),
                         rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_EQ', 0xffffffff)])]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['personality'], args=(0xffffffff, 0, 0, 0, 0, 0)) == ALLOW
    assert decide(compiled, X86_64['personality'], args=(UINT64, 0, 0, 0, 0, 0)) == ERRNO(1)


# --- actions -----------------------------------------------------------------

@pytest.mark.parametrize('action, errno_ret, value', [
    ('SCMP_ACT_KILL', None, KILL_THREAD),
    ('SCMP_ACT_KILL_THREAD', None, KILL_THREAD),
    ('SCMP_ACT_KILL_PROCESS', None, KILL_PROCESS),
    ('SCMP_ACT_TRAP', None, TRAP),
    ('SCMP_ACT_ERRNO', None, ERRNO(1)),
    ('SCMP_ACT_ERRNO', 38, ERRNO(38)),
    ('SCMP_ACT_ERRNO', 0, ERRNO(0)),
    ('SCMP_ACT_ERRNO', (1 << 16) + 13, ERRNO(13)),
    ('SCMP_ACT_TRACE', None, TRACE(1)),
    ('SCMP_ACT_TRACE', 1234, TRACE(1234)),
    ('SCMP_ACT_LOG', None, LOG),
    ('SCMP_ACT_ALLOW', None, ALLOW),
])
def test_each_action_as_rule_and_as_default(action, errno_ret, value):
    other = 'SCMP_ACT_TRAP' if action != 'SCMP_ACT_TRAP' else 'SCMP_ACT_ALLOW'
    entry = rule(['mkdir'], action)
    if errno_ret is not None:
        entry['errnoRet'] = errno_ret
    as_rule = compile_({'defaultAction': other, 'syscalls': [entry]})
    assert decide(as_rule, X86_64['mkdir']) == value
    assert decide(as_rule, X86_64['getpid']) == (TRAP if other == 'SCMP_ACT_TRAP' else ALLOW)

    spec = {'defaultAction': action, 'syscalls': [rule(['getpid'], other)]}
    if errno_ret is not None:
        spec['defaultErrnoRet'] = errno_ret
    as_default = compile_(spec)
    assert decide(as_default, X86_64['mkdir']) == value


@pytest.mark.parametrize('spec, field', [
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', errnoRet=4095)]},
     'linux.seccomp.syscalls[0].errnoRet'),
    ({'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 5000, 'syscalls': []}, 'linux.seccomp.defaultErrnoRet'),
])
def test_errno_values_libseccomp_refuses_are_refused(spec, field):
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == field
    assert '4094' in raised.value.message


def test_errno_range_is_not_checked_for_rules_runc_skips():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW',
            'syscalls': [rule(['no_such_syscall'], 'SCMP_ACT_ERRNO', errnoRet=4095)]}
    assert decide(compile_(spec), X86_64['mkdir']) == ALLOW


# --- how rules for one syscall combine (libseccomp's order) -------------------

def test_first_rule_without_arguments_wins():
    spec = {'defaultAction': 'SCMP_ACT_KILL',
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', errnoRet=5), rule(['mkdir'], 'SCMP_ACT_ALLOW'),
                         rule(['mkdir'], 'SCMP_ACT_TRAP', args=[arg(1, 'SCMP_CMP_EQ', 1)])]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['mkdir'], args=(0, 1, 0, 0, 0, 0)) == ERRNO(5)


def test_a_rule_equal_to_the_default_is_dropped_before_it_can_win():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO'), rule(['mkdir'], 'SCMP_ACT_ALLOW')]}
    assert decide(compile_(spec), X86_64['mkdir']) == ALLOW


def test_rule_without_arguments_replaces_earlier_conditional_rules():
    spec = {'defaultAction': 'SCMP_ACT_KILL',
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ALLOW', args=[arg(1, 'SCMP_CMP_EQ', 0o755)]),
                         rule(['mkdir'], 'SCMP_ACT_ERRNO', errnoRet=5)]}
    assert decide(compile_(spec), X86_64['mkdir'], args=(0, 0o755, 0, 0, 0, 0)) == ERRNO(5)


def test_equality_is_checked_before_ranges():
    spec = {'defaultAction': 'SCMP_ACT_KILL',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_GT', 5)]),
                         rule(['personality'], 'SCMP_ACT_ERRNO', errnoRet=3, args=[arg(0, 'SCMP_CMP_EQ', 8)])]}
    compiled = compile_(spec)
    decided = [decide(compiled, X86_64['personality'], args=(p, 0, 0, 0, 0, 0)) for p in (8, 9, 2)]
    assert decided == [ERRNO(3), ALLOW, KILL_THREAD]


def test_higher_argument_index_is_checked_first():
    spec = {'defaultAction': 'SCMP_ACT_KILL',
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_EQ', 1)]),
                         rule(['mkdir'], 'SCMP_ACT_ERRNO', errnoRet=3, args=[arg(1, 'SCMP_CMP_EQ', 1)])]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['mkdir'], args=(1, 1, 0, 0, 0, 0)) == ERRNO(3)
    assert decide(compiled, X86_64['mkdir'], args=(1, 0, 0, 0, 0, 0)) == ALLOW


def test_two_actions_for_the_same_comparison_are_refused_like_runc():
    spec = {'defaultAction': 'SCMP_ACT_KILL',
            'syscalls': [rule(['personality'], 'SCMP_ACT_ALLOW', args=[arg(0, 'SCMP_CMP_EQ', 8)]),
                         rule(['personality'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_EQ', 8)])]}
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == 'linux.seccomp.syscalls[1]'
    assert 'personality' in raised.value.message


# --- names and architectures --------------------------------------------------

def test_unknown_syscall_names_are_skipped_and_reported():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW',
            'syscalls': [rule(['mkdir', 'no_such_syscall', 'made_up_2'], 'SCMP_ACT_ERRNO')]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['mkdir']) == ERRNO(1)
    assert compiled.skipped == ['no_such_syscall', 'made_up_2']


def test_a_name_missing_on_one_abi_still_filters_the_others():
    # aarch64 has no mkdir(2) (only mkdirat); 32-bit ARM has it as 39.
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    compiled = compile_(spec, native='SCMP_ARCH_AARCH64')
    assert decide(compiled, 39, AUDIT_ARM) == ERRNO(1)
    assert decide(compiled, 39, AUDIT_AARCH64) == ALLOW


def test_socket_calls_on_x86_are_also_filtered_through_socketcall():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
            'syscalls': [rule(['socket'], 'SCMP_ACT_ERRNO', errnoRet=13)]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['socket']) == ERRNO(13)
    assert decide(compiled, I386['socket'], AUDIT_I386) == ERRNO(13)
    assert decide(compiled, I386['socketcall'], AUDIT_I386, args=(1, 0, 0, 0, 0, 0)) == ERRNO(13)  # SYS_SOCKET
    assert decide(compiled, I386['socketcall'], AUDIT_I386, args=(2, 0, 0, 0, 0, 0)) == ALLOW  # SYS_BIND


def test_syscalls_of_an_abi_outside_the_filter_kill_the_thread():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    compiled = compile_(spec)
    assert decide(compiled, I386['getpid'], AUDIT_I386) == KILL_THREAD
    assert decide(compiled, X32_BIT | X86_64['getpid']) == KILL_THREAD
    # -1 is how a tracer skips a syscall; it must not kill.
    assert decide(compiled, 0xffffffff) == ALLOW


def test_x32_syscalls_are_filtered_when_listed():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    compiled = compile_(spec)
    assert decide(compiled, X32_BIT | X86_64['mkdir']) == ERRNO(1)
    assert decide(compiled, X32_BIT | X86_64['getpid']) == ALLOW
    assert decide(compiled, X86_64['mkdir']) == ERRNO(1)


def test_a_big_endian_abi_is_refused_on_a_little_endian_machine():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_S390X'],
            'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == 'linux.seccomp.architectures[1]'


# --- runc's ENOSYS stub -------------------------------------------------------

def test_syscalls_newer_than_the_profile_fail_with_enosys():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X86_64'],
            'syscalls': [rule(['read', 'mkdir'], 'SCMP_ACT_ALLOW')]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['mkdir']) == ALLOW
    assert decide(compiled, X86_64['write']) == ERRNO(1)
    assert decide(compiled, X86_64['mkdir'] + 1) == ERRNO(38)
    # the stub leaves x32 numbers to the filter, which kills them (x32 is not listed)
    assert decide(compiled, X32_BIT | 500) == KILL_THREAD


def test_no_enosys_stub_without_architectures_or_with_a_permissive_default():
    unlisted = compile_({'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ALLOW')]})
    assert decide(unlisted, X86_64['mkdir'] + 1) == ERRNO(1)
    permissive = compile_({'defaultAction': 'SCMP_ACT_LOG', 'architectures': ['SCMP_ARCH_X86_64'],
                           'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]})
    assert decide(permissive, X86_64['mkdir'] + 1) == LOG


def test_enosys_stub_per_abi():
    spec = {'defaultAction': 'SCMP_ACT_KILL_PROCESS', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
            'syscalls': [rule(['getpid'], 'SCMP_ACT_ALLOW')]}
    compiled = compile_(spec)
    assert decide(compiled, X86_64['getpid'] + 1) == ERRNO(38)
    assert decide(compiled, X86_64['getpid'] - 1) == KILL_PROCESS
    assert decide(compiled, X32_BIT | (X86_64['getpid'] + 1)) == ERRNO(38)
    assert decide(compiled, I386['getpid'] + 1, AUDIT_I386) == ERRNO(38)
    assert decide(compiled, I386['getpid'], AUDIT_I386) == ALLOW


# --- Docker's default profile --------------------------------------------------

def test_docker_default_profile():
    compiled = compile_(docker_profile.render())
    assert len(compiled) < 4096
    assert decide(compiled, X86_64['getpid']) == ALLOW
    assert decide(compiled, I386['getpid'], AUDIT_I386) == ALLOW
    assert decide(compiled, X32_BIT | X86_64['getpid']) == ALLOW
    assert decide(compiled, X86_64['mount']) == ERRNO(1)
    assert decide(compiled, X86_64['clone3']) == ERRNO(38)
    assert decide(compiled, X86_64['cachestat']) == ERRNO(38)
    clone_newuser = 0x10000000
    assert decide(compiled, X86_64['clone'], args=(0x11 | clone_newuser, 0, 0, 0, 0, 0)) == ERRNO(1)
    assert decide(compiled, X86_64['clone'], args=(0x01200011, 0, 0, 0, 0, 0)) == ALLOW
    assert decide(compiled, X86_64['socket'], args=(40, 1, 0, 0, 0, 0)) == ERRNO(1)  # AF_VSOCK
    assert decide(compiled, X86_64['socket'], args=(2, 1, 0, 0, 0, 0)) == ALLOW
    assert decide(compiled, X86_64['personality'], args=(8, 0, 0, 0, 0, 0)) == ALLOW
    assert decide(compiled, X86_64['personality'], args=(1, 0, 0, 0, 0, 0)) == ERRNO(1)


def test_a_profile_too_long_for_the_kernel_is_refused():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
            'syscalls': [rule([name], 'SCMP_ACT_ALLOW', args=[arg(i, 'SCMP_CMP_LT', n * 7 + i) for i in range(6)])
                         for n, name in enumerate(sorted(seccomp.abi.ABIS['SCMP_ARCH_X86_64'].numbers))]}
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == 'linux.seccomp'
    assert '4096' in raised.value.message


# --- turning seccomp off, flags, refused features ------------------------------

@pytest.mark.parametrize('spec', [None, {}, {'defaultAction': ''}, {'defaultAction': '', 'syscalls': []}])
def test_no_default_action_and_no_rules_means_no_filter(spec):
    assert compile_(spec) is None


def test_flags():
    base = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    absent = compile_(base)
    assert (absent.flags, absent.flags_defaulted) == (seccomp.FLAG_SPEC_ALLOW, True)
    assert compile_(dict(base, flags=[])).flags == 0
    both = compile_(dict(base, flags=['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC']))
    assert (both.flags, both.flags_defaulted) == (seccomp.FLAG_LOG | seccomp.FLAG_TSYNC, False)
    with pytest.raises(errors.ConfigError) as raised:
        compile_(dict(base, flags=['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_NEW_LISTENER']))
    assert raised.value.field == 'linux.seccomp.flags[1]'


@pytest.mark.parametrize('spec, field', [
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_NOTIFY')]}, 'linux.seccomp.syscalls[0].action'),
    ({'defaultAction': 'SCMP_ACT_NOTIFY'}, 'linux.seccomp.defaultAction'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock'}, 'linux.seccomp.listenerPath'),
])
def test_user_notification_is_refused_clearly(spec, field):
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == field


@pytest.mark.parametrize('spec, field', [
    ([], 'linux.seccomp'),
    ({'defaultAction': 'SCMP_ACT_NOPE'}, 'linux.seccomp.defaultAction'),
    ({'defaultAction': 7}, 'linux.seccomp.defaultAction'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': {}}, 'linux.seccomp.syscalls'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ['mkdir']}, 'linux.seccomp.syscalls[0]'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['read'], 'SCMP_ACT_ALLOW'), rule([1], 'SCMP_ACT_ERRNO')]},
     'linux.seccomp.syscalls[1].names[0]'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule([''], 'SCMP_ACT_ERRNO')]}, 'linux.seccomp.syscalls[0].names[0]'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_DENY')]}, 'linux.seccomp.syscalls[0].action'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', errnoRet=-1)]},
     'linux.seccomp.syscalls[0].errnoRet'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_IN', 1)])]},
     'linux.seccomp.syscalls[0].args[0].op'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(6, 'SCMP_CMP_EQ', 1)])]},
     'linux.seccomp.syscalls[0].args[0].index'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_EQ', -1)])]},
     'linux.seccomp.syscalls[0].args[0].value'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_EQ', 1 << 64)])]},
     'linux.seccomp.syscalls[0].args[0].value'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO', args=[arg(0, 'SCMP_CMP_EQ', 1.5)])]},
     'linux.seccomp.syscalls[0].args[0].value'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO',
                                                           args=[arg(0, 'SCMP_CMP_MASKED_EQ', 1, True)])]},
     'linux.seccomp.syscalls[0].args[0].valueTwo'),
    ({'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PDP11']},
     'linux.seccomp.architectures[1]'),
])
def test_bad_input_names_the_field(spec, field):
    with pytest.raises(errors.ConfigError) as raised:
        compile_(spec)
    assert raised.value.field == field
    assert str(raised.value).startswith(field + ': ')


def test_validate_returns_the_filter_install_takes():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir'], 'SCMP_ACT_ERRNO')]}
    compiled = seccomp.validate(spec)
    assert isinstance(compiled, seccomp.SeccompFilter)
    assert len(compiled.to_bytes()) == 8 * len(compiled)
    assert seccomp.validate(None) is None


def test_features_lists_what_runc_lists_except_notify():
    features = seccomp.features()
    assert features['enabled'] is True
    assert 'SCMP_ACT_NOTIFY' not in features['actions'] and 'SCMP_ACT_KILL_PROCESS' in features['actions']
    assert 'SCMP_CMP_MASKED_EQ' in features['operators']
    assert {'SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'} <= set(features['archs'])
