# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux.seccomp: compile an OCI seccomp profile to a BPF filter the way runc does, and load it.

runc hands the profile to libseccomp 2.5 rule by rule and prepends a stub of
its own; what a containerised process observes is the combination. This
module reproduces it in pure Python:

- the profile is read like runc's specconv: one rule per name, in order; a rule
  whose action equals the default is dropped; names libseccomp does not know
  are skipped; arguments are ANDed, except that conditions repeating an
  argument index become separate (ORed) rules, as runc does;
- each rule goes to every ABI of the filter (this process' own ABI first, then
  `architectures`), translated by name; on ABIs that multiplex socket and SysV
  IPC calls (x86, s390, ppc, mips o32) it also goes to socketcall/ipc with
  argument 0 set to the sub-call, like libseccomp;
- rules of one syscall merge as libseccomp merges them (seccomp_rules);
- syscalls of an ABI not in the filter get libseccomp's bad-arch action (kill
  the thread); x86_64 calls with the x32 bit (and x32 calls without it) are
  bad-arch unless both ABIs are in the filter;
- runc's -ENOSYS stub: unless the default action allows (ALLOW, LOG, TRACE),
  a syscall numbered above every syscall the profile names for an ABI listed
  in `architectures` fails with ENOSYS, so programs fall back from syscalls
  newer than the profile.

