# -*- coding: utf-8 -*-
"""File transfer into and out of a container root: paths stay inside it, failures leave nothing."""

import os
import stat

import pytest

from ansible_collections.runcible.oci.plugins.plugin_utils import container_files as F

ME = (os.getuid(), os.getgid())


@pytest.fixture
def root(tmp_path):
    """A container root beside a host folder holding a secret."""
    top = tmp_path / 'root'
    (top / 'srv').mkdir(parents=True)
    (top / 'etc').mkdir()
    (top / 'etc' / 'hostname').write_text('inside\n')
    (tmp_path / 'host').mkdir()
    (tmp_path / 'host' / 'secret').write_text('host secret\n')
    return top


@pytest.fixture
def blob(tmp_path):
    """A binary file of every byte value, over two chunks long."""
    path = tmp_path / 'blob.bin'
    path.write_bytes(bytes(range(256)) * (2 * F.CHUNK // 256 + 7))
    return path


def _names(folder):
    return sorted(os.listdir(str(folder)))


def test_put_writes_the_bytes_with_the_owner_and_a_private_mode(root, blob):
    F.put_file(str(root), str(blob), '/srv/blob.bin', *ME)
    written = root / 'srv' / 'blob.bin'
    assert written.read_bytes() == blob.read_bytes()
    info = written.stat()
    assert stat.S_IMODE(info.st_mode) == F.PUT_MODE
    assert (info.st_uid, info.st_gid) == ME
    assert _names(root / 'srv') == ['blob.bin']


def test_put_replaces_an_existing_file(root, blob):
    (root / 'srv' / 'blob.bin').write_text('old')
    F.put_file(str(root), str(blob), '/srv/blob.bin', *ME)
    assert (root / 'srv' / 'blob.bin').read_bytes() == blob.read_bytes()


def test_put_through_an_absolute_symlink_stays_in_the_root(root, blob, tmp_path):
    # Inside the container "/srv/link" -> the host's path of the host folder: a path the container does not have.
    host = tmp_path / 'host'
    os.symlink(str(host), str(root / 'srv' / 'link'))
    with pytest.raises(FileNotFoundError):
        F.put_file(str(root), str(blob), '/srv/link/blob.bin', *ME)
    assert _names(host) == ['secret']
    # Once the container has that path, the file lands there, in the container.
    inside = root / str(host).lstrip('/')
    inside.mkdir(parents=True)
    F.put_file(str(root), str(blob), '/srv/link/blob.bin', *ME)
    assert (inside / 'blob.bin').read_bytes() == blob.read_bytes()
    assert _names(host) == ['secret']


def test_put_through_a_climbing_symlink_stops_at_the_root(root, blob):
    os.symlink('../../../../../../srv', str(root / 'etc' / 'up'))
    F.put_file(str(root), str(blob), '/etc/up/blob.bin', *ME)
    assert (root / 'srv' / 'blob.bin').read_bytes() == blob.read_bytes()


def test_put_over_a_symlink_replaces_the_link_not_its_target(root, blob, tmp_path):
    secret = tmp_path / 'host' / 'secret'
    os.symlink(str(secret), str(root / 'srv' / 'target'))
    F.put_file(str(root), str(blob), '/srv/target', *ME)
    assert not (root / 'srv' / 'target').is_symlink()
    assert secret.read_text() == 'host secret\n'


def test_a_failed_put_leaves_nothing(root, tmp_path):
    with pytest.raises(FileNotFoundError):
        F.put_file(str(root), str(tmp_path / 'missing'), '/srv/file', *ME)
    assert _names(root / 'srv') == []


def test_put_into_a_file_instead_of_a_folder_fails(root, blob):
    with pytest.raises(OSError):
        F.put_file(str(root), str(blob), '/etc/hostname/blob.bin', *ME)


def test_fetch_reads_the_file(root, blob, tmp_path):
    F.put_file(str(root), str(blob), '/srv/blob.bin', *ME)
    F.fetch_file(str(root), '/srv/blob.bin', str(tmp_path / 'back.bin'))
    assert (tmp_path / 'back.bin').read_bytes() == blob.read_bytes()


def test_fetch_through_a_symlink_to_a_host_path_reads_the_container_file(root, tmp_path):
    secret = tmp_path / 'host' / 'secret'
    os.symlink(str(secret), str(root / 'srv' / 'link'))
    with pytest.raises(FileNotFoundError):
        F.fetch_file(str(root), '/srv/link', str(tmp_path / 'out'))
    os.symlink('/etc/hostname', str(root / 'srv' / 'name'))
    F.fetch_file(str(root), '/srv/../../srv/name', str(tmp_path / 'out'))
    assert (tmp_path / 'out').read_text() == 'inside\n'


def test_fetch_of_a_folder_fails(root, tmp_path):
    with pytest.raises(IsADirectoryError):
        F.fetch_file(str(root), '/srv', str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('path, expected', [
    ('/srv/a.txt', ('/srv', 'a.txt')),
    ('relative/a', ('/relative', 'a')),
    ('/srv/../etc/x', ('/etc', 'x')),
    ('//srv//a/', ('/srv', 'a')),
])
def test_split_destination(path, expected):
    assert F.split_destination(path) == expected


def test_split_destination_refuses_the_root():
    with pytest.raises(ValueError):
        F.split_destination('/')


@pytest.mark.parametrize('id_map, inner, expected', [
    ('         0          0 4294967295\n', 101, 101),
    ('0 100000 65536\n', 0, 100000),
    ('0 100000 65536\n', 101, 100101),
    ('0 1000 1\n1 200000 999\n', 5, 200004),
])
def test_host_id(id_map, inner, expected):
    assert F.host_id(id_map, inner) == expected


def test_host_id_of_an_unmapped_id():
    with pytest.raises(ValueError, match='uid 70000 is not mapped'):
        F.host_id('0 100000 65536\n', 70000)


def test_process_ids():
    status = 'Name:\tsleep\nUid:\t101\t101\t101\t101\nGid:\t201\t201\t201\t201\n'
    assert F.process_ids(status) == (101, 201)
    with pytest.raises(ValueError):
        F.process_ids('Name:\tsleep\n')


def test_container_root_follows_the_magic_link():
    assert F.container_root(42) == '/proc/42/root/'
