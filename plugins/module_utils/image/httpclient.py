# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP/1.1 client connection: what the registry client needs of http.client, without its start-up.

http.client parses headers with the email package, and importing it (email.parser,
email.message, and through them calendar, datetime, random, ipaddress, quopri) was a third
of the start-up of a warm pull, which is otherwise one HEAD request (docs/benchmarks.md).
The registry client needs little of it: GET and HEAD without a request body; a status line
and headers; a body framed by Content-Length, chunked, or ended by the server closing;
connections kept alive between requests. This module does that, with http.client's limits
(64 KiB per line, 100 headers) and its choices where servers differ (the first of repeated
headers wins; `Accept-Encoding: identity` is sent; 1xx answers are skipped).
"""

import socket

MAX_LINE = 65536
MAX_HEADERS = 100
_NO_BODY_STATUS = (204, 304)
_FORBIDDEN = frozenset('\r\n\0')


class ProtocolError(Exception):
    """The server did not speak HTTP/1.1 as it should (status line, headers, body framing, early end)."""


class ConnectionClosed(ProtocolError):
    """The server closed the connection without answering: a kept-alive connection it had dropped."""


class Headers(object):
    """Response headers, looked up without regard to case; the first of repeated ones wins."""

    __slots__ = ('_fields',)

    def __init__(self, fields):
        self._fields = {}
        for name, value in fields:
            self._fields.setdefault(name.lower(), value)

    def get(self, name, default=None):
        """The value of header `name`, or `default`."""
        return self._fields.get(name.lower(), default)

    def __contains__(self, name):
        return name.lower() in self._fields


class HTTPConnection(object):
    """A connection to host:port (TLS when given a context), opened by the first request.

    One request at a time: read (or close) a response before the next request.
    """

    def __init__(self, host, port, timeout=None, tls_context=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._tls_context = tls_context
        self._sock = None
        self._file = None
        self._method = None

    def _connect(self):
        # The name as bytes: given str, the resolver and ssl encode it with the idna codec, an import
        # (unicodedata, stringprep) that an ASCII name does not need.
        try:
            name = self.host.encode('ascii')
        except UnicodeEncodeError:
            name = self.host.encode('idna')
        sock = socket.create_connection((name, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls_context is not None:
                sock = self._tls_context.wrap_socket(sock, server_hostname=name)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._file = sock.makefile('rb')

    def _host_header(self):
        host = '[%s]' % self.host if ':' in self.host else self.host
        default = 443 if self._tls_context is not None else 80
        return host if self.port == default else '%s:%d' % (host, self.port)

    def request(self, method, path, headers=None):
        """Send a request without a body."""
        fields = [('Host', self._host_header()), ('Accept-Encoding', 'identity')]
        fields.extend((headers or {}).items())
        lines = ['%s %s HTTP/1.1' % (method, path)]
        for name, value in fields:
            if _FORBIDDEN.intersection(name) or _FORBIDDEN.intersection(str(value)) or ':' in name:
                raise ProtocolError('refusing to send header %r: it contains a line break or a colon' % name)
            lines.append('%s: %s' % (name, value))
        if _FORBIDDEN.intersection(path) or ' ' in path:
            raise ProtocolError('refusing to request %r: the path contains a space or a line break' % path)
        if self._sock is None:
            self._connect()
        self._sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1'))
        self._method = method

    def getresponse(self):
        """The HTTPResponse to the request just sent (status and headers read; the body is the caller's to read)."""
        response = HTTPResponse(self._file, self._method)
        try:
            response.begin()
        except BaseException:
            self.close()
            raise
        return response

    def close(self):
        """Close the connection (a response being read stops with it)."""
        sock, self._sock = self._sock, None
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()
        if sock is not None:
            sock.close()


class HTTPResponse(object):
    """Status, reason, headers, and the body as a stream (read, readinto) framed as the headers say."""

    def __init__(self, handle, method):
        self._file = handle
        self._method = method
        self.status = None
        self.reason = ''
        self.version = 11
        self.msg = None
        self.will_close = False
        self._chunked = False
        self._left = None  # bytes of the body (or of the current chunk) still to read; None: until close
        self._done = False

    # -- status line and headers --------------------------------------------

    def _line(self, what):
        line = self._file.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ProtocolError('%s longer than %d bytes' % (what, MAX_LINE))
        return line

    def begin(self):
        """Read the status line and the headers (skipping 1xx answers) and work out the body's framing."""
        while True:
            line = self._line('status line')
            if not line:
                raise ConnectionClosed('the server closed the connection without an answer')
            version, status, reason = _status_line(line)
            fields = self._headers()
            if not 100 <= status < 200 or status == 101:
                break
        self.status, self.reason, self.version = status, reason, version
        self.msg = Headers(fields)
        connection = (self.msg.get('Connection') or '').lower()
        self.will_close = 'close' in connection if version == 11 else 'keep-alive' not in connection
        encoding = (self.msg.get('Transfer-Encoding') or '').lower()
        if self._method == 'HEAD' or status in _NO_BODY_STATUS:
            self._left = 0
        elif encoding and encoding.rsplit(',', 1)[-1].strip() == 'chunked':
            self._chunked = True
            self._left = 0
        else:
            self._left = _content_length(self.msg.get('Content-Length'))
            if self._left is None:
                self.will_close = True
        if self._left == 0 and not self._chunked:
            self._done = True

    def _headers(self):
        fields = []
        while True:
            line = self._line('header line')
            if line in (b'\r\n', b'\n', b''):
                return fields
            if line[:1] in (b' ', b'\t') and fields:
                # An obsolete folded line continues the previous header.
                name, value = fields[-1]
                fields[-1] = (name, value + ' ' + line.strip().decode('latin-1'))
                continue
            name, colon, value = line.decode('latin-1').partition(':')
            if not colon or not name or name != name.strip():
                raise ProtocolError('malformed header line %r' % line[:200])
            fields.append((name, value.strip()))
            if len(fields) > MAX_HEADERS:
                raise ProtocolError('more than %d headers' % MAX_HEADERS)

    # -- body -----------------------------------------------------------------

    def isclosed(self):
        """True once the body has been read to its end (or there was none)."""
        return self._done

    def _next_chunk(self):
        """Start the next chunk; False at the last one (its trailers read)."""
        line = self._line('chunk size line')
        size = line.split(b';', 1)[0].strip()
        try:
            self._left = int(size, 16)
        except ValueError:
            raise ProtocolError('malformed chunk size %r' % line[:100])
        if self._left < 0:
            raise ProtocolError('negative chunk size')
        if self._left == 0:
            self._headers()
            self._done = True
            return False
        return True

    def _end_of_chunk(self):
        if self._file.read(2) not in (b'\r\n',):
            raise ProtocolError('chunk not followed by CRLF')

    def readinto(self, buffer):
        """Read body bytes into a writable buffer; the count, 0 at the end of the body."""
        view = memoryview(buffer).cast('B')
        if self._done or not len(view):
            return 0
        if self._chunked and self._left == 0 and not self._next_chunk():
            return 0
        if self._left is not None:
            view = view[:self._left]
        count = self._file.readinto(view)
        if not count:
            if self._left is not None:
                raise ProtocolError('the connection ended %d bytes before the end of the body' % self._left)
            self._done = True
            return 0
        if self._left is not None:
            self._left -= count
            if self._left == 0:
                if self._chunked:
                    self._end_of_chunk()
                else:
                    self._done = True
        return count

    def read(self, amount=None):
        """`amount` bytes of the body, fewer only at its end (all of the rest when None); b'' at the end."""
        parts = []
        wanted = amount
        buffer = bytearray(min(amount, 1024 * 1024) if amount is not None else 65536)
        while wanted is None or wanted > 0:
            count = self.readinto(buffer if wanted is None or wanted >= len(buffer) else memoryview(buffer)[:wanted])
            if not count:
                break
            parts.append(bytes(buffer[:count]))
            if wanted is not None:
                wanted -= count
        return b''.join(parts)

    def close(self):
        """Stop reading: the body's rest is not read (the connection must then be closed)."""
        self._done = True


def _status_line(line):
    """(11 or 10, status, reason) of `HTTP/1.1 200 OK`."""
    text = line.decode('latin-1').rstrip('\r\n')
    version, dummy, rest = text.partition(' ')
    code, dummy, reason = rest.partition(' ')
    if version not in ('HTTP/1.1', 'HTTP/1.0') or len(code) != 3 or not code.isdigit():
        raise ProtocolError('not an HTTP/1.x status line: %r' % text[:200])
    return (11 if version == 'HTTP/1.1' else 10), int(code), reason.strip()


def _content_length(value):
    """The length a Content-Length header gives, or None (none given: the body ends when the server closes)."""
    if value is None:
        return None
    lengths = {item.strip() for item in value.split(',')}
    if len(lengths) != 1:
        raise ProtocolError('conflicting Content-Length values %r' % value)
    text = lengths.pop()
    if not text.isdigit():
        raise ProtocolError('invalid Content-Length %r' % value)
    return int(text)