The filter itself is laid out as a binary search over syscall-number ranges
(bpf.assemble), so Docker's default profile stays far below the kernel's
4096-instruction limit.
"""

from .. import errors
from . import bpf
from . import seccomp_abi as abi
from . import seccomp_rules as rules

# Kernel SECCOMP_RET_* values (libseccomp's SCMP_ACT_* are the same numbers).
RET_KILL_PROCESS = 0x80000000
RET_KILL_THREAD = 0x00000000
RET_TRAP = 0x00030000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7fc00000
RET_TRACE = 0x7ff00000
RET_LOG = 0x7ffc0000
RET_ALLOW = 0x7fff0000

ACTIONS = {
    'SCMP_ACT_KILL': RET_KILL_THREAD,
    'SCMP_ACT_KILL_THREAD': RET_KILL_THREAD,
    'SCMP_ACT_KILL_PROCESS': RET_KILL_PROCESS,
    'SCMP_ACT_TRAP': RET_TRAP,
    'SCMP_ACT_ERRNO': RET_ERRNO,
    'SCMP_ACT_TRACE': RET_TRACE,
    'SCMP_ACT_ALLOW': RET_ALLOW,
    'SCMP_ACT_LOG': RET_LOG,
    'SCMP_ACT_NOTIFY': RET_USER_NOTIF,
}
SUPPORTED_ACTIONS = sorted(name for name in ACTIONS if name != 'SCMP_ACT_NOTIFY')

FLAG_TSYNC = 1
FLAG_LOG = 2
FLAG_SPEC_ALLOW = 4
FLAGS = {
    'SECCOMP_FILTER_FLAG_TSYNC': FLAG_TSYNC,
    'SECCOMP_FILTER_FLAG_LOG': FLAG_LOG,
    'SECCOMP_FILTER_FLAG_SPEC_ALLOW': FLAG_SPEC_ALLOW,
}

EPERM = 1
ENOSYS = 38
# libseccomp refuses SCMP_ACT_ERRNO(n) for n >= MAX_ERRNO.
MAX_ERRNO = 4095
# runc compares defaultErrnoRet with SCMP_ACT_ERRNO(ENOSYS) itself (not with
# ENOSYS) to decide to leave out its stub; the comparison is kept as it is.
_RUNC_ENOSYS_ACTION = RET_ERRNO | ENOSYS

BAD_ARCH_ACTION = RET_KILL_THREAD
_UINT64_MAX = (1 << 64) - 1
_LAST_NR = 0xffffffff

# seccomp(2) and prctl(2) operations
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_MODE_FILTER = 2
PR_SET_SECCOMP = 22

_JUMPS = {rules.EQ: 'jeq', rules.MASKED_EQ: 'jeq', rules.GT: 'jgt', rules.GE: 'jge'}


class SeccompFilter(object):
    """A compiled filter: the BPF `program` ((code, jt, jf, k) tuples) and its seccomp(2) `flags`."""

    def __init__(self, program, flags, flags_defaulted, skipped):
        self.program = program
        self.flags = flags
        # runc asks for SPEC_ALLOW when the profile names no flags, but only
        # where the kernel supports it; install() falls back without it.
        self.flags_defaulted = flags_defaulted
        # Syscall names the profile has that libseccomp does not know (runc
        # ignores them; callers may log them at debug level).
        self.skipped = skipped

    def __len__(self):
        return len(self.program)

    def to_bytes(self):
        """The program as a struct sock_filter array."""
        return bpf.pack(self.program)

    def install(self):
        """Load the filter into this thread (see install())."""
        _load(self)


def validate(spec, field='linux.seccomp'):
    """Check `spec` (the linux.seccomp object) without touching the host.

    Returns the compiled SeccompFilter (keep it and pass it to install()) or
    None when the profile turns seccomp off. Raises ConfigError naming the
    field at fault, or SetupError when this machine's ABI is unknown.
    """
    return compile_filter(spec, field)


def install(spec_or_filter, field='linux.seccomp'):
    """Compile (if needed) and load the filter into the calling thread.

    Setting no_new_privs first (or holding CAP_SYS_ADMIN) is the caller's
    job, as is doing this last before exec: afterwards every syscall of the
    process, exec included, goes through the filter. Returns the filter
    loaded (None when seccomp is off).
    """
    compiled = spec_or_filter
    if not isinstance(compiled, SeccompFilter):
        compiled = compile_filter(spec_or_filter, field)
    if compiled is not None:
        _load(compiled)
    return compiled


def features():
    """The seccomp part of `runc features`."""
    return {
        'enabled': True,
        'actions': SUPPORTED_ACTIONS,
        'operators': sorted(rules.OPERATORS),
        'archs': sorted(abi.ABIS),
        'knownFlags': sorted(FLAGS),
        'supportedFlags': sorted(FLAGS),
    }


def compile_filter(spec, field='linux.seccomp', native_arch=None):
    """The SeccompFilter for the linux.seccomp object `spec`, or None when seccomp is off.

    `native_arch` (an SCMP_ARCH_* name) is the ABI of the process the filter
    is for, which every filter covers; by default this process' own.
    """
    if spec is None:
        return None
    _expect(isinstance(spec, dict), field, 'must be an object')
    default_name = _string(spec.get('defaultAction', ''), field + '.defaultAction')
    entries = spec.get('syscalls')
    if entries is None:
        entries = []
    _expect(isinstance(entries, list), field + '.syscalls', 'must be a list')
    if default_name == '' and not entries:
        return None

    native_name = native_arch or abi.native_abi_name()
    if native_name is None:
        raise errors.SetupError('seccomp: libseccomp has no syscall table for this machine (%s)' % _machine())
    native = abi.ABIS[native_name]
    listed = _architectures(spec.get('architectures'), field + '.architectures', native)
    flags, flags_defaulted = _flags(spec.get('flags'), field + '.flags')
    listener = spec.get('listenerPath')
    _expect(not listener, field + '.listenerPath',
            'seccomp user notification is not supported by runcible: remove listenerPath and the SCMP_ACT_NOTIFY rules')

    default_errno = _optional_uint(spec.get('defaultErrnoRet'), field + '.defaultErrnoRet', 64)
    default_action = _action(default_name, default_errno, field + '.defaultAction')
    _expect(default_name != 'SCMP_ACT_NOTIFY', field + '.defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action')
    _check_errno(default_action, field + '.defaultErrnoRet' if default_errno is not None else field + '.defaultAction')

    profile = [_entry(entry, '%s.syscalls[%d]' % (field, i)) for i, entry in enumerate(entries)]

    filter_abis = [native] + [a for a in listed if a is not native]
    filter_abis = [a for i, a in enumerate(filter_abis) if a not in filter_abis[:i]]
    databases = dict((a.name, {}) for a in filter_abis)
    skipped = _collect_rules(profile, [_Target(a, databases[a.name]) for a in filter_abis], default_action)
    stub = _enosys_stub(default_name, default_errno, listed, profile)
    root = _program_graph(filter_abis, databases, default_action, stub)
    program = bpf.assemble(root)
    _expect(len(program) <= bpf.MAX_INSNS, field,
            'the profile compiles to %d BPF instructions, more than the kernel accepts (%d)' % (len(program), bpf.MAX_INSNS))
    return SeccompFilter(program, flags, flags_defaulted, skipped)


def _collect_rules(profile, targets, default_action):
    """Add each rule to each ABI as runc's matchCall does; returns the names skipped as unknown."""
    known = abi.known_names()
    skipped = []
    for entry in profile:
        for j, name in enumerate(entry.names):
            _expect(name != '', '%s.names[%d]' % (entry.field, j), 'an empty string is not a syscall name')
            if entry.action == default_action:
                continue
            if name not in known:
                skipped.append(name)
                continue
            conditions_of_rules = _rule_conditions(entry)
            _check_errno(entry.action, entry.field + ('.errnoRet' if entry.errno_ret is not None else '.action'))
            try:
                for conditions in conditions_of_rules:
                    for target in targets:
                        target.add(name, conditions, entry.action)
            except rules.RuleConflict:
                raise errors.ConfigError(entry.field, 'the rule for %s gives it a different action where an earlier rule '
                                                      'already decides (same syscall, same arguments); libseccomp refuses '
                                                      'such a profile, and so does runc' % name)
            except rules.RulesLoop:
                raise errors.ConfigError(entry.field, 'its conditions for %s, merged with an earlier rule for %s, make '
                                                      'libseccomp 2.5 loop forever (runc and crun hang on this profile), '
                                                      'so runcible refuses it; rewrite the rules for %s in another form'
                                                      % (name, name, name))
    return skipped


