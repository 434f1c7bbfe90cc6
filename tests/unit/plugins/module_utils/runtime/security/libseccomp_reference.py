# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter runc 1.1 builds for a profile, made with the real libseccomp (ctypes), for differential tests.

This follows runc's libcontainer (specconv.SetupSeccomp, seccomp.InitSeccomp,
matchCall, patchbpf.generateEnosysStub) step by step, but lets the installed
libseccomp.so.2 do all the work runc leaves to it: resolving names, merging
rules, multiplexing socket calls, generating the BPF. The program it returns
is what runc would load, so the tests can run both programs on the same
inputs and compare.
"""

import ctypes
import ctypes.util
import errno
import os
import struct

_ARCHES = {
    'SCMP_ARCH_X86': 'x86', 'SCMP_ARCH_X86_64': 'x86_64', 'SCMP_ARCH_X32': 'x32', 'SCMP_ARCH_ARM': 'arm',
    'SCMP_ARCH_AARCH64': 'aarch64', 'SCMP_ARCH_MIPS': 'mips', 'SCMP_ARCH_MIPS64': 'mips64',
    'SCMP_ARCH_MIPS64N32': 'mips64n32', 'SCMP_ARCH_MIPSEL': 'mipsel', 'SCMP_ARCH_MIPSEL64': 'mipsel64',
    'SCMP_ARCH_MIPSEL64N32': 'mipsel64n32', 'SCMP_ARCH_PPC': 'ppc', 'SCMP_ARCH_PPC64': 'ppc64',
    'SCMP_ARCH_PPC64LE': 'ppc64le', 'SCMP_ARCH_S390': 's390', 'SCMP_ARCH_S390X': 's390x',
    'SCMP_ARCH_RISCV64': 'riscv64',
}
_OPERATORS = {'SCMP_CMP_NE': 1, 'SCMP_CMP_LT': 2, 'SCMP_CMP_LE': 3, 'SCMP_CMP_EQ': 4, 'SCMP_CMP_GE': 5,
              'SCMP_CMP_GT': 6, 'SCMP_CMP_MASKED_EQ': 7}
_ACTIONS = {'SCMP_ACT_KILL': 0, 'SCMP_ACT_KILL_THREAD': 0, 'SCMP_ACT_KILL_PROCESS': 0x80000000,
            'SCMP_ACT_TRAP': 0x00030000, 'SCMP_ACT_ERRNO': 0x00050000, 'SCMP_ACT_TRACE': 0x7ff00000,
            'SCMP_ACT_ALLOW': 0x7fff0000, 'SCMP_ACT_LOG': 0x7ffc0000, 'SCMP_ACT_NOTIFY': 0x7fc00000}
_SCMP_FLTATR_CTL_OPTIMIZE = 8
_NR_SCMP_ERROR = -1
_ENOSYS_ACTION = 0x00050000 | errno.ENOSYS
_AUDIT_ARCH_X86_64 = 0xc000003e


class RuncError(Exception):
    """runc would refuse the profile."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [('arg', ctypes.c_uint), ('op', ctypes.c_int), ('datum_a', ctypes.c_uint64), ('datum_b', ctypes.c_uint64)]


def load():
    """libseccomp.so.2 with the prototypes we use, or None when it is not installed."""
    path = ctypes.util.find_library('seccomp')
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_export_pfc.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _action(name, errno_ret):
    base = _ACTIONS[name]
    if base in (0x00050000, 0x7ff00000):
        return base | (1 if errno_ret is None else errno_ret & 0xffff)
    return base


def _token(lib, arch):
    return lib.seccomp_arch_resolve_name(_ARCHES[arch].encode())


def _audit_arch(lib, arch):
    return _AUDIT_ARCH_X86_64 if arch == 'SCMP_ARCH_X32' else _token(lib, arch)


class Reference(object):
    """What runc + libseccomp make of a profile.

    `program` is the BPF runc loads (its stub, then libseccomp's filter);
    `pfc` is libseccomp's pseudo filter code, a print of the rule database the
    filter was generated from. expected() decides a syscall from the stub and
    the PFC (what libseccomp means to filter); actual() runs the BPF.
    """

    def __init__(self, stub, filter_program, pfc):
        self.stub = stub
        self.program = stub + filter_program
        self.pfc_text = pfc
        self._pfc = None

    @property
    def pfc(self):
        if self._pfc is None:
            self._pfc = pfc_model(self.pfc_text)
        return self._pfc

    def actual(self, nr, arch, args):
        return _run(self.program, nr, arch, args)

    def expected(self, nr, arch, args):
        if self.stub:
            verdict = _run(self.stub + [_ret(_FELL_THROUGH)], nr, arch, args)
            if verdict != _FELL_THROUGH:
                return verdict
        return self.pfc.decide(nr, arch, args)


