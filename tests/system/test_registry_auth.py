# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulls that need trust or credentials: TLS with the test's CA, htpasswd Basic auth, Bearer tokens."""

import base64
import json
import os

import pytest

from registry_fixtures import (basic_registry, certs, registry_workdir, store_dir, test_images, tls_registry,  # noqa: F401 pylint: disable=unused-import
                               token_registry)

from ansible_collections.runcible.oci.plugins.module_utils.image import errors, registry, store as stores


def _auth_file(tmp_path, host, username, password, style='auth'):
    if style == 'auth':
        entry = {'auth': base64.b64encode(('%s:%s' % (username, password)).encode()).decode()}
    else:
        entry = {'username': username, 'password': password}
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'auths': {host: entry}}))
    return str(path)


# -- TLS -------------------------------------------------------------------------

def test_tls_with_the_custom_ca(tls_registry, test_images, store_dir):
    result = registry.pull(store_dir, '%s/busybox:1' % tls_registry.host, ca_file=tls_registry.certs.ca_cert)
    assert result['digest'] == test_images['busybox:1']['digest']


def test_tls_without_the_ca_is_refused_and_says_why(tls_registry, store_dir):
    with pytest.raises(errors.RegistryError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % tls_registry.host, search_default_auth_files=False)
    message = str(caught.value)
    assert 'not trusted' in message and 'ca_file' in message
    assert stores.Store(store_dir).lookup('%s/busybox:1' % tls_registry.host) is None


def test_tls_with_another_ca_is_refused(tls_registry, store_dir, tmp_path):
    from registry_fixtures import Certificates
    other = Certificates(str(tmp_path / 'other'))
    with pytest.raises(errors.RegistryError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % tls_registry.host, ca_file=other.ca_cert)
    assert 'not trusted' in str(caught.value)


def test_insecure_skips_verification_of_a_tls_registry(tls_registry, test_images, store_dir):
    result = registry.pull(store_dir, '%s/busybox:1' % tls_registry.host, insecure=True)
    assert result['digest'] == test_images['busybox:1']['digest']


# -- Basic auth ----------------------------------------------------------------------

def test_basic_auth_with_parameters(basic_registry, test_images, store_dir):
    user, password = basic_registry.creds
    result = registry.pull(store_dir, '%s/busybox:1' % basic_registry.host, insecure=True, username=user, password=password)
    assert result['digest'] == test_images['busybox:1']['digest']


@pytest.mark.parametrize('style', ['auth', 'username'])
def test_basic_auth_from_an_auth_file(basic_registry, test_images, store_dir, tmp_path, style):
    auth_file = _auth_file(tmp_path, basic_registry.host, *basic_registry.creds, style=style)
    result = registry.pull(store_dir, '%s/busybox:1' % basic_registry.host, insecure=True, auth_file=auth_file)
    assert result['digest'] == test_images['busybox:1']['digest']


def test_basic_auth_without_credentials_asks_for_them(basic_registry, store_dir):
    with pytest.raises(errors.AuthError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % basic_registry.host, insecure=True, search_default_auth_files=False)
    assert 'username and password' in str(caught.value)


def test_basic_auth_with_a_wrong_password_fails_clearly(basic_registry, store_dir):
    with pytest.raises(errors.AuthError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % basic_registry.host, insecure=True, username='alice', password='queen')
    assert 'refused' in str(caught.value)


def test_credential_helper_is_refused_clearly(basic_registry, store_dir, tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {}, 'credHelpers': {basic_registry.host: 'secretservice'}}))
    with pytest.raises(errors.AuthError) as caught:
        registry.pull(store_dir, '%s/busybox:1' % basic_registry.host, insecure=True, auth_file=str(path))
    assert 'secretservice' in str(caught.value) and 'not supported' in str(caught.value)


# -- Bearer tokens ---------------------------------------------------------------------

def _pull_token(token_registry, store_dir, name, **options):
    return registry.pull(store_dir, '%s/%s' % (token_registry.host, name), ca_file=token_registry.certs.ca_cert,
                         search_default_auth_files=False, **options)


def test_bearer_token_anonymous_for_a_public_repository(token_registry, test_images, store_dir):
    before = len(token_registry.tokens.requests)
    result = _pull_token(token_registry, store_dir, 'public/busybox:1')
    assert result['digest'] == test_images['busybox:1']['digest']
    asked = token_registry.tokens.requests[before:]
    # One token for the whole pull (manifest and every blob), asked anonymously for our scope.
    assert len(asked) == 1
    assert asked[0]['account'] is None
    assert asked[0]['scopes'] == ['repository:public/busybox:pull']
    assert asked[0]['service'] == ['runcible-test-registry']


def test_bearer_token_with_credentials_for_a_private_repository(token_registry, test_images, store_dir):
    user, password = token_registry.creds
    before = len(token_registry.tokens.requests)
    result = _pull_token(token_registry, store_dir, 'private/busybox:1', username=user, password=password)
    assert result['digest'] == test_images['busybox:1']['digest']
    asked = token_registry.tokens.requests[before:]
    assert [request['account'] for request in asked] == ['bob']


def test_bearer_token_credentials_from_an_auth_file(token_registry, test_images, store_dir, tmp_path):
    auth_file = _auth_file(tmp_path, token_registry.host, *token_registry.creds)
    result = _pull_token(token_registry, store_dir, 'private/busybox:1', auth_file=auth_file)
    assert result['digest'] == test_images['busybox:1']['digest']


def test_bearer_token_private_repository_refuses_anonymous(token_registry, store_dir):
    with pytest.raises(errors.AuthError) as caught:
        _pull_token(token_registry, store_dir, 'private/busybox:1')
    assert 'private/busybox' in str(caught.value)


def test_bearer_token_server_refuses_a_wrong_password(token_registry, store_dir):
    with pytest.raises(errors.AuthError) as caught:
        _pull_token(token_registry, store_dir, 'private/busybox:1', username='bob', password='wrong')
    assert 'token server' in str(caught.value) and 'refused' in str(caught.value)


def test_unchanged_tag_with_tokens_still_one_head(token_registry, store_dir):
    first = _pull_token(token_registry, store_dir, 'public/busybox:1')
    second = _pull_token(token_registry, store_dir, 'public/busybox:1')
    assert first['changed'] is True and second['changed'] is False
    assert second['downloaded_blobs'] == 0


def test_concurrent_downloads_share_one_token(token_registry, store_dir):
    before = len(token_registry.tokens.requests)
    _pull_token(token_registry, store_dir, 'public/busybox:1', concurrency=4)
    assert len(token_registry.tokens.requests) - before == 1
    assert os.path.isfile(os.path.join(store_dir, 'index.json'))
