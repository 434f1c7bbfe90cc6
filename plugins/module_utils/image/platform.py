# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platforms (os/architecture/variant) and picking a manifest for one out of an index.

Names are normalised the way containerd and Docker do (x86_64 is amd64, aarch64 is
arm64 whose default variant is v8, arm without a variant is v7), so that
`uname -m` of the host, a user's `linux/arm64` and an index entry compare equal.
"""

import os

from .errors import ConfigError, PlatformNotFound
from .mediatypes import DOCKER_REFERENCE_TYPE

_ARCH_ALIASES = {
    'x86_64': 'amd64', 'x86-64': 'amd64', 'amd64': 'amd64',
    'aarch64': 'arm64', 'arm64': 'arm64',
    'i386': '386', 'i486': '386', 'i586': '386', 'i686': '386', '386': '386',
    'armhf': 'arm', 'armel': 'arm', 'arm': 'arm',
    'ppc64le': 'ppc64le', 'ppc64el': 'ppc64le', 's390x': 's390x', 'riscv64': 'riscv64',
    'mips64le': 'mips64le', 'loong64': 'loong64', 'loongarch64': 'loong64',
}
# Architectures whose uname -m already names the variant.
_ARM_MACHINES = {'armv5l': 'v5', 'armv5tel': 'v5', 'armv6l': 'v6', 'armv7l': 'v7', 'armv8l': 'v8'}
_ATTESTATION = 'attestation-manifest'


def normalize(platform):
    """Return {'os', 'architecture', 'variant'} with canonical names (variant may be '')."""
    system = (platform.get('os') or 'linux').lower()
    machine = (platform.get('architecture') or '').lower()
    variant = (platform.get('variant') or '').lower()
    if machine in _ARM_MACHINES:
        variant = variant or _ARM_MACHINES[machine]
        machine = 'arm'
    machine = _ARCH_ALIASES.get(machine, machine)
    if machine == 'arm64' and variant in ('', '8', 'v8'):
        variant = 'v8'
    elif machine == 'arm':
        if platform.get('architecture', '').lower() == 'armel' and not variant:
            variant = 'v6'
        variant = variant or 'v7'
        if not variant.startswith('v'):
            variant = 'v' + variant
    elif machine == 'amd64' and variant == 'v1':
        variant = ''
    return {'os': system, 'architecture': machine, 'variant': variant}


def host():
    """The host's platform, normalised."""
    return normalize({'os': os.uname().sysname, 'architecture': os.uname().machine})


def parse(text, field='platform'):
    """Parse `os/architecture[/variant]` (or just `architecture`) into a normalised platform."""
    if isinstance(text, dict):
        return normalize(text)
    parts = (text or '').strip().split('/')
    if not text or len(parts) > 3 or not all(parts):
        raise ConfigError(field, 'platform %r must look like linux/amd64 or linux/arm64/v8' % (text,))
    if len(parts) == 1:
        return normalize({'os': 'linux', 'architecture': parts[0]})
    return normalize({'os': parts[0], 'architecture': parts[1], 'variant': parts[2] if len(parts) == 3 else ''})


def format_platform(platform):
    """`os/architecture[/variant]` of a platform dict."""
    text = '%s/%s' % (platform.get('os', ''), platform.get('architecture', ''))
    if platform.get('variant'):
        text += '/' + platform['variant']
    return text


def as_descriptor_field(platform):
    """The platform as an OCI descriptor's `platform` object (no empty variant)."""
    result = {'os': platform['os'], 'architecture': platform['architecture']}
    if platform.get('variant'):
        result['variant'] = platform['variant']
    return result


def _is_selectable(descriptor):
    """False for attestation manifests and entries whose platform is unknown/absent."""
    annotations = descriptor.get('annotations') or {}
    if annotations.get(DOCKER_REFERENCE_TYPE) == _ATTESTATION:
        return False
    entry = descriptor.get('platform')
    if not entry:
        return False
    return entry.get('os') not in (None, '', 'unknown') and entry.get('architecture') not in (None, '', 'unknown')


def _variant_rank(wanted, offered):
    """How well an offered variant serves a wanted one: 0 is exact, higher is a worse fallback, None is no match."""
    if wanted['variant'] == offered['variant']:
        return 0
    if wanted['architecture'] == 'arm' and offered['variant'][1:].isdigit() and wanted['variant'][1:].isdigit():
        gap = int(wanted['variant'][1:]) - int(offered['variant'][1:])
        # A v7 CPU runs v6 and v5 code, never the other way round.
        return gap if gap > 0 else None
    if wanted['architecture'] == 'amd64' and offered['variant'] == '':
        # Baseline amd64 code runs on every amd64 CPU, whatever level it is.
        return 1
    return None


def select(descriptors, wanted, what='image index'):
    """Pick the descriptor of an index's `manifests` that best fits the wanted platform.

    Attestation manifests and unknown platforms are never chosen. Among the entries
    for the wanted os and architecture, an exact variant wins, then the closest
    compatible one (an arm v7 host takes v6 before v5); ties go to the first entry,
    as registries list the preferred one first. Raises PlatformNotFound naming what
    the index offers.
    """
    wanted = normalize(wanted)
    best, best_rank = None, None
    offered = []
    for descriptor in descriptors:
        if not _is_selectable(descriptor):
            continue
        entry = normalize(descriptor['platform'])
        offered.append(format_platform(entry))
        if entry['os'] != wanted['os'] or entry['architecture'] != wanted['architecture']:
            continue
        rank = _variant_rank(wanted, entry)
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = descriptor, rank
    if best is None:
        raise PlatformNotFound('%s has no image for platform %s; it offers: %s'
                               % (what, format_platform(wanted), ', '.join(offered) or 'no runnable platforms'))
    return best
