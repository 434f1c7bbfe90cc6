# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classic BPF for seccomp: a decision graph and the assembler that lays it out.

A filter is first built as a graph of Test nodes (load a 32-bit word of
struct seccomp_data, optionally mask it, compare it with a constant, go one
way or the other) ending in Return nodes. The assembler orders the graph so
that every jump goes forward, reloads the accumulator only where it does not
already hold the word a test needs, and bridges conditional jumps longer than
the 255 instructions their 8-bit offsets reach with an unconditional jump (or a
copy of the return) placed right after them.
"""

import struct

LD_W_ABS = 0x20
ALU_AND_K = 0x54
JMP_JA = 0x05
JMP_JEQ_K = 0x15
JMP_JGT_K = 0x25
JMP_JGE_K = 0x35
JMP_JSET_K = 0x45
RET_K = 0x06

MAX_INSNS = 4096
FULL_MASK = 0xffffffff
_MAX_SHORT_JUMP = 255

# struct seccomp_data: nr, arch, instruction_pointer (u64), args[6] (u64 each)
OFFSET_NR = 0
OFFSET_ARCH = 4

_JUMPS = {'jeq': JMP_JEQ_K, 'jgt': JMP_JGT_K, 'jge': JMP_JGE_K, 'jset': JMP_JSET_K}


class Return(object):
    """End the filter with `value` (a SECCOMP_RET_* action and its data)."""

    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value


class Test(object):
    """Compare (word at `offset` & `mask`) with `k` using `jump` ('jeq', 'jgt', 'jge', 'jset')."""

    __slots__ = ('offset', 'mask', 'jump', 'k', 'true', 'false')

    def __init__(self, offset, jump, k, true, false, mask=FULL_MASK):
        self.offset = offset
        self.mask = mask
        self.jump = jump
        self.k = k
        self.true = true
        self.false = false


class _Insn(object):
    __slots__ = ('code', 'k', 'true', 'false')

    def __init__(self, code, k, true=None, false=None):
        self.code = code
        self.k = k
        self.true = true
        self.false = false


def _children(node):
    return (node.true, node.false) if isinstance(node, Test) else ()


def _layout(root):
    """Nodes in an order where each comes after all that lead to it, false branches first."""
    # Nodes hash by identity: equal-looking nodes are still different places.
    waiting = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in _children(node):
            if child in waiting:
                waiting[child] += 1
            else:
                waiting[child] = 1
                stack.append(child)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        # The false branch is pushed last so it comes right after its test.
        for child in _children(node):
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    return order


def _emit(order):
    """Instructions with symbolic targets, and the first instruction of each node."""
    known = {order[0]: None}
    first = {}
    program = []
    for node in order:
        state = known.get(node)
        start = len(program)
        if isinstance(node, Return):
            program.append(_Insn(RET_K, node.value))
        else:
            if state is None or state[0] != node.offset or (state[1] & node.mask) != node.mask:
                program.append(_Insn(LD_W_ABS, node.offset))
                state = (node.offset, FULL_MASK)
            if state[1] != node.mask:
                program.append(_Insn(ALU_AND_K, node.mask))
                state = (node.offset, node.mask)
            program.append(_Insn(_JUMPS[node.jump], node.k, node.true, node.false))
            for child in _children(node):
                # A node entered from tests that left different words in the
                # accumulator must load its own.
                if child not in known:
                    known[child] = state
                elif known[child] != state:
                    known[child] = None
        first[node] = program[start]
    for insn in program:
        if insn.true is not None:
            insn.true = first[insn.true]
            insn.false = first[insn.false]
    return program


def _bridge_long_jumps(program):
    """Put a jump (or the return itself) after each conditional jump that cannot reach its target."""
    while True:
        index = dict((insn, i) for i, insn in enumerate(program))
        bridged = []
        for i, insn in enumerate(program):
            if insn.true is None:
                bridged.append(insn)
                continue
            bridged.append(insn)
            for branch in ('true', 'false'):
                target = getattr(insn, branch)
                if index[target] - i - 1 > _MAX_SHORT_JUMP:
                    if target.code == RET_K:
                        step = _Insn(RET_K, target.k)
                    else:
                        step = _Insn(JMP_JA, target)
                    bridged.append(step)
                    setattr(insn, branch, step)
        if len(bridged) == len(program):
            return program
        program = bridged


def assemble(root):
    """The graph under `root` as a list of (code, jt, jf, k) sock_filter tuples."""
    program = _bridge_long_jumps(_emit(_layout(root)))
    index = dict((insn, i) for i, insn in enumerate(program))
    out = []
    for i, insn in enumerate(program):
        if insn.code == JMP_JA:
            out.append((JMP_JA, 0, 0, index[insn.k] - i - 1))
        elif insn.true is not None:
            out.append((insn.code, index[insn.true] - i - 1, index[insn.false] - i - 1, insn.k))
        else:
            out.append((insn.code, 0, 0, insn.k))
    return out


def pack(program):
    """The program as the bytes of a struct sock_filter array (native byte order)."""
    return b''.join(struct.pack('=HBBI', code, jt, jf, k) for code, jt, jf, k in program)
