# -*- coding: utf-8 -*-
"""Crafted layers try to act outside the root filesystem; each test proves the host side is untouched.

`outside` is a host directory next to the rootfs holding a sentinel file.
Every trick is tried in copy form and, as root, in overlay form (each layer
its own directory, seen through the ones below).
"""

import os

import pytest
from layerlib import entry, snapshot, tar_layer

from ansible_collections.runcible.oci.plugins.module_utils.image.errors import LayerError, UnsafeEntryError

ROOT = os.geteuid() == 0


@pytest.fixture(params=['copy', 'overlay'])
def unpacker(request, unpack_copy, tmp_path):
    if request.param == 'copy':
        return unpack_copy
    if not ROOT:
        pytest.skip('overlay form needs root')
    return request.getfixturevalue('unpack_layers')


def untouched(outside, before):
    assert snapshot(str(outside), times=True) == before
    assert (outside / 'sentinel').read_bytes() == b'host data'
    assert os.stat(str(outside / 'sentinel')).st_nlink == 1


def unpack_guarded(unpacker, outside, *layers, error=None):
    before = snapshot(str(outside), times=True)
    if error is None:
        result = unpacker(*layers)
    else:
        with pytest.raises(error):
            unpacker(*layers)
        result = None
    untouched(outside, before)
    return result


def top(result):
    """The directory an entry of the last layer lands in (the rootfs, or the top overlay layer)."""
    return result[-1] if isinstance(result, list) else result


def test_dotdot_entries_stay_inside(unpacker, outside):
    rel = os.path.relpath(str(outside), '/')
    result = unpack_guarded(unpacker, outside, tar_layer([
        entry('../outside/evil', data=b'x'), entry('../../../../../../../../%s/evil2' % rel, data=b'x'),
        entry('a/../../b', data=b'x')]))
    assert os.path.exists(os.path.join(top(result), 'outside', 'evil'))
    assert os.path.exists(os.path.join(top(result), rel, 'evil2'))
    assert os.path.exists(os.path.join(top(result), 'b'))


def test_absolute_paths_stay_inside(unpacker, outside):
    result = unpack_guarded(unpacker, outside, tar_layer([entry(str(outside / 'evil'), data=b'x')]))
    assert os.path.exists(top(result) + str(outside / 'evil'))


@pytest.mark.parametrize('later_layer', [False, True])
def test_symlink_then_write_through(unpacker, outside, later_layer):
    plant = [entry('escape', 'symlink', link=str(outside)), entry('up', 'symlink', link='../../../../../../..' + str(outside))]
    write = [entry('escape/sentinel', data=b'pwned'), entry('escape/new', data=b'pwned'),
             entry('up/sentinel', data=b'pwned'), entry('escape/sub', 'dir'), entry('escape/sub/f', data=b'pwned')]
    layers = [tar_layer(plant), tar_layer(write)] if later_layer else [tar_layer(plant + write)]
    result = unpack_guarded(unpacker, outside, *layers)
    assert not os.path.exists(str(outside / 'new'))
    # The writes land where the symlink points when the root is "/": inside.
    assert any(os.path.exists(root + str(outside / 'new')) for root in (result if isinstance(result, list) else [result]))


def test_entry_replaces_a_symlink_instead_of_writing_through_it(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('f', 'symlink', link=str(outside / 'sentinel'))]),
                   tar_layer([entry('f', data=b'pwned', mode=0o777)]))


def test_hardlink_to_a_host_file(unpacker, outside):
    for link in (str(outside / 'sentinel'), '../../../../../../../../' + str(outside / 'sentinel')):
        unpack_guarded(unpacker, outside, tar_layer([entry('hl', 'hardlink', link=link)]), error=LayerError)


def test_hardlink_through_a_planted_symlink(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('evil', 'symlink', link=str(outside)),
                                                 entry('hl', 'hardlink', link='evil/sentinel')]), error=LayerError)


def test_hardlink_to_a_symlink_links_the_symlink(unpacker, outside):
    result = unpack_guarded(unpacker, outside, tar_layer([entry('s', 'symlink', link=str(outside / 'sentinel')),
                                                          entry('hl', 'hardlink', link='s')]))
    assert os.path.islink(os.path.join(top(result), 'hl'))


def test_whiteout_of_dotdot(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('a', 'dir')]), tar_layer([entry('a/.wh...')]),
                   error=UnsafeEntryError)
    unpack_guarded(unpacker, outside, tar_layer([entry('.wh...')]), error=UnsafeEntryError)


def test_whiteout_through_a_symlink(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('lnk', 'symlink', link=str(outside))]),
                   tar_layer([entry('lnk/.wh.sentinel'), entry('lnk/.wh..wh..opq')]))


def test_opaque_whiteout_through_dotdot_symlink(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('lnk', 'symlink', link='../../../../../../..' + str(outside))]),
                   tar_layer([entry('lnk/.wh..wh..opq')]))


def test_symlink_named_dot(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('.', 'symlink', link=str(outside))]), error=UnsafeEntryError)
    unpack_guarded(unpacker, outside, tar_layer([entry('./', 'symlink', link=str(outside)),
                                                 entry('x', data=b'pwned')]), error=UnsafeEntryError)


def test_symlink_dot_inside_a_directory(unpacker, outside):
    result = unpack_guarded(unpacker, outside, tar_layer([entry('d', 'dir'), entry('d/.', 'symlink', link=str(outside)),
                                                          entry('d/sentinel', data=b'pwned')]))
    assert os.path.exists(top(result) + str(outside / 'sentinel'))


def test_symlink_loop(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('a', 'symlink', link='b'), entry('b', 'symlink', link='a'),
                                                 entry('a/f', data=b'x')]), error=UnsafeEntryError)


def test_very_long_path(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([entry('d/' * 2100 + 'f', data=b'x')]), error=UnsafeEntryError)
    unpack_guarded(unpacker, outside, tar_layer([entry(('x' * 300) + '/f', data=b'x')]), error=UnsafeEntryError)


def test_deep_path_within_limits(unpacker, outside):
    result = unpack_guarded(unpacker, outside, tar_layer([entry('d/' * 300 + 'f', data=b'deep')]))
    assert os.path.exists(os.path.join(top(result), *(['d'] * 300 + ['f'])))


def test_symlink_chain_climbing_out(unpacker, outside):
    unpack_guarded(unpacker, outside, tar_layer([
        entry('a', 'dir'), entry('a/up', 'symlink', link='..'), entry('a/up2', 'symlink', link='up/../..'),
        entry('a/up2/' + os.path.relpath(str(outside), '/') + '/sentinel', data=b'pwned')]))
