# -*- coding: utf-8 -*-
"""Crafted archives against every way one gets unpacked, through the one in-root path helper.

Three entry points write what an archive holds under a root folder: an image
layer unpacked into a bundle's rootfs, a rootfs tarball imported with
oci_image and unpacked, and a checkpoint archive imported with
oci_checkpoint (and its overlay changes applied to an existing rootfs). Each
gets the same tricks: a symlink member then a write through it, hardlinks out
of the root, `..` and absolute names, device nodes, and a directory swapped
for a symlink between the check and the write. Whatever each entry point
does with them (a layer resolves them inside the root as the container will;
a checkpoint archive, which never holds such members, refuses them), nothing
outside the root is created, changed or linked.
"""

import io
import json
import os
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'image'))

from layerlib import Layout, entry, snapshot, tar_layer  # noqa: E402

from ansible_collections.runcible.oci.plugins.module_utils.bundle import rootfs as bundle_rootfs  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.converge import checkpoint as ck  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.image import importers, layout_reader, unpack  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import LayerError  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import archive  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import securejoin  # noqa: E402

ROOT = os.geteuid() == 0
ENTRY_POINTS = ('layer', 'rootfs-import', 'checkpoint-import', 'checkpoint-changes')


def _checkpoint_tar(path, entries, rootfs_kind):
    """A checkpoint archive whose rootfs/ members are `entries` (layerlib dicts, names relative to the rootfs)."""
    prefixed = []
    for item in entries:
        item = dict(item)
        if not item['name'].startswith('/'):
            item['name'] = 'rootfs/' + item['name']
        if item['type'] == 'hardlink' and not item['link'].startswith('/'):
            item['link'] = 'rootfs/' + item['link']
        prefixed.append(item)
    manifest = json.dumps({'format': archive.FORMAT, 'checkpoint_id': 'c1', 'rootfs': rootfs_kind,
                           'image_digest': 'sha256:img' if rootfs_kind == archive.ROOTFS_CHANGES else None,
                           'config_digest': ck.config_digest(CONFIG)}).encode()
    body = tar_layer([entry('bundle/config.json', data=json.dumps(CONFIG).encode())] + prefixed)
    with tarfile.open(path, 'w') as handle:
        info = tarfile.TarInfo(archive.MANIFEST)
        info.size = len(manifest)
        handle.addfile(info, io.BytesIO(manifest))
        with tarfile.open(fileobj=io.BytesIO(body)) as members:
            for member in members:
                handle.addfile(member, members.extractfile(member) if member.isfile() else None)


CONFIG = {'ociVersion': '1.0.2', 'process': {'args': ['sh']}, 'root': {'path': 'rootfs'}}


class EntryPoint:
    """Unpacks a list of entries one way; returns the root folder they went into."""

    def __init__(self, kind, tmp_path):
        self.kind = kind
        self.tmp_path = tmp_path
        self.refuses = kind.startswith('checkpoint')
        self.error = archive.CheckpointArchiveError if self.refuses else LayerError

    def __call__(self, entries):
        handler = getattr(self, '_' + self.kind.replace('-', '_'))
        return handler(entries)

    def _layer(self, entries):
        layout = Layout(self.tmp_path / 'layout')
        digest = layout.add_image([tar_layer(entries)])
        reader = layout_reader.OCILayout(layout.path)
        target = str(self.tmp_path / 'rootfs')
        unpack.unpack_image(reader, reader.image(digest=digest), target)
        return target

    def _rootfs_import(self, entries):
        tarball = self.tmp_path / 'rootfs.tar'
        tarball.write_bytes(tar_layer(entries))
        store = str(self.tmp_path / 'store')
        imported = importers.import_image(store, str(tarball), reference='crafted:1', fmt='rootfs')
        bundle = self.tmp_path / 'bundle'
        bundle.mkdir()
        result = bundle_rootfs.ensure_rootfs(str(bundle), store, digest=imported['digest'], mode='copy')
        return result.path

    def _import(self, entries, rootfs_kind, bundle):
        path = str(self.tmp_path / 'move.tar')
        _checkpoint_tar(path, entries, rootfs_kind)
        params = {'name': 'web', 'import': path, 'image_path': str(self.tmp_path / 'image'), 'bundle': bundle,
                  'force': False, 'state': 'restored'}
        ck.CheckpointRun(params).import_archive()

    def _checkpoint_import(self, entries):
        bundle = str(self.tmp_path / 'bundle')
        try:
            self._import(entries, archive.ROOTFS_FULL, bundle)
        finally:
            assert not any(name.startswith('bundle.import-') for name in os.listdir(str(self.tmp_path)))
        return os.path.join(bundle, 'rootfs')

    def _checkpoint_changes(self, entries):
        bundle = self.tmp_path / 'bundle'
        (bundle / 'rootfs').mkdir(parents=True)
        (bundle / 'config.json').write_text(json.dumps(CONFIG))
        (bundle / 'runcible.json').write_text(json.dumps({'rootfs': {'mode': 'overlay', 'image': 'sha256:img'}}))
        self._import(entries, archive.ROOTFS_CHANGES, str(bundle))
        return str(bundle / 'rootfs')


@pytest.fixture(params=ENTRY_POINTS)
def unpacker(request, tmp_path):
    return EntryPoint(request.param, tmp_path)


