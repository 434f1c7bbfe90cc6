#!/usr/bin/env python
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate the seccomp syscall tables from the libseccomp installed on this machine.

runc resolves syscall names with libseccomp, so the tables that
plugins/module_utils/runtime/security/seccomp compiles against are read out of
libseccomp itself (Debian 12: libseccomp2 2.5.4), through its public API:

- seccomp_syscall_resolve_num_arch() over every number range an ABI uses
  gives the names libseccomp knows;
- seccomp_syscall_resolve_name_arch() gives each name's number per ABI exactly
  as libseccomp resolves it (x32 numbers carry __X32_SYSCALL_BIT, MIPS numbers
  their ABI base; socket and SysV IPC calls of the ABIs that multiplex them
  resolve to pseudo numbers, which we record as multiplexed calls).

Usage: hack/gen_syscall_tables.py [--lib libseccomp.so.2] [--out DIR]
Run it again after a libseccomp update and commit the result.
"""

import argparse
import ctypes
import ctypes.util
import os
import subprocess
import sys

# Table name -> libseccomp ABI names that share it (same numbers, other byte order).
TABLES = {
    'x86': ['x86'],
    'x86_64': ['x86_64'],
    'x32': ['x32'],
    'arm': ['arm'],
    'aarch64': ['aarch64'],
    'mips': ['mips', 'mipsel'],
    'mips64': ['mips64', 'mipsel64'],
    'mips64n32': ['mips64n32', 'mipsel64n32'],
    'ppc': ['ppc'],
    'ppc64': ['ppc64', 'ppc64le'],
    's390': ['s390'],
    's390x': ['s390x'],
    'riscv64': ['riscv64'],
}

# Number ranges that together cover every ABI's syscall numbers and libseccomp's
# pseudo numbers (negative): plain tables, the MIPS bases 4000/5000/6000, x32's
# bit 30 and ARM's private calls at 0x0f0000.
SCAN_RANGES = [range(-11000, 11000), range(0x40000000, 0x40000000 + 2000), range(0x0f0000, 0x0f0000 + 256)]

# libseccomp's pseudo numbers for the calls some ABIs multiplex: -101..-120 go
# through socketcall(2), -201..-224 through ipc(2); the sub-call is the number
# modulo 100 (200).
SOCKETCALL_PSEUDO = range(-120, -99)
IPC_PSEUDO = range(-224, -199)


def load_libseccomp(path):
    lib = ctypes.CDLL(path)
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]

    class Version(ctypes.Structure):
        _fields_ = [('major', ctypes.c_uint), ('minor', ctypes.c_uint), ('micro', ctypes.c_uint)]

    lib.seccomp_version.restype = ctypes.POINTER(Version)
    return lib


def library_version(lib):
    version = lib.seccomp_version().contents
    return '%d.%d.%d' % (version.major, version.minor, version.micro)


def debian_package_version():
    try:
        out = subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${Version}', 'libseccomp2'],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def arch_token(lib, abi):
    token = lib.seccomp_arch_resolve_name(abi.encode())
    if token == 0:
        raise SystemExit('libseccomp does not know the ABI %s' % abi)
    return token


def scan_names(lib, token):
    """name -> every number seccomp_syscall_resolve_num_arch() maps to it."""
    found = {}
    for numbers in SCAN_RANGES:
        for number in numbers:
            pointer = lib.seccomp_syscall_resolve_num_arch(token, number)
            if pointer:
                found.setdefault(ctypes.string_at(pointer).decode(), []).append(number)
    return found


def read_table(lib, abi, known):
    """(numbers, multiplexed) of one ABI as libseccomp resolves every known name."""
    token = arch_token(lib, abi)
    scanned = scan_names(lib, token)
    # The ABIs libseccomp multiplexes resolve socket(2) itself to a pseudo
    # number; elsewhere pseudo numbers only mean "this ABI lacks the call".
    multiplexes = lib.seccomp_syscall_resolve_name_arch(token, b'socket') in SOCKETCALL_PSEUDO
    numbers = {}
    multiplexed = {}
    for name in sorted(known):
        number = lib.seccomp_syscall_resolve_name_arch(token, name.encode())
        if number == -1:
            raise SystemExit('libseccomp cannot resolve %s on %s' % (name, abi))
        if number >= 0:
            numbers[name] = number
        elif multiplexes and (number in SOCKETCALL_PSEUDO or number in IPC_PSEUDO):
            via = 'socketcall' if number in SOCKETCALL_PSEUDO else 'ipc'
            # The call's own number where the ABI also wires it directly: the
            # largest scanned number (MIPS scans also hit the base-less alias).
            direct = max((n for n in scanned.get(name, []) if n >= 0), default=None)
            multiplexed[name] = (via, -number % 100, direct)
    return numbers, multiplexed


def render_table(table, abis, numbers, multiplexed, header):
    # Plain text parsed at import: it compiles ten times faster than a dict
    # literal, which counts where no .pyc is cached (AnsiballZ, read-only trees).
    lines = [header, '"""Syscall numbers of the %s ABI (%s) as libseccomp resolves them."""' % (table, ', '.join(abis)), '']
    lines.append('_NUMBERS = """')
    for name, number in sorted(numbers.items(), key=lambda item: (item[1], item[0])):
        lines.append('%s %d' % (name, number))
    lines.append('"""')
    lines.append('_WORDS = _NUMBERS.split()')
    lines.append('# name -> syscall number')
    lines.append('NUMBERS = dict(zip(_WORDS[::2], map(int, _WORDS[1::2])))')
    if multiplexed:
        lines.append('')
        lines.append('# Calls this ABI multiplexes: name, multiplexer, sub-call number, own number (- if none).')
        lines.append('# libseccomp filters them both through the multiplexer (argument 0 == sub-call)')
        lines.append('# and, where the kernel also wires them directly, by their own number.')
        lines.append('_MULTIPLEXED = """')
        for name, (via, sub, direct) in sorted(multiplexed.items(), key=lambda item: (item[1][0], item[1][1])):
            lines.append('%s %s %d %s' % (name, via, sub, '-' if direct is None else direct))
        lines.append('"""')
        lines.append('# name -> (multiplexer, sub-call number, own number or None)')
        lines.append('MULTIPLEXED = dict((name, (via, int(sub), None if direct == \'-\' else int(direct)))')
        lines.append('                   for name, via, sub, direct in (line.split() for line in _MULTIPLEXED.split(\'\\n\') if line))')
    return '\n'.join(lines) + '\n'


