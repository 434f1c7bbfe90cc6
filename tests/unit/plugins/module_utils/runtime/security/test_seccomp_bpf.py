# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BPF assembler: programs the kernel accepts, that decide what their graphs say."""

import struct

import bpf_interpreter
from runtime.security import bpf

NR, ARG0_LOW, ARG1_LOW = bpf.OFFSET_NR, 16, 24


def run(program, nr, args=(0, 0, 0, 0, 0, 0)):
    bpf_interpreter.check(program)
    return bpf_interpreter.evaluate(program, nr, 0, args)


def test_conditional_jumps_beyond_255_instructions_are_bridged():
    chain = bpf.Return(7)
    for k in range(400, 100, -1):
        chain = bpf.Test(NR, 'jeq', k, bpf.Return(k), chain)
    root = bpf.Test(NR, 'jeq', 1, bpf.Return(1), chain)
    program = bpf.assemble(root)
    assert len(program) > 600
    assert run(program, 1) == 1
    assert run(program, 250) == 250
    assert run(program, 400) == 400
    assert run(program, 401) == 7


def test_the_accumulator_is_loaded_once_for_tests_of_one_word():
    root = bpf.Test(NR, 'jge', 10, bpf.Test(NR, 'jgt', 20, bpf.Return(3), bpf.Return(2)), bpf.Return(1))
    program = bpf.assemble(root)
    assert sum(1 for insn in program if insn[0] == bpf.LD_W_ABS) == 1
    assert [run(program, nr) for nr in (5, 15, 25)] == [1, 2, 3]


def test_a_test_reached_with_different_words_loads_its_own():
    shared = bpf.Test(NR, 'jeq', 5, bpf.Return(50), bpf.Return(0))
    root = bpf.Test(NR, 'jeq', 1, bpf.Test(ARG0_LOW, 'jeq', 9, bpf.Return(90), shared), shared)
    program = bpf.assemble(root)
    assert run(program, 5) == 50
    assert run(program, 1, (9, 0, 0, 0, 0, 0)) == 90
    assert run(program, 1, (5, 0, 0, 0, 0, 0)) == 0  # nr is 1, not 5, whatever arg 0 holds


def test_masks_are_applied_and_reloaded_when_a_wider_view_is_needed():
    wide = bpf.Test(ARG1_LOW, 'jeq', 0x1234, bpf.Return(2), bpf.Return(3))
    root = bpf.Test(ARG1_LOW, 'jeq', 0x30, bpf.Return(1), wide, mask=0xf0)
    program = bpf.assemble(root)
    assert run(program, 0, (0, 0x1234, 0, 0, 0, 0)) == 1  # 0x1234 & 0xf0 == 0x30
    assert run(program, 0, (0, 0x1204, 0, 0, 0, 0)) == 3
    program = bpf.assemble(bpf.Test(ARG1_LOW, 'jeq', 0x4, bpf.Return(1), wide, mask=0x0f))
    assert run(program, 0, (0, 0x1234, 0, 0, 0, 0)) == 1
    assert run(program, 0, (0, 0x1233, 0, 0, 0, 0)) == 3


def test_pack_gives_sock_filter_structs():
    program = bpf.assemble(bpf.Test(NR, 'jeq', 3, bpf.Return(0x7fff0000), bpf.Return(0)))
    assert bpf.pack(program) == b''.join(struct.pack('=HBBI', *insn) for insn in program)
    assert struct.unpack('=HBBI', bpf.pack(program)[:8]) == (bpf.LD_W_ABS, 0, 0, NR)
