# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables through its JSON interface: libnftables by ctypes, or `nft -j -f -` when the library is missing.

Commands are Python dicts of nftables' JSON schema (libnftables-json(5)),
never rule text. libnftables1 comes with the nftables package and answers
in-process: an added rule costs about 0.2 ms against 3.9 ms for a run of
`nft -j -f -`, and listing a table 1.1 ms against 6 ms (docs/networking.md).
"""

import ctypes
import json
import shutil

from ..runtime.linux import spawn
from .netlink import NetworkError

NFT_CTX_OUTPUT_JSON = 1 << 4
LIBRARY = 'libnftables.so.1'


class _Library:
    """libnftables' context, output and errors buffered."""

    def __init__(self, library):
        lib = ctypes.CDLL(library)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for name in ('nft_ctx_buffer_output', 'nft_ctx_buffer_error', 'nft_ctx_free'):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        for name in ('nft_ctx_get_output_buffer', 'nft_ctx_get_error_buffer'):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        if not self.ctx:
            raise NetworkError('libnftables could not make a context')
        lib.nft_ctx_output_set_flags(self.ctx, NFT_CTX_OUTPUT_JSON)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)

    def run(self, text):
        status = self.lib.nft_run_cmd_from_buffer(self.ctx, text)
        output = self.lib.nft_ctx_get_output_buffer(self.ctx) or b''
        error = self.lib.nft_ctx_get_error_buffer(self.ctx) or b''
        return status, output, error

    def close(self):
        if self.ctx:
            self.lib.nft_ctx_free(self.ctx)
            self.ctx = None


class _Command:
    """`nft -j -f -`, one process per batch."""

    def __init__(self, binary):
        self.binary = binary

    def run(self, text):
        completed = spawn.run([self.binary, '-j', '-f', '-'], executable=self.binary, input_bytes=text, timeout=60)
        if completed.timed_out:
            return 1, b'', b'nft did not finish within 60 seconds'
        return completed.returncode, completed.stdout, completed.stderr

    def close(self):
        """Nothing is held between batches."""


class Nft:
    """Runs batches of nftables JSON commands; `backend` is 'library', 'command' or None (library when it loads)."""

    def __init__(self, backend=None):
        self.backend = None
        if backend in (None, 'library'):
            try:
                self.backend = _Library(LIBRARY)
                self.name = 'library'
            except OSError:
                if backend == 'library':
                    raise NetworkError('cannot load %s: install nftables (apt-get install nftables)' % LIBRARY)
        if self.backend is None:
            binary = shutil.which('nft') or shutil.which('nft', path='/usr/sbin:/sbin')
            if binary is None:
                raise NetworkError('nftables is not installed (neither %s nor the nft command): apt-get install '
                                   'nftables' % LIBRARY)
            self.backend = _Command(binary)
            self.name = 'command'

    def run(self, commands):
        """Run a list of commands as one transaction; the parsed JSON output (a list, maybe empty)."""
        text = json.dumps({'nftables': commands}).encode('utf-8')
        status, output, error = self.backend.run(text)
        if status != 0:
            raise NetworkError('nftables refused the change: %s' % error.decode('utf-8', 'replace').strip())
        if not output.strip():
            return []
        return json.loads(output.decode('utf-8')).get('nftables', [])

    def list_table(self, family, name):
        """The objects of one table as nftables lists them (chains, rules with handles), or None if it is missing."""
        text = json.dumps({'nftables': [{'list': {'table': {'family': family, 'name': name}}}]}).encode('utf-8')
        status, output, error = self.backend.run(text)
        if status != 0:
            message = error.decode('utf-8', 'replace')
            if 'No such file or directory' in message:
                return None
            raise NetworkError('cannot list the nftables table %s %s: %s' % (family, name, message.strip()))
        return json.loads(output.decode('utf-8')).get('nftables', [])

    def close(self):
        self.backend.close()
