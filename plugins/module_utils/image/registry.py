# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulling images over the OCI distribution API into the store.

    reference -> HEAD manifest (unchanged? done, nothing downloaded)
              -> GET manifest (index? pick the platform, GET that manifest)
              -> GET config and layers the store lacks, in parallel, each verified,
                 resumed with Range after an interrupted transfer
              -> store the manifest, record the reference in index.json

Endpoints are tried in order: the configured mirrors, then the origin registry.
Every manifest and blob is checked against its digest before it is kept.
"""

import json
import re
import socket
import time
from urllib.parse import urlsplit

from . import digest as digests
from . import mediatypes
from . import platform as platforms
from . import reference as references
from .auth import Authorizer, CredentialStore
from .errors import AuthError, ConfigError, DigestMismatch, ImageError, ImageNotFound, RegistryError, UnsupportedImage
from .httpclient import ProtocolError
from .store import RESOLVED_DIGEST, Store
from .transport import Transport

DOCKER_HUB_HOST = 'registry-1.docker.io'
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 5
DEFAULT_CONCURRENCY = 3
_CHUNK = 1024 * 1024
_MAX_ERROR_BODY = 64 * 1024
_MAX_RETRY_AFTER = 10.0
_CONTENT_RANGE = re.compile(r'^bytes (\d+)-(\d+)/(\d+|\*)$')
_CONFIG_TYPES = (mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG)


class Endpoint(object):
    """One registry to talk to: host[:port], its scheme once known, and whether it is a mirror."""

    __slots__ = ('host', 'scheme', 'mirror')

    def __init__(self, host, scheme=None, mirror=False):
        self.host = host
        self.scheme = scheme
        self.mirror = mirror

    def __repr__(self):
        return '%s://%s' % (self.scheme or '?', self.host)


def parse_mirror(text, insecure=False):
    """A mirror given as `host[:port]` or `https://host[:port]` (http:// only with insecure)."""
    value = (text or '').strip().rstrip('/')
    scheme = None
    if '://' in value:
        parts = urlsplit(value)
        scheme, value = parts.scheme, parts.netloc
        if parts.path not in ('', '/'):
            raise ConfigError('mirrors', 'mirror %r must be a registry host, without a path' % text)
        if scheme not in ('http', 'https'):
            raise ConfigError('mirrors', 'mirror %r must use https:// (or http:// with insecure)' % text)
        if scheme == 'http' and not insecure:
            raise ConfigError('mirrors', 'mirror %r is plain HTTP: set insecure to allow it, or use https' % text)
    if not value or '/' in value:
        raise ConfigError('mirrors', 'mirror %r must look like mirror.example.com[:port]' % text)
    return Endpoint(value, scheme, mirror=True)


def origin_host(ref):
    """The host that serves a reference's repository (Docker Hub's API lives on registry-1.docker.io)."""
    return DOCKER_HUB_HOST if ref.domain == references.DEFAULT_DOMAIN else ref.domain


class Registry(object):
    """A distribution API client that pulls into a Store.

    Options: `timeout` (seconds per connect/read), `insecure` (skip TLS verification and
    allow plain HTTP), `ca_file` (extra trusted CA), `client_cert`/`client_key`,
    `username`/`password` (for the origin registry), `auth_file` (Docker-style
    auth.json; the default locations are searched when not given),
    `mirrors` (list of hosts tried before the origin), `retries` (per blob and request,
    on network errors and 5xx/429), `concurrency` (parallel blob downloads).
    """

    def __init__(self, store, timeout=DEFAULT_TIMEOUT, insecure=False, ca_file=None, client_cert=None, client_key=None,
                 username=None, password=None, auth_file=None, mirrors=None, retries=DEFAULT_RETRIES,
                 concurrency=DEFAULT_CONCURRENCY, search_default_auth_files=True):
        self.store = store if isinstance(store, Store) else Store(store)
        self.insecure = insecure
        self.retries = max(0, int(retries))
        self.concurrency = max(1, int(concurrency))
        self.mirrors = [parse_mirror(item, insecure) for item in (mirrors or [])]
        self._username, self._password = username, password
        self._auth_file = auth_file
        self._search_defaults = search_default_auth_files
        self._transport = Transport(timeout=timeout, ca_file=ca_file, client_cert=client_cert, client_key=client_key,
                                    verify_tls=not insecure)
        self._credentials = None
        # host -> (auth.json key, whether the explicit username/password apply)
        self._credential_keys = {}
        self._authorizer = Authorizer(self._transport, self._credentials_for, allow_http_realm=insecure)
        self._schemes = {}
        self._repository = None

    def close(self):
        """Close kept-alive connections."""
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    # -- endpoints, credentials, requests --------------------------------

    def _endpoints(self, ref):
        origin = Endpoint(origin_host(ref))
        self._credential_keys[origin.host] = (ref.domain, True)
        for mirror in self.mirrors:
            self._credential_keys.setdefault(mirror.host, (mirror.host, False))
        if self._credentials is None:
            self._credentials = CredentialStore(self._username, self._password, auth_file=self._auth_file,
                                                search_defaults=self._search_defaults)
        return [Endpoint(m.host, m.scheme, True) for m in self.mirrors] + [origin]

    def _credentials_for(self, host):
        key, explicit = self._credential_keys.get(host, (host, False))
        return self._credentials.lookup(key, self._repository, explicit=explicit)

    def _schemes_for(self, endpoint):
        if endpoint.scheme:
            return [endpoint.scheme]
        known = self._schemes.get(endpoint.host)
        if known:
            return [known]
        return ['https', 'http'] if self.insecure else ['https']

    def _request(self, endpoint, method, path, scope, headers=None):
        """One authorised request to an endpoint (answering one auth challenge); returns the Response."""
        schemes = self._schemes_for(endpoint)
        for position, scheme in enumerate(schemes):
            try:
                response = self._authorised(endpoint, scheme, method, path, scope, headers or {})
            except RegistryError as exc:
                if position + 1 < len(schemes) and not isinstance(exc, AuthError):
                    continue
                raise
            self._schemes[endpoint.host] = scheme
            return response
        raise RegistryError('no scheme to reach %s' % endpoint.host)

    def _authorised(self, endpoint, scheme, method, path, scope, headers):
        url = '%s://%s%s' % (scheme, endpoint.host, path)
        headers = dict(headers)
        authorization = self._authorizer.authorization(endpoint.host, scope)
        if authorization:
            headers['Authorization'] = authorization
        response = self._transport.request(method, url, headers, allow_http=self.insecure)
        if response.status != 401:
            return response
        _drain(response)
        headers['Authorization'] = self._authorizer.challenged(endpoint.host, response, scope)
        response = self._transport.request(method, url, headers, allow_http=self.insecure)
        if response.status == 401:
            _drain(response)
            credentials = self._credentials_for(endpoint.host)
            if credentials is None:
                raise AuthError('%s refused an anonymous %s: give username and password, or an auth_file' % (endpoint.host, _scope_text(scope)),
                                status=401)
            raise AuthError('%s refused the credentials from %s for a %s' % (endpoint.host, credentials.source, _scope_text(scope)), status=401)
        return response

    def _fail(self, response, what):
        """Raise the error that fits a non-success response (reading its error document)."""
        status = response.status
        detail = ''
        try:
            # Registries send their error document with all sorts of Content-Types.
            doc = json.loads(response.read_limited(_MAX_ERROR_BODY).decode('utf-8'))
            detail = '; '.join('%s: %s' % (item.get('code'), item.get('message')) for item in doc.get('errors') or [])
        except (ValueError, RegistryError, AttributeError, TypeError, OSError, ProtocolError):
            detail = ''
        _drain(response)
        suffix = ' (%s)' % detail if detail else ''
        if status == 404:
            raise ImageNotFound('%s: not found in the registry%s' % (what, suffix))
        if status == 403:
            raise AuthError('%s: access denied%s' % (what, suffix), status=status)
        transient = status >= 500 or status in (408, 429)
        error = RegistryError('%s: registry answered HTTP %d%s' % (what, status, suffix), status=status, transient=transient)
        if status == 429:
            error.retry_after = _retry_after(response)
        raise error

    def _with_retries(self, action):
        """Run action() again on transient errors, at most `retries` more times."""
        for attempt in range(self.retries + 1):
            try:
                return action()
            except RegistryError as exc:
                if not exc.transient or attempt >= self.retries:
                    raise
                _backoff(attempt, getattr(exc, 'retry_after', None))
        raise RegistryError('unreachable')

    def _across(self, endpoints, action):
        """Try action(endpoint) on each endpoint in turn; a mirror's failure falls through to the next one."""
        failures = []
        for endpoint in endpoints:
            try:
                return self._with_retries(lambda: action(endpoint))
            except (RegistryError, ImageNotFound, DigestMismatch, UnsupportedImage) as exc:
                _note_or_raise(endpoint, exc, failures)
        raise RegistryError('no endpoint left to try')

    # -- manifests -------------------------------------------------------

    def _head_manifest(self, ref, endpoints):
        """(digest or None, endpoint) the reference resolves to, from a HEAD request."""
        scope = 'repository:%s:pull' % ref.path

        def head(endpoint):
            response = self._request(endpoint, 'HEAD', '/v2/%s/manifests/%s' % (ref.path, ref.selector), scope,
                                     {'Accept': mediatypes.ACCEPT})
            if response.status != 200:
                self._fail(response, '%s (manifest)' % ref)
            _drain(response)
            value = response.header('Docker-Content-Digest')
            return (value if value and digests.is_digest(value) else None), endpoint
        return self._across(endpoints, head)

    def _get_manifest(self, ref, selector, endpoints):
        """(bytes, media type, digest, endpoint) of a manifest or index, verified against its digest."""
        scope = 'repository:%s:pull' % ref.path
        what = '%s@%s' % (ref.name, selector) if digests.is_digest(selector) else '%s:%s' % (ref.name, selector)

        def get(endpoint):
            response = self._request(endpoint, 'GET', '/v2/%s/manifests/%s' % (ref.path, selector), scope, {'Accept': mediatypes.ACCEPT})
            try:
                if response.status != 200:
                    self._fail(response, what)
                data = _read_body(response, mediatypes.MAX_MANIFEST_SIZE, what)
            finally:
                response.close()
            if digests.is_digest(selector):
                if not digests.matches(data, selector):
                    raise DigestMismatch('manifest %s from %s' % (what, endpoint.host), selector,
                                         digests.of_bytes(data, digests.split(selector)[0]))
                digest = selector
            else:
                announced = response.header('Docker-Content-Digest')
                algorithm = digests.split(announced)[0] if announced and digests.is_digest(announced) else digests.CANONICAL
                digest = digests.of_bytes(data, algorithm)
                if announced and announced != digest:
                    raise DigestMismatch('manifest %s from %s' % (what, endpoint.host), announced, digest)
            media_type, doc = mediatypes.sniff(data, response.header('Content-Type'))
            return data, media_type, doc, digest, endpoint
        return self._across(endpoints, get)

    # -- blobs -----------------------------------------------------------

    def _download(self, ref, endpoints, descriptor):
        """Fetch one blob into the store unless it is there; return the bytes downloaded."""
        digest, size = descriptor['digest'], descriptor['size']
        scope = 'repository:%s:pull' % ref.path
        downloaded = 0
        with self.store.blob_writer(digest, size) as writer:
            if writer.complete:
                return 0
            restarted = False
            failures = []
            for endpoint in endpoints:
                attempt = 0
                while True:
                    start = writer.offset
                    try:
                        if writer.offset < size:
                            self._fetch_blob(ref, endpoint, scope, writer)
                        downloaded += max(0, writer.offset - start)
                        writer.commit()
                        return downloaded
                    except DigestMismatch as exc:
                        downloaded += max(0, writer.offset - start)
                        if writer.resumed_from and not restarted:
                            # The part kept from an earlier attempt may be what was bad: one clean try.
                            restarted = True
                            writer.resumed_from = 0
                            continue
                        failures.append('%s: %s' % (endpoint.host, exc))
                        if not endpoint.mirror:
                            raise DigestMismatch('blob %s of %s from %s' % (digest, ref, endpoint.host), digest, exc.actual)
                        break
                    except (RegistryError, ImageNotFound) as exc:
                        downloaded += max(0, writer.offset - start)
                        transient = isinstance(exc, RegistryError) and exc.transient
                        if transient and attempt < self.retries:
                            attempt += 1
                            if writer.offset <= start:
                                # No progress: give the server a moment. A transfer cut after
                                # progress resumes at once from where it stopped.
                                _backoff(attempt - 1, getattr(exc, 'retry_after', None))
                            continue
                        _note_or_raise(endpoint, exc, failures)
                        break
        raise RegistryError('blob %s of %s: no endpoint left to try' % (digest, ref))

    def _fetch_blob(self, ref, endpoint, scope, writer):
        """One GET of a blob, from writer.offset on (Range), streamed into the writer."""
        headers = {}
        if writer.offset:
            headers['Range'] = 'bytes=%d-' % writer.offset
        what = 'blob %s of %s' % (writer.digest, ref.name)
        response = self._request(endpoint, 'GET', '/v2/%s/blobs/%s' % (ref.path, writer.digest), scope, headers)
        try:
            if response.status == 206:
                match = _CONTENT_RANGE.match(response.header('Content-Range', ''))
                if not match or int(match.group(1)) != writer.offset:
                    writer.reset()
                    raise RegistryError('%s: the server answered our Range request with another range (%s)'
                                        % (what, response.header('Content-Range')), transient=True)
            elif response.status == 200:
                if writer.offset:
                    writer.reset()
            elif response.status == 416:
                writer.reset()
                raise RegistryError('%s: the server refused to resume; starting over' % what, transient=True)
            else:
                self._fail(response, what)
            buffer = bytearray(_CHUNK)
            view = memoryview(buffer)
            while writer.offset < writer.size:
                try:
                    count = response.readinto(view)
                except (OSError, ProtocolError, socket.timeout) as exc:
                    raise RegistryError('%s: transfer interrupted after %d of %d bytes (%s)' % (what, writer.offset, writer.size, exc or type(exc).__name__),
                                        transient=True)
                if not count:
                    raise RegistryError('%s: connection ended after %d of %d bytes' % (what, writer.offset, writer.size), transient=True)
                writer.write(view[:count])
        finally:
            response.close()

    # -- public ----------------------------------------------------------

    def resolve(self, name):
        """The digest a reference currently resolves to at the registry (HEAD, falling back to GET)."""
        ref = references.parse(name)
        self._repository = ref.path
        if ref.digest:
            return ref.digest
        endpoints = self._endpoints(ref)
        try:
            remote = self._head_manifest(ref, endpoints)[0]
        except RegistryError as exc:
            # Some registries and proxies refuse HEAD (405) or answer it oddly; GET tells the same.
            if isinstance(exc, AuthError) or exc.transient:
                raise
            remote = None
        if remote is None:
            remote = self._get_manifest(ref, ref.selector, endpoints)[3]
        return remote

    def is_current(self, name, platform=None):
        """True if the store already holds what `name` resolves to, complete and for the wanted platform.

        Costs one HEAD request for a tag and none for a digest; downloads nothing.
        """
        ref = references.parse(name)
        wanted = platforms.parse(platform) if platform else platforms.host()
        stored = self.store.lookup(str(ref))
        if stored is None or self.store.missing_blobs(stored):
            return False
        resolved = (stored.get('annotations') or {}).get(RESOLVED_DIGEST, stored['digest'])
        if resolved != stored['digest'] and stored.get('platform'):
            try:
                platforms.select([stored], wanted)
            except ImageError:
                return False
        return self.resolve(str(ref)) == resolved

    def pull(self, name, platform=None, force=False):
        """Pull an image into the store; return what happened.

        Returns a dict: changed (False when the store already had this exact image),
        reference, digest (of the platform manifest), resolved_digest (what the
        reference named: an index digest for multi-arch images), media_type, platform,
        downloaded_blobs, downloaded_bytes. `force` re-checks every blob even when
        the reference's digest is unchanged (blobs present are still not downloaded).
        """
        ref = references.parse(name)
        wanted = platforms.parse(platform) if platform else platforms.host()
        self._repository = ref.path
        with self.store.writing():
            if not force and self.is_current(str(ref), wanted):
                entry = self.store.lookup(str(ref))
                return self._result(ref, entry, changed=False, blobs=0, size=0)
            endpoints = self._endpoints(ref)
            data, media_type, doc, digest, endpoint = self._get_manifest(ref, ref.selector, endpoints)
            resolved = digest
            chosen = None
            if mediatypes.is_index(media_type):
                chosen = platforms.select(doc.get('manifests') or [], wanted, what='image index of %s' % ref)
                digest = digests.validate(chosen['digest'], 'manifests[].digest')
                if self.store.has_blob(digest, chosen.get('size')):
                    data = self.store.read_blob(digest)
                    media_type, doc = mediatypes.sniff(data, chosen.get('mediaType'))
                else:
                    data, media_type, doc, digest, endpoint = self._get_manifest(ref, digest, [endpoint] + [e for e in endpoints if e is not endpoint])
                if mediatypes.is_index(media_type):
                    raise UnsupportedImage('%s: the index entry for %s is itself an index; nested indexes are not supported'
                                           % (ref, platforms.format_platform(chosen['platform'])))
            blobs = _image_blobs(ref, doc)
            ordered = [endpoint] + [e for e in endpoints if e is not endpoint]
            downloaded = self._download_all(ref, ordered, blobs)
            self.store.put_bytes(data, digest)
            descriptor = {'mediaType': media_type, 'digest': digest, 'size': len(data)}
            if chosen is not None:
                descriptor['platform'] = _platform_field(chosen['platform'])
            else:
                config = self.store.read_json(doc['config']['digest'])
                descriptor['platform'] = _platform_field(config)
            changed = self.store.tag(ref, descriptor, resolved)
            entry = self.store.lookup(str(ref))
            return self._result(ref, entry, changed=changed or bool(downloaded[0]), blobs=downloaded[0], size=downloaded[1])

    def _download_all(self, ref, endpoints, blobs):
        """Download the blobs the store lacks, `concurrency` at a time; return (count, bytes)."""
        missing = [blob for blob in blobs if not self.store.has_blob(blob['digest'], blob['size'])]
        if not missing:
            return 0, 0
        total = 0
        if len(missing) == 1 or self.concurrency == 1:
            for blob in missing:
                total += self._download(ref, endpoints, blob)
            return len(missing), total
        import concurrent.futures  # only multi-blob pulls need threads; the import costs start-up time
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.concurrency, len(missing))) as pool:
            futures = [pool.submit(self._download, ref, endpoints, blob) for blob in missing]
            error = None
            for future in futures:
                try:
                    total += future.result()
                except Exception as exc:  # the first failure is reported once every download has stopped
                    error = error or exc
            if error is not None:
                raise error
        return len(missing), total

    def _result(self, ref, entry, changed, blobs, size):
        annotations = entry.get('annotations') or {}
        return {
            'changed': changed,
            'reference': str(ref),
            'digest': entry['digest'],
            'resolved_digest': annotations.get(RESOLVED_DIGEST, entry['digest']),
            'media_type': entry.get('mediaType'),
            'platform': entry.get('platform') or {},
            'downloaded_blobs': blobs,
            'downloaded_bytes': size,
        }


