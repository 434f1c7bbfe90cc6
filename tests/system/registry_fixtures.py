# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real registries for the image tests, on loopback, made and torn down by the tests.

- `OciLayoutBuilder` writes OCI image layouts with tarfile (busybox-based multi-layer
  images, gzip, zstd and plain layers, multi-platform indexes with an attestation entry).
- `Certificates` makes a CA and a server certificate for 127.0.0.1 with the openssl CLI.
- `RegistryServer` runs Debian's `docker-registry` (distribution 2.8) with a config file
  written here: plain HTTP, TLS, htpasswd (bcrypt via `htpasswd` from apache2-utils) or
  token auth.
- `TokenServer` is a token endpoint on loopback (HTTPS) that issues RS256 JWTs signed
  with `openssl dgst`, with the signing certificate in the x5c header.
- `TcpProxy` sits between client and registry, records the requests that pass, and can
  cut a connection after a number of response bytes (to test resumed downloads).
- `skopeo_push()` pushes a layout with `skopeo copy`.

Everything listens on 127.0.0.1 only, every wait is bounded, and every server is
stopped and its files removed by the fixtures.
"""

import base64
import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest
from systemlib import import_collection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUSYBOX = '/bin/busybox'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
LAYER_TYPES = {None: 'application/vnd.oci.image.layer.v1.tar', 'gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
               'zstd': 'application/vnd.oci.image.layer.v1.tar+zstd'}
WAIT_SECONDS = 20


import_collection()


def collection_pythonpath():
    """The sys.path entry under which `ansible_collections.runcible.oci` is found (for child processes)."""
    import ansible_collections.runcible.oci.plugins.module_utils.image as package
    path = os.path.dirname(package.__file__)
    for _level in range(6):
        path = os.path.dirname(path)
    return path


def run_python(code):
    """Start `python -c code` with the collection importable; return the Popen (stdout piped)."""
    env = dict(os.environ, PYTHONPATH=collection_pythonpath())
    return subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def need(*tools):
    """Skip the test when a command-line tool is missing (naming the Debian package)."""
    packages = {'docker-registry': 'docker-registry', 'skopeo': 'skopeo', 'openssl': 'openssl', 'htpasswd': 'apache2-utils',
                'zstd': 'zstd', 'umoci': 'umoci'}
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip('%s is not installed (Debian package %s)' % (tool, packages.get(tool, tool)))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def run(*argv, **kwargs):
    """Run a command, raising with its output when it fails."""
    kwargs.setdefault('timeout', 120)
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        raise AssertionError('%s failed (%d): %s' % (' '.join(argv), result.returncode, result.stdout.decode('utf-8', 'replace')))
    return result.stdout.decode('utf-8', 'replace')


# -- image content ---------------------------------------------------------------

def pseudo_random(size, seed):
    """Incompressible, reproducible bytes."""
    generator = random.Random(seed)
    return generator.getrandbits(size * 8).to_bytes(size, 'little') if size else b''


def tar_bytes(files):
    """A tar archive from {path: bytes | ('dir',) | ('symlink', target) | ('link', target)}, sorted, fixed times."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            spec = files[name]
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if isinstance(spec, bytes):
                info.size = len(spec)
                info.mode = 0o755 if name.startswith('bin/') else 0o644
                archive.addfile(info, io.BytesIO(spec))
                continue
            if spec[0] == 'dir':
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif spec[0] == 'symlink':
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, spec[1], 0o777
            elif spec[0] == 'link':
                info.type, info.linkname = tarfile.LNKTYPE, spec[1]
            archive.addfile(info)
    return buffer.getvalue()


def compress(data, kind):
    if kind is None:
        return data
    if kind == 'gzip':
        return gzip.compress(data, compresslevel=1, mtime=0)
    if kind == 'zstd':
        return subprocess.run(['zstd', '-q', '-c', '-3'], input=data, stdout=subprocess.PIPE, check=True, timeout=120).stdout
    raise ValueError(kind)


def busybox_files():
    """A busybox root file system: the static binary and a few applet links."""
    with open(BUSYBOX, 'rb') as handle:
        binary = handle.read()
    files = {'bin': ('dir',), 'bin/busybox': binary}
    for applet in ('sh', 'ls', 'cat', 'echo', 'true'):
        files['bin/' + applet] = ('link', 'bin/busybox')
    files['etc'] = ('dir',)
    files['etc/passwd'] = b'root:x:0:0:root:/root:/bin/sh\n'
    return files


