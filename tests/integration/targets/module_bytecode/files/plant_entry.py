# -*- coding: utf-8 -*-
"""Write a bytecode cache entry for a source file whose code also creates a marker file.

    plant_entry.py SOURCE ENTRY MARKER

The entry has the cache's layout (plugins/module_utils/bytecode.py): magic number, the
digest of SOURCE, the digest of the code, the marshalled code. Run as it would be, the
code does what SOURCE does and then creates MARKER: proof that the entry was used.
"""

import hashlib
import importlib.util
import marshal
import sys

source_path, entry_path, marker = sys.argv[1:4]
with open(source_path, 'rb') as handle:
    source = handle.read()
code = compile(source + ('\nopen(%r, "w").close()\n' % marker).encode(), source_path, 'exec', dont_inherit=True)
body = marshal.dumps(code)
with open(entry_path, 'wb') as handle:
    handle.write(importlib.util.MAGIC_NUMBER + hashlib.sha256(source).digest() + hashlib.sha256(body).digest() + body)