def render_names(known, header):
    lines = [header, '"""Every syscall name libseccomp knows (on any ABI); runc skips the others."""', '', '_NAMES = """']
    lines.extend(sorted(known))
    lines.append('"""')
    lines.append('KNOWN = frozenset(_NAMES.split())')
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lib', default=ctypes.util.find_library('seccomp') or 'libseccomp.so.2')
    parser.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'plugins',
                                                      'module_utils', 'runtime', 'security', 'syscall_tables'))
    args = parser.parse_args()

    lib = load_libseccomp(args.lib)
    source = 'libseccomp %s (%s' % (library_version(lib), args.lib)
    package = debian_package_version()
    source += ', Debian package %s)' % package if package else ')'
    header = ('# Generated by hack/gen_syscall_tables.py from %s.\n'
              '# Do not edit; run the generator again instead.' % source)

    known = set()
    for abis in TABLES.values():
        for abi in abis:
            known.update(scan_names(lib, arch_token(lib, abi)))

    os.makedirs(args.out, exist_ok=True)
    for table, abis in TABLES.items():
        numbers, multiplexed = read_table(lib, abis[0], known)
        for twin in abis[1:]:
            if read_table(lib, twin, known) != (numbers, multiplexed):
                raise SystemExit('%s and %s differ; give them separate tables' % (abis[0], twin))
        with open(os.path.join(args.out, table + '.py'), 'w') as out:
            out.write(render_table(table, abis, numbers, multiplexed, header))
    with open(os.path.join(args.out, 'names.py'), 'w') as out:
        out.write(render_names(known, header))
    print('wrote %d tables and %d names from %s' % (len(TABLES), len(known), source), file=sys.stderr)


if __name__ == '__main__':
    main()
