# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The syscall ABIs a seccomp filter can name, and which one this process runs."""

import os
import struct
import sys

# AUDIT_ARCH_* values from <linux/audit.h>: what the kernel puts in seccomp_data.arch.
AUDIT_ARCH_X86_64 = 0xc000003e

# Set on every x32 syscall number (__X32_SYSCALL_BIT).
X32_BIT = 0x40000000


class Abi(object):
    """One libseccomp architecture: how its syscalls are numbered and its arguments laid out."""

    def __init__(self, name, audit_arch, bits, big_endian, table):
        self.name = name
        self.audit_arch = audit_arch
        self.bits = bits
        self.big_endian = big_endian
        self.table = table
        self._numbers = None
        self._multiplexed = None

    @property
    def numbers(self):
        """name -> syscall number, for the calls this ABI has."""
        self._load()
        return self._numbers

    @property
    def multiplexed(self):
        """name -> (multiplexer, sub-call, own number or None) for the calls routed through socketcall/ipc."""
        self._load()
        return self._multiplexed

    def _load(self):
        if self._numbers is None:
            module = _import_table(self.table)
            self._numbers = module.NUMBERS
            self._multiplexed = getattr(module, 'MULTIPLEXED', {})

    def __repr__(self):
        return 'Abi(%s)' % self.name


def _import_table(table):
    """Import one generated table, only when a filter names its ABI.

    The imports are spelled out so that Ansible's module packer, which follows
    import statements, ships every table.
    """
    if table == 'x86_64':
        from .syscall_tables import x86_64 as module
    elif table == 'x86':
        from .syscall_tables import x86 as module
    elif table == 'x32':
        from .syscall_tables import x32 as module
    elif table == 'aarch64':
        from .syscall_tables import aarch64 as module
    elif table == 'arm':
        from .syscall_tables import arm as module
    elif table == 'mips':
        from .syscall_tables import mips as module
    elif table == 'mips64':
        from .syscall_tables import mips64 as module
    elif table == 'mips64n32':
        from .syscall_tables import mips64n32 as module
    elif table == 'ppc':
        from .syscall_tables import ppc as module
    elif table == 'ppc64':
        from .syscall_tables import ppc64 as module
    elif table == 's390':
        from .syscall_tables import s390 as module
    elif table == 's390x':
        from .syscall_tables import s390x as module
    else:
        from .syscall_tables import riscv64 as module
    return module


def known_names():
    """Every syscall name libseccomp knows; runc ignores rules for other names."""
    from .syscall_tables import names
    return names.KNOWN


# The architectures runc accepts in linux.seccomp.architectures (plus RISCV64,
# which newer runc accepts), as libseccomp 2.5 defines them.
ABIS = {
    'SCMP_ARCH_X86': Abi('x86', 0x40000003, 32, False, 'x86'),
    'SCMP_ARCH_X86_64': Abi('x86_64', AUDIT_ARCH_X86_64, 64, False, 'x86_64'),
    'SCMP_ARCH_X32': Abi('x32', AUDIT_ARCH_X86_64, 32, False, 'x32'),
    'SCMP_ARCH_ARM': Abi('arm', 0x40000028, 32, False, 'arm'),
    'SCMP_ARCH_AARCH64': Abi('aarch64', 0xc00000b7, 64, False, 'aarch64'),
    'SCMP_ARCH_MIPS': Abi('mips', 0x00000008, 32, True, 'mips'),
    'SCMP_ARCH_MIPSEL': Abi('mipsel', 0x40000008, 32, False, 'mips'),
    'SCMP_ARCH_MIPS64': Abi('mips64', 0x80000008, 64, True, 'mips64'),
    'SCMP_ARCH_MIPSEL64': Abi('mipsel64', 0xc0000008, 64, False, 'mips64'),
    'SCMP_ARCH_MIPS64N32': Abi('mips64n32', 0xa0000008, 32, True, 'mips64n32'),
    'SCMP_ARCH_MIPSEL64N32': Abi('mipsel64n32', 0xe0000008, 32, False, 'mips64n32'),
    'SCMP_ARCH_PPC': Abi('ppc', 0x00000014, 32, True, 'ppc'),
    'SCMP_ARCH_PPC64': Abi('ppc64', 0x80000015, 64, True, 'ppc64'),
    'SCMP_ARCH_PPC64LE': Abi('ppc64le', 0xc0000015, 64, False, 'ppc64'),
    'SCMP_ARCH_S390': Abi('s390', 0x00000016, 32, True, 's390'),
    'SCMP_ARCH_S390X': Abi('s390x', 0x80000016, 64, True, 's390x'),
    'SCMP_ARCH_RISCV64': Abi('riscv64', 0xc00000f3, 64, False, 'riscv64'),
}

# uname -m (and pointer size) -> the ABI this Python process uses.
_MACHINES = {
    ('x86_64', 8): 'SCMP_ARCH_X86_64', ('x86_64', 4): 'SCMP_ARCH_X86',
    ('i386', 4): 'SCMP_ARCH_X86', ('i486', 4): 'SCMP_ARCH_X86', ('i586', 4): 'SCMP_ARCH_X86', ('i686', 4): 'SCMP_ARCH_X86',
    ('aarch64', 8): 'SCMP_ARCH_AARCH64', ('arm64', 8): 'SCMP_ARCH_AARCH64', ('aarch64', 4): 'SCMP_ARCH_ARM',
    ('armv6l', 4): 'SCMP_ARCH_ARM', ('armv7l', 4): 'SCMP_ARCH_ARM', ('armv8l', 4): 'SCMP_ARCH_ARM',
    ('ppc64le', 8): 'SCMP_ARCH_PPC64LE', ('ppc64', 8): 'SCMP_ARCH_PPC64', ('ppc', 4): 'SCMP_ARCH_PPC',
    ('s390x', 8): 'SCMP_ARCH_S390X', ('s390', 4): 'SCMP_ARCH_S390',
    ('riscv64', 8): 'SCMP_ARCH_RISCV64',
    ('mips64', 8): 'SCMP_ARCH_MIPS64', ('mips', 4): 'SCMP_ARCH_MIPS',
}
_LITTLE_ENDIAN_TWINS = {'SCMP_ARCH_MIPS64': 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPS': 'SCMP_ARCH_MIPSEL'}


def native_abi_name():
    """The SCMP_ARCH_* name of this process' ABI, or None on a machine libseccomp does not know."""
    key = _MACHINES.get((os.uname().machine, struct.calcsize('P')))
    if key in _LITTLE_ENDIAN_TWINS and sys.byteorder == 'little':
        key = _LITTLE_ENDIAN_TWINS[key]
    return key