def _scope_text(scope):
    """`repository:library/golang:pull` as words: `pull of library/golang`."""
    kind, dummy, rest = scope.partition(':')
    name, dummy, action = rest.rpartition(':')
    return '%s of %s' % (action, name) if kind == 'repository' else scope


def _image_blobs(ref, manifest):
    """The config and layer descriptors of an image manifest, validated, without repeats."""
    config = manifest.get('config')
    if not isinstance(config, dict) or not config.get('digest'):
        raise UnsupportedImage('%s: manifest has no config descriptor' % ref)
    if config.get('mediaType') not in _CONFIG_TYPES:
        raise UnsupportedImage('%s is not a container image (config media type %r): it may be an artifact such as a Helm chart or signature'
                               % (ref, config.get('mediaType')))
    blobs, seen = [], set()
    for position, descriptor in enumerate([config] + list(manifest.get('layers') or [])):
        field = 'config' if position == 0 else 'layers[%d]' % (position - 1)
        if not isinstance(descriptor, dict):
            raise UnsupportedImage('%s: manifest %s is not a descriptor' % (ref, field))
        digests.validate(descriptor.get('digest'), field + '.digest')
        if not isinstance(descriptor.get('size'), int) or descriptor['size'] < 0:
            raise UnsupportedImage('%s: manifest %s has no valid size' % (ref, field))
        if position:
            mediatypes.layer_compression(descriptor.get('mediaType', ''))
        if descriptor['digest'] not in seen:
            seen.add(descriptor['digest'])
            blobs.append(descriptor)
    return blobs


