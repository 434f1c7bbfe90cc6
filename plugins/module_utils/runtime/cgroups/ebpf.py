# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached with bpf(2).

cgroup v2 has no devices controller; the kernel asks eBPF programs attached
to the cgroup instead. The program is built the way runc builds it (after
crun): load the access type, major and minor from struct bpf_cgroup_dev_ctx,
then one block per rule, first match decides, else the default.
"""

import ctypes
import errno
import os
import struct

from ..linux import syscalls
from .devices import Emulator, WILDCARD
from .fsio import CgroupFieldError

# bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h)
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2

# struct bpf_cgroup_dev_ctx: access_type = (access << 16) | type, then major, minor
BPF_DEVCG_ACC_MKNOD = 1
BPF_DEVCG_ACC_READ = 2
BPF_DEVCG_ACC_WRITE = 4
BPF_DEVCG_DEV_BLOCK = 1
BPF_DEVCG_DEV_CHAR = 2

# Opcodes (class | operation | source)
_LDX_MEM_W = 0x61      # BPF_LDX | BPF_MEM | BPF_W
_ALU32_AND_K = 0x54    # BPF_ALU | BPF_AND | BPF_K
_ALU32_RSH_K = 0x74    # BPF_ALU | BPF_RSH | BPF_K
_ALU32_MOV_K = 0xb4    # BPF_ALU | BPF_MOV | BPF_K
_ALU32_MOV_X = 0xbc    # BPF_ALU | BPF_MOV | BPF_X
_JMP_JNE_K = 0x55      # BPF_JMP | BPF_JNE | BPF_K
_JMP_JNE_X = 0x5d      # BPF_JMP | BPF_JNE | BPF_X
_JMP_EXIT = 0x95       # BPF_JMP | BPF_EXIT

LICENSE = b'Apache\0'
FIELD = 'linux.resources.devices'


class Insn:
    """One eBPF instruction; `target` is the block a jump goes to, resolved on assembly."""

    __slots__ = ('code', 'dst', 'src', 'off', 'imm', 'target')

    def __init__(self, code, dst=0, src=0, off=0, imm=0, target=None):
        self.code, self.dst, self.src, self.off, self.imm, self.target = code, dst, src, off, imm, target

    def encode(self):
        imm = self.imm - (1 << 32) if self.imm >= 1 << 31 else self.imm
        return struct.pack('<BBhi', self.code, self.dst | (self.src << 4), self.off, imm)


def device_filter(rules):
    """(instructions, default_allow) for `rules`, first reduced as the v1 controller would reduce them."""
    emulator = Emulator.from_rules(rules)
    program = []
    # R2 = device type, R3 = requested access, R4 = major, R5 = minor
    program.append(Insn(_LDX_MEM_W, dst=2, src=1, off=0))
    program.append(Insn(_ALU32_AND_K, dst=2, imm=0xFFFF))
    program.append(Insn(_LDX_MEM_W, dst=3, src=1, off=0))
    program.append(Insn(_ALU32_RSH_K, dst=3, imm=16))
    program.append(Insn(_LDX_MEM_W, dst=4, src=1, off=4))
    program.append(Insn(_LDX_MEM_W, dst=5, src=1, off=8))
    blocks = []
    for rule in emulator.clean_rules():
        if rule.kind == 'a':
            # Only the leading reset of an allow-by-default ruleset; the default covers it.
            continue
        blocks.append(_rule_block(rule, len(blocks) + 1))
    for block in blocks:
        program.extend(block)
    program.append(Insn(_ALU32_MOV_K, dst=0, imm=1 if emulator.default_allow else 0))
    program.append(Insn(_JMP_EXIT))
    return _resolve(program, blocks), emulator.default_allow


def _rule_block(rule, next_block):
    kind = BPF_DEVCG_DEV_CHAR if rule.kind == 'c' else BPF_DEVCG_DEV_BLOCK
    access = 0
    for letter, bit in (('r', BPF_DEVCG_ACC_READ), ('w', BPF_DEVCG_ACC_WRITE), ('m', BPF_DEVCG_ACC_MKNOD)):
        if letter in rule.access:
            access |= bit
    block = [Insn(_JMP_JNE_K, dst=2, imm=kind, target=next_block)]
    if access != BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD:
        # Every requested access bit must be in the rule: (R3 & access) == R3.
        block.append(Insn(_ALU32_MOV_X, dst=1, src=3))
        block.append(Insn(_ALU32_AND_K, dst=1, imm=access))
        block.append(Insn(_JMP_JNE_X, dst=1, src=3, target=next_block))
    if rule.major != WILDCARD:
        block.append(Insn(_JMP_JNE_K, dst=4, imm=rule.major & 0xFFFFFFFF, target=next_block))
    if rule.minor != WILDCARD:
        block.append(Insn(_JMP_JNE_K, dst=5, imm=rule.minor & 0xFFFFFFFF, target=next_block))
    block.append(Insn(_ALU32_MOV_K, dst=0, imm=1 if rule.allow else 0))
    block.append(Insn(_JMP_EXIT))
    return block


def _resolve(program, blocks):
    """Turn block targets into relative jump offsets."""
    starts = [6]
    for block in blocks:
        starts.append(starts[-1] + len(block))
    for index, insn in enumerate(program):
        if insn.target is not None:
            insn.off = starts[insn.target] - (index + 1)
    return program


def assemble(program):
    """The instructions as the bytes BPF_PROG_LOAD takes."""
    return b''.join(insn.encode() for insn in program)


class _LoadAttr(ctypes.Structure):
    _fields_ = [('prog_type', ctypes.c_uint32), ('insn_cnt', ctypes.c_uint32), ('insns', ctypes.c_uint64),
                ('license', ctypes.c_uint64), ('log_level', ctypes.c_uint32), ('log_size', ctypes.c_uint32),
                ('log_buf', ctypes.c_uint64), ('kern_version', ctypes.c_uint32), ('prog_flags', ctypes.c_uint32),
                ('prog_name', ctypes.c_char * 16), ('prog_ifindex', ctypes.c_uint32),
                ('expected_attach_type', ctypes.c_uint32)]


class _AttachAttr(ctypes.Structure):
    _fields_ = [('target_fd', ctypes.c_uint32), ('attach_bpf_fd', ctypes.c_uint32), ('attach_type', ctypes.c_uint32),
                ('attach_flags', ctypes.c_uint32), ('replace_bpf_fd', ctypes.c_uint32)]


class _QueryAttr(ctypes.Structure):
    _fields_ = [('target_fd', ctypes.c_uint32), ('attach_type', ctypes.c_uint32), ('query_flags', ctypes.c_uint32),
                ('attach_flags', ctypes.c_uint32), ('prog_ids', ctypes.c_uint64), ('prog_cnt', ctypes.c_uint32),
                ('pad', ctypes.c_uint32)]


class _GetFdAttr(ctypes.Structure):
    _fields_ = [('prog_id', ctypes.c_uint32), ('next_id', ctypes.c_uint32), ('open_flags', ctypes.c_uint32)]


def load(program):
    """BPF_PROG_LOAD the program; returns its fd. On refusal, the verifier's log is in the error."""
    code = assemble(program)
    insns = ctypes.create_string_buffer(code, len(code))
    license_text = ctypes.create_string_buffer(LICENSE, len(LICENSE))
    attr = _LoadAttr(prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=len(program),
                     insns=ctypes.addressof(insns), license=ctypes.addressof(license_text), prog_name=b'runcible_dev')
    try:
        return syscalls.bpf(BPF_PROG_LOAD, attr)
    except OSError as exc:
        if exc.errno != errno.EACCES and exc.errno != errno.EINVAL:
            raise
    log = ctypes.create_string_buffer(1 << 16)
    attr.log_level, attr.log_size, attr.log_buf = 1, len(log), ctypes.addressof(log)
    try:
        return syscalls.bpf(BPF_PROG_LOAD, attr)
    except OSError as exc:
        raise OSError(exc.errno, '%s; verifier log: %s' % (exc.strerror, log.value.decode(errors='replace').strip()))


