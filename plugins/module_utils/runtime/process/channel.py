# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message channel between the runtime and the processes it forks.

Two pipes, one per direction, carrying one JSON object per line. Both ends
are close-on-exec: when the container's init execs the user program, the
runtime sees end-of-file, which is how it learns the init went away.
"""

import os

from .. import errors, jsonc
from ..linux import signals


class ChannelClosed(errors.SetupError):
    """The other side exited or closed the channel."""

    def __init__(self):
        super().__init__('the container init process exited during set-up')


class Channel:
    """One end: `send` and `recv` JSON messages."""

    def __init__(self, read_fd, write_fd):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = b''

    @classmethod
    def pair(cls):
        """(runtime_end, child_end)."""
        down_r, down_w = os.pipe2(os.O_CLOEXEC)
        up_r, up_w = os.pipe2(os.O_CLOEXEC)
        return cls(up_r, down_w), cls(down_r, up_w)

    def send(self, message_type, **fields):
        fields['type'] = message_type
        data = jsonc.dumps(fields).encode() + b'\n'
        while data:
            try:
                written = signals.write_no_sigpipe(self.write_fd, data)
            except BrokenPipeError:
                raise ChannelClosed()
            data = data[written:]

    def recv(self):
        """The next message as a dict; ChannelClosed at end of file."""
        while b'\n' not in self._buffer:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                raise ChannelClosed()
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        return jsonc.loads(line)

    def expect(self, kind):
        """Receive one message of `kind`; an "error" message is raised as SetupError."""
        message = self.recv()
        if message['type'] == 'error':
            raise_remote(message)
        if message['type'] != kind:
            raise errors.SetupError('protocol error: expected %s, got %s' % (kind, message['type']))
        return message

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.read_fd = self.write_fd = None

    def send_error(self, exc):
        """Report exception `exc` to the other side, keeping its class where it matters."""
        kind = 'config' if isinstance(exc, errors.ConfigError) else 'setup'
        field = getattr(exc, 'field', None)
        message = getattr(exc, 'reason', None) if field else None
        self.send('error', kind=kind, field=field, message=message or errors.describe(exc))


def raise_remote(message):
    if message.get('kind') == 'config':
        raise errors.ConfigError(message.get('field'), message['message'])
    raise errors.SetupError(message['message'])
