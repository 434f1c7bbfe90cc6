# -*- coding: utf-8 -*-
"""The same checkpoint flows under runc (`runc --criu PATH`, the same CRIU) and under bin/runcible.

Each test runs one flow with both runtimes and compares what a user sees:
exit codes, `state` and `list` after each step, the counter going on, the
exit code of a restored container, and the errors for bad input.
"""

import pytest

from criulib import Checkpointer, counter_bundle, log_message, parse_count, read_count, wait_until
from criulib import criu  # noqa: F401  pylint: disable=unused-import
from systemlib import error_message, new_id, runtime_factory


@pytest.fixture
def pair(tmp_path, criu):  # noqa: F811 (criu is a fixture)
    """(runcible, runc) Checkpointers, each with its own --root; both cleaned up after the test."""
    checkpointers = [Checkpointer(runtime_factory(name, str(tmp_path / (name + '-root'))), criu,
                                  str(tmp_path / (name + '.log'))) for name in ('runcible', 'runc')]
    yield checkpointers
    for checkpointer in checkpointers:
        checkpointer.runtime.cleanup()


def _count_past(path, minimum):
    value = read_count(path)
    return value if value and value[1] > minimum else None


def _flow(cr, make_bundle, tmp_path):
    """run, checkpoint, restore of a counter: what a user sees at each step."""
    data = tmp_path / (cr.name + '-data')
    bundle = counter_bundle(make_bundle(), data)
    container_id = new_id()
    seen = {}
    started = cr.detached('run', '-d', '--bundle', bundle.path, container_id)
    seen['run'] = started.returncode
    assert wait_until(lambda: _count_past(data / 'count', 3)), started.log
    seen['checkpoint'] = cr.checkpoint(container_id, tmp_path / (cr.name + '-image')).returncode
    seen['list after checkpoint'] = cr.ids()
    token, stopped_at = read_count(data / 'count')
    restored = cr.restore(container_id, tmp_path / (cr.name + '-image'), bundle)
    seen['restore'] = restored.returncode
    state = cr.state(container_id)
    seen['state after restore'] = (state['status'], state['id'] == container_id, state['bundle'] == bundle.path, state['pid'] > 0)
    went_on = wait_until(lambda: _count_past(data / 'count', stopped_at + 5))
    seen['counter went on'] = bool(went_on) and went_on[0] == token
    seen['exec'] = parse_count(cr.exec_output(container_id, 'cat', '/data/count'))[0] == token
    seen['kill'] = cr.runtime.cmd('kill', container_id, 'KILL').returncode
    seen['stopped'] = bool(wait_until(lambda: cr.status(container_id) == 'stopped'))
    seen['delete'] = cr.runtime.cmd('delete', container_id).returncode
    seen['list at the end'] = cr.ids()
    return seen


def test_checkpoint_restore_flow_matches(pair, make_bundle, tmp_path):
    ours, theirs = (_flow(cr, make_bundle, tmp_path) for cr in pair)
    assert ours == theirs
    assert ours['counter went on'] and ours['state after restore'][0] == 'running'


def test_leave_running_and_clone_match(pair, make_bundle, tmp_path):
    """--leave-running keeps the container; the image restores as a second container beside it."""
    results = []
    for cr in pair:
        bundle = counter_bundle(make_bundle())
        first, second = new_id(), new_id()
        assert cr.detached('run', '-d', '--bundle', bundle.path, first).returncode == 0
        assert wait_until(lambda: parse_count(cr.exec_output(first, 'cat', '/tmp/count')))
        image = tmp_path / (cr.name + '-image')
        seen = {'checkpoint': cr.checkpoint(first, image, '--leave-running').returncode,
                'first after checkpoint': cr.status(first)}
        token, at = parse_count(cr.exec_output(first, 'cat', '/tmp/count'))
        seen['restore'] = cr.restore(second, image, bundle).returncode
        seen['statuses'] = (cr.status(first), cr.status(second))
        clone = wait_until(lambda: (parse_count(cr.exec_output(second, 'cat', '/tmp/count')) or (None, 0))[1] > at)
        seen['clone went on'] = bool(clone) and parse_count(cr.exec_output(second, 'cat', '/tmp/count'))[0] == token
        seen['ids'] = len(cr.ids())
        results.append(seen)
    assert results[0] == results[1]
    assert results[0]['statuses'] == ('running', 'running') and results[0]['clone went on']