class _Entry(object):
    """One linux.seccomp.syscalls[] entry, checked: its names, action value, errnoRet and argument conditions."""

    __slots__ = ('field', 'names', 'action', 'errno_ret', 'args')

    def __init__(self, field, names, action, errno_ret, args):
        self.field = field
        self.names = names
        self.action = action
        self.errno_ret = errno_ret
        self.args = args


def _entry(raw, field):
    _expect(isinstance(raw, dict), field, 'must be an object')
    names = raw.get('names')
    if names is None:
        names = []
    _expect(isinstance(names, list), field + '.names', 'must be a list of syscall names')
    for j, name in enumerate(names):
        _string(name, '%s.names[%d]' % (field, j))
    action_name = _string(raw.get('action', ''), field + '.action')
    errno_ret = _optional_uint(raw.get('errnoRet'), field + '.errnoRet', 64)
    action = _action(action_name, errno_ret, field + '.action')
    _expect(action_name != 'SCMP_ACT_NOTIFY', field + '.action',
            'SCMP_ACT_NOTIFY is not supported by runcible (it needs a seccomp agent on listenerPath)')
    raw_args = raw.get('args')
    if raw_args is None:
        raw_args = []
    _expect(isinstance(raw_args, list), field + '.args', 'must be a list')
    args = [_argument(arg, '%s.args[%d]' % (field, k)) for k, arg in enumerate(raw_args)]
    return _Entry(field, names, action, errno_ret, args)