class OciLayoutBuilder(object):
    """Writes an OCI image layout folder: blobs, index.json with ref.name per tag."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, 'blobs', 'sha256'), exist_ok=True)
        with open(os.path.join(path, 'oci-layout'), 'w') as handle:
            json.dump({'imageLayoutVersion': '1.0.0'}, handle)
        self.refs = []

    def blob(self, data):
        digest = sha256(data)
        with open(os.path.join(self.path, 'blobs', 'sha256', digest.split(':', 1)[1]), 'wb') as handle:
            handle.write(data)
        return digest

    def layer(self, files, kind='gzip'):
        """Store a layer; return its descriptor (with the diff_id kept aside)."""
        raw = tar_bytes(files)
        data = compress(raw, kind)
        return {'mediaType': LAYER_TYPES[kind], 'digest': self.blob(data), 'size': len(data), '_diff_id': sha256(raw)}

    def image(self, layers, arch='amd64', variant=None, cmd=None, extra=None):
        """Store config and manifest for the given layer descriptors; return the manifest descriptor."""
        config = {'architecture': arch, 'os': 'linux', 'config': {'Cmd': cmd or ['/bin/sh'], 'Env': ['PATH=/bin']},
                  'rootfs': {'type': 'layers', 'diff_ids': [layer['_diff_id'] for layer in layers]}}
        if variant:
            config['variant'] = variant
        config.update(extra or {})
        config_bytes = json.dumps(config, sort_keys=True).encode()
        manifest = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
                    'config': {'mediaType': OCI_CONFIG, 'digest': self.blob(config_bytes), 'size': len(config_bytes)},
                    'layers': [{key: value for key, value in layer.items() if not key.startswith('_')} for layer in layers]}
        data = json.dumps(manifest, sort_keys=True).encode()
        descriptor = {'mediaType': OCI_MANIFEST, 'digest': self.blob(data), 'size': len(data)}
        platform = {'os': 'linux', 'architecture': arch}
        if variant:
            platform['variant'] = variant
        descriptor['platform'] = platform
        return descriptor

    def attestation(self, subject):
        """A buildx-style attestation manifest (platform unknown/unknown) for a subject manifest."""
        statement = json.dumps({'_type': 'https://in-toto.io/Statement/v0.1', 'subject': [{'digest': {'sha256': subject['digest'][7:]}}]}).encode()
        config = b'{}'
        manifest = {'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
                    'config': {'mediaType': OCI_CONFIG, 'digest': self.blob(config), 'size': len(config)},
                    'layers': [{'mediaType': 'application/vnd.in-toto+json', 'digest': self.blob(statement), 'size': len(statement)}]}
        data = json.dumps(manifest, sort_keys=True).encode()
        return {'mediaType': OCI_MANIFEST, 'digest': self.blob(data), 'size': len(data),
                'platform': {'os': 'unknown', 'architecture': 'unknown'},
                'annotations': {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': subject['digest']}}

    def index(self, manifests):
        data = json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': manifests}, sort_keys=True).encode()
        return {'mediaType': OCI_INDEX, 'digest': self.blob(data), 'size': len(data)}

    def tag(self, name, descriptor):
        entry = {key: value for key, value in descriptor.items() if key != 'platform'}
        entry['annotations'] = {'org.opencontainers.image.ref.name': name}
        self.refs = [ref for ref in self.refs if ref['annotations']['org.opencontainers.image.ref.name'] != name] + [entry]
        with open(os.path.join(self.path, 'index.json'), 'w') as handle:
            json.dump({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': self.refs}, handle)
        return descriptor


# -- TLS ---------------------------------------------------------------------------

class Certificates(object):
    """A test CA, a server certificate for 127.0.0.1/localhost signed by it, and a token-signing key/cert."""

    def __init__(self, folder):
        need('openssl')
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.ca_cert = self._path('ca.crt')
        self.ca_key = self._path('ca.key')
        self.server_cert = self._path('server.crt')
        self.server_key = self._path('server.key')
        self.token_cert = self._path('token.crt')
        self.token_key = self._path('token.key')
        ext = self._path('server.ext')
        with open(ext, 'w') as handle:
            handle.write('basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
                         'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
                         'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n')
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=runcible test CA',
            '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
            '-keyout', self.ca_key, '-out', self.ca_cert)
        run('openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=127.0.0.1',
            '-keyout', self.server_key, '-out', self._path('server.csr'))
        run('openssl', 'x509', '-req', '-sha256', '-days', '2', '-in', self._path('server.csr'), '-CA', self.ca_cert, '-CAkey', self.ca_key,
            '-set_serial', str(random.randrange(1, 2 ** 60)), '-extfile', ext, '-out', self.server_cert)
        run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=runcible token issuer',
            '-keyout', self.token_key, '-out', self.token_cert)
        pem = open(self.token_cert).read()
        body = ''.join(line for line in pem.splitlines() if not line.startswith('-----'))
        self.token_cert_der_b64 = body

    def _path(self, name):
        return os.path.join(self.folder, name)


# -- token server ------------------------------------------------------------------

def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


class TokenServer(object):
    """A distribution token endpoint: GET /token?service=&scope= with optional Basic auth.

    `users` maps username -> password; those get pull and push. Anonymous callers get
    pull on repositories under `public/` only. Every request is recorded in `requests`.
    """

    def __init__(self, certs, service, issuer='runcible-test-issuer', users=None):
        self.certs = certs
        self.service = service
        self.issuer = issuer
        self.users = dict(users or {})
        self.requests = []
        self.port = free_port()
        self.realm = 'https://127.0.0.1:%d/token' % self.port
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self)

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs.server_cert, certs.server_key)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
        self._thread.start()

    def _handle(self, handler):
        parts = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(parts.query)
        account = None
        header = handler.headers.get('Authorization', '')
        if header.startswith('Basic '):
            user, dummy, password = base64.b64decode(header[6:]).decode().partition(':')
            if self.users.get(user) != password:
                self.requests.append({'scopes': query.get('scope', []), 'account': user, 'granted': False})
                handler.send_response(401)
                handler.send_header('Content-Type', 'application/json')
                body = b'{"details":"incorrect username or password"}'
                handler.send_header('Content-Length', str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
                return
            account = user
        access = []
        for scope in query.get('scope', []):
            kind, dummy, rest = scope.partition(':')
            name, dummy, actions = rest.rpartition(':')
            wanted = [action for action in actions.split(',') if action]
            if account is None:
                granted = ['pull'] if name.startswith('public/') and 'pull' in wanted else []
            else:
                granted = [action for action in wanted if action in ('pull', 'push', '*')]
            access.append({'type': kind, 'name': name, 'actions': granted})
        self.requests.append({'scopes': query.get('scope', []), 'account': account, 'granted': True, 'service': query.get('service')})
        token = self.sign(account or '', access)
        body = json.dumps({'token': token, 'access_token': token, 'expires_in': 300}).encode()
        handler.send_response(200)
        handler.send_header('Content-Type', 'application/json')
        handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def sign(self, subject, access):
        """An RS256 JWT as distribution's token auth verifies it (x5c chain to rootcertbundle)."""
        now = int(time.time())
        header = {'typ': 'JWT', 'alg': 'RS256', 'x5c': [self.certs.token_cert_der_b64]}
        claims = {'iss': self.issuer, 'sub': subject, 'aud': self.service, 'exp': now + 300, 'nbf': now - 10, 'iat': now,
                  'jti': '%016x' % random.getrandbits(64), 'access': access}
        signing_input = ('%s.%s' % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))).encode()
        signature = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', self.certs.token_key], input=signing_input,
                                   stdout=subprocess.PIPE, check=True, timeout=30).stdout
        return '%s.%s' % (signing_input.decode(), _b64url(signature))

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(WAIT_SECONDS)


