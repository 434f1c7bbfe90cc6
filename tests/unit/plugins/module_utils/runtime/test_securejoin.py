# -*- coding: utf-8 -*-
"""Paths from users and images resolve inside the root, or fail; they never lead out."""

import errno
import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import securejoin


def _resolved(fd):
    try:
        return os.readlink('/proc/self/fd/%d' % fd)
    finally:
        os.close(fd)


@pytest.fixture
def root(tmp_path):
    top = tmp_path / 'rootfs'
    (top / 'srv' / 'data').mkdir(parents=True)
    (top / 'etc').mkdir()
    (top / 'tmp').mkdir()
    (top / 'etc' / 'passwd').write_text('root:x:0:0::/:/bin/sh\n')
    os.symlink('/srv/data', str(top / 'data'))           # absolute: interpreted inside
    os.symlink('../etc', str(top / 'srv' / 'etc-link'))  # relative, stays inside
    os.symlink('../../../../../../../tmp', str(top / 'evil'))  # climbs out
    os.symlink('loop2', str(top / 'loop1'))
    os.symlink('loop1', str(top / 'loop2'))
    (tmp_path / 'outside').mkdir()
    return top


def test_absolute_symlink_stays_in_root(root):
    assert _resolved(securejoin.open_in_root(str(root), '/data')) == str(root / 'srv' / 'data')


def test_relative_symlink_and_dotdot_inside(root):
    assert _resolved(securejoin.open_in_root(str(root), '/srv/etc-link/passwd')) == str(root / 'etc' / 'passwd')
    assert _resolved(securejoin.open_in_root(str(root), '/srv/../etc/./passwd')) == str(root / 'etc' / 'passwd')


def test_escape_through_dotdot_is_refused(root):
    with pytest.raises(securejoin.EscapeError):
        securejoin.open_in_root(str(root), '/../outside')
    with pytest.raises(securejoin.EscapeError):
        securejoin.check_in_root(str(root), '/missing/../../outside')


def test_escape_through_symlink_is_refused_in_strict_mode(root):
    with pytest.raises(securejoin.EscapeError) as caught:
        securejoin.open_in_root(str(root), '/evil/x', create='dir')
    assert 'evil' in str(caught.value)
    assert not os.path.exists('/tmp/x') or os.path.getmtime('/tmp/x') < os.path.getmtime(str(root))


def test_non_strict_mode_clamps_at_the_root(root):
    assert _resolved(securejoin.open_in_root(str(root), '/evil', strict=False)) == str(root / 'tmp')


def test_symlink_loops_stop(root):
    with pytest.raises(OSError) as caught:
        securejoin.open_in_root(str(root), '/loop1')
    assert caught.value.errno == errno.ELOOP


def test_create_makes_missing_parts_inside_root(root, tmp_path):
    fd = securejoin.open_in_root(str(root), '/data/new/dir', create='dir')
    assert _resolved(fd) == str(root / 'srv' / 'data' / 'new' / 'dir')
    fd = securejoin.open_in_root(str(root), '/data/file.conf', create='file')
    assert _resolved(fd) == str(root / 'srv' / 'data' / 'file.conf')
    assert (root / 'srv' / 'data' / 'file.conf').is_file()


def test_missing_without_create(root):
    with pytest.raises(FileNotFoundError):
        securejoin.open_in_root(str(root), '/nope/x')
    securejoin.check_in_root(str(root), '/nope/x')


def test_file_in_the_middle_is_not_a_directory(root):
    with pytest.raises(OSError) as caught:
        securejoin.open_in_root(str(root), '/etc/passwd/x')
    assert caught.value.errno == errno.ENOTDIR


@pytest.mark.parametrize('path, resolved', [
    ('/data', '/srv/data'),
    ('/data/new/../x', '/srv/data/x'),
    ('/srv/etc-link/passwd', '/etc/passwd'),
    ('/nope/deeper', '/nope/deeper'),
    ('/etc/passwd/under-a-file', '/etc/passwd/under-a-file'),
    ('//etc/./', '/etc'),
])
def test_resolve_in_root_names_what_open_in_root_opens(root, path, resolved):
    assert securejoin.resolve_in_root(str(root), path) == resolved


def test_resolve_in_root_into_proc_through_an_image_symlink(root):
    """A symlink in the image must not hide that a mount would land in /proc."""
    os.symlink('/proc/sys', str(root / 'psys'))
    assert securejoin.resolve_in_root(str(root), '/psys/vm') == '/proc/sys/vm'


def test_resolve_in_root_refuses_what_open_in_root_refuses(root):
    with pytest.raises(securejoin.EscapeError):
        securejoin.resolve_in_root(str(root), '/evil/x')
    with pytest.raises(securejoin.EscapeError):
        securejoin.resolve_in_root(str(root), '/nope/../../x')
    with pytest.raises(OSError) as caught:
        securejoin.resolve_in_root(str(root), '/loop1/x')
    assert caught.value.errno == errno.ELOOP


def test_the_root_may_be_given_through_a_link(root, tmp_path):
    """/proc/<pid>/root names a running container's root: a link, followed; what is inside it is not."""
    os.symlink(str(root), str(tmp_path / 'root-link'))
    assert _resolved(securejoin.open_in_root(str(tmp_path / 'root-link'), '/data')) == str(root / 'srv' / 'data')
    own_root = '/proc/%d/root' % os.getpid()
    assert _resolved(securejoin.open_in_root(own_root, str(root / 'etc'), strict=False)) == str(root / 'etc')