def attached_programs(cgroup_fd):
    """Ids of the BPF_CGROUP_DEVICE programs attached to the cgroup."""
    count = 64
    for attempt in range(10):  # pylint: disable=unused-variable
        ids = (ctypes.c_uint32 * count)()
        attr = _QueryAttr(target_fd=cgroup_fd, attach_type=BPF_CGROUP_DEVICE, prog_ids=ctypes.addressof(ids), prog_cnt=count)
        try:
            syscalls.bpf(BPF_PROG_QUERY, attr)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                count = attr.prog_cnt
                continue
            raise
        return list(ids[:attr.prog_cnt])
    raise OSError(errno.EAGAIN, 'the list of attached device programs kept changing')


def _program_fd(prog_id):
    return syscalls.bpf(BPF_PROG_GET_FD_BY_ID, _GetFdAttr(prog_id=prog_id))


def attach(directory, rules):
    """Load the program for `rules` and make it the only device program of cgroup `directory`.

    As runc does: with exactly one program attached it is replaced in one
    step (BPF_F_REPLACE), so there is no moment without a filter; otherwise
    the new program is attached and then the old ones are detached.
    """
    program = device_filter(rules)[0]
    cgroup_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    prog_fd = -1
    old_fds = []
    try:
        try:
            old_fds = [_program_fd(prog_id) for prog_id in attached_programs(cgroup_fd)]
            prog_fd = load(program)
            attr = _AttachAttr(target_fd=cgroup_fd, attach_bpf_fd=prog_fd, attach_type=BPF_CGROUP_DEVICE,
                               attach_flags=BPF_F_ALLOW_MULTI)
            if len(old_fds) == 1:
                attr.attach_flags |= BPF_F_REPLACE
                attr.replace_bpf_fd = old_fds[0]
            syscalls.bpf(BPF_PROG_ATTACH, attr)
            if len(old_fds) != 1:
                for old_fd in old_fds:
                    syscalls.bpf(BPF_PROG_DETACH, _AttachAttr(target_fd=cgroup_fd, attach_bpf_fd=old_fd,
                                                              attach_type=BPF_CGROUP_DEVICE))
        except OSError as exc:
            raise CgroupFieldError(FIELD, 'cannot install the eBPF device filter on %s: %s' % (directory, exc.strerror or exc))
    finally:
        for fd in old_fds + [prog_fd, cgroup_fd]:
            if fd >= 0:
                os.close(fd)