# -- the registry --------------------------------------------------------------------

class RegistryServer(object):
    """Debian's docker-registry on 127.0.0.1:<free port>, with its storage and log in `folder`."""

    def __init__(self, folder, certs=None, htpasswd=None, token=None):
        need('docker-registry')
        self.folder = folder
        self.storage = os.path.join(folder, 'storage')
        os.makedirs(self.storage, exist_ok=True)
        self.port = free_port()
        self.host = '127.0.0.1:%d' % self.port
        self.tls = certs is not None
        self.certs = certs
        self.log_path = os.path.join(folder, 'registry.log')
        config = {
            'version': 0.1,
            'log': {'level': 'info', 'formatter': 'json', 'accesslog': {'disabled': True}},
            'storage': {'filesystem': {'rootdirectory': self.storage}, 'delete': {'enabled': True},
                        'maintenance': {'uploadpurging': {'enabled': False}}},
            'http': {'addr': self.host, 'secret': '%032x' % random.getrandbits(128)},
        }
        if certs is not None:
            config['http']['tls'] = {'certificate': certs.server_cert, 'key': certs.server_key}
        if htpasswd is not None:
            config['auth'] = {'htpasswd': {'realm': 'runcible-test', 'path': htpasswd}}
        if token is not None:
            config['auth'] = {'token': {'realm': token.realm, 'service': token.service, 'issuer': token.issuer,
                                        'rootcertbundle': certs.token_cert}}
        self.config_path = os.path.join(folder, 'config.yml')
        with open(self.config_path, 'w') as handle:
            # JSON is YAML: no YAML library needed.
            json.dump(config, handle, indent=1)
        self._log = open(self.log_path, 'wb')
        self.process = subprocess.Popen(['docker-registry', 'serve', self.config_path], stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self._wait_ready()

    @property
    def url(self):
        return '%s://%s' % ('https' if self.tls else 'http', self.host)

    def _wait_ready(self):
        deadline = time.monotonic() + WAIT_SECONDS
        context = ssl.create_default_context(cafile=self.certs.ca_cert) if self.tls else None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError('docker-registry exited: %s' % open(self.log_path, 'rb').read().decode('utf-8', 'replace')[-2000:])
            try:
                urllib.request.urlopen(self.url + '/v2/', timeout=2, context=context)
                return
            except urllib.error.HTTPError:
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.stop()
        raise AssertionError('docker-registry did not answer on %s within %ss' % (self.url, WAIT_SECONDS))

    def requests(self):
        """[(method, uri, status)] the registry logged so far."""
        found = []
        with open(self.log_path, 'rb') as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if str(entry.get('msg', '')).startswith('response completed'):
                    found.append((entry.get('http.request.method'), entry.get('http.request.uri'), entry.get('http.response.status')))
        return found

    def blob_data_path(self, digest):
        hexpart = digest.split(':', 1)[1]
        return os.path.join(self.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hexpart[:2], hexpart, 'data')

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(WAIT_SECONDS)
        self._log.close()


def skopeo_push(layout, tag, registry, repository, dest_tag=None, creds=None, all_images=False):
    """Push layout:tag to registry/repository:dest_tag with skopeo; return the pushed manifest digest."""
    need('skopeo')
    argv = ['skopeo', '--insecure-policy', 'copy', '--quiet', '--preserve-digests']
    if all_images:
        argv.append('--all')
    if registry.tls:
        certs_dir = os.path.join(registry.folder, 'skopeo-certs')
        os.makedirs(certs_dir, exist_ok=True)
        shutil.copy(registry.certs.ca_cert, os.path.join(certs_dir, 'ca.crt'))
        argv += ['--dest-cert-dir', certs_dir]
    else:
        argv.append('--dest-tls-verify=false')
    if creds:
        argv += ['--dest-creds', '%s:%s' % creds]
    digest_file = os.path.join(registry.folder, 'pushed-digest')
    argv += ['--digestfile', digest_file, 'oci:%s:%s' % (layout, tag), 'docker://%s/%s:%s' % (registry.host, repository, dest_tag or tag)]
    run(*argv, env=dict(os.environ, HOME=registry.folder))
    with open(digest_file) as handle:
        return handle.read().strip()


# -- a proxy that records and cuts -----------------------------------------------------

_REQUEST_LINE = re.compile(rb'^(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.[01]\r$')


class TcpProxy(object):
    """A loopback TCP proxy in front of a plain-HTTP server.

    Records each request (method, path, Range header). With `cut_after` set, a
    connection whose response bytes exceed it is closed mid-transfer, `cuts` times
    in all; `bytes_to_client` counts what clients received.
    """

    def __init__(self, target_port, cut_after=None, cuts=0):
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.cuts_done = 0
        self.requests = []
        self.bytes_to_client = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.host = '127.0.0.1:%d' % self.port
        self._stopping = threading.Event()
        self._threads = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client):
        upstream = socket.create_connection(('127.0.0.1', self.target_port), timeout=WAIT_SECONDS)
        client.settimeout(WAIT_SECONDS)
        pending = b''
        sent = 0
        done = threading.Event()

        def pump_down():
            nonlocal sent
            try:
                while not done.is_set():
                    data = upstream.recv(65536)
                    if not data:
                        break
                    with self._lock:
                        cut = self.cut_after is not None and self.cuts_left > 0 and sent + len(data) > self.cut_after
                        if cut:
                            data = data[:max(0, self.cut_after - sent)]
                            self.cuts_left -= 1
                            self.cuts_done += 1
                        self.bytes_to_client += len(data)
                    client.sendall(data)
                    sent += len(data)
                    if cut:
                        break
            except OSError:
                pass
            done.set()
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        down = threading.Thread(target=pump_down, daemon=True)
        down.start()
        try:
            while not done.is_set():
                try:
                    data = client.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                pending += data
                while b'\r\n\r\n' in pending:
                    head, pending = pending.split(b'\r\n\r\n', 1)
                    self._record(head)
                upstream.sendall(data)
        except OSError:
            pass
        done.set()
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        down.join(WAIT_SECONDS)
        client.close()
        upstream.close()

    def _record(self, head):
        lines = head.split(b'\r\n')
        match = _REQUEST_LINE.match(lines[0] + b'\r')
        if not match:
            return
        headers = {}
        for line in lines[1:]:
            name, dummy, value = line.partition(b':')
            headers[name.strip().lower().decode()] = value.strip().decode()
        with self._lock:
            self.requests.append({'method': match.group(1).decode(), 'path': match.group(2).decode(), 'range': headers.get('range')})

    def blob_requests(self):
        return [request for request in self.requests if '/blobs/' in request['path']]

    def stop(self):
        self._stopping.set()
        self._listener.close()
        self._thread.join(WAIT_SECONDS)
        for thread in self._threads:
            thread.join(WAIT_SECONDS)


