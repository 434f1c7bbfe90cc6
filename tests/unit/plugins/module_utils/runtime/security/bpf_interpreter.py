# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A classic BPF interpreter for seccomp filters, written for the tests.

It checks a program the way the kernel's seccomp_check_filter() does (only
the instructions seccomp allows, aligned loads inside struct seccomp_data,
jumps that stay inside the program, a return at the end) and runs it on a
synthetic struct seccomp_data.
"""

import struct

SECCOMP_DATA_SIZE = 64

_LD_W_ABS = 0x20
_ALU_AND_K = 0x54
_JA = 0x05
_JEQ = 0x15
_JGT = 0x25
_JGE = 0x35
_JSET = 0x45
_RET_K = 0x06
_CONDITIONAL = {_JEQ: lambda a, k: a == k, _JGT: lambda a, k: a > k, _JGE: lambda a, k: a >= k,
                _JSET: lambda a, k: bool(a & k)}


class InvalidProgram(Exception):
    pass


def check(program):
    """Raise InvalidProgram where the kernel would refuse `program` (EINVAL)."""
    if not 0 < len(program) <= 4096:
        raise InvalidProgram('length %d' % len(program))
    for pc, (code, jt, jf, k) in enumerate(program):
        if not (0 <= jt <= 255 and 0 <= jf <= 255 and 0 <= k <= 0xffffffff):
            raise InvalidProgram('field out of range at %d' % pc)
        if code == _LD_W_ABS:
            if k % 4 or k >= SECCOMP_DATA_SIZE:
                raise InvalidProgram('load of offset %d at %d' % (k, pc))
        elif code == _JA:
            if pc + 1 + k >= len(program):
                raise InvalidProgram('ja out of program at %d' % pc)
        elif code in _CONDITIONAL:
            if pc + 1 + max(jt, jf) >= len(program):
                raise InvalidProgram('jump out of program at %d' % pc)
        elif code not in (_ALU_AND_K, _RET_K):
            raise InvalidProgram('instruction %#x at %d' % (code, pc))
    if program[-1][0] != _RET_K:
        raise InvalidProgram('does not end with a return')


def seccomp_data(nr, arch, args=(0, 0, 0, 0, 0, 0), instruction_pointer=0):
    """struct seccomp_data in this machine's byte order."""
    return struct.pack('=IIQ6Q', nr & 0xffffffff, arch, instruction_pointer, *args)


def run(program, data, on_compare=None):
    """The filter's return value for `data` (bytes of struct seccomp_data) and the instructions executed.

    `on_compare(offset, k)`, if given, sees every comparison with the offset
    the accumulator was loaded from.
    """
    accumulator = 0
    loaded_from = None
    pc = 0
    steps = 0
    while True:
        code, jt, jf, k = program[pc]
        steps += 1
        if code == _LD_W_ABS:
            accumulator = struct.unpack_from('=I', data, k)[0]
            loaded_from = k
        elif code == _ALU_AND_K:
            accumulator &= k
        elif code == _RET_K:
            return k, steps
        elif code == _JA:
            pc += k
        else:
            if on_compare is not None:
                on_compare(loaded_from, k)
            pc += jt if _CONDITIONAL[code](accumulator, k) else jf
        pc += 1


def evaluate(program, nr, arch, args=(0, 0, 0, 0, 0, 0)):
    """The action the filter returns for one syscall."""
    return run(program, seccomp_data(nr, arch, args))[0]
