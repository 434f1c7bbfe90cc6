# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry authentication: credentials, WWW-Authenticate challenges, Bearer tokens.

Flow (the distribution token spec): a request answered 401 carries
`WWW-Authenticate: Bearer realm="...",service="...",scope="..."`; we ask the realm
for a token for that service and scope (with Basic credentials if we have any,
anonymously otherwise), cache it per (realm, service, scope) until it expires, and
send `Authorization: Bearer <token>`. A `Basic` challenge gets the credentials
directly. Once a host has challenged us, later requests to it are authorised up
front, which saves a round trip per repository.
"""

import json
import os
import threading
import time
from urllib.parse import urlencode, urlsplit

from .errors import AuthError, RegistryError

_TOKEN_MIN_LIFETIME = 60
_TOKEN_MARGIN = 10
_TOKEN_MAX_SIZE = 1024 * 1024
_DOCKER_HUB_KEYS = ('docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com')


class Credentials(object):
    """A username and password, or an identity (refresh) token from `docker login`."""

    __slots__ = ('username', 'password', 'identity_token', 'source')

    def __init__(self, username=None, password=None, identity_token=None, source='parameters'):
        self.username = username
        self.password = password
        self.identity_token = identity_token
        self.source = source

    def basic(self):
        """The value of a Basic Authorization header."""
        # Imported here: only credentials need it, and an anonymous pull starts faster without it.
        import base64  # pylint: disable=import-outside-toplevel
        raw = ('%s:%s' % (self.username or '', self.password or '')).encode('utf-8')
        return 'Basic ' + base64.b64encode(raw).decode('ascii')


def parse_challenges(header):
    """Parse a WWW-Authenticate header into [(scheme in lower case, {param: value})]."""
    challenges = []
    pos, length = 0, len(header or '')
    text = header or ''
    current = None
    while pos < length:
        while pos < length and text[pos] in ' \t,':
            pos += 1
        start = pos
        while pos < length and text[pos] not in ' \t,=':
            pos += 1
        token = text[start:pos]
        if not token:
            break
        probe = pos
        while probe < length and text[probe] in ' \t':
            probe += 1
        if probe < length and text[probe] == '=' and current is not None:
            pos = probe + 1
            while pos < length and text[pos] in ' \t':
                pos += 1
            if pos < length and text[pos] == '"':
                pos += 1
                value = []
                while pos < length and text[pos] != '"':
                    if text[pos] == '\\' and pos + 1 < length:
                        pos += 1
                    value.append(text[pos])
                    pos += 1
                pos += 1
                current[1][token.lower()] = ''.join(value)
            else:
                start = pos
                while pos < length and text[pos] not in ' \t,':
                    pos += 1
                current[1][token.lower()] = text[start:pos]
        else:
            current = (token.lower(), {})
            challenges.append(current)
    return challenges


def _registry_key(key):
    """Normalise an auth.json key (`https://index.docker.io/v1/`, `host:port`, `host/ns`) to `host[:port][/path]`."""
    if '://' in key:
        parts = urlsplit(key)
        key = parts.netloc + parts.path
    key = key.rstrip('/')
    for suffix in ('/v1', '/v2'):
        if key.endswith(suffix):
            key = key[:-len(suffix)]
    host, dummy, path = key.partition('/')
    if host in _DOCKER_HUB_KEYS:
        host = 'docker.io'
    return host + ('/' + path if path else '')


def default_auth_files():
    """Where podman, skopeo and docker keep credentials, in the order they read them."""
    files = []
    if os.environ.get('REGISTRY_AUTH_FILE'):
        files.append(os.environ['REGISTRY_AUTH_FILE'])
    if os.environ.get('XDG_RUNTIME_DIR'):
        files.append(os.path.join(os.environ['XDG_RUNTIME_DIR'], 'containers', 'auth.json'))
    home = os.path.expanduser('~')
    files.append(os.path.join(home, '.config', 'containers', 'auth.json'))
    files.append(os.path.join(os.environ.get('DOCKER_CONFIG') or os.path.join(home, '.docker'), 'config.json'))
    return files


class CredentialStore(object):
    """Finds credentials for a registry: explicit ones first, then Docker-style auth.json files.

    `username`/`password` are used when lookup() is called with explicit=True (for the
    origin registry of a pull, not its mirrors). `auth_file` is read if given (and must exist); otherwise the
    default files are searched. Credential helpers (`credHelpers`, `credsStore`) are
    programs we do not run: a registry that needs one is refused with a clear error.
    """

    def __init__(self, username=None, password=None, auth_file=None, search_defaults=True):
        if (username is None) != (password is None):
            raise AuthError('give both username and password, or neither')
        self._explicit = Credentials(username, password) if username is not None else None
        self._files = []
        if auth_file:
            self._files.append(self._load(auth_file, required=True))
        elif search_defaults:
            for path in default_auth_files():
                loaded = self._load(path, required=False)
                if loaded:
                    self._files.append(loaded)

    @staticmethod
    def _load(path, required):
        try:
            with open(path, 'rb') as handle:
                doc = json.loads(handle.read().decode('utf-8'))
        except FileNotFoundError:
            if required:
                raise AuthError('auth_file %s does not exist' % path)
            return None
        except (OSError, ValueError) as exc:
            raise AuthError('auth_file %s is not readable JSON: %s' % (path, exc))
        if not isinstance(doc, dict):
            raise AuthError('auth_file %s must hold a JSON object with "auths"' % path)
        auths = {}
        for key, value in (doc.get('auths') or {}).items():
            auths[_registry_key(key)] = value
        helpers = {_registry_key(key): value for key, value in (doc.get('credHelpers') or {}).items()}
        return {'path': path, 'auths': auths, 'helpers': helpers, 'store': doc.get('credsStore')}

    def lookup(self, registry, repository=None, explicit=True):
        """Credentials for `registry` (and, for per-repository auth.json keys, `repository`), or None.

        With explicit, the username/password given to the constructor win over any file.
        """
        registry = _registry_key(registry)
        if explicit and self._explicit is not None:
            return self._explicit
        candidates = []
        if repository:
            parts = repository.split('/')
            candidates.extend('%s/%s' % (registry, '/'.join(parts[:count])) for count in range(len(parts), 0, -1))
        candidates.append(registry)
        for loaded in self._files:
            helper = loaded['helpers'].get(registry)
            for key in candidates:
                entry = loaded['auths'].get(key)
                if entry is None:
                    continue
                credentials = self._decode(entry, key, loaded['path'])
                if credentials is not None:
                    return credentials
                if loaded['store']:
                    helper = loaded['store']
            if helper:
                raise AuthError('%s names the credential helper %r for %s; credential helpers are not supported: '
                                'log in with an auth.json that holds "auth" (base64 user:password) or pass username and password'
                                % (loaded['path'], helper, registry))
        return None

    @staticmethod
    def _decode(entry, key, path):
        if not isinstance(entry, dict):
            raise AuthError('%s: auths[%r] must be an object' % (path, key))
        if entry.get('identitytoken'):
            return Credentials(entry.get('username') or '<token>', None, entry['identitytoken'], source=path)
        if entry.get('auth'):
            import base64  # pylint: disable=import-outside-toplevel
            try:
                raw = base64.b64decode(entry['auth'], validate=True).decode('utf-8')
            except (ValueError, UnicodeDecodeError):
                raise AuthError('%s: auths[%r].auth is not base64 of "user:password"' % (path, key))
            username, sep, password = raw.partition(':')
            if not sep:
                raise AuthError('%s: auths[%r].auth must decode to "user:password"' % (path, key))
            return Credentials(username, password, source=path)
        if entry.get('username') is not None and entry.get('password') is not None:
            return Credentials(entry['username'], entry['password'], source=path)
        return None


class Authorizer(object):
    """Answers registry challenges and remembers what each host wants.

    `transport` makes the token requests; `credentials_for(host)` returns the
    Credentials for an endpoint, or None (it may raise AuthError for a credential
    helper). Thread-safe: blob downloads run in parallel.
    """

    def __init__(self, transport, credentials_for, allow_http_realm=False):
        self._transport = transport
        self._credentials_for = credentials_for
        self._allow_http_realm = allow_http_realm
        self._challenges = {}
        self._tokens = {}
        self._lock = threading.Lock()
        self._fetch_locks = {}

    def authorization(self, host, scope):
        """The Authorization header to send to `host` for `scope` up front, or None before any challenge."""
        with self._lock:
            challenge = self._challenges.get(host)
        if challenge is None:
            return None
        return self._answer(host, challenge, scope)

    def challenged(self, host, response, scope):
        """Handle a 401: remember the host's challenge and return the header to retry with.

        Raises AuthError when the challenge is one we cannot answer or the answer is
        one the server already refused.
        """
        challenges = parse_challenges(response.header('WWW-Authenticate', ''))
        chosen = None
        for scheme, params in challenges:
            if scheme == 'bearer' and params.get('realm'):
                chosen = (scheme, params)
                break
            if scheme == 'basic' and chosen is None:
                chosen = (scheme, params)
        if chosen is None:
            raise AuthError('%s asks for authentication we do not support (WWW-Authenticate: %s)'
                            % (host, response.header('WWW-Authenticate', 'missing')), status=401)
        with self._lock:
            known = self._challenges.get(host)
            self._challenges[host] = chosen
        if chosen[0] == 'bearer':
            # A token we hold for this scope was refused: forget it and fetch a new one once.
            self._forget_token(chosen[1], scope)
        elif known == chosen:
            credentials = self._credentials(host)
            raise AuthError('%s refused %s' % (host, 'the credentials from %s' % credentials.source if credentials else 'anonymous access: give credentials'),
                            status=401)
        return self._answer(host, chosen, scope)

    def _credentials(self, host):
        return self._credentials_for(host)

    def _answer(self, host, challenge, scope):
        scheme, params = challenge
        if scheme == 'basic':
            credentials = self._credentials(host)
            if credentials is None:
                raise AuthError('%s needs a username and password (Basic auth): pass username/password or an auth_file' % host, status=401)
            return credentials.basic()
        return 'Bearer ' + self._token(host, params, scope)

    def _token_key(self, params, scope):
        scopes = _scopes(params, scope)
        return params.get('realm'), params.get('service', ''), ' '.join(scopes)

    def _forget_token(self, params, scope):
        with self._lock:
            self._tokens.pop(self._token_key(params, scope), None)

    def _token(self, host, params, scope):
        key = self._token_key(params, scope)
        with self._lock:
            lock = self._fetch_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = self._fetch_token(host, params, _scopes(params, scope))
            with self._lock:
                self._tokens[key] = (token, time.monotonic() + max(lifetime, _TOKEN_MIN_LIFETIME) - _TOKEN_MARGIN)
            return token

    def _fetch_token(self, host, params, scopes):
        realm = params['realm']
        parts = urlsplit(realm)
        if parts.scheme not in ('https', 'http') or not parts.hostname:
            raise AuthError('%s sent a token realm %r that is not an http(s) URL' % (host, realm))
        if parts.scheme == 'http' and not self._allow_http_realm:
            raise AuthError('%s sent a plain-http token realm %s; refused (credentials would travel in clear): set insecure to allow it'
                            % (host, realm))
        try:
            credentials = self._credentials(host)
            helper_error = None
        except AuthError as exc:
            credentials, helper_error = None, exc
        query = [('service', params['service'])] if params.get('service') else []
        query.extend(('scope', scope) for scope in scopes)
        headers = {'Accept': 'application/json'}
        if credentials is not None and credentials.identity_token:
            raise AuthError('%s: identity tokens (docker login with a browser flow) are not supported: use a username and password or access token'
                            % credentials.source)
        if credentials is not None:
            headers['Authorization'] = credentials.basic()
            query.append(('account', credentials.username))
        url = realm + ('&' if '?' in realm else '?') + urlencode(query)
        response = self._transport.request('GET', url, headers, allow_http=self._allow_http_realm)
        try:
            if response.status in (401, 403):
                if helper_error is not None:
                    raise helper_error
                raise AuthError('token server %s refused %s (HTTP %d)' % (
                    parts.netloc, 'the credentials from %s' % credentials.source if credentials else 'anonymous access: give credentials',
                    response.status), status=response.status)
            if response.status != 200:
                raise RegistryError('token server %s answered HTTP %d' % (parts.netloc, response.status), status=response.status,
                                    transient=response.status >= 500 or response.status == 429)
            body = response.read_limited(_TOKEN_MAX_SIZE)
        finally:
            response.close()
        try:
            doc = json.loads(body.decode('utf-8'))
        except ValueError:
            raise AuthError('token server %s did not answer JSON' % parts.netloc)
        token = doc.get('token') or doc.get('access_token') if isinstance(doc, dict) else None
        if not token:
            raise AuthError('token server %s answered without a token' % parts.netloc)
        try:
            lifetime = int(doc.get('expires_in') or _TOKEN_MIN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = _TOKEN_MIN_LIFETIME
        return token, lifetime


def _scopes(params, scope):
    """The scopes to ask a token for: the challenge's own plus ours, without repeats."""
    scopes = []
    for item in (params.get('scope', '').split(' ') + [scope or '']):
        if item and item not in scopes:
            scopes.append(item)
    return scopes