def guarded(unpacker, outside, entries, refused_by=()):
    """Unpack `entries` and check `outside` is untouched; the root, or None when the entry point refused them.

    `refused_by` says which entry points must refuse (raise their error); the others must succeed.
    """
    before = snapshot(str(outside), times=True)
    refuse = unpacker.kind in refused_by or (unpacker.refuses and 'checkpoint' in refused_by)
    try:
        if refuse:
            with pytest.raises(unpacker.error):
                unpacker(entries)
            return None
        return unpacker(entries)
    finally:
        assert snapshot(str(outside), times=True) == before
        assert (outside / 'sentinel').read_bytes() == b'host data'
        assert os.stat(str(outside / 'sentinel')).st_nlink == 1


def test_a_symlink_member_then_a_write_through_it(unpacker, outside):
    root = guarded(unpacker, outside, [entry('escape', 'symlink', link=str(outside)),
                                       entry('escape/evil', data=b'pwned'), entry('escape/sentinel', data=b'pwned')],
                   refused_by=('checkpoint',))
    assert not (outside / 'evil').exists()
    if root is not None:
        # As the container will see it: the symlink's target taken inside the root.
        assert open(root + str(outside / 'evil'), 'rb').read() == b'pwned'


def test_a_relative_symlink_climbing_out_then_a_write_through_it(unpacker, outside):
    guarded(unpacker, outside, [entry('up', 'symlink', link='../../../../../../../..' + str(outside)),
                                entry('up/sentinel', data=b'pwned')], refused_by=('checkpoint',))


@pytest.mark.parametrize('target', ['absolute', 'dotdot', 'through-symlink'])
def test_a_hardlink_to_a_host_file(unpacker, outside, target):
    entries = []
    if target == 'absolute':
        link = str(outside / 'sentinel')
    elif target == 'dotdot':
        link = '../../../../../../../..' + str(outside / 'sentinel')
    else:
        entries.append(entry('evil', 'symlink', link=str(outside)))
        link = 'evil/sentinel'
    guarded(unpacker, outside, entries + [entry('hl', 'hardlink', link=link)], refused_by=('checkpoint', 'layer',
                                                                                           'rootfs-import'))


def test_dotdot_names(unpacker, outside):
    relative = os.path.relpath(str(outside), '/')
    root = guarded(unpacker, outside, [entry('../../../../../../../../%s/evil' % relative, data=b'x'),
                                       entry('a/../../b', data=b'x')], refused_by=('checkpoint',))
    assert not (outside / 'evil').exists()
    if root is not None:
        assert os.path.exists(os.path.join(root, relative, 'evil'))


def test_absolute_names(unpacker, outside):
    root = guarded(unpacker, outside, [entry(str(outside / 'evil'), data=b'x')], refused_by=('checkpoint',))
    assert not (outside / 'evil').exists()
    if root is not None:
        assert os.path.exists(root + str(outside / 'evil'))


def test_device_nodes(unpacker, outside):
    if not ROOT:
        pytest.skip('making device nodes needs root')
    root = guarded(unpacker, outside, [entry('escape', 'symlink', link=str(outside)),
                                       entry('escape/null', 'char', major=1, minor=3),
                                       entry('dev/sda', 'block', major=8, minor=0)], refused_by=('checkpoint',))
    assert not (outside / 'null').exists()
    if root is not None:
        assert os.path.exists(root + str(outside / 'null'))


def test_a_directory_swapped_for_a_symlink_between_check_and_use(unpacker, outside, monkeypatch):
    """The folder a member goes into is replaced by a symlink to the host right after it was resolved."""
    swapped = []
    real_lookup = securejoin.RootDir.lookup

    def lookup_then_swap(tree, parts, create=False):
        found = real_lookup(tree, parts, create)
        if parts == (b'd',) and not swapped:
            where = os.readlink('/proc/self/fd/%d' % found.fd)
            os.rename(where, where + '.moved')
            os.symlink(str(outside), where)
            swapped.append(where)
        return found

    monkeypatch.setattr(securejoin.RootDir, 'lookup', lookup_then_swap)
    root = guarded(unpacker, outside, [entry('d', 'dir'), entry('d/sentinel', data=b'pwned'),
                                       entry('d/new', data=b'pwned')])
    assert swapped, 'the entry point did not resolve the folder through securejoin.RootDir'
    assert not (outside / 'new').exists()
    # The members went where the check said: into the folder itself, wherever it was moved.
    assert open(os.path.join(root, 'd.moved', 'new'), 'rb').read() == b'pwned'


def test_changes_never_write_through_a_symlink_already_in_the_rootfs(tmp_path, outside):
    """An existing rootfs (the image's, or what its container left) holds a symlink where the changes have a folder."""
    rootfs = tmp_path / 'rootfs'
    rootfs.mkdir()
    os.symlink(str(outside), str(rootfs / 'data'))
    changes = tmp_path / 'changes'
    (changes / 'data').mkdir(parents=True)
    (changes / 'data' / 'sentinel').write_bytes(b'pwned')
    before = snapshot(str(outside), times=True)
    archive.apply_changes(str(changes), str(rootfs))
    assert snapshot(str(outside), times=True) == before
    assert not os.path.islink(str(rootfs / 'data'))
    assert (rootfs / 'data' / 'sentinel').read_bytes() == b'pwned'
