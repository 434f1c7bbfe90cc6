# -*- coding: utf-8 -*-
"""Layers unpacked for overlayfs: whiteouts as 0/0 devices, opaque directories, the view through lower layers."""

import os
import stat

from layerlib import entry, tar_layer

from ansible_collections.runcible.oci.plugins.module_utils.image.unpack import OPAQUE_XATTR


def is_whiteout(path):
    info = os.lstat(path)
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def opaque(path):
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b'y'
    except OSError:
        return False


def test_whiteout_becomes_a_character_device(unpack_layers):
    roots = unpack_layers(tar_layer([entry('etc', 'dir'), entry('etc/old')]), tar_layer([entry('etc/.wh.old')]))
    assert is_whiteout(os.path.join(roots[1], 'etc', 'old'))
    assert not os.path.exists(os.path.join(roots[1], 'etc', '.wh.old'))


def test_opaque_whiteout_marks_the_directory(unpack_layers):
    roots = unpack_layers(tar_layer([entry('a', 'dir'), entry('a/x')]),
                          tar_layer([entry('a', 'dir'), entry('a/y'), entry('a/.wh..wh..opq')]))
    assert opaque(os.path.join(roots[1], 'a'))
    assert os.listdir(os.path.join(roots[1], 'a')) == ['y']


def test_whiteout_then_readd_of_a_directory_is_opaque_and_a_file_is_plain(unpack_layers):
    roots = unpack_layers(tar_layer([entry('d', 'dir'), entry('d/lower'), entry('f')]),
                          tar_layer([entry('.wh.d'), entry('d', 'dir'), entry('d/upper'), entry('f', data=b'new'),
                                     entry('.wh.f')]))
    assert opaque(os.path.join(roots[1], 'd'))
    assert not is_whiteout(os.path.join(roots[1], 'f'))


def test_implicit_parent_takes_the_lower_directory_attributes(unpack_layers):
    roots = unpack_layers(tar_layer([entry('srv', 'dir', mode=0o750, uid=7, gid=8, mtime=1000000000)]),
                          tar_layer([entry('srv/new')]))
    info = os.stat(os.path.join(roots[1], 'srv'))
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_mtime) == (0o750, 7, 8, 1000000000)


def test_a_lower_symlinked_directory_is_followed_not_hidden(unpack_layers):
    roots = unpack_layers(tar_layer([entry('usr', 'dir'), entry('usr/bin', 'dir'), entry('bin', 'symlink', link='usr/bin')]),
                          tar_layer([entry('bin/tool', data=b'x')]))
    assert os.path.exists(os.path.join(roots[1], 'usr', 'bin', 'tool'))
    assert not os.path.lexists(os.path.join(roots[1], 'bin'))


def test_hardlink_to_a_lower_layer(unpack_layers):
    roots = unpack_layers(tar_layer([entry('data', data=b'shared')]), tar_layer([entry('again', 'hardlink', link='data')]))
    assert os.stat(os.path.join(roots[1], 'again')).st_ino == os.stat(os.path.join(roots[0], 'data')).st_ino


def test_image_overlay_xattrs_are_not_set(unpack_layers):
    roots = unpack_layers(tar_layer([entry('d', 'dir', xattrs={'trusted.overlay.redirect': b'/etc'})]))
    assert os.listxattr(os.path.join(roots[0], 'd')) == []
    assert any('overlayfs attribute' in warning for warning in unpack_layers.warnings)


def test_layers_are_shared_by_chain(unpack_layers, tmp_path):
    from layerlib import Layout
    from ansible_collections.runcible.oci.plugins.module_utils.image import layout_reader, overlay
    base = tar_layer([entry('base')])
    layout = Layout(tmp_path / 'shared')
    first = layout.add_image([base, tar_layer([entry('one')])], tag='one')
    second = layout.add_image([base, tar_layer([entry('two')])], tag='two')
    reader = layout_reader.OCILayout(layout.path)
    cache = overlay.LayerCache(str(tmp_path / 'cache'))
    roots_one, stats_one = cache.ensure(reader, reader.image(digest=first))
    roots_two, stats_two = cache.ensure(reader, reader.image(digest=second))
    assert roots_one[0] == roots_two[0] and roots_one[1] != roots_two[1]
    assert (stats_one.layers, stats_two.layers) == (2, 1)