def test_foreground_restore_exit_code_matches(pair, make_bundle, tmp_path):
    results = []
    for cr in pair:
        data = tmp_path / (cr.name + '-n')
        data.mkdir()
        bundle = make_bundle()
        bundle.config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(data),
                                        'options': ['rbind', 'rw']})
        bundle.write(['sh', '-c', 'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo $i > /data/n.new && '
                                  'mv /data/n.new /data/n; sleep 0.05; done; exit 7'])
        container_id = new_id()
        assert cr.detached('run', '-d', '--bundle', bundle.path, container_id).returncode == 0
        assert wait_until((data / 'n').exists)
        assert cr.checkpoint(container_id, tmp_path / (cr.name + '-image')).returncode == 0
        restored = cr.restore(container_id, tmp_path / (cr.name + '-image'), bundle, detach=False)
        results.append((restored.returncode, (data / 'n').read_text(), cr.ids()))
    assert results[0] == results[1] == (7, '30\n', [])


def test_checkpoint_errors_match(pair, make_bundle, tmp_path):
    """A stopped, a created and a missing container: the same refusal and exit code from both."""
    results = []
    for cr in pair:
        stopped, created = new_id(), new_id()
        assert cr.detached('run', '-d', '--bundle', make_bundle().write(['true']).path, stopped).returncode == 0
        assert wait_until(lambda: cr.status(stopped) == 'stopped')
        assert cr.detached('create', '--bundle', make_bundle().write(['true']).path, created).returncode == 0
        seen = []
        for container_id in (stopped, created, 'no-such-container'):
            result = cr.checkpoint(container_id, tmp_path / (cr.name + '-image'))
            seen.append((result.returncode, error_message(result.stderr)))
        seen.append((cr.status(stopped), cr.status(created)))
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][0] == (1, 'Container cannot be checkpointed in stopped state')
    assert results[0][2] == (1, 'container does not exist')


def test_bad_restore_input_fails_in_both_and_makes_nothing(pair, make_bundle, tmp_path):
    """A missing image path, a missing CRIU: both fail, neither leaves a container behind.

    The messages differ (runc: "open .../descriptors.json: no such file or
    directory"; runcible names the image path), so only the outcome is compared.
    """
    results = []
    for cr in pair:
        data = tmp_path / (cr.name + '-data')
        bundle = counter_bundle(make_bundle(), data)
        container_id = new_id()
        missing = cr.restore(container_id, tmp_path / (cr.name + '-nowhere'), bundle)
        seen = {'missing image': (missing.returncode, cr.ids()), 'message': bool(log_message(missing.log))}
        assert cr.detached('run', '-d', '--bundle', bundle.path, container_id).returncode == 0
        assert wait_until(lambda: _count_past(data / 'count', 1))
        absent = cr.checkpoint(container_id, tmp_path / (cr.name + '-image'), criu=str(tmp_path / 'no-criu'))
        now = read_count(data / 'count')[1]
        seen['absent criu'] = (absent.returncode, cr.status(container_id),
                               bool(wait_until(lambda: _count_past(data / 'count', now + 2))))
        results.append(seen)
    assert results[0] == results[1]
    assert results[0]['missing image'] == (1, [])
    assert results[0]['absent criu'] == (1, 'running', True)


def test_images_cross_between_runtimes(pair, make_bundle, tmp_path):
    """An image runc wrote restores under runcible, and one runcible wrote restores under runc."""
    for source, target in (pair, reversed(pair)):
        data = tmp_path / (source.name + '-to-' + target.name)
        bundle = counter_bundle(make_bundle(), data)
        container_id = new_id()
        image = tmp_path / (source.name + '-image')
        assert source.detached('run', '-d', '--bundle', bundle.path, container_id).returncode == 0
        assert wait_until(lambda: _count_past(data / 'count', 3))
        assert source.checkpoint(container_id, image).returncode == 0
        token, stopped_at = read_count(data / 'count')
        restored = target.restore(container_id, image, bundle)
        assert restored.returncode == 0, (source.name, target.name, restored.log)
        assert target.status(container_id) == 'running'
        went_on = wait_until(lambda: _count_past(data / 'count', stopped_at + 3))
        assert went_on and went_on[0] == token, (source.name, target.name)
        assert target.runtime.cmd('delete', '--force', container_id).returncode == 0
