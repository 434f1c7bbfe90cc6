# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references: the distribution reference grammar with Docker's normalisation.

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path-component ["/" path-component]*
    domain           := host [":" port-number]
    host             := domain-name | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex

Docker's rules on top: a first component without '.', ':' or upper case that is not
`localhost` is part of the path, not a registry (`golang` and `library/golang` live on
docker.io); `index.docker.io` is `docker.io`; a single-component name on docker.io gets
`library/`; a name with neither tag nor digest gets `:latest`.
"""

import re

from . import digest as digests
from .errors import InvalidDigest, InvalidReference

DEFAULT_DOMAIN = 'docker.io'
LEGACY_DEFAULT_DOMAIN = 'index.docker.io'
OFFICIAL_REPO_PREFIX = 'library/'
DEFAULT_TAG = 'latest'
NAME_TOTAL_LENGTH_MAX = 255

_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN = r'(?:%s(?:\.%s)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?' % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_PATH_COMPONENT = r'[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*'
_TAG = r'[\w][\w.-]{0,127}'
_DIGEST = r'[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'

_REFERENCE = re.compile(r'^((?:%s/)?%s(?:/%s)*)(?::(%s))?(?:@(%s))?$' % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT, _TAG, _DIGEST))
_NAME = re.compile(r'^(?:(%s)/)?(%s(?:/%s)*)$' % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT))
_TAG_ONLY = re.compile(r'^%s$' % _TAG)
_HEX64 = re.compile(r'^[a-f0-9]{64}$')


class Reference(object):
    """A normalised image reference: domain, path, and a tag, a digest, or both."""

    __slots__ = ('domain', 'path', 'tag', 'digest')

    def __init__(self, domain, path, tag=None, digest=None):
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest

    @property
    def name(self):
        """The repository with its registry: `docker.io/library/golang`."""
        return '%s/%s' % (self.domain, self.path)

    @property
    def selector(self):
        """What a registry's manifest endpoint is asked for: the digest if there is one, else the tag."""
        return self.digest or self.tag

    def __str__(self):
        text = self.name
        if self.tag:
            text += ':' + self.tag
        if self.digest:
            text += '@' + self.digest
        return text

    def __repr__(self):
        return 'Reference(%r)' % str(self)

    def __eq__(self, other):
        return isinstance(other, Reference) and str(self) == str(other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(str(self))

    def familiar(self):
        """The short form Docker prints: `golang:1.22`, `someone/app`, `ghcr.io/o/r@sha256:...`."""
        text = self.name
        if self.domain == DEFAULT_DOMAIN:
            text = self.path[len(OFFICIAL_REPO_PREFIX):] if self.path.startswith(OFFICIAL_REPO_PREFIX) and self.path.count('/') == 1 else self.path
        if self.tag:
            text += ':' + self.tag
        if self.digest:
            text += '@' + self.digest
        return text

    def with_digest(self, digest):
        """The same repository pinned to a digest (the tag is kept for the record)."""
        return Reference(self.domain, self.path, self.tag, digest)


def _split_docker_domain(name):
    """Split a name into (domain, remainder) by Docker's rules."""
    slash = name.find('/')
    first = name[:slash]
    if slash == -1 or ('.' not in first and ':' not in first and first != 'localhost' and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[slash + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and '/' not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse(text, default_tag=True, field='name'):
    """Parse and normalise an image reference.

    `golang` becomes docker.io/library/golang:latest, `localhost:5000/x` keeps its
    registry, `ghcr.io/o/r@sha256:...` is pinned to a digest. With default_tag, a
    reference without tag or digest gets `latest`. Raises InvalidReference with the
    reason and, where there is one, the fix.
    """
    if not isinstance(text, str) or not text:
        raise InvalidReference(text, 'an image reference cannot be empty', field)
    if text != text.strip():
        raise InvalidReference(text, 'remove the surrounding white space', field)
    if _HEX64.match(text):
        raise InvalidReference(text, 'a 64-character hexadecimal string is an image ID, not a reference: use sha256:<id> as a digest', field)
    if '://' in text:
        raise InvalidReference(text, 'a reference has no URL scheme: write registry.example.com/repo:tag', field)
    domain, remainder = _split_docker_domain(text)
    repository = remainder.split('@', 1)[0]
    colon = repository.rfind(':')
    if colon > repository.rfind('/'):
        repository = repository[:colon]
    if repository.lower() != repository:
        raise InvalidReference(text, 'repository name %r must be lower case' % repository, field)
    match = _REFERENCE.match('%s/%s' % (domain, remainder))
    if not match:
        raise InvalidReference(text, _explain(text), field)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(text, 'repository name must not be longer than %d characters' % NAME_TOTAL_LENGTH_MAX, field)
    if digest is not None:
        try:
            digests.validate(digest)
        except InvalidDigest as exc:
            raise InvalidReference(text, exc.reason, field)
    name_match = _NAME.match(name)
    domain, path = name_match.group(1), name_match.group(2)
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def _explain(text):
    """Name the part of a reference that breaks the grammar."""
    rest = text
    if '@' in rest:
        rest, digest = rest.split('@', 1)
        if not re.match(r'^%s$' % _DIGEST, digest):
            return 'the digest after "@" must look like sha256:<hex>'
    slash = rest.rfind('/')
    colon = rest.rfind(':')
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_ONLY.match(tag):
            return 'tag %r may only hold letters, digits, "_", "." and "-", must not start with "." or "-", at most 128 characters' % tag
    components = rest.split('/')
    for index, component in enumerate(components):
        if index == 0 and len(components) > 1 and re.match(r'^%s$' % _DOMAIN, component):
            continue
        if not re.match(r'^%s$' % _PATH_COMPONENT, component):
            return 'path component %r must be lower-case letters and digits, separated by ".", "_", "__" or "-"' % component
    return 'invalid reference format'


def is_tag(text):
    """True if text is a valid tag on its own."""
    return bool(_TAG_ONLY.match(text or ''))