_FELL_THROUGH = 0x0badc0de


def _run(program, nr, arch, args):
    import bpf_interpreter
    return bpf_interpreter.evaluate(program, nr, arch, args)


def runc_program(lib, spec, optimize=False):
    """The BPF program runc would load for `spec` (a linux.seccomp dict), or None when seccomp is off.

    `optimize` asks for libseccomp's binary-tree layout (newer runc asks for
    it for profiles of more than 32 rules). Raises RuncError where runc fails.
    """
    reference = runc_reference(lib, spec, optimize, with_pfc=False)
    return None if reference is None else reference.program


def runc_reference(lib, spec, optimize=False, with_pfc=True):
    """The Reference for `spec`, or None when seccomp is off; raises RuncError where runc fails.

    The PFC (needed by expected()) is only exported `with_pfc`, and only
    parses for the default (non-optimized) layout.
    """
    default_name = spec.get('defaultAction', '')
    entries = spec.get('syscalls') or []
    if default_name == '' and not entries:
        return None
    architectures = spec.get('architectures') or []
    for arch in architectures:
        if arch not in _ARCHES:
            raise RuncError('string %s is not a valid arch for seccomp' % arch)
    if default_name not in _ACTIONS:
        raise RuncError('string %s is not a valid action for seccomp' % default_name)
    expanded = []
    for entry in entries:
        if entry.get('action', '') not in _ACTIONS:
            raise RuncError('string %s is not a valid action for seccomp' % entry.get('action', ''))
        for arg in entry.get('args') or []:
            if arg.get('op', '') not in _OPERATORS:
                raise RuncError('string %s is not a valid operator for seccomp' % arg.get('op', ''))
        for name in entry.get('names') or []:
            expanded.append((name, entry['action'], entry.get('errnoRet'), entry.get('args') or []))

    default = _action(default_name, spec.get('defaultErrnoRet'))
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise RuncError('error creating filter: could not create filter')
    try:
        for arch in architectures:
            rc = lib.seccomp_arch_add(ctx, _token(lib, arch))
            if rc not in (0, -errno.EEXIST):
                raise RuncError('error adding architecture to seccomp filter: %s' % os.strerror(-rc))
        if optimize:
            lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for name, action_name, errno_ret, args in expanded:
            _match_call(lib, ctx, default, name, _action(action_name, errno_ret), args)
        program = _export(lib, lib.seccomp_export_bpf, ctx)
        pfc = _export(lib, lib.seccomp_export_pfc, ctx) if with_pfc else b''
    finally:
        lib.seccomp_release(ctx)
    stub = _enosys_stub(lib, spec, default_name, architectures, expanded)
    return Reference(stub, [struct.unpack_from('=HBBI', program, offset) for offset in range(0, len(program), 8)],
                     pfc.decode())


def _match_call(lib, ctx, default, name, action, args):
    if name == '':
        raise RuncError('empty string is not a valid syscall')
    if action == default:
        return
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number == _NR_SCMP_ERROR:
        return
    if not args:
        rules = [[]]
    else:
        conditions = []
        for arg in args:
            index = arg.get('index', 0)
            if index > 5:
                raise RuncError('syscalls only have up to 6 arguments (%d given)' % index)
            conditions.append((index, _OPERATORS[arg['op']], arg.get('value', 0), arg.get('valueTwo', 0)))
        indexes = [c[0] for c in conditions]
        rules = [[c] for c in conditions] if len(set(indexes)) < len(indexes) else [conditions]
    for rule in rules:
        array = (_ArgCmp * max(len(rule), 1))(*[_ArgCmp(*c) for c in rule])
        rc = lib.seccomp_rule_add_array(ctx, action, number, len(rule), array if rule else None)
        if rc != 0:
            raise RuncError('error adding seccomp filter rule for syscall %s: %s' % (name, os.strerror(-rc)))