def _platform_field(source):
    """os/architecture/variant (and os.version) of an index entry's platform or an image config."""
    return {key: source[key] for key in ('architecture', 'os', 'os.version', 'variant') if source.get(key)}


def _read_body(response, limit, what):
    try:
        return response.read_limited(limit)
    except (OSError, ProtocolError, socket.timeout) as exc:
        raise RegistryError('%s: transfer interrupted (%s)' % (what, exc or type(exc).__name__), transient=True)


def _drain(response):
    try:
        response.read(_MAX_ERROR_BODY)
    except (OSError, ProtocolError):
        pass
    response.close()


def _retry_after(response):
    try:
        return min(float(response.header('Retry-After', '')), _MAX_RETRY_AFTER)
    except ValueError:
        return None


def _backoff(attempt, retry_after=None):
    time.sleep(retry_after if retry_after is not None else min(0.2 * (2 ** attempt), 4.0))


def pull(store, name, platform=None, force=False, **options):
    """Pull `name` into the store at path `store` (see Registry for the options); return Registry.pull()'s dict."""
    with Registry(store, **options) as registry:
        return registry.pull(name, platform=platform, force=force)


def _note_or_raise(endpoint, exc, failures):
    """After `exc` at `endpoint`: a mirror's failure is noted in `failures` (the next endpoint is tried);
    the registry's own is raised, naming what the mirrors tried first said."""
    if endpoint.mirror:
        failures.append('%s: %s' % (endpoint.host, exc))
        return
    if failures:
        exc.message = '%s (mirrors tried first: %s)' % (exc.message, '; '.join(failures))
        exc.args = (exc.message,)
    raise exc
