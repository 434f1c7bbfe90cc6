# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WWW-Authenticate parsing and where credentials come from."""

import base64
import json

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import auth
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import AuthError


@pytest.mark.parametrize('header, expected', [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/golang:pull"',
     [('bearer', {'realm': 'https://auth.docker.io/token', 'service': 'registry.docker.io', 'scope': 'repository:library/golang:pull'})]),
    ('Basic realm="Registry Realm"', [('basic', {'realm': 'Registry Realm'})]),
    ('basic realm=plain, Bearer realm="https://t/x", service=svc',
     [('basic', {'realm': 'plain'}), ('bearer', {'realm': 'https://t/x', 'service': 'svc'})]),
    ('Bearer realm="a\\"b",scope="repository:x:pull repository:y:pull"',
     [('bearer', {'realm': 'a"b', 'scope': 'repository:x:pull repository:y:pull'})]),
    ('Bearer   realm = "x" ,  error="insufficient_scope"', [('bearer', {'realm': 'x', 'error': 'insufficient_scope'})]),
    ('', []),
])
def test_parse_challenges(header, expected):
    assert auth.parse_challenges(header) == expected


def _write(tmp_path, doc, name='auth.json'):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def test_auth_file_keys_are_normalised(tmp_path):
    path = _write(tmp_path, {'auths': {
        'https://index.docker.io/v1/': {'auth': _b64('hubuser:hubpass')},
        'http://registry.example.com:5000/v2/': {'auth': _b64('ex:pw:with:colons')},
        'quay.io': {'username': 'q', 'password': 'p'},
    }})
    store = auth.CredentialStore(auth_file=path)
    hub = store.lookup('docker.io')
    assert (hub.username, hub.password, hub.source) == ('hubuser', 'hubpass', path)
    assert store.lookup('registry-1.docker.io').username == 'hubuser'
    example = store.lookup('registry.example.com:5000')
    assert (example.username, example.password) == ('ex', 'pw:with:colons')
    assert store.lookup('quay.io').password == 'p'
    assert store.lookup('ghcr.io') is None


def test_per_repository_keys_win_over_the_registry(tmp_path):
    path = _write(tmp_path, {'auths': {'quay.io': {'auth': _b64('all:a')}, 'quay.io/team': {'auth': _b64('team:t')},
                                       'quay.io/team/app': {'auth': _b64('app:x')}}})
    store = auth.CredentialStore(auth_file=path)
    assert store.lookup('quay.io', 'team/app').username == 'app'
    assert store.lookup('quay.io', 'team/other').username == 'team'
    assert store.lookup('quay.io', 'elsewhere/x').username == 'all'


def test_explicit_credentials_apply_to_the_origin_only(tmp_path):
    path = _write(tmp_path, {'auths': {'mirror.local': {'auth': _b64('m:m')}}})
    store = auth.CredentialStore('me', 'secret', auth_file=path)
    assert store.lookup('ghcr.io').username == 'me'
    assert store.lookup('mirror.local', explicit=False).username == 'm'
    assert store.lookup('ghcr.io', explicit=False) is None


def test_username_without_password_is_refused():
    with pytest.raises(AuthError):
        auth.CredentialStore('me', None, search_defaults=False)


def test_credential_helpers_are_refused_when_needed(tmp_path):
    path = _write(tmp_path, {'auths': {'ok.example': {'auth': _b64('a:b')}, 'desk.example': {}},
                             'credHelpers': {'gcr.io': 'gcloud'}, 'credsStore': 'desktop'})
    store = auth.CredentialStore(auth_file=path)
    assert store.lookup('ok.example').username == 'a'
    with pytest.raises(AuthError) as caught:
        store.lookup('gcr.io')
    assert 'gcloud' in str(caught.value)
    with pytest.raises(AuthError) as caught:
        store.lookup('desk.example')
    assert 'desktop' in str(caught.value)
    # A registry the file knows nothing about is anonymous, not an error.
    assert store.lookup('public.example') is None


@pytest.mark.parametrize('doc, words', [
    ({'auths': {'r': {'auth': '!!!'}}}, 'base64'),
    ({'auths': {'r': {'auth': _b64('nocolon')}}}, 'user:password'),
    ({'auths': {'r': 'string'}}, 'object'),
])
def test_broken_entries_say_what_is_wrong(tmp_path, doc, words):
    store = auth.CredentialStore(auth_file=_write(tmp_path, doc))
    with pytest.raises(AuthError) as caught:
        store.lookup('r')
    assert words in str(caught.value)


def test_missing_or_broken_auth_file(tmp_path):
    with pytest.raises(AuthError) as caught:
        auth.CredentialStore(auth_file=str(tmp_path / 'nope.json'))
    assert 'does not exist' in str(caught.value)
    (tmp_path / 'bad.json').write_text('{not json')
    with pytest.raises(AuthError) as caught:
        auth.CredentialStore(auth_file=str(tmp_path / 'bad.json'))
    assert 'JSON' in str(caught.value)


def test_default_files_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'first.json'))
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'docker'))
    monkeypatch.delenv('XDG_RUNTIME_DIR', raising=False)
    files = auth.default_auth_files()
    assert files[0] == str(tmp_path / 'first.json')
    assert files[-1] == str(tmp_path / 'docker' / 'config.json')
    (tmp_path / 'docker').mkdir()
    _write(tmp_path / 'docker', {'auths': {'r.example': {'auth': _b64('d:d')}}}, 'config.json')
    assert auth.CredentialStore().lookup('r.example').username == 'd'


def test_basic_header():
    assert auth.Credentials('a', 'b').basic() == 'Basic ' + _b64('a:b')