def _export(lib, export, ctx):
    fd = os.memfd_create('seccomp-export')
    try:
        rc = export(ctx, fd)
        if rc != 0:
            raise RuncError('error exporting BPF: %s' % os.strerror(-rc))
        os.lseek(fd, 0, os.SEEK_SET)
        data = b''
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    return data


# runc's -ENOSYS stub (libcontainer/seccomp/patchbpf, runc 1.1), instruction for instruction.

def _jump_if(cond, value, skip_true, skip_false=0):
    codes = {'eq': (0x15, False), 'ne': (0x15, True), 'gt': (0x25, False), 'le': (0x25, True),
             'set': (0x45, False), 'notset': (0x45, True)}
    code, flip = codes[cond]
    jt, jf = (skip_false, skip_true) if flip else (skip_true, skip_false)
    return (code, jt, jf, value)


def _jump(skip):
    return (0x05, 0, 0, skip)


def _ret(value):
    return (0x06, 0, 0, value)


def _load(offset):
    return (0x20, 0, 0, offset)


def _enosys_stub(lib, spec, default_name, architectures, expanded):
    errno_ret = spec.get('defaultErrnoRet')
    if errno_ret is not None and errno_ret == _ENOSYS_ACTION:
        return []
    if default_name in ('SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'):
        return []
    last = {}
    for arch in architectures:
        native = _audit_arch(lib, arch)
        modes = last.setdefault(native, {})
        if arch in modes:
            continue
        largest = 0
        for name in [rule[0] for rule in expanded]:
            number = lib.seccomp_syscall_resolve_name_arch(_token(lib, arch), name.encode())
            if number != _NR_SCMP_ERROR and number > largest:
                largest = number
        if largest:
            modes[arch] = largest
    tail = [_jump(1), _ret(_ENOSYS_ACTION)]
    jump_table = {}
    for native, modes in last.items():
        base_enosys = len(tail) - 1
        base_filter = base_enosys + 1
        section = [_load(0)]
        if not modes:
            continue
        if len(modes) == 1:
            (arch, number), = modes.items()
            if arch in ('SCMP_ARCH_S390', 'SCMP_ARCH_S390X'):
                section += [_jump_if('ne', 0, 1), _ret(_ENOSYS_ACTION)]
            if base_enosys + 1 <= 255:
                section_tail = [_jump_if('gt', number, base_enosys + 1), _jump(base_filter)]
            else:
                section_tail = [_jump_if('le', number, 1), _jump(base_enosys + 1), _jump(base_filter)]
            if native == _AUDIT_ARCH_X86_64:
                if arch == 'SCMP_ARCH_X86_64':
                    section_tail = [_jump_if('set', 1 << 30, len(section_tail) - 1)] + section_tail
                else:
                    section_tail = [_jump_if('notset', 1 << 30, len(section_tail) - 1)] + section_tail
            section += section_tail
        else:
            x32, x86_64 = modes['SCMP_ARCH_X32'], modes['SCMP_ARCH_X86_64']
            if base_enosys + 2 <= 255:
                section += [_jump_if('set', 1 << 30, 1), _jump_if('gt', x86_64, base_enosys + 2, 1),
                            _jump_if('gt', x32, base_enosys + 1), _jump(base_filter)]
            else:
                section += [_jump_if('set', 1 << 30, 1), _jump_if('gt', x86_64, 1, 2), _jump_if('le', x32, 1),
                            _jump(base_enosys + 1), _jump(base_filter)]
        tail = section + tail
        jump_table[native] = len(tail)
    tail = [_jump(len(tail))] + tail
    for native in last:
        if native not in jump_table:
            continue
        jump = len(tail) - jump_table[native]
        if jump <= 255:
            tail = [_jump_if('eq', native, jump)] + tail
        else:
            tail = [_jump_if('ne', native, 1), _jump(jump)] + tail
    return [_load(4)] + tail


# libseccomp's pseudo filter code (gen_pfc.c), parsed back into its rule database.

_PFC_ACTIONS = {'KILL_PROCESS': 0x80000000, 'KILL': 0, 'TRAP': 0x00030000, 'LOG': 0x7ffc0000, 'ALLOW': 0x7fff0000}
_BAD_ARCH = 0
_X32_BIT = 0x40000000


def _pfc_action(text):
    name = text[len('action '):].rstrip(';')
    if name in _PFC_ACTIONS:
        return _PFC_ACTIONS[name]
    if name.startswith('ERRNO('):
        return 0x00050000 | int(name[6:-1])
    if name.startswith('TRACE('):
        return 0x7ff00000 | int(name[6:-1])
    return int(name, 16)