# -- pytest fixtures --------------------------------------------------------------------

@pytest.fixture(scope='session')
def registry_workdir():
    folder = tempfile.mkdtemp(prefix='runcible-registry-tests-')
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope='session')
def certs(registry_workdir):
    return Certificates(os.path.join(registry_workdir, 'certs'))


@pytest.fixture(scope='session')
def test_images(registry_workdir):
    """An OCI layout with the test images, and what each is made of.

    - busybox:1     three layers: busybox (gzip), a config layer (gzip), a data layer (zstd)
    - busybox:2     shares busybox:1's first layer, adds one of its own
    - multi:1       an index: linux/amd64, linux/arm64/v8, linux/arm/v7 and an attestation manifest
    - big:1         an incompressible 3 MiB layer (for the interrupted-download test)
    """
    need('zstd')
    layout = os.path.join(registry_workdir, 'layout')
    builder = OciLayoutBuilder(layout)
    base = builder.layer(busybox_files(), 'gzip')
    etc = builder.layer({'etc': ('dir',), 'etc/hello': b'hello from layer 2\n', 'etc/motd': ('symlink', 'hello')}, 'gzip')
    data = builder.layer({'data': ('dir',), 'data/blob.bin': pseudo_random(256 * 1024, 1) + b'\0' * 65536}, 'zstd')
    info = {'layout': layout, 'layers': {'base': base, 'etc': etc, 'data': data}}
    info['busybox:1'] = builder.tag('busybox:1', builder.image([base, etc, data]))
    extra = builder.layer({'extra.txt': b'only in busybox:2\n'}, 'gzip')
    info['layers']['extra'] = extra
    info['busybox:2'] = builder.tag('busybox:2', builder.image([base, extra], cmd=['/bin/echo', 'two']))
    amd64 = builder.image([base, builder.layer({'arch': b'amd64\n'}, 'gzip')], arch='amd64')
    arm64 = builder.image([builder.layer({'arch': b'arm64\n'}, 'gzip')], arch='arm64', variant='v8')
    armv7 = builder.image([builder.layer({'arch': b'arm/v7\n'}, None)], arch='arm', variant='v7')
    attestation = builder.attestation(amd64)
    index = builder.index([attestation, arm64, armv7, amd64])
    info['multi:1'] = builder.tag('multi:1', index)
    info['multi:platforms'] = {'amd64': amd64, 'arm64': arm64, 'armv7': armv7, 'attestation': attestation}
    big = builder.layer({'big.bin': pseudo_random(3 * 1024 * 1024, 7)}, 'gzip')
    info['layers']['big'] = big
    info['big:1'] = builder.tag('big:1', builder.image([big]))
    return info