def _argument(raw, field):
    _expect(isinstance(raw, dict), field, 'must be an object')
    index = _uint(raw.get('index', 0), field + '.index', 64)
    value = _uint(raw.get('value', 0), field + '.value', 64)
    value_two = _uint(raw.get('valueTwo', 0), field + '.valueTwo', 64)
    op_name = _string(raw.get('op', ''), field + '.op')
    _expect(op_name in rules.OPERATORS, field + '.op',
            'unknown comparison %r; use one of %s' % (op_name, ', '.join(sorted(rules.OPERATORS))))
    op = rules.OPERATORS[op_name]
    if op == rules.MASKED_EQ:
        condition = (op, value, value_two)
    else:
        condition = (op, _UINT64_MAX, value)
    return field, index, condition


def _rule_conditions(entry):
    """The argument conditions of each rule `entry` makes, as runc hands them to libseccomp."""
    if not entry.args:
        return [{}]
    for field, index, condition in entry.args:
        _expect(index < rules.ARG_COUNT, field + '.index', 'syscalls have %d arguments, numbered 0 to %d'
                % (rules.ARG_COUNT, rules.ARG_COUNT - 1))
    indexes = [index for dummy_field, index, dummy_condition in entry.args]
    if len(set(indexes)) < len(indexes):
        # runc: when an argument is compared twice, each comparison is a rule of its own.
        return [{index: condition} for dummy_field, index, condition in entry.args]
    return [dict((index, condition) for dummy_field, index, condition in entry.args)]


class _Target(object):
    """One ABI of the filter and the rules it has collected (syscall number -> rules.Syscall)."""

    __slots__ = ('numbers', 'multiplexed', 'layout', 'database')

    def __init__(self, target, database):
        self.numbers = target.numbers
        self.multiplexed = target.multiplexed
        self.layout = rules.WordLayout(target.bits, target.big_endian)
        self.database = database

    def add(self, name, conditions, action):
        """Add a rule the way libseccomp adds it to one ABI (translated by name)."""
        via = self.multiplexed.get(name)
        if via is not None:
            multiplexer, sub_call, own = via
            through = dict(conditions)
            through[0] = (rules.EQ, _UINT64_MAX, sub_call)
            self._add(self.numbers[multiplexer], through, action)
            self._add(own if own is not None else ('absent', name), conditions, action)
            return
        number = self.numbers.get(name)
        if number is not None:
            self._add(number, conditions, action)
        elif not self.multiplexed:
            # libseccomp keeps rules for syscalls the ABI lacks under a pseudo
            # number; they never reach the filter but can still conflict.
            self._add(('absent', name), conditions, action)

    def _add(self, key, conditions, action):
        if not conditions and key not in self.database:
            self.database[key] = rules.Syscall(None, action)
            return
        tree = rules.build_chain(conditions, action, self.layout) if conditions else None
        rules.add_rule(self.database, key, tree, action)


def _enosys_stub(default_name, default_errno, listed, profile):
    """runc's stub: audit arch -> {ABI name: highest syscall number the profile names}."""
    if default_errno is not None and default_errno == _RUNC_ENOSYS_ACTION:
        return {}
    if default_name in ('SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'):
        return {}
    stub = {}
    for target in listed:
        highest = 0
        for entry in profile:
            for name in entry.names:
                number = target.numbers.get(name)
                if number is not None and number > highest:
                    highest = number
        if highest:
            stub.setdefault(target.audit_arch, {})[target.name] = highest
    return stub


def _program_graph(filter_abis, databases, default_action, stub):
    """Check the arch, then search the syscall number, then the arguments."""
    blocks = []
    for target in filter_abis:
        for audit_arch, members in blocks:
            if audit_arch == target.audit_arch:
                members.append(target)
                break
        else:
            blocks.append((target.audit_arch, [target]))
    node = bpf.Return(BAD_ARCH_ACTION)
    for audit_arch, members in reversed(blocks):
        syscalls = {}
        for member in members:
            for key, entry in databases[member.name].items():
                if not isinstance(key, tuple):
                    syscalls[key] = entry
        segments = _segments(audit_arch, [m.name for m in members], syscalls, default_action, stub.get(audit_arch, {}))
        block = _search(segments, syscalls, default_action)
        node = bpf.Test(bpf.OFFSET_ARCH, 'jeq', audit_arch, block, node)
    return node


