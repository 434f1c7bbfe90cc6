# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reference parsing and normalisation, case by case as Docker and distribution do it."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.image import reference
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import InvalidReference

DIGEST = 'sha256:' + 'a' * 64


@pytest.mark.parametrize('text, normalised', [
    ('golang', 'docker.io/library/golang:latest'),
    ('golang:1.22', 'docker.io/library/golang:1.22'),
    ('library/golang', 'docker.io/library/golang:latest'),
    ('docker.io/golang', 'docker.io/library/golang:latest'),
    ('index.docker.io/golang:1', 'docker.io/library/golang:1'),
    ('someone/app', 'docker.io/someone/app:latest'),
    ('someone/team/app:v1', 'docker.io/someone/team/app:v1'),
    ('ghcr.io/o/r@' + DIGEST, 'ghcr.io/o/r@' + DIGEST),
    ('ghcr.io/o/r:tag@' + DIGEST, 'ghcr.io/o/r:tag@' + DIGEST),
    ('localhost/x', 'localhost/x:latest'),
    ('localhost:5000/x', 'localhost:5000/x:latest'),
    ('127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'),
    ('Registry.Example.COM/app', 'Registry.Example.COM/app:latest'),
    ('[::1]:5000/app', '[::1]:5000/app:latest'),
    ('quay.io/a--b/c__d.e-f:1.0_rc', 'quay.io/a--b/c__d.e-f:1.0_rc'),
    ('golang@' + DIGEST, 'docker.io/library/golang@' + DIGEST),
    # An uppercase first component is a registry, not a namespace (Docker's rule).
    ('Foo/bar', 'Foo/bar:latest'),
])
def test_normalisation(text, normalised):
    assert str(reference.parse(text)) == normalised


def test_parts():
    ref = reference.parse('ghcr.io/o/r:1@' + DIGEST)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ('ghcr.io', 'o/r', '1', DIGEST)
    assert ref.name == 'ghcr.io/o/r'
    assert ref.selector == DIGEST
    assert reference.parse('golang').selector == 'latest'


@pytest.mark.parametrize('text, familiar', [
    ('golang', 'golang:latest'), ('docker.io/library/golang:1', 'golang:1'), ('someone/app', 'someone/app:latest'),
    ('ghcr.io/o/r', 'ghcr.io/o/r:latest'), ('docker.io/library/a/b', 'library/a/b:latest'),
])
def test_familiar(text, familiar):
    assert reference.parse(text).familiar() == familiar


def test_no_default_tag():
    ref = reference.parse('golang', default_tag=False)
    assert ref.tag is None and str(ref) == 'docker.io/library/golang'


@pytest.mark.parametrize('text, reason', [
    ('', 'empty'),
    ('Golang', 'lower case'),
    ('docker.io/Library/golang', 'lower case'),
    ('a' * 64, 'image ID'),
    ('https://ghcr.io/o/r', 'URL scheme'),
    (' golang', 'white space'),
    ('golang:', 'invalid'),
    ('golang:-x', 'tag'),
    ('golang:' + 'x' * 129, 'tag'),
    ('golang@sha256:abc', 'digest'),
    ('golang@sha256:' + 'A' * 64, 'lower-case hex'),
    ('golang@md5:' + 'a' * 32, 'unsupported algorithm'),
    ('ghcr.io/o//r', 'path component'),
    ('ghcr.io/o/-r', 'path component'),
    ('ghcr.io/o/r_', 'path component'),
    ('ghcr.io/' + 'a' * 250 + '/b', '255'),
])
def test_invalid(text, reason):
    with pytest.raises(InvalidReference) as caught:
        reference.parse(text)
    assert reason in str(caught.value)
    assert caught.value.field == 'name'


def test_error_names_the_field():
    with pytest.raises(InvalidReference) as caught:
        reference.parse('UPPER', field='image')
    assert caught.value.field == 'image'
    assert str(caught.value).startswith('image: ')


_COMPONENT = st.from_regex(r'\A[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+){0,2}\Z')
_TAG = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z')


@given(domain=st.sampled_from(['', 'ghcr.io/', 'localhost:5000/', 'r.example.com/']), path=st.lists(_COMPONENT, min_size=1, max_size=3),
       tag=st.one_of(st.none(), _TAG))
def test_normalised_text_parses_to_itself(domain, path, tag):
    text = domain + '/'.join(path) + (':' + tag if tag else '')
    once = reference.parse(text)
    assert reference.parse(str(once)) == once
    assert reference.parse(once.familiar()) == once
