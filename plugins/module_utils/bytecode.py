# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache for this collection's module_utils when a module runs from Ansible's payload.

Ansible ships a module with the module_utils it imports as Python sources in a zip and
imports them with zipimport, which compiles every file on every run and keeps nothing:
a loop of 50 `oci_container` items compiled the same 40 files 50 times, most of a no-op
item's own cost (docs/benchmarks.md). A module imports this file first; install() puts a
finder in front of the import system that hands our modules from the payload a loader that
looks for their compiled code under

    CACHE_ROOT/<interpreter cache tag>/<sha256 of the source>

and writes it there after compiling it when it was missing. The key is the digest of the
exact source Ansible sent, so a new version of the collection never meets an old entry, and
every other import (Ansible's, the standard library's, a module_utils folder on disk) is
left to the import system as before.

An entry is code that root modules run, so it is used only if it cannot have been planted:
every folder from / to the cache folder and the entry itself must be owned by root and not
writable by group or others (and the entry a regular file, not a symlink). An entry also
repeats the interpreter's magic number and the source digest, and carries the digest of its
own code, checked before use. Anything that does not fit (another owner, a short or damaged
file, a missing folder, a non-root module that cannot write) means compiling from the
payload, exactly what happens without the cache. Entries are written only by root
(not at all under PYTHONDONTWRITEBYTECODE), to a temporary file renamed into place.
"""

import _imp
import hashlib
import importlib.machinery
import marshal
import os
import stat
import sys
import importlib.util
import zipimport
from importlib.util import MAGIC_NUMBER

CACHE_ROOT = '/var/lib/runcible/bytecode'
# The package whose modules the cache serves: this file's own package.
PACKAGE = __name__.rpartition('.')[0]
# Entries kept per interpreter: when a write finds more, the oldest go (each is a few kB;
# a version of the collection is about 150 of them).
MAX_ENTRIES = 2000
_DIGEST_SIZE = 32
_HEADER_SIZE = len(MAGIC_NUMBER) + 2 * _DIGEST_SIZE
_TEMPORARY_PREFIX = '.tmp-'


def trusted_folder(path, owner=0):
    """True if `path` and every folder above it are owned by `owner` (or root) and writable by no one else.

    Each one must be a folder, not a symlink that someone could point elsewhere. A folder
    above may be a root-owned sticky one (/tmp): others can add names there but not replace
    the folder below, which must pass the same test.
    """
    folder = current = os.path.abspath(path)
    while True:
        try:
            info = os.lstat(current)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, owner):
            return False
        shared_sticky = current != folder and info.st_uid == 0 and info.st_mode & stat.S_ISVTX
        if info.st_mode & 0o022 and not shared_sticky:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


class Cache(object):
    """Compiled code of module sources, by source digest, in one folder of one interpreter.

    `owner` is the uid whose entries and folders are trusted besides root's (root in
    production; tests run as whoever they are). `write` says whether misses are stored.
    """

    def __init__(self, root=CACHE_ROOT, owner=0, write=None):
        tag = sys.implementation.cache_tag or 'unknown'
        if sys.flags.optimize:
            tag += '.opt-%d' % sys.flags.optimize
        self.folder = os.path.join(root, tag)
        self.owner = owner
        self.write = (os.geteuid() == owner and not sys.dont_write_bytecode) if write is None else write
        self._trusted = None
        self.hits = self.misses = self.stored = 0

    def _folder_ready(self):
        """True if entries may be read from (and written to) the folder; made once per process."""
        if self._trusted is None:
            if self.write:
                try:
                    make_folders(self.folder)
                except OSError:
                    pass
            self._trusted = trusted_folder(self.folder, self.owner)
        return self._trusted

    def code(self, source, filename):
        """The code object of `source` (bytes), compiled as from `filename`: from the cache when it holds it."""
        digest = hashlib.sha256(source).digest()
        code = self._read(digest, filename) if self._folder_ready() else None
        if code is not None:
            self.hits += 1
            return code
        self.misses += 1
        code = compile(source, filename, 'exec', dont_inherit=True)
        if self.write and self._trusted:
            self._store(digest, code)
        return code

    def _entry(self, digest):
        return os.path.join(self.folder, digest.hex())

    def _read(self, digest, filename):
        try:
            fd = os.open(self._entry(digest), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid not in (0, self.owner) or info.st_mode & 0o022:
                return None
            with os.fdopen(fd, 'rb') as handle:
                fd = None
                data = handle.read()
        except OSError:
            return None
        finally:
            if fd is not None:
                os.close(fd)
        header, body = data[:_HEADER_SIZE], data[_HEADER_SIZE:]
        if header != MAGIC_NUMBER + digest + hashlib.sha256(body).digest():
            return None
        try:
            code = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return None
        # The entry was compiled from another payload's path: name this one in tracebacks.
        _fix_filename(code, filename)
        return code

    def _store(self, digest, code):
        body = marshal.dumps(code)
        final = self._entry(digest)
        temporary = os.path.join(self.folder, '%s%s-%d' % (_TEMPORARY_PREFIX, digest.hex(), os.getpid()))
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), 0o644)
            with os.fdopen(fd, 'wb') as handle:
                os.fchmod(handle.fileno(), 0o644)
                handle.write(MAGIC_NUMBER + digest + hashlib.sha256(body).digest() + body)
            os.rename(temporary, final)
        except OSError:
            _unlink(temporary)
            return
        self.stored += 1
        if self.stored == 1:
            self._prune()

    def _prune(self):
        """Keep the folder below MAX_ENTRIES: drop the oldest entries, and temporary files a crash left."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        if len(names) <= MAX_ENTRIES:
            return
        aged = []
        for name in names:
            try:
                aged.append((os.lstat(os.path.join(self.folder, name)).st_mtime, name))
            except OSError:
                continue
        aged.sort()
        for dummy, name in aged[:len(aged) - MAX_ENTRIES // 2]:
            _unlink(os.path.join(self.folder, name))


class CachingLoader(object):
    """Loads one module of the payload through the Cache; its source and data are the zipimporter's."""

    def __init__(self, zip_loader, filename, package, cache):
        self._zip = zip_loader
        self._filename = filename
        self._package = package
        self._cache = cache

    def create_module(self, spec):  # pylint: disable=unused-argument
        """Default module creation."""
        return None

    def exec_module(self, module):
        """Run the module's code (cached or compiled) in its namespace."""
        exec(self.get_code(module.__spec__.name), module.__dict__)  # pylint: disable=exec-used

    def get_code(self, fullname):  # pylint: disable=unused-argument
        """The module's code object."""
        return self._cache.code(self._zip.get_data(self._filename), self._filename)

    def get_source(self, fullname):
        """The module's source, for tracebacks and inspect."""
        return self._zip.get_source(fullname)

    def get_data(self, path):
        """A file of the payload."""
        return self._zip.get_data(path)

    def get_filename(self, fullname):  # pylint: disable=unused-argument
        """Where the module lives in the payload."""
        return self._filename

    def is_package(self, fullname):  # pylint: disable=unused-argument
        """Whether the module is a package."""
        return self._package


class Finder(object):
    """A meta path finder for PACKAGE's modules in a zip: their spec, with a CachingLoader.

    The spec is made here rather than by zipimport, whose find_spec compiles the module only
    to learn its file name (Python 3.9 to 3.12), so that a cached module is compiled not at all.
    """

    def __init__(self, cache, package=PACKAGE):
        self.cache = cache
        self._prefix = package + '.'

    def find_spec(self, fullname, path=None, target=None):  # pylint: disable=unused-argument
        """The spec of one of our modules from a zip; None otherwise (the import system goes on as before)."""
        if not fullname.startswith(self._prefix):
            return None
        for entry in path or ():
            importer = _zip_importer(entry)
            if importer is None:
                continue
            try:
                package = importer.is_package(fullname)
            except zipimport.ZipImportError:
                continue
            leaf = fullname.rpartition('.')[2]
            base = os.path.join(importer.archive, importer.prefix, leaf)
            filename = os.path.join(base, '__init__.py') if package else base + '.py'
            return importlib.util.spec_from_file_location(
                fullname, filename, loader=CachingLoader(importer, filename, package, self.cache),
                submodule_search_locations=[base] if package else None)
        return None

    def invalidate_caches(self):
        """Nothing of ours to invalidate."""


def _zip_importer(entry):
    """The zipimporter of a path entry inside a zip, or None."""
    importer = sys.path_importer_cache.get(entry)
    if importer is None and entry not in sys.path_importer_cache:
        try:
            importer = zipimport.zipimporter(entry)
        except (zipimport.ZipImportError, OSError, TypeError):
            return None
        sys.path_importer_cache[entry] = importer
    return importer if isinstance(importer, zipimport.zipimporter) else None


def install(cache=None, package=PACKAGE):
    """Serve `package`'s modules from the bytecode cache for the rest of this process (once)."""
    for finder in sys.meta_path:
        if isinstance(finder, Finder):
            return finder
    finder = Finder(cache or Cache(), package)
    sys.meta_path.insert(0, finder)
    return finder


def make_folders(folder):
    """Make `folder` and the missing folders above it, each 0755 whatever the umask (OSError if one cannot be)."""
    if os.path.isdir(folder):
        return
    make_folders(os.path.dirname(folder))
    try:
        os.mkdir(folder, 0o755)
    except FileExistsError:
        # Made meanwhile by another process: trusted_folder() judges it.
        return
    os.chmod(folder, 0o755)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fix_filename(code, filename):
    """Set co_filename of `code` and the code nested in it (what importlib does for a moved .pyc)."""
    _imp._fix_co_filename(code, filename)  # pylint: disable=protected-access


if __name__.startswith('ansible_collections.') and isinstance(globals().get('__loader__'), zipimport.zipimporter):
    install()
