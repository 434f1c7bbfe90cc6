# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platform names and choosing a manifest out of an index."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.image import platform
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import ConfigError, PlatformNotFound


def _entry(name, arch, variant=None, os_name='linux', annotations=None):
    entry = {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': name, 'size': 1,
             'platform': {'os': os_name, 'architecture': arch}}
    if variant:
        entry['platform']['variant'] = variant
    if annotations:
        entry['annotations'] = annotations
    return entry


@pytest.mark.parametrize('given, expected', [
    ({'architecture': 'x86_64'}, ('linux', 'amd64', '')),
    ({'architecture': 'aarch64'}, ('linux', 'arm64', 'v8')),
    ({'architecture': 'arm64', 'variant': '8'}, ('linux', 'arm64', 'v8')),
    ({'architecture': 'armv7l'}, ('linux', 'arm', 'v7')),
    ({'architecture': 'armv6l'}, ('linux', 'arm', 'v6')),
    ({'architecture': 'arm'}, ('linux', 'arm', 'v7')),
    ({'architecture': 'armel'}, ('linux', 'arm', 'v6')),
    ({'architecture': 'i686'}, ('linux', '386', '')),
    ({'os': 'Linux', 'architecture': 'ppc64el'}, ('linux', 'ppc64le', '')),
])
def test_normalize(given, expected):
    result = platform.normalize(given)
    assert (result['os'], result['architecture'], result['variant']) == expected


def test_parse():
    assert platform.parse('linux/arm64') == {'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}
    assert platform.parse('linux/arm/v6') == {'os': 'linux', 'architecture': 'arm', 'variant': 'v6'}
    assert platform.parse('amd64') == {'os': 'linux', 'architecture': 'amd64', 'variant': ''}
    for bad in ('', 'linux/', 'a/b/c/d', '/amd64'):
        with pytest.raises(ConfigError):
            platform.parse(bad)


def test_host_is_normalised():
    host = platform.host()
    assert host['os'] == 'linux' and host['architecture'] in ('amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64')


def test_select_exact_and_skip_attestations():
    attestation = _entry('att', 'unknown', os_name='unknown', annotations={'vnd.docker.reference.type': 'attestation-manifest'})
    amd = _entry('amd', 'amd64')
    arm64 = _entry('arm64', 'arm64', 'v8')
    assert platform.select([attestation, arm64, amd], {'architecture': 'amd64'})['digest'] == 'amd'
    assert platform.select([attestation, arm64, amd], platform.parse('linux/arm64'))['digest'] == 'arm64'


def test_arm64_without_variant_in_the_index_matches_v8():
    assert platform.select([_entry('a', 'arm64')], platform.parse('linux/arm64/v8'))['digest'] == 'a'


def test_arm_falls_back_to_older_variants_only():
    entries = [_entry('v5', 'arm', 'v5'), _entry('v6', 'arm', 'v6'), _entry('v8', 'arm', 'v8')]
    assert platform.select(entries, platform.parse('linux/arm/v7'))['digest'] == 'v6'
    assert platform.select(entries, platform.parse('linux/arm/v6'))['digest'] == 'v6'
    with pytest.raises(PlatformNotFound):
        platform.select([_entry('v8', 'arm', 'v8')], platform.parse('linux/arm/v7'))


def test_first_of_equal_entries_wins():
    assert platform.select([_entry('one', 'amd64'), _entry('two', 'amd64')], platform.parse('linux/amd64'))['digest'] == 'one'


def test_amd64_level_variant_falls_back_to_baseline():
    entries = [_entry('base', 'amd64'), _entry('v3', 'amd64', 'v3')]
    assert platform.select(entries, platform.parse('linux/amd64/v3'))['digest'] == 'v3'
    assert platform.select(entries, platform.parse('linux/amd64/v2'))['digest'] == 'base'
    assert platform.select(entries, platform.parse('linux/amd64'))['digest'] == 'base'


def test_no_match_lists_what_is_offered():
    attestation = _entry('att', 'unknown', os_name='unknown')
    with pytest.raises(PlatformNotFound) as caught:
        platform.select([attestation, _entry('a', 'arm64', 'v8'), _entry('w', 'amd64', os_name='windows')], platform.parse('linux/amd64'))
    message = str(caught.value)
    assert 'linux/amd64' in message and 'linux/arm64/v8' in message and 'windows/amd64' in message and 'unknown' not in message


def test_entries_without_platform_are_not_chosen():
    entry = _entry('x', 'amd64')
    del entry['platform']
    with pytest.raises(PlatformNotFound):
        platform.select([entry], platform.parse('linux/amd64'))
