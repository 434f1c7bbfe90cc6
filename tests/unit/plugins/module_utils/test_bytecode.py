# -*- coding: utf-8 -*-
"""bytecode: modules imported from a payload zip run from cached code, and only from entries nobody else could write."""

import importlib
import os
import sys
import traceback
import uuid
import zipfile

import pytest

from ansible_collections.runcible.oci.plugins.module_utils import bytecode

SOURCES = {
    '__init__.py': '',
    'sub/__init__.py': 'from .mod import answer\n',
    'sub/mod.py': 'from .helper import base\n\n\ndef answer():\n    return base() + 2\n\n\ndef fail():\n    raise ValueError("from mod")\n',
    'sub/helper.py': 'def base():\n    return 40\n',
}


@pytest.fixture
def payload(tmp_path):
    """make(sources, name) -> (zip path, package name): a package in a zip on sys.path, removed afterwards."""
    package = 'bcpayload_%s' % uuid.uuid4().hex[:8]
    made = []

    def make(sources=None, name='payload.zip'):
        path = str(tmp_path / name)
        with zipfile.ZipFile(path, 'w') as archive:
            for relative, text in (sources or SOURCES).items():
                archive.writestr('%s/%s' % (package, relative), text)
        sys.path.insert(0, path)
        made.append(path)
        return path, package

    yield make
    sys.path[:] = [entry for entry in sys.path if entry not in made]
    _forget(package)


def _forget(package):
    for name in [name for name in sys.modules if name == package or name.startswith(package + '.')]:
        del sys.modules[name]
    sys.path_importer_cache.clear()


@pytest.fixture
def finder_for():
    """finder_for(package, cache) -> a Finder put first on sys.meta_path, taken off afterwards."""
    installed = []

    def install(package, cache):
        finder = bytecode.Finder(cache, package)
        sys.meta_path.insert(0, finder)
        installed.append(finder)
        return finder

    yield install
    sys.meta_path[:] = [finder for finder in sys.meta_path if finder not in installed]


def _cache(tmp_path, **options):
    options.setdefault('owner', os.geteuid())
    options.setdefault('write', True)
    return bytecode.Cache(str(tmp_path / 'cache'), **options)


def _import_fresh(package, finder_for, cache):
    """Import package.sub in a clean state through a new finder; the module."""
    _forget(package)
    finder_for(package, cache)
    return importlib.import_module(package + '.sub')


def _entries(cache):
    return sorted(name for name in os.listdir(cache.folder) if not name.startswith('.'))


def test_second_import_runs_cached_code_without_compiling(tmp_path, payload, finder_for):
    path, package = payload()
    first = _cache(tmp_path)
    module = _import_fresh(package, finder_for, first)
    assert module.answer() == 42
    assert (first.hits, first.misses, first.stored) == (0, 3, 3)
    for name in _entries(first):
        info = os.stat(os.path.join(first.folder, name))
        assert info.st_mode & 0o777 == 0o644
    second = _cache(tmp_path)
    module = _import_fresh(package, finder_for, second)
    assert module.answer() == 42
    assert (second.hits, second.misses, second.stored) == (3, 0, 0)
    # The module looks as zipimport would have made it.
    assert module.__file__ == os.path.join(path, package, 'sub', '__init__.py')
    assert module.__path__ == [os.path.join(path, package, 'sub')]
    assert sys.modules[package + '.sub.mod'].__loader__.get_source(package + '.sub.mod') == SOURCES['sub/mod.py']


def test_tracebacks_name_the_current_payload(tmp_path, payload, finder_for):
    dummy, package = payload(name='first.zip')
    _import_fresh(package, finder_for, _cache(tmp_path))
    sys.path.pop(0)
    path, package_again = payload(name='second.zip')
    assert package_again == package
    cache = _cache(tmp_path)
    module = _import_fresh(package, finder_for, cache)
    assert cache.hits == 3
    with pytest.raises(ValueError) as caught:
        sys.modules[package + '.sub.mod'].fail()
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert frames[-1].filename == os.path.join(path, package, 'sub', 'mod.py')
    assert frames[-1].line == 'raise ValueError("from mod")'
    assert module.answer() == 42


def test_a_changed_source_never_meets_the_old_entry(tmp_path, payload, finder_for):
    dummy, package = payload(name='v1.zip')
    _import_fresh(package, finder_for, _cache(tmp_path))
    sys.path.pop(0)
    changed = dict(SOURCES, **{'sub/helper.py': 'def base():\n    return 1\n'})
    payload(changed, name='v2.zip')
    cache = _cache(tmp_path)
    module = _import_fresh(package, finder_for, cache)
    assert module.answer() == 3
    assert (cache.hits, cache.misses) == (2, 1)


