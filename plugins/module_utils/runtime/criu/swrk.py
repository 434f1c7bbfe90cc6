# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`criu swrk`: CRIU as a child process that serves one RPC request over a socket.

As runc drives it: a SOCK_SEQPACKET socketpair, the far end as CRIU's fd 3,
CRIU's stdio set to what a restored process should inherit (fds named in
inherit_fd refer to CRIU's own descriptors), extra files from fd 4 on. One
request goes out; CRIU answers with NOTIFY messages (each acknowledged after
our handler ran: hooks, the restored PID, a terminal master passed with
SCM_RIGHTS) and finally with the answer to the request. CRIU opens
images_dir_fd and work_dir_fd through /proc/<our pid>/fd, so those stay ours.
"""

import array
import fcntl
import os
import socket

from .. import errors, log
from ..linux import signals
from . import image, messages, protobuf

_MAX_MESSAGE = 1 << 16
_MAX_FDS = 16


class Swrk:
    """One running `criu swrk 3` and our end of its socket.

    `stdio`: the three fds CRIU gets as 0, 1, 2 (default: ours); `extra_fds`:
    fds CRIU gets as 4, 5, ...; `prepare_child`: called in the forked child
    just before exec (e.g. to enter a private mount namespace).
    """

    def __init__(self, criu, stdio=(0, 1, 2), extra_fds=(), prepare_child=None):
        self.criu = criu
        self.stdio = tuple(stdio)
        self.extra_fds = tuple(extra_fds)
        self.prepare_child = prepare_child
        self.pid = None
        self.sock = None

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = os.fork()
            if pid == 0:
                ours.close()
                self._child(theirs.fileno(), report_w)
        except BaseException:
            for fd in (report_r, report_w):
                os.close(fd)
            ours.close()
            theirs.close()
            raise
        theirs.close()
        os.close(report_w)
        self.pid = pid
        self.sock = ours
        failure = os.read(report_r, 4096)
        os.close(report_r)
        if failure:
            self.close()
            raise errors.CriuError('cannot start %s swrk: %s' % (self.criu.path, failure.decode('utf-8', 'replace')))
        log.debug('criu %s swrk started as pid %d' % (self.criu.version_text, pid))
        return self

    def _child(self, server_fd, report_w):
        """In the fork: lay out fds 0..3 and the extras, run prepare_child, exec. Never returns."""
        try:
            sources = list(self.stdio) + [server_fd] + list(self.extra_fds)
            # Copies above every target first, so that no dup2 overwrites a source still needed.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in sources]
            for target, fd in enumerate(high):
                os.dup2(fd, target, inheritable=True)
            for fd in high:
                os.close(fd)
            for signum in (signals.number('SIGPIPE'), signals.number('SIGXFSZ')):
                signals.signal(signum, signals.SIG_DFL)
            signals.pthread_sigmask(signals.SIG_SETMASK, [])
            if self.prepare_child is not None:
                self.prepare_child()
            os.execv(self.criu.path, [self.criu.path, 'swrk', '3'])
        except BaseException as exc:  # pylint: disable=broad-except
            try:
                os.write(report_w, errors.describe(exc).encode('utf-8', 'replace'))
            finally:
                os._exit(127)
        os._exit(127)

    def call(self, request, on_notify=None):
        """Send `request` (a criu_req dict); serve notifications; return CRIU's final criu_resp.

        `on_notify(script, pid, fds)` runs for each NOTIFY; an exception
        there aborts the request (CRIU rolls back when the socket closes).
        """
        self._send(request)
        while True:
            response, fds = self._receive()
            try:
                if not response.get('success'):
                    raise failure(response)
                if response.get('type') != messages.NOTIFY:
                    return response
                notify = response.get('notify') or {}
                log.debug('criu notify: %s (pid %s)' % (notify.get('script'), notify.get('pid')))
                if on_notify is not None:
                    on_notify(notify.get('script') or '', notify.get('pid') or 0, fds)
            finally:
                for fd in fds:
                    os.close(fd)
            self._send({'type': messages.NOTIFY, 'notify_success': True})

    def _send(self, request):
        try:
            self.sock.send(protobuf.encode(messages.REQUEST, request))
        except OSError as exc:
            raise errors.CriuError('cannot talk to criu: %s' % errors.strerror(exc))

    def _receive(self):
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(_MAX_FDS * 4))
        except OSError as exc:
            raise errors.CriuError('cannot talk to criu: %s' % errors.strerror(exc))
        fds = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = array.array('i')
                received.frombytes(payload[:len(payload) - len(payload) % received.itemsize])
                fds.extend(received)
        if not data:
            for fd in fds:
                os.close(fd)
            raise errors.CriuError('criu exited without answering (see its log)')
        try:
            return protobuf.decode(messages.RESPONSE, data), fds
        except protobuf.DecodeError as exc:
            for fd in fds:
                os.close(fd)
            raise errors.CriuError('cannot read criu\'s answer: %s' % exc)

    def close(self):
        """Close our end and reap CRIU; its exit status (None if already reaped)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pid is None:
            return None
        pid, self.pid = self.pid, None
        while True:
            try:
                _pid, status = os.waitpid(pid, 0)
                return status
            except InterruptedError:
                continue
            except ChildProcessError:
                return None


def failure(response):
    """The CriuError for an unsuccessful criu_resp."""
    kind = messages.REQUEST_TYPE_NAMES.get(response.get('type'), str(response.get('type')))
    reason = (response.get('cr_errmsg') or '').strip()
    if image.is_harmless(reason):
        reason = ''
    errno_value = response.get('cr_errno') or 0
    if not reason and errno_value:
        reason = os.strerror(errno_value)
    return errors.CriuError('criu failed: %s%s' % (kind.lower().replace('_', '-'), ': ' + reason if reason else ''))
