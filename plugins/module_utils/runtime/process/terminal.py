# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""process.terminal: a pseudo-terminal made inside the container, its master sent out.

As runc: the container process opens the container's /dev/ptmx (its own
devpts instance), makes the slave its controlling terminal and stdio, and
sends the master over the console socket with SCM_RIGHTS. `run` and `exec`
in the foreground receive the master themselves and copy between it and the
caller's terminal.
"""

import fcntl
import os
import struct
import termios

from .. import errors

_TIOCSPTLCK = 0x40045431
_TIOCGPTN = 0x80045430


def connect_console_socket(path):
    """Connect to the AF_UNIX socket that will receive the pty master (--console-socket)."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise errors.UsageError('--console-socket %s: cannot connect: %s' % (path, exc.strerror))
    return sock


def socket_pair():
    """(our end, the container's end) for a foreground run or exec with a terminal."""
    import socket
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def open_pty():
    """(master fd, slave fd, slave path) from the devpts instance at /dev/pts."""
    master = os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack('i', 0))
        number = struct.unpack('I', fcntl.ioctl(master, _TIOCGPTN, struct.pack('I', 0)))[0]
        path = '/dev/pts/%d' % number
        slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        os.close(master)
        raise
    return master, slave, path


def set_size(fd, rows, columns):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, columns, 0, 0))


def become_controlling_terminal(slave):
    """The slave becomes this (session leader) process' controlling terminal and stdio."""
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target)


def send_master(console_fd, master):
    """Send the master fd over the console socket, named as runc names it."""
    import socket
    sock = socket.socket(fileno=console_fd)
    try:
        socket.send_fds(sock, [b'/dev/ptmx'], [master])
    finally:
        sock.detach()


def receive_master(sock):
    """The pty master sent over `sock`."""
    import socket
    _message, fds, _flags, _address = socket.recv_fds(sock, 4096, 1)
    if not fds:
        raise errors.SetupError('the container did not send its terminal')
    return fds[0]


def setup(console_fd, process):
    """In the container process: make the pty, send the master, take the slave. Returns the slave path."""
    master, slave, path = open_pty()
    try:
        size = process.get('consoleSize')
        if size:
            set_size(slave, size.get('height', 0), size.get('width', 0))
        send_master(console_fd, master)
    finally:
        os.close(master)
    os.close(console_fd)
    become_controlling_terminal(slave)
    if slave > 2:
        os.close(slave)
    return path


class RawMode:
    """Put the caller's terminal in raw mode for the duration of a foreground session."""

    def __init__(self, fd):
        self.fd = fd
        self.saved = None

    def __enter__(self):
        if os.isatty(self.fd):
            import tty
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def copy_size(source_fd, master):
    try:
        packed = fcntl.ioctl(source_fd, termios.TIOCGWINSZ, struct.pack('HHHH', 0, 0, 0, 0))
        fcntl.ioctl(master, termios.TIOCSWINSZ, packed)
    except OSError:
        pass


def proxy(master, done):
    """Copy stdin -> master and master -> stdout until the slave side closes or `done()`."""
    import select
    stdin_open = True
    with RawMode(0):
        copy_size(0, master)
        while True:
            readers = [master] + ([0] if stdin_open else [])
            try:
                ready, _writable, _failed = select.select(readers, [], [], 0.2)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b''
                if not data:
                    return
                _write_all(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    _write_all(master, data)
                else:
                    stdin_open = False
            if not ready and done():
                return


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