def _push_all(test_images, registry, creds=None, prefix=''):
    pushed = {}
    for tag in ('busybox:1', 'busybox:2', 'big:1'):
        repository, dummy, version = tag.partition(':')
        pushed[tag] = skopeo_push(test_images['layout'], tag, registry, prefix + repository, version, creds=creds)
    pushed['multi:1'] = skopeo_push(test_images['layout'], 'multi:1', registry, prefix + 'multi', '1', creds=creds, all_images=True)
    return pushed


@pytest.fixture(scope='session')
def plain_registry(registry_workdir, test_images):
    """A plain-HTTP registry with the test images pushed."""
    registry = RegistryServer(os.path.join(registry_workdir, 'plain'))
    try:
        registry.pushed = _push_all(test_images, registry)
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope='session')
def tls_registry(registry_workdir, certs, test_images):
    """A TLS registry (certificate from the test CA) with busybox:1 pushed."""
    registry = RegistryServer(os.path.join(registry_workdir, 'tls'), certs=certs)
    try:
        registry.pushed = {'busybox:1': skopeo_push(test_images['layout'], 'busybox:1', registry, 'busybox', '1')}
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope='session')
def basic_registry(registry_workdir, test_images):
    """A plain-HTTP registry with htpasswd (bcrypt) Basic auth; user `alice`, password `wonderland`."""
    need('htpasswd')
    folder = os.path.join(registry_workdir, 'basic')
    os.makedirs(folder)
    htpasswd = os.path.join(folder, 'htpasswd')
    run('htpasswd', '-B', '-b', '-c', htpasswd, 'alice', 'wonderland')
    registry = RegistryServer(folder, htpasswd=htpasswd)
    try:
        registry.creds = ('alice', 'wonderland')
        registry.pushed = {'busybox:1': skopeo_push(test_images['layout'], 'busybox:1', registry, 'busybox', '1', creds=registry.creds)}
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope='session')
def token_registry(registry_workdir, certs, test_images):
    """A TLS registry with token auth from our TokenServer; user `bob`/`builder`; `public/` is anonymous-readable."""
    folder = os.path.join(registry_workdir, 'token')
    os.makedirs(folder)
    tokens = TokenServer(certs, service='runcible-test-registry', users={'bob': 'builder'})
    registry = None
    try:
        registry = RegistryServer(folder, certs=certs, token=tokens)
        registry.tokens = tokens
        registry.creds = ('bob', 'builder')
        registry.pushed = {
            'private/busybox:1': skopeo_push(test_images['layout'], 'busybox:1', registry, 'private/busybox', '1', creds=registry.creds),
            'public/busybox:1': skopeo_push(test_images['layout'], 'busybox:1', registry, 'public/busybox', '1', creds=registry.creds),
        }
        yield registry
    finally:
        if registry is not None:
            registry.stop()
        tokens.stop()