class _PfcNode(object):
    def __init__(self, arg, word, op, mask, datum):
        self.arg, self.word, self.op, self.mask, self.datum = arg, word, op, mask, datum
        self.true = None
        self.false = None

    def test(self, args):
        value = args[self.arg]
        value = value >> 32 if self.word == 'hi32' else value & 0xffffffff
        value &= self.mask
        if self.op == '>':
            return value > self.datum
        if self.op == '>=':
            return value >= self.datum
        return value == self.datum


def _parse_condition(text):
    # "if ($a0.hi32 > 5)", "if ($a1 & 0x0000ff00 == 256)", "if ($a2 == 7)"
    body = text[len('if ('):-1].split()
    operand = body[0][2:]
    arg, dummy_dot, word = operand.partition('.')
    if body[1] == '&':
        return _PfcNode(int(arg), word or 'lo32', '==', int(body[2], 16), int(body[4]))
    return _PfcNode(int(arg), word or 'lo32', body[1], 0xffffffff, int(body[2]))


def _parse_level(lines, i, depth):
    """Nodes at `depth` starting at lines[i]; returns (level, next index)."""
    level = []
    while i < len(lines) and lines[i][0] == depth and lines[i][1].startswith('if ($a'):
        node = _parse_condition(lines[i][1])
        i += 1
        node.true, i = _parse_branch(lines, i, depth + 1)
        if i < len(lines) and lines[i] == (depth, 'else'):
            node.false, i = _parse_branch(lines, i + 1, depth + 1)
        level.append(node)
    return level, i


def _parse_branch(lines, i, depth):
    if i < len(lines) and lines[i][0] == depth and lines[i][1].startswith('action '):
        return _pfc_action(lines[i][1]), i + 1
    if i < len(lines) and lines[i][0] == depth and lines[i][1].startswith('if ($a'):
        return _parse_level(lines, i, depth)
    return None, i


def _decide_level(level, args):
    for node in level:
        branch = node.true if node.test(args) else node.false
        if isinstance(branch, list):
            verdict = _decide_level(branch, args)
            if verdict is not None:
                return verdict
        elif branch is not None:
            return branch
    return None


class _PfcModel(object):
    def __init__(self):
        self.arches = []  # (abi name, audit arch, {nr: action or level}, default)

    def decide(self, nr, arch, args):
        blocks = [block for block in self.arches if block[1] == arch]
        if not blocks:
            return _BAD_ARCH
        names = set(block[0] for block in blocks)
        if arch == 0xc000003e and names == {'x86_64'} and nr >= _X32_BIT and nr != 0xffffffff:
            return _BAD_ARCH
        if arch == 0xc000003e and names == {'x32'} and nr < _X32_BIT:
            return _BAD_ARCH
        for syscalls in [block[2] for block in blocks]:
            if nr in syscalls:
                rule = syscalls[nr]
                if not isinstance(rule, list):
                    return rule
                verdict = _decide_level(rule, args)
                return blocks[0][3] if verdict is None else verdict
        return blocks[0][3]


def pfc_model(text):
    """libseccomp's PFC as something that decides syscalls."""
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith('# filter for arch '):
            lines.append((0, stripped))
        elif stripped and not stripped.startswith('#'):
            lines.append(((len(raw) - len(raw.lstrip(' '))) // 2, stripped))
    model = _PfcModel()
    name = None
    i = 0
    while i < len(lines):
        depth, line = lines[i]
        if line.startswith('# filter for arch '):
            name = line.split()[4]
            i += 1
        elif line.startswith('if ($arch == '):
            audit = int(line[len('if ($arch == '):-1])
            syscalls = {}
            default = None
            i += 1
            while i < len(lines) and lines[i][0] >= 1:
                depth, line = lines[i]
                if line.startswith('if ($syscall == '):
                    nr = int(line[len('if ($syscall == '):-1])
                    rule, i = _parse_branch(lines, i + 1, depth + 1)
                    # Pseudo syscalls (negative numbers) never reach the BPF.
                    if nr < 0x80000000:
                        syscalls[nr] = rule
                elif line.startswith('action '):
                    default = _pfc_action(line)
                    i += 1
                else:
                    raise ValueError('unexpected PFC line %r' % line)
            model.arches.append((name, audit, syscalls, default))
        else:
            i += 1
    return model
