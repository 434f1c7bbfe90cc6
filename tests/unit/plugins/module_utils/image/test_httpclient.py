# -*- coding: utf-8 -*-
"""httpclient: responses framed every way servers frame them, and what a broken or hostile server gets."""

import os
import socket
import subprocess
import sys
import threading

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import httpclient


class CannedServer(object):
    """Answers each request on loopback with the next canned reply (bytes), then closes if told to."""

    def __init__(self, replies, close_after=True):
        self.replies = list(replies)
        self.close_after = close_after
        self.requests = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(4)
        self._listener.settimeout(10)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            conn, dummy = self._listener.accept()
        except OSError:
            return
        conn.settimeout(10)
        with conn:
            for reply in self.replies:
                request = b''
                while b'\r\n\r\n' not in request:
                    data = conn.recv(65536)
                    if not data:
                        return
                    request += data
                self.requests.append(request)
                conn.sendall(reply)
            if not self.close_after:
                conn.recv(1)

    def stop(self):
        try:
            # Wakes an accept() still waiting (a test that never connected).
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(10)


@pytest.fixture
def serve():
    servers = []

    def start(*replies, **options):
        server = CannedServer(replies, **options)
        servers.append(server)
        return server, httpclient.HTTPConnection('127.0.0.1', server.port, timeout=10)

    yield start
    for server in servers:
        server.stop()


def _get(conn, method='GET', path='/v2/'):
    conn.request(method, path, {'User-Agent': 'test'})
    return conn.getresponse()


def test_content_length_body_and_request_headers(serve):
    server, conn = serve(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDocker-Content-Digest: sha256:x\r\n\r\nhello')
    response = _get(conn)
    assert (response.status, response.reason) == (200, 'OK')
    assert response.msg.get('docker-content-digest') == 'sha256:x'
    assert response.read() == b'hello' and response.isclosed() and not response.will_close
    request = server.requests[0].decode()
    assert request.startswith('GET /v2/ HTTP/1.1\r\n')
    assert 'Host: 127.0.0.1:%d\r\n' % server.port in request and 'Accept-Encoding: identity\r\n' in request
    conn.close()


def test_chunked_body_with_extensions_and_trailers(serve):
    dummy, conn = serve(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                        b'4;name=value\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n')
    response = _get(conn)
    assert response.read(3) == b'Wik'
    assert response.read() == b'ipedia in \r\n\r\nchunks.'
    assert response.isclosed() and not response.will_close
    conn.close()


def test_body_until_close_for_http_1_0(serve):
    dummy, conn = serve(b'HTTP/1.0 200 OK\r\n\r\nuntil the end')
    response = _get(conn)
    assert response.will_close
    assert response.read() == b'until the end' and response.isclosed()
    conn.close()


def test_kept_alive_connection_serves_two_requests(serve):
    server, conn = serve(b'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na', b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
                         close_after=False)
    assert _get(conn).read() == b'a'
    second = _get(conn, 'HEAD', '/v2/x/manifests/1')
    assert second.status == 404 and second.isclosed()
    assert len(server.requests) == 2
    conn.close()


def test_head_has_no_body_whatever_its_length_says(serve):
    dummy, conn = serve(b'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n')
    response = _get(conn, 'HEAD')
    assert response.isclosed() and response.read() == b'' and response.msg.get('Content-Length') == '1234'
    conn.close()


def test_interim_answers_are_skipped_and_folded_headers_joined(serve):
    dummy, conn = serve(b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="x",\r\n'
                        b' service="y"\r\nWWW-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n')
    response = _get(conn)
    assert response.status == 401
    assert response.msg.get('WWW-Authenticate') == 'Bearer realm="x", service="y"'
    conn.close()


def test_readinto_stops_at_the_end_of_the_body(serve):
    dummy, conn = serve(b'HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n\r\nabcEXTRA')
    response = _get(conn)
    buffer = bytearray(10)
    assert response.readinto(buffer) == 3 and bytes(buffer[:3]) == b'abc'
    assert response.readinto(buffer) == 0
    conn.close()


@pytest.mark.parametrize('reply, words', [
    (b'SSH-2.0-OpenSSH\r\n\r\n', 'status line'),
    (b'HTTP/1.1 2000 OK\r\n\r\n', 'status line'),
    (b'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'malformed header'),
    (b'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', 'conflicting Content-Length'),
    (b'HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n', 'invalid Content-Length'),
    (b'HTTP/1.1 200 OK\r\nX-Long: ' + b'a' * (httpclient.MAX_LINE + 10) + b'\r\n\r\n', 'longer than'),
    (b'HTTP/1.1 200 OK\r\n' + b''.join(b'X-%d: 1\r\n' % index for index in range(httpclient.MAX_HEADERS + 1)) + b'\r\n',
     'more than 100 headers'),
])
def test_broken_answers_are_protocol_errors(serve, reply, words):
    dummy, conn = serve(reply)
    with pytest.raises(httpclient.ProtocolError) as caught:
        _get(conn)
    assert words in str(caught.value)


@pytest.mark.parametrize('reply, words', [
    (b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', '5 bytes before the end'),
    (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'malformed chunk size'),
    (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n', 'CRLF'),
])
def test_broken_bodies_are_protocol_errors(serve, reply, words):
    dummy, conn = serve(reply)
    response = _get(conn)
    with pytest.raises(httpclient.ProtocolError) as caught:
        response.read()
    assert words in str(caught.value)


def test_a_connection_closed_without_answer_is_told_apart(serve):
    dummy, conn = serve(b'')
    with pytest.raises(httpclient.ConnectionClosed):
        _get(conn)


@pytest.mark.parametrize('headers, path', [
    ({'Authorization': 'Bearer x\r\nX-Injected: 1'}, '/v2/'),
    ({'X-Bad\r\nName': '1'}, '/v2/'),
    ({}, '/v2/ HTTP/1.1\r\nX: 1'),
])
def test_line_breaks_in_a_request_are_refused_before_sending(serve, headers, path):
    server, conn = serve()
    with pytest.raises(httpclient.ProtocolError):
        conn.request('GET', path, headers)
    assert server.requests == []
    conn.close()


def test_host_header_names_ipv6_in_brackets_and_omits_default_ports():
    assert httpclient.HTTPConnection('::1', 5000)._host_header() == '[::1]:5000'
    assert httpclient.HTTPConnection('registry.example', 80)._host_header() == 'registry.example'
    assert httpclient.HTTPConnection('registry.example', 443)._host_header() == 'registry.example:443'


def test_a_warm_pull_loads_none_of_the_heavy_modules():
    """What a HEAD to a plain-HTTP registry needs is loaded; http.client, ssl, hashlib, base64, tarfile are not."""
    # The folder above ansible_collections/ (a module's file is six levels below it).
    top = os.path.abspath(httpclient.__file__)
    for dummy in range(7):
        top = os.path.dirname(top)
    code = ('import sys\n'
            'from ansible_collections.runcible.oci.plugins.module_utils.image import registry\n'
            'print(" ".join(sorted(name for name in ("http.client", "email", "ssl", "hashlib", "base64", "tarfile", "encodings.idna")'
            ' if name in sys.modules)))\n')
    result = subprocess.run([sys.executable, '-S', '-c', code], env=dict(os.environ, PYTHONPATH=top), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
