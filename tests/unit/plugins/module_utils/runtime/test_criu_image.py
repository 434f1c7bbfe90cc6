# -*- coding: utf-8 -*-
"""What a checkpoint image says about itself: config fingerprints, CRIU's log, folder checks."""

import copy
import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import image
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec.default import default_spec


def test_the_same_config_matches_and_mount_sources_do_not_matter():
    config = default_spec()
    config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '/srv/a', 'options': ['rbind']})
    recorded = image.fingerprint(config)
    moved = copy.deepcopy(config)
    moved['mounts'][-1]['source'] = '/elsewhere/a'
    moved['linux']['namespaces'].append({'type': 'time'})
    assert image.mismatch(recorded, moved) is None


def test_other_args_are_named_first():
    config = default_spec()
    other = copy.deepcopy(config)
    other['process']['args'] = ['sleep', '10']
    other['mounts'].pop()
    assert image.mismatch(image.fingerprint(config), other) == ('process.args', ['sh'], ['sleep', '10'])


def test_mount_differences_name_the_mounts_only_one_side_has():
    config = default_spec()
    other = copy.deepcopy(config)
    other['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '/srv'})
    field, theirs, ours = image.mismatch(image.fingerprint(config), other)
    assert (field, theirs, ours) == ('mounts', 'no other mount', ['/data (bind)'])


def test_mounts_in_another_order_match():
    """podman's restore --import --name writes the same mounts in another order."""
    config = default_spec()
    config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '/srv/a', 'options': ['rbind']})
    shuffled = copy.deepcopy(config)
    shuffled['mounts'].reverse()
    assert image.mismatch(image.fingerprint(config), shuffled) is None


def test_a_mount_listed_twice_is_a_difference():
    config = default_spec()
    twice = copy.deepcopy(config)
    twice['mounts'].append(dict(twice['mounts'][-1]))
    field, theirs, ours = image.mismatch(image.fingerprint(config), twice)
    assert (field, theirs, ours) == ('mounts', 'no other mount', ['%s (%s)' % (config['mounts'][-1]['destination'],
                                                                               config['mounts'][-1]['type'])])


LOG = """(00.000100) Version: 4.2.1
(00.076399) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.109760)     10: Error (soccr/soccr.c:529): Can't connect inet socket back: Network is unreachable
(00.109781)     10: Error (criu/files.c:1221): Unable to open fd=3 id=0x14
(00.112261)      1: Error (criu/cr-restore.c:1265): 10 exited, status=1
(00.115232) Error (criu/cr-restore.c:2331): Restoring FAILED.
"""


def test_log_errors_are_the_first_real_ones_without_prefixes(tmp_path):
    path = tmp_path / 'restore.log'
    path.write_text(LOG)
    assert image.log_errors(str(path)) == ["Can't connect inet socket back: Network is unreachable",
                                           'Unable to open fd=3 id=0x14', '10 exited, status=1']
    assert image.log_errors(str(tmp_path / 'missing.log')) == []


@pytest.mark.parametrize('line, advice', [
    ("sockets: Can't get 1:16 opt: Operation not supported", 'CRIU 4.2+'),
    ('inet: Connected TCP socket, consider using --tcp-established option.', '--tcp-established'),
    ("Can't lookup mount=24 for fd=1 path=/tmp/out", 'host file'),
    ('something else', ''),
])
def test_known_failures_get_advice(line, advice):
    if advice:
        assert advice in image.hint([line])
    else:
        assert image.hint([line]) == ''


def test_a_folder_without_a_checkpoint_is_refused_with_the_reason(tmp_path):
    with pytest.raises(errors.CriuError, match='does not exist'):
        image.require_checkpoint(str(tmp_path / 'none'))
    with pytest.raises(errors.CriuError, match='no inventory.img'):
        image.require_checkpoint(str(tmp_path))
    (tmp_path / 'inventory.img').write_bytes(b'')
    with pytest.raises(errors.CriuError, match='descriptors.json'):
        image.require_checkpoint(str(tmp_path))
    image.write_json(str(tmp_path), image.DESCRIPTORS, ['/dev/null', 'pipe:[7]', 'pipe:[7]'])
    image.require_checkpoint(str(tmp_path))
    assert image.read_descriptors(str(tmp_path)) == ['/dev/null', 'pipe:[7]', 'pipe:[7]']
    assert image.read_metadata(str(tmp_path)) is None
    assert image.size(str(tmp_path)) == os.path.getsize(tmp_path / 'descriptors.json')