def _damage(part):
    def spoil(entry, tmp_path):
        with open(entry, 'rb') as handle:
            data = bytearray(handle.read())
        if part == 'body':
            data[-2] ^= 0xFF
        elif part == 'source digest':
            data[len(bytecode.MAGIC_NUMBER)] ^= 0xFF
        elif part == 'magic':
            data[0] ^= 0xFF
        else:
            data = data[:len(data) // 2]
        with open(entry, 'wb') as handle:
            handle.write(bytes(data))
    return spoil


def _writable_by_others(entry, tmp_path):
    os.chmod(entry, 0o666)


def _symlinked(entry, tmp_path):
    outside = tmp_path / 'elsewhere'
    outside.mkdir(exist_ok=True)
    moved = str(outside / os.path.basename(entry))
    os.rename(entry, moved)
    os.symlink(moved, entry)


def _owned_by_nobody(entry, tmp_path):
    os.chown(entry, 65534, 65534)


@pytest.mark.parametrize('spoil', [
    _damage('body'), _damage('source digest'), _damage('magic'), _damage('truncated'), _writable_by_others, _symlinked,
    pytest.param(_owned_by_nobody, marks=pytest.mark.skipif(os.geteuid() != 0, reason='giving an entry to another user needs root')),
], ids=['damaged body', 'other source digest', 'other magic', 'truncated', 'writable by others', 'symlink', 'owned by nobody'])
def test_an_entry_that_is_damaged_or_someone_else_could_write_is_not_used(tmp_path, payload, finder_for, spoil):
    dummy, package = payload()
    first = _cache(tmp_path)
    _import_fresh(package, finder_for, first)
    for name in _entries(first):
        spoil(os.path.join(first.folder, name), tmp_path)
    second = _cache(tmp_path, write=False)
    assert _import_fresh(package, finder_for, second).answer() == 42
    assert (second.hits, second.misses) == (0, 3)


def test_a_folder_others_could_write_is_not_used(tmp_path, payload, finder_for):
    dummy, package = payload()
    first = _cache(tmp_path)
    _import_fresh(package, finder_for, first)
    os.chmod(str(tmp_path / 'cache'), 0o777)
    second = _cache(tmp_path)
    assert _import_fresh(package, finder_for, second).answer() == 42
    assert (second.hits, second.stored) == (0, 0)


def test_a_read_only_cache_writes_nothing(tmp_path, payload, finder_for):
    dummy, package = payload()
    cache = _cache(tmp_path, write=False)
    assert _import_fresh(package, finder_for, cache).answer() == 42
    assert not os.path.exists(cache.folder)


def test_the_folder_is_made_0755_whatever_the_umask(tmp_path, payload, finder_for):
    dummy, package = payload()
    old = os.umask(0)
    try:
        cache = bytecode.Cache(str(tmp_path / 'deep' / 'cache'), owner=os.geteuid(), write=True)
        _import_fresh(package, finder_for, cache)
    finally:
        os.umask(old)
    for folder in (tmp_path / 'deep', tmp_path / 'deep' / 'cache', tmp_path / 'deep' / 'cache' / os.path.basename(cache.folder)):
        assert os.stat(str(folder)).st_mode & 0o777 == 0o755
    assert cache.stored == 3 and all(os.stat(os.path.join(cache.folder, name)).st_mode & 0o777 == 0o644 for name in _entries(cache))


def test_modules_on_disk_and_other_packages_are_left_alone(tmp_path, finder_for):
    package = 'bcdisk_%s' % uuid.uuid4().hex[:8]
    (tmp_path / package).mkdir()
    (tmp_path / package / '__init__.py').write_text('')
    (tmp_path / package / 'plain.py').write_text('VALUE = 7\n')
    sys.path.insert(0, str(tmp_path))
    cache = _cache(tmp_path)
    finder_for(package, cache)
    try:
        module = importlib.import_module(package + '.plain')
        assert module.VALUE == 7 and not isinstance(module.__loader__, bytecode.CachingLoader)
        assert (cache.hits, cache.misses) == (0, 0)
    finally:
        sys.path.remove(str(tmp_path))
        _forget(package)


def test_a_full_folder_drops_its_oldest_entries(tmp_path, payload, finder_for, monkeypatch):
    monkeypatch.setattr(bytecode, 'MAX_ENTRIES', 4)
    dummy, package = payload()
    cache = _cache(tmp_path)
    os.makedirs(cache.folder, mode=0o755)
    for index in range(5):
        old = os.path.join(cache.folder, '%064x' % index)
        with open(old, 'wb') as handle:
            handle.write(b'old')
        os.utime(old, (1000 + index, 1000 + index))
    _import_fresh(package, finder_for, cache)
    # The first write found 6 entries: the 4 oldest went, then the other 2 modules were written.
    left = _entries(cache)
    assert len(left) == 4 and cache.stored == 3
    assert [name for name in left if name.startswith('0' * 60)] == ['%064x' % 4]


def test_install_is_done_once():
    before = list(sys.meta_path)
    try:
        first = bytecode.install(bytecode.Cache(write=False), package='bconce')
        assert bytecode.install(package='bconce') is first
        assert sys.meta_path.count(first) == 1
    finally:
        sys.meta_path[:] = before
