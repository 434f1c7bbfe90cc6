# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Differential tests: our compiler against runc's pipeline run on the real libseccomp.

For random profiles (and Docker's default one) both filters run in the test's
BPF interpreter on the same synthetic syscalls; every action must agree, and
a profile runc refuses must be refused. The profiles are drawn to make rules
collide: few syscall names (multiplexed socket/IPC calls, calls missing on
some ABIs, unknown names), arguments compared at 32/64-bit boundaries, and
overlapping conditions with different actions.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpf_interpreter
import libseccomp_reference
from fixtures import docker_profile
from runtime import errors
from runtime.security import seccomp

LIB = libseccomp_reference.load()
pytestmark = [
    pytest.mark.skipif(LIB is None, reason='libseccomp.so.2 is not installed (Debian: libseccomp2)'),
    # libseccomp filters for the ABI it was built for; the probes below are written for x86_64.
    pytest.mark.skipif(seccomp.abi.native_abi_name() != 'SCMP_ARCH_X86_64', reason='the probes are for x86_64 hosts'),
]

NAMES = ['read', 'mkdir', 'socket', 'send', 'semop', 'socketcall', 'arch_prctl', 'personality', 'clone',
         'no_such_syscall', 'recvmmsg', 'time', 'accept']
ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
          'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_RISCV64']
ACTIONS = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP',
           'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']
OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']
BOUNDARIES = [0, 1, 2, 40, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, (1 << 32) + 1, 0x1ffffffff,
              1 << 63, (1 << 64) - 2, (1 << 64) - 1]
FOREIGN_ARCH = 0x40000028  # AUDIT_ARCH_ARM: not in a filter unless listed
AUDIT = {'SCMP_ARCH_X86_64': 0xc000003e, 'SCMP_ARCH_X86': 0x40000003, 'SCMP_ARCH_X32': 0xc000003e,
         'SCMP_ARCH_ARM': 0x40000028, 'SCMP_ARCH_AARCH64': 0xc00000b7, 'SCMP_ARCH_MIPSEL': 0x40000008,
         'SCMP_ARCH_MIPSEL64N32': 0xe0000008, 'SCMP_ARCH_PPC64LE': 0xc0000015, 'SCMP_ARCH_RISCV64': 0xc00000f3}

values = st.one_of(st.sampled_from(BOUNDARIES), st.integers(0, (1 << 64) - 1))
errno_rets = st.one_of(st.none(), st.sampled_from([0, 1, 38, 4094, 4095, 65536 + 13]))


@st.composite
def arguments(draw):
    arg = {'index': draw(st.sampled_from([0, 0, 1, 2])), 'value': draw(values), 'op': draw(st.sampled_from(OPS))}
    if draw(st.booleans()):
        arg['valueTwo'] = draw(values)
    return arg


@st.composite
def entries(draw):
    entry = {'names': draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3)),
             'action': draw(st.sampled_from(ACTIONS))}
    errno_ret = draw(errno_rets)
    if errno_ret is not None:
        entry['errnoRet'] = errno_ret
    args = draw(st.lists(arguments(), max_size=3))
    if args:
        entry['args'] = args
    return entry


@st.composite
def profiles(draw):
    spec = {'defaultAction': draw(st.sampled_from(ACTIONS)),
            'syscalls': draw(st.lists(entries(), min_size=1, max_size=6))}
    errno_ret = draw(errno_rets)
    if errno_ret is not None:
        spec['defaultErrnoRet'] = errno_ret
    arches = draw(st.lists(st.sampled_from(ARCHES), max_size=3))
    if arches:
        spec['architectures'] = arches
    return spec


def _numbers(spec):
    """Syscall numbers worth probing for each audit arch of the filter."""
    probes = {}
    arches = ['SCMP_ARCH_X86_64'] + (spec.get('architectures') or [])
    for arch in arches:
        token = LIB.seccomp_arch_resolve_name(libseccomp_reference._ARCHES[arch].encode())
        numbers = probes.setdefault(AUDIT[arch], {0, 1, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xffffffff})
        for name in NAMES + ['ipc']:
            number = LIB.seccomp_syscall_resolve_name_arch(token, name.encode())
            if number >= 0:
                numbers.update((number, number + 1, number - 1, number ^ 0x40000000))
        for own in [entry[2] for entry in seccomp.abi.ABIS[arch].multiplexed.values()]:
            if own is not None:
                numbers.update((own, own + 1))
    probes.setdefault(FOREIGN_ARCH, {0, 3, 0xffffffff})
    return probes


def _argument_values(spec):
    interesting = set(BOUNDARIES)
    for entry in spec['syscalls']:
        for arg in entry.get('args', []):
            for v in (arg['value'], arg.get('valueTwo', 0)):
                for w in (v - 1, v, v + 1, v ^ (1 << 32), v & 0xffffffff, v | 0xffffffff, v ^ 1):
                    interesting.add(w & ((1 << 64) - 1))
            for v in range(1, 21):
                interesting.add(v)
    return sorted(interesting)