def _segments(audit_arch, members, syscalls, default_action, stub):
    """Ranges of syscall numbers that share one outcome: [(first, ('ret', action) | ('tree', nr))]."""
    x86_64_only = audit_arch == abi.AUDIT_ARCH_X86_64 and 'x32' not in members
    x32_only = audit_arch == abi.AUDIT_ARCH_X86_64 and 'x86_64' not in members

    def outcome(nr):
        if len(stub) == 2:
            if nr > stub['x32' if nr & abi.X32_BIT else 'x86_64']:
                return ('ret', RET_ERRNO | ENOSYS)
        elif stub:
            (mode, highest), = stub.items()
            if mode in ('s390', 's390x') and nr == 0:
                return ('ret', RET_ERRNO | ENOSYS)
            other_mode = audit_arch == abi.AUDIT_ARCH_X86_64 and (mode == 'x86_64') == bool(nr & abi.X32_BIT)
            if not other_mode and nr > highest:
                return ('ret', RET_ERRNO | ENOSYS)
        if x86_64_only and nr >= abi.X32_BIT and nr != _LAST_NR:
            return ('ret', BAD_ARCH_ACTION)
        if x32_only and nr < abi.X32_BIT:
            return ('ret', BAD_ARCH_ACTION)
        entry = syscalls.get(nr)
        if entry is None:
            return ('ret', default_action)
        if entry.tree is None:
            return ('ret', entry.action)
        return ('tree', nr)

    starts = {0, 1, abi.X32_BIT, 0x80000000, 0xc0000000, _LAST_NR}
    for nr in syscalls:
        starts.update((nr, nr + 1))
    for highest in stub.values():
        starts.add(highest + 1)
    segments = []
    for first in sorted(s for s in starts if s <= _LAST_NR):
        result = outcome(first)
        if segments and result[0] == 'ret' and segments[-1][1] == result:
            continue
        segments.append((first, result))
    return segments


def _search(segments, syscalls, default_action):
    if len(segments) == 1:
        kind, value = segments[0][1]
        if kind == 'ret':
            return bpf.Return(value)
        return _tree_graph(syscalls[value].tree, bpf.Return(default_action), {})
    middle = len(segments) // 2
    return bpf.Test(bpf.OFFSET_NR, 'jge', segments[middle][0],
                    _search(segments[middle:], syscalls, default_action),
                    _search(segments[:middle], syscalls, default_action))


def _tree_graph(level, fallthrough, memo):
    """A level of the rule tree as tests: each alternative in turn, then `fallthrough`."""
    start = level
    while start.prev is not None:
        start = start.prev
    key = (id(start), id(fallthrough))
    if key in memo:
        return memo[key]
    nodes = []
    node = start
    while node is not None:
        nodes.append(node)
        node = node.next
    following = fallthrough
    for node in reversed(nodes):
        if node.on_true is not None:
            if_true = _tree_graph(node.on_true, following, memo)
        else:
            if_true = bpf.Return(node.act_t) if node.act_t_set else following
        if node.on_false is not None:
            if_false = _tree_graph(node.on_false, following, memo)
        else:
            if_false = bpf.Return(node.act_f) if node.act_f_set else following
        following = bpf.Test(node.offset, _JUMPS[node.op], node.datum, if_true, if_false, mask=node.mask)
    memo[key] = following
    return following


