# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container logs: timestamped lines in a file, rotated by size, read back from the end.

One line per line of output, in the CRI log format Kubernetes tools read:

    2026-11-29T01:50:02.123456789Z stdout F the text

F marks a full line, P a partial one (output longer than a buffer, or cut
off without a newline when the stream ended).
"""

import os
import time

PARTIAL_LIMIT = 16384


def timestamp():
    now = time.time_ns()
    seconds, nanos = divmod(now, 1000000000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds)) + '.%09dZ' % nanos


class LogWriter:
    """Appends output to `path`, keeping at most `max_files` files of about `max_size` bytes."""

    def __init__(self, path, max_size=10 * 1024 * 1024, max_files=3):
        self.pending = {'stdout': b'', 'stderr': b''}
        self.fd = -1
        self.reconfigure(path, max_size, max_files)

    def reconfigure(self, path, max_size, max_files):
        """Write to `path` from now on (the file is opened, or made, at once) with these rotation limits.

        Lines not yet complete go to the new file; the files at an earlier
        path stay as they are.
        """
        self.max_size = max_size
        self.max_files = max(1, max_files)
        if self.fd >= 0 and path == self.path:
            return
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o750, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        if self.fd >= 0:
            os.close(self.fd)
        self.path = path
        self.fd = fd
        self.size = os.fstat(fd).st_size

    def feed(self, stream, data):
        """Add raw output of `stream` ('stdout' or 'stderr'); complete lines are written."""
        buffered = self.pending[stream] + data
        lines = buffered.split(b'\n')
        self.pending[stream] = lines.pop()
        for line in lines:
            self._write(stream, 'F', line)
        while len(self.pending[stream]) > PARTIAL_LIMIT:
            chunk, self.pending[stream] = self.pending[stream][:PARTIAL_LIMIT], self.pending[stream][PARTIAL_LIMIT:]
            self._write(stream, 'P', chunk)

    def flush(self):
        """Write what is left of unterminated lines (the stream ended)."""
        for stream in ('stdout', 'stderr'):
            if self.pending[stream]:
                self._write(stream, 'P', self.pending[stream])
                self.pending[stream] = b''

    def _write(self, stream, tag, text):
        record = ('%s %s %s ' % (timestamp(), stream, tag)).encode() + text + b'\n'
        if self.size and self.size + len(record) > self.max_size:
            self._rotate()
        os.write(self.fd, record)
        self.size += len(record)

    def _rotate(self):
        os.close(self.fd)
        if self.max_files == 1:
            os.unlink(self.path)
        else:
            for index in range(self.max_files - 1, 0, -1):
                older = '%s.%d' % (self.path, index)
                newer = self.path if index == 1 else '%s.%d' % (self.path, index - 1)
                if os.path.exists(newer):
                    os.replace(newer, older)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = 0

    def close(self):
        self.flush()
        os.close(self.fd)


def parse(line):
    """(timestamp, stream, full, text) of one log line, or None if it is not one."""
    parts = line.rstrip('\n').split(' ', 3)
    if len(parts) < 3 or parts[1] not in ('stdout', 'stderr') or parts[2] not in ('F', 'P'):
        return None
    return parts[0], parts[1], parts[2] == 'F', parts[3] if len(parts) == 4 else ''


def tail(path, count=20, max_files=3):
    """The last `count` log lines (newest last), across rotated files, as (timestamp, stream, text)."""
    result = []
    files = [path] + ['%s.%d' % (path, index) for index in range(1, max_files)]
    for name in files:
        if len(result) >= count:
            break
        try:
            with open(name, 'rb') as handle:
                lines = _last_lines(handle, count - len(result))
        except OSError:
            continue
        entries = []
        for raw in lines:
            parsed = parse(raw.decode('utf-8', 'replace'))
            if parsed:
                entries.append((parsed[0], parsed[1], parsed[3]))
        result = entries + result
    return result[-count:]


def _last_lines(handle, count, block=8192):
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    data = b''
    position = end
    while position > 0 and data.count(b'\n') <= count:
        step = min(block, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    return lines[-count:] if count else []
