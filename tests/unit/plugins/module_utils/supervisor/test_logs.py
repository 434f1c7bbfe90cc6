# -*- coding: utf-8 -*-
"""Container logs: CRI-format lines, rotation by size, reading the tail back."""

from ansible_collections.runcible.oci.plugins.module_utils.supervisor import logs


def test_lines_are_timestamped_and_split_by_stream(tmp_path):
    path = str(tmp_path / 'c.log')
    writer = logs.LogWriter(path)
    writer.feed('stdout', b'one\ntw')
    writer.feed('stderr', b'oops\n')
    writer.feed('stdout', b'o\nthree')
    writer.close()
    parsed = [logs.parse(line) for line in open(path).read().splitlines()]
    assert [(stream, full, text) for _stamp, stream, full, text in parsed] == [
        ('stdout', True, 'one'), ('stderr', True, 'oops'), ('stdout', True, 'two'), ('stdout', False, 'three')]
    assert all(stamp.endswith('Z') and len(stamp) == 30 for stamp, _s, _f, _t in parsed)


def test_long_output_without_newline_is_written_in_partial_lines(tmp_path):
    path = str(tmp_path / 'c.log')
    writer = logs.LogWriter(path)
    writer.feed('stdout', b'x' * (logs.PARTIAL_LIMIT * 2 + 5))
    writer.close()
    parsed = [logs.parse(line) for line in open(path).read().splitlines()]
    assert [(full, len(text)) for _stamp, _stream, full, text in parsed] == [
        (False, logs.PARTIAL_LIMIT), (False, logs.PARTIAL_LIMIT), (False, 5)]


def test_rotation_keeps_max_files(tmp_path):
    path = str(tmp_path / 'c.log')
    writer = logs.LogWriter(path, max_size=200, max_files=3)
    for index in range(40):
        writer.feed('stdout', b'line %02d\n' % index)
    writer.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ['c.log', 'c.log.1', 'c.log.2']
    for name in files:
        assert (tmp_path / name).stat().st_size <= 200
    tail = logs.tail(path, 5)
    assert [text for _stamp, _stream, text in tail] == ['line 35', 'line 36', 'line 37', 'line 38', 'line 39']
    across = logs.tail(path, 7)
    assert [text for _stamp, _stream, text in across][:2] == ['line 33', 'line 34']


def test_tail_of_a_missing_log_is_empty(tmp_path):
    assert logs.tail(str(tmp_path / 'none.log'), 10) == []


def test_reconfigure_moves_the_output_to_the_new_path_and_keeps_the_old_file(tmp_path):
    writer = logs.LogWriter(str(tmp_path / 'a.log'), max_size=1 << 20, max_files=2)
    writer.feed('stdout', b'one\ntw')
    writer.reconfigure(str(tmp_path / 'new' / 'b.log'), 200, 3)
    writer.feed('stdout', b'o\nthree\n')
    writer.close()
    assert [line[2] for line in logs.tail(str(tmp_path / 'a.log'))] == ['one']
    assert [line[2] for line in logs.tail(str(tmp_path / 'new' / 'b.log'))] == ['two', 'three']
    assert (writer.max_size, writer.max_files) == (200, 3)