def _compare(spec, samples_per_number=12):
    """Our filter must decide every probed syscall as libseccomp's rule database (its PFC) does.

    It must also agree with libseccomp's BPF wherever that BPF agrees with
    libseccomp's own database: libseccomp 2.5.4 has code-generation bugs
    (a section that never loads the syscall number when its first syscall is
    one the ABI lacks; a nested comparison falling through to the next
    alternative without reloading the argument word) which runcible does not
    copy. Returns the number of probes where libseccomp's BPF was wrong.
    """
    try:
        compiled = seccomp.compile_filter(spec)
    except errors.ConfigError as e:
        if 'loop forever' in str(e):
            return 0  # libseccomp never returns on these rules (test_rules_libseccomp_loops_on_are_refused)
        compiled = e
    try:
        reference = libseccomp_reference.runc_reference(LIB, spec)
    except libseccomp_reference.RuncError as e:
        reference = e
    if isinstance(reference, Exception) or isinstance(compiled, Exception):
        assert isinstance(reference, Exception) and isinstance(compiled, Exception), (reference, compiled)
        return 0
    if reference is None:
        assert compiled is None
        return 0
    bpf_interpreter.check(compiled.program)
    rng = random.Random(repr(spec))
    values = _argument_values(spec)
    codegen_bugs = 0
    for arch, numbers in _numbers(spec).items():
        for nr in sorted(n & 0xffffffff for n in numbers):
            for dummy_sample in range(samples_per_number):
                args = tuple(rng.choice(values) for dummy_arg in range(6))
                ours = bpf_interpreter.evaluate(compiled.program, nr, arch, args)
                meant = reference.expected(nr, arch, args)
                assert ours == meant, 'arch %#x nr %#x args %r: ours %#x, libseccomp rules %#x' % (
                    arch, nr, [hex(a) for a in args], ours, meant)
                if reference.actual(nr, arch, args) != meant:
                    codegen_bugs += 1
    return codegen_bugs


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_random_profiles_match_runc_and_libseccomp(spec):
    _compare(spec)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.sampled_from(BOUNDARIES), st.sampled_from(ACTIONS[:3])),
                min_size=2, max_size=5), st.sampled_from(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']))
def test_overlapping_conditions_on_one_argument_resolve_like_libseccomp(rules, arch):
    """Several rules compare argument 0 of one syscall: which one wins is libseccomp's ordering."""
    spec = {'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': [arch],
            'syscalls': [{'names': ['personality'], 'action': action, 'args': [{'index': 0, 'value': value, 'op': op}]}
                         for op, value, action in rules]}
    _compare(spec, samples_per_number=40)


def test_docker_default_profile_matches_runc_and_libseccomp():
    spec = docker_profile.render()
    reference = libseccomp_reference.runc_reference(LIB, spec)
    compiled = seccomp.compile_filter(spec)
    values = [0, 8, 40, 0x20000, 0x20008, 0xffffffff, 1 << 32, 0x7e020000, 0x10000, (1 << 64) - 1]
    for arch in (0xc000003e, 0x40000003, 0x40000028, 0xc00000b7):
        for base in (0, 0x40000000, 0x80000000, 0xc0000000):
            for nr in list(range(0, 470)) + [0x3fffffff]:
                nr |= base
                for value in values:
                    args = (value, value, 0, 0, 0, 0)
                    ours = bpf_interpreter.evaluate(compiled.program, nr, arch, args)
                    assert ours == reference.actual(nr, arch, args), (hex(arch), hex(nr), hex(value))
                    assert ours == reference.expected(nr, arch, args), (hex(arch), hex(nr), hex(value))


# Two profiles where libseccomp 2.5.4's BPF (what runc loads) contradicts
# libseccomp's own rule database; runcible follows the database (docs/seccomp.md).

def test_section_whose_first_syscall_the_abi_lacks_still_filters():
    # x86 multiplexes semop through ipc(2); libseccomp's x86 section starts with
    # its pseudo number for semop and never loads the syscall number.
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86'],
            'syscalls': [{'names': ['semop'], 'action': 'SCMP_ACT_ERRNO'}]}
    reference = libseccomp_reference.runc_reference(LIB, spec)
    compiled = seccomp.compile_filter(spec)
    semop_via_ipc = (117, 0x40000003, (1, 0, 0, 0, 0, 0))
    assert reference.expected(*semop_via_ipc) == 0x00050001
    assert bpf_interpreter.evaluate(compiled.program, *semop_via_ipc) == 0x00050001


def test_next_rule_on_the_same_argument_reloads_it():
    spec = {'defaultAction': 'SCMP_ACT_ERRNO',
            'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW',
                          'args': [{'index': 0, 'value': 0, 'op': 'SCMP_CMP_LT'},
                                   {'index': 0, 'value': 1 << 32, 'op': 'SCMP_CMP_LT'}]}]}
    reference = libseccomp_reference.runc_reference(LIB, spec)
    compiled = seccomp.compile_filter(spec)
    read_fd_7 = (0, 0xc000003e, (7, 0, 0, 0, 0, 0))
    assert reference.expected(*read_fd_7) == 0x7fff0000
    assert bpf_interpreter.evaluate(compiled.program, *read_fd_7) == 0x7fff0000


def test_rules_libseccomp_loops_on_are_refused():
    # Found by the property test above: libseccomp 2.5.4 never returns from
    # seccomp_rule_add for the second rule (runc 1.1.5 and crun 1.8.1 spin
    # forever in create). runcible's port of its tree code stops and says why.
    rule = {'names': ['read'], 'action': 'SCMP_ACT_LOG',
            'args': [{'index': 1, 'value': 1586, 'op': 'SCMP_CMP_NE'}, {'index': 0, 'value': 40, 'op': 'SCMP_CMP_NE'}]}
    other = dict(rule, args=[dict(rule['args'][0], value=18864306128), rule['args'][1]])
    spec = {'defaultAction': 'SCMP_ACT_TRACE', 'syscalls': [rule, other]}
    with pytest.raises(errors.ConfigError) as raised:
        seccomp.compile_filter(spec)
    assert str(raised.value).startswith('linux.seccomp.syscalls[1]: ')
    assert 'loop forever' in str(raised.value)
    # Either rule alone compiles.
    assert seccomp.compile_filter(dict(spec, syscalls=[rule])) is not None
    assert seccomp.compile_filter(dict(spec, syscalls=[other])) is not None