def _architectures(raw, field, native):
    if raw is None:
        return []
    _expect(isinstance(raw, list), field, 'must be a list of SCMP_ARCH_* names')
    listed = []
    for i, name in enumerate(raw):
        item = '%s[%d]' % (field, i)
        _string(name, item)
        _expect(name in abi.ABIS, item, 'unknown architecture %r; use one of %s' % (name, ', '.join(sorted(abi.ABIS))))
        target = abi.ABIS[name]
        _expect(target.big_endian == native.big_endian, item,
                '%s is %s-endian and this machine (%s) is not: one filter cannot check both byte orders '
                '(libseccomp refuses it too)' % (name, 'big' if target.big_endian else 'little', native.name))
        listed.append(target)
    return [a for i, a in enumerate(listed) if a not in listed[:i]]


def _flags(raw, field):
    if raw is None:
        return FLAG_SPEC_ALLOW, True
    _expect(isinstance(raw, list), field, 'must be a list of SECCOMP_FILTER_FLAG_* names')
    flags = 0
    for i, name in enumerate(raw):
        item = '%s[%d]' % (field, i)
        _string(name, item)
        _expect(name in FLAGS, item, 'unknown seccomp flag %r; use one of %s' % (name, ', '.join(sorted(FLAGS))))
        flags |= FLAGS[name]
    return flags, False


def _action(name, errno_ret, field):
    _expect(name in ACTIONS, field, 'unknown action %r; use one of %s' % (name, ', '.join(sorted(ACTIONS))))
    base = ACTIONS[name]
    if base in (RET_ERRNO, RET_TRACE):
        # runc passes errnoRet through an int16: only the low 16 bits count.
        return base | (EPERM if errno_ret is None else errno_ret & 0xffff)
    return base


def _check_errno(action, field):
    if action & 0xffff0000 == RET_ERRNO and action & 0xffff >= MAX_ERRNO:
        raise errors.ConfigError(field, 'errno %d is out of range: libseccomp (and so runc) accepts 0 to %d'
                                 % (action & 0xffff, MAX_ERRNO - 1))


def _expect(condition, field, message):
    if not condition:
        raise errors.ConfigError(field, message)


def _string(value, field):
    _expect(isinstance(value, str), field, 'must be a string')
    return value


def _uint(value, field, bits):
    _expect(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < (1 << bits), field,
            'must be an integer from 0 to %d' % ((1 << bits) - 1))
    return value


def _optional_uint(value, field, bits):
    return None if value is None else _uint(value, field, bits)


def _machine():
    import os
    return os.uname().machine


class _LoadedFilter(object):
    """The sock_fprog of a program, kept alive while the kernel copies it."""

    def __init__(self, compiled):
        import ctypes

        class SockFilter(ctypes.Structure):
            _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]

        class SockFprog(ctypes.Structure):
            _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(SockFilter))]

        self.instructions = (SockFilter * len(compiled.program))(*compiled.program)
        self.fprog = SockFprog(len(compiled.program), ctypes.cast(self.instructions, ctypes.POINTER(SockFilter)))
        self.address = ctypes.addressof(self.fprog)


def _load(compiled):
    import errno
    from ..linux import syscalls

    loaded = _LoadedFilter(compiled)
    flags = compiled.flags
    while True:
        try:
            if flags == 0:
                syscalls.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, loaded.address)
                return
            result = syscalls.seccomp(SECCOMP_SET_MODE_FILTER, flags, loaded.address)
        except OSError as e:
            if e.errno == errno.EINVAL and compiled.flags_defaulted and flags & FLAG_SPEC_ALLOW:
                # An older kernel without SPEC_ALLOW: runc then leaves it out.
                flags &= ~FLAG_SPEC_ALLOW
                continue
            if e.errno == errno.EACCES:
                raise errors.SetupError('loading the seccomp filter: permission denied; set no_new_privs first '
                                        '(process.noNewPrivileges) or keep CAP_SYS_ADMIN')
            raise errors.SetupError('loading the seccomp filter (%d instructions, flags %#x): %s'
                                    % (len(compiled), flags, e.strerror or e))
        if flags & FLAG_TSYNC and result > 0:
            raise errors.SetupError('loading the seccomp filter: thread %d could not be synchronised (TSYNC)' % result)
        return