@pytest.fixture
def store_dir():
    folder = tempfile.mkdtemp(prefix='runcible-store-')
    yield os.path.join(folder, 'images')
    shutil.rmtree(folder, ignore_errors=True)


# -- a scriptable registry for protocol corners distribution does not show ------------

class LayoutRegistry(object):
    """A minimal read-only distribution API served from an OCI layout, with knobs for awkward servers.

    Serves /v2/, manifests by tag (ref.name in the layout) or digest, and blobs.
    Knobs (attributes, change them between requests):
      basic_auth      (user, password) required on every /v2/ request, or None
      redirect_blobs  a URL prefix: blob GETs answer 307 to <prefix>/<digest>
      ignore_range    answer 200 with the whole blob even when a Range is asked
      cut_blob_after  close the connection after this many body bytes of a blob (once per `cuts`)
      omit_digest_header   no Docker-Content-Digest on manifest responses
      fail_next       a list of statuses (e.g. [503, 429]) answered, one per request, before serving normally
      content_type    override the Content-Type of manifest responses
      manifest_override  {selector: (bytes, content type)} served instead of the layout's manifest
      announce_digest    {selector: digest} sent as Docker-Content-Digest whatever the bytes are
    Every request is recorded in `requests` as (method, path, headers dict).
    """

    def __init__(self, layout):
        self.layout = layout
        self.basic_auth = None
        self.redirect_blobs = None
        self.ignore_range = False
        self.cut_blob_after = None
        self.cuts = 0
        self.omit_digest_header = False
        self.fail_next = []
        self.content_type = None
        self.manifest_override = {}
        self.announce_digest = {}
        self.requests = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self, body=True)

            def do_HEAD(self):
                server._handle(self, body=False)

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.host = '127.0.0.1:%d' % self.port
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
        self._thread.start()

    def _send(self, handler, status, headers=None, body=b'', send_body=True):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if 'Content-Length' not in (headers or {}):
            handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        if send_body and body:
            handler.wfile.write(body)

    def _blob(self, digest):
        path = os.path.join(self.layout, 'blobs', 'sha256', digest.split(':', 1)[1])
        with open(path, 'rb') as handle:
            return handle.read()

    def _manifest_for(self, repository, selector):
        if selector in self.manifest_override:
            return self.manifest_override[selector]
        if selector.startswith('sha256:'):
            data = self._blob(selector)
        else:
            with open(os.path.join(self.layout, 'index.json')) as handle:
                entries = json.load(handle)['manifests']
            wanted = '%s:%s' % (repository, selector)
            matches = [entry for entry in entries if entry.get('annotations', {}).get('org.opencontainers.image.ref.name') == wanted]
            if not matches:
                return None
            data = self._blob(matches[0]['digest'])
        return data, json.loads(data).get('mediaType', OCI_MANIFEST)

    def _handle(self, handler, body):
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self.requests.append((handler.command, handler.path, headers))
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            extra = {'Retry-After': '0'} if failure == 429 else {}
            extra['Content-Type'] = 'application/json'
            return self._send(handler, failure, extra, b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}', body)
        if self.basic_auth is not None:
            expected = 'Basic ' + base64.b64encode(('%s:%s' % self.basic_auth).encode()).decode()
            if headers.get('authorization') != expected:
                return self._send(handler, 401, {'WWW-Authenticate': 'Basic realm="layout"', 'Content-Type': 'application/json'},
                                  b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', body)
        match = re.match(r'^/v2/(.+)/(manifests|blobs)/([^/]+)$', handler.path)
        if handler.path == '/v2/':
            return self._send(handler, 200, {'Content-Type': 'application/json'}, b'{}', body)
        if not match:
            return self._send(handler, 404, {}, b'', body)
        kind, selector = match.group(2), match.group(3)
        if kind == 'manifests':
            found = self._manifest_for(match.group(1), selector)
            if found is None:
                return self._send(handler, 404, {'Content-Type': 'application/json'},
                                  b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', body)
            data, media_type = found
            response_headers = {'Content-Type': self.content_type or media_type}
            if not self.omit_digest_header:
                response_headers['Docker-Content-Digest'] = self.announce_digest.get(selector, sha256(data))
            return self._send(handler, 200, response_headers, data, body)
        try:
            data = self._blob(selector)
        except OSError:
            return self._send(handler, 404, {}, b'', body)
        if self.redirect_blobs and body:
            return self._send(handler, 307, {'Location': '%s/%s' % (self.redirect_blobs, selector)}, b'', body)
        start = 0
        requested = headers.get('range')
        if requested and not self.ignore_range:
            start = int(re.match(r'bytes=(\d+)-', requested).group(1))
            response_headers = {'Content-Range': 'bytes %d-%d/%d' % (start, len(data) - 1, len(data)),
                                'Content-Length': str(len(data) - start), 'Content-Type': 'application/octet-stream'}
            status = 206
        else:
            response_headers = {'Content-Length': str(len(data)), 'Content-Type': 'application/octet-stream'}
            status = 200
        handler.send_response(status)
        for name, value in response_headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if not body:
            return None
        payload = data[start:]
        with self._lock:
            cut = self.cut_blob_after is not None and self.cuts > 0 and len(payload) > self.cut_blob_after
            if cut:
                self.cuts -= 1
        if cut:
            handler.wfile.write(payload[:self.cut_blob_after])
            handler.wfile.flush()
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        handler.wfile.write(payload)
        return None

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(WAIT_SECONDS)


class BlobStorage(object):
    """Plain HTTP "object storage" that blob redirects point to; records the headers it receives."""

    def __init__(self, layout):
        self.layout = layout
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
                digest = self.path.rsplit('/', 1)[1]
                with open(os.path.join(server.layout, 'blobs', 'sha256', digest.split(':', 1)[1]), 'rb') as handle:
                    data = handle.read()
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(WAIT_SECONDS)
