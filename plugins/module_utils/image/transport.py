# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP(S) for the registry client: kept-alive connections, TLS settings, redirects, timeouts.

Built on httpclient.py's connections rather than urllib because a registry client needs
what urllib hides: streaming bodies with Range requests, connection reuse across many blob
requests, and control over which headers survive a redirect (the Authorization header must
not follow a 307 to another host's blob storage). The ssl module is imported by the first
https request: a pull from a plain-HTTP registry never needs it.
"""

import os
import socket
import sys
import threading
from urllib.parse import urljoin, urlsplit

from .errors import RegistryError
from .httpclient import ConnectionClosed, HTTPConnection, ProtocolError

USER_AGENT = 'runcible.oci (+https://example.invalid/runcible/oci)'
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_IDLE_PER_HOST = 4
# Errors that mean "the kept-alive connection was closed by the server meanwhile".
_STALE = (ConnectionClosed, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Response(object):
    """A response whose body is read (streamed) by the caller; close() hands the connection back."""

    def __init__(self, transport, key, conn, raw, url):
        self._transport = transport
        self._key = key
        self._conn = conn
        self._raw = raw
        self.url = url
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.msg

    def header(self, name, default=None):
        """A response header (case-insensitive)."""
        return self.headers.get(name, default)

    def read(self, amount=None):
        """Read up to `amount` bytes of the body (all of it when None)."""
        return self._raw.read(amount) if amount is not None else self._raw.read()

    def readinto(self, buffer):
        """Read into a writable buffer; return the count (0 at the end of the body)."""
        return self._raw.readinto(buffer)

    def read_limited(self, limit):
        """The whole body, refusing more than `limit` bytes."""
        data = self._raw.read(limit + 1)
        if len(data) > limit:
            self.close()
            raise RegistryError('%s: response body is larger than %d bytes' % (self.url, limit))
        return data

    def close(self):
        """Release the connection: back to the pool if the body was read to the end, else closed."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        if self._raw.isclosed() and not self._raw.will_close:
            self._transport._release(self._key, conn)
        else:
            self._raw.close()
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


class Transport(object):
    """Makes HTTP requests with one TLS configuration and a pool of kept-alive connections.

    `ca_file` adds a CA (file or folder of PEM certificates) to the system's trust
    store; `client_cert`/`client_key` give a client certificate; `verify_tls=False`
    skips certificate checks (only for registries the user marked insecure).
    """

    def __init__(self, timeout=30.0, ca_file=None, client_cert=None, client_key=None, verify_tls=True):
        self.timeout = timeout
        self.verify_tls = verify_tls
        self._tls_files = (ca_file, client_cert, client_key)
        self._context = None
        if ca_file or client_cert:
            # Bad TLS files are reported up front, not at the first https request.
            self._context = self._make_context(ca_file, client_cert, client_key, verify_tls)
        self._idle = {}
        self._lock = threading.Lock()

    @staticmethod
    def _make_context(ca_file, client_cert, client_key, verify_tls):
        import ssl  # pylint: disable=import-outside-toplevel
        if verify_tls:
            context = ssl.create_default_context()
        else:
            # Loading the system's CA bundle costs tens of milliseconds; unverified connections do not need it.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            if ca_file:
                if os.path.isdir(ca_file):
                    context.load_verify_locations(capath=ca_file)
                else:
                    context.load_verify_locations(cafile=ca_file)
            if client_cert:
                context.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as exc:
            raise RegistryError('cannot load TLS files (ca_file=%s, client_cert=%s): %s' % (ca_file, client_cert, exc))
        return context

    def _tls_context(self):
        if self._context is None:
            self._context = self._make_context(*self._tls_files, verify_tls=self.verify_tls)
        return self._context

    def close(self):
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _connect(self, key):
        scheme, host, port = key
        return HTTPConnection(host, port, timeout=self.timeout, tls_context=self._tls_context() if scheme == 'https' else None)

    def _acquire(self, key):
        with self._lock:
            conns = self._idle.get(key)
            if conns:
                return conns.pop(), True
        return self._connect(key), False

    def _release(self, key, conn):
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < _IDLE_PER_HOST:
                conns.append(conn)
                return
        conn.close()

    def request(self, method, url, headers=None, allow_http=False):
        """Send a GET or HEAD and return the Response, following redirects.

        The Authorization header is dropped when a redirect leaves the original
        scheme/host/port; a redirect from https to http is refused unless allow_http.
        Network failures raise RegistryError(transient=True); TLS failures raise
        RegistryError naming the fix.
        """
        headers = dict(headers or {})
        headers.setdefault('User-Agent', USER_AGENT)
        origin = _origin(url)
        for _hop in range(_MAX_REDIRECTS + 1):
            response = self._send(method, url, headers)
            if response.status not in _REDIRECTS:
                return response
            location = response.header('Location')
            _drain(response)
            if not location:
                raise RegistryError('%s answered %d without a Location header' % (url, response.status), status=response.status)
            target = urljoin(url, location)
            if urlsplit(target).scheme not in ('http', 'https'):
                raise RegistryError('%s redirected to an unsupported URL %s' % (url, target))
            if urlsplit(url).scheme == 'https' and urlsplit(target).scheme == 'http' and not allow_http:
                raise RegistryError('%s redirected from https to plain http (%s); refused: set insecure only if you trust this network' % (url, target))
            if _origin(target) != origin:
                headers.pop('Authorization', None)
            if response.status == 303:
                method = 'GET'
            url = target
        raise RegistryError('%s: more than %d redirects' % (url, _MAX_REDIRECTS))

    def _send(self, method, url, headers):
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https'):
            raise RegistryError('unsupported URL %s' % url)
        port = parts.port or (443 if parts.scheme == 'https' else 80)
        key = (parts.scheme, parts.hostname, port)
        path = parts.path or '/'
        if parts.query:
            path += '?' + parts.query
        for _attempt in range(2):
            conn, reused = self._acquire(key)
            try:
                conn.request(method, path, headers=headers)
                raw = conn.getresponse()
            except _STALE as exc:
                conn.close()
                if reused:
                    continue
                raise RegistryError('%s %s: connection closed by %s:%s (%s)' % (method, url, parts.hostname, port, exc or type(exc).__name__),
                                    transient=True)
            except (OSError, ProtocolError) as exc:
                conn.close()
                raise self._failure(method, url, parts, port, exc)
            return Response(self, key, conn, raw, url)
        raise RegistryError('%s %s: the server keeps closing the connection' % (method, url), transient=True)

    def _failure(self, method, url, parts, port, exc):
        """The RegistryError for a request that failed on the way (TLS, timeout, network, protocol)."""
        ssl = sys.modules.get('ssl')
        if ssl is not None and isinstance(exc, ssl.SSLCertVerificationError):
            return RegistryError('TLS certificate of %s:%s is not trusted (%s): give the CA that signed it as ca_file, '
                                 'or set insecure only if you accept an unverified connection' % (parts.hostname, port, exc.verify_message or exc))
        if ssl is not None and isinstance(exc, ssl.SSLError):
            return RegistryError('TLS handshake with %s:%s failed (%s): if it is a plain HTTP registry, set insecure'
                                 % (parts.hostname, port, exc.reason or exc))
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return RegistryError('%s %s: timed out after %ss' % (method, url, self.timeout), transient=True)
        return RegistryError('cannot reach %s://%s:%s: %s' % (parts.scheme, parts.hostname, port, exc), transient=True)


def _origin(url):
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == 'https' else 80)


def _drain(response, limit=64 * 1024):
    """Read a small body to the end so the connection can be reused, else close it."""
    try:
        response.read(limit)
    except (OSError, ProtocolError):
        pass
    response.close()
