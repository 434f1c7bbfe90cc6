# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate a bundle's config.json: runc's defaults, then the image config, then the user's options.

`generate_config(image_config, rootfs, options)` builds, in this order:
1. runc's default spec (`runc spec`: capabilities, mounts, masked and
   read-only paths, RLIMIT_NOFILE 1024, noNewPrivileges), with two changes
   for services: process.terminal false (a detached container has no
   terminal) and root.readonly false (images expect to write);
2. the image config, converted as the image-spec's conversion.md says:
   Entrypoint + Cmd as args, Env over the default env, WorkingDir as cwd,
   User resolved through the rootfs's /etc/passwd and /etc/group (with HOME
   from the user's entry unless the image sets HOME), Labels and the
   implicit fields (os, architecture, author, created, StopSignal,
   ExposedPorts) as annotations, Volumes as mounts;
3. the options: the spec's fields in snake_case at the spec's nesting
   (spec_names.py), merged as merge.py says;
4. `options['config']`, a raw config.json fragment, deep-merged last.

It does not validate: call validate.validate_config (or check_config) on
the result, as on any config.json.
"""

import copy
import hashlib
import re

from ..runtime.errors import ConfigError
from ..runtime.spec.default import default_spec
from .merge import REMOVED, deep_merge, merge_options
from .spec_names import linux_keys, to_spec
from .users import UserDatabase, resolve_user

ANNOTATION = 'org.opencontainers.image.'
VOLUME_MODES = ('bind', 'tmpfs', 'ignore')
# What a bind mount of a host directory gets when only source and destination are given.
DEFAULT_BIND_OPTIONS = ['rbind']
_TOP_LEVEL = ('oci_version', 'ociVersion', 'root', 'mounts', 'process', 'hostname', 'domainname', 'hooks',
              'annotations', 'linux')
_SIZE = re.compile(r'^\s*([0-9]+)\s*([kmgt]?)i?b?\s*$', re.IGNORECASE)
_SIZE_UNITS = {'': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
_MEMORY_FIELDS = ('limit', 'reservation', 'swap', 'kernel', 'kernelTCP')


def base_spec():
    """runc's default spec with the two service defaults (terminal false, writable root)."""
    spec = default_spec()
    spec['process']['terminal'] = False
    spec['root']['readonly'] = False
    return spec


def volume_source(destination):
    """The bundle-relative directory that holds the image volume at `destination`."""
    words = re.sub(r'[^A-Za-z0-9_.-]+', '_', destination.strip('/')) or 'root'
    return 'volumes/%s-%s' % (words[:64], hashlib.sha256(destination.encode()).hexdigest()[:8])


def generate_config(image_config=None, rootfs=None, options=None):
    """The config.json (a dict) for an image config, its unpacked rootfs and the user's options.

    `image_config` is the image's config blob (with "config", "os", ...) or
    None for a rootfs with no image; `rootfs` the unpacked root filesystem
    (for user and group names; None resolves numbers only); `options` the
    snake_case options (see spec_names.py), plus `config` (raw fragment,
    merged last) and `image_volumes` ('bind', 'tmpfs' or 'ignore').
    Raises ConfigError naming the option at fault.
    """
    options = dict(options or {})
    raw = options.pop('config', None)
    volume_mode = options.pop('image_volumes', None) or 'bind'
    if volume_mode not in VOLUME_MODES:
        raise ConfigError('image_volumes', 'must be one of %s, not %r' % (', '.join(VOLUME_MODES), volume_mode))
    wanted = _normalize(to_spec(_lift_linux(options)))
    image = (image_config or {}).get('config') or {}
    _check_os(image_config)

    spec = base_spec()
    process = spec['process']
    database = UserDatabase(rootfs) if rootfs is not None else None
    wanted_process = wanted.get('process') or {}
    user = _user(wanted_process.pop('user', None), image.get('User'), rootfs, database)
    process['user'] = user['spec']

    image_env = [e for e in image.get('Env') or [] if isinstance(e, str)]
    process['env'] = merge_options({'env': list(process['env'])}, {'env': image_env}, ('process',))['env']
    if not any(e.partition('=')[0] == 'HOME' for e in image_env):
        process['env'] = merge_options({'env': process['env']}, {'env': ['HOME=' + user['home']]}, ('process',))['env']
    args = list(image.get('Entrypoint') or []) + list(image.get('Cmd') or [])
    if args:
        process['args'] = args
    if image.get('WorkingDir'):
        process['cwd'] = image['WorkingDir']
    annotations = _image_annotations(image_config or {}, image)
    if annotations:
        spec['annotations'] = annotations
    spec['mounts'].extend(_volume_mounts(image.get('Volumes'), volume_mode))

    merge_options(spec, wanted)
    if raw is not None:
        if not isinstance(raw, dict):
            raise ConfigError('config', 'must be a config.json fragment (an object), not %s' % type(raw).__name__)
        deep_merge(spec, raw)
    return spec


def _check_os(image_config):
    found = (image_config or {}).get('os')
    if found not in (None, '', 'linux'):
        raise ConfigError('image', 'the image is built for %s, not linux' % found)


def _lift_linux(options):
    """Options may give linux.* fields at the top level (resources, namespaces, ...): move them under linux."""
    lifted = {}
    linux = dict(options.get('linux') or {})
    names = linux_keys()
    for key, value in options.items():
        if key in _TOP_LEVEL or (key not in names and key not in names.values()):
            lifted[key] = value
            continue
        if value is None:
            continue
        if linux.get(key) is not None:
            raise ConfigError(key, 'given both at the top level and under linux: keep one')
        linux[key] = value
    if linux:
        lifted['linux'] = linux
    return lifted


def _user(wanted, image_user, rootfs, database):
    """{'spec': process.user, 'home': HOME} from the options' user (dict or string) or the image's User."""
    extra = {}
    if isinstance(wanted, dict):
        extra = {k: v for k, v in wanted.items() if v is not None}
        if 'uid' in extra or 'gid' in extra:
            uid = extra.get('uid', 0)
            entry = database.user_by_uid(uid) if database else None
            gid = extra['gid'] if 'gid' in extra else (entry[2] if entry else 0)
            found = {'uid': uid, 'gid': gid}
            for key in ('umask', 'additionalGids', 'username'):
                if key in extra:
                    found[key] = extra[key]
            return {'spec': found, 'home': entry[3] if entry and entry[3] else '/'}
        spec_string, field = image_user, 'image config User'
    elif isinstance(wanted, (str, int)):
        spec_string, field = str(wanted), 'process.user'
    else:
        spec_string, field = image_user, 'image config User'
    resolved = resolve_user(spec_string, rootfs, field=field, database=database)
    found = {'uid': resolved.uid, 'gid': resolved.gid}
    if resolved.additional_gids:
        found['additionalGids'] = resolved.additional_gids
    found.update(extra)
    return {'spec': found, 'home': resolved.home}


def _image_annotations(image_config, image):
    """Annotations from the image: the implicit ones first, then Labels, which win (conversion.md)."""
    found = {}
    platform = image_config.get('platform') or {}
    for key, field in (('os', 'os'), ('architecture', 'architecture'), ('variant', 'variant'),
                       ('os.version', 'os.version'), ('author', 'author'), ('created', 'created')):
        value = image_config.get(field) or platform.get(field)
        if isinstance(value, str) and value:
            found[ANNOTATION + key] = value
    features = image_config.get('os.features')
    if isinstance(features, list) and features:
        found[ANNOTATION + 'os.features'] = ','.join(str(f) for f in features)
    if image.get('StopSignal'):
        found[ANNOTATION + 'stopSignal'] = str(image['StopSignal'])
    ports = image.get('ExposedPorts')
    if isinstance(ports, dict) and ports:
        found[ANNOTATION + 'exposedPorts'] = ','.join(sorted(ports))
    for key, value in (image.get('Labels') or {}).items():
        if isinstance(value, str):
            found[key] = value
    return found


def _volume_mounts(volumes, mode):
    if mode == 'ignore' or not isinstance(volumes, dict):
        return []
    mounts = []
    for destination in sorted(volumes):
        if not destination.startswith('/'):
            continue
        if mode == 'bind':
            mounts.append({'destination': destination, 'type': 'bind', 'source': volume_source(destination),
                           'options': list(DEFAULT_BIND_OPTIONS)})
        else:
            mounts.append({'destination': destination, 'type': 'tmpfs', 'source': 'tmpfs',
                           'options': ['rw', 'nosuid', 'nodev', 'relatime']})
    return mounts


# -- option conveniences --------------------------------------------------------


def _normalize(spec):
    """Shorthands users write, turned into the spec's form (after renaming to camelCase)."""
    spec = copy.deepcopy(spec)
    process = spec.get('process')
    if isinstance(process, dict):
        env = process.get('env')
        if isinstance(env, dict):
            process['env'] = [('%s' % name, REMOVED) if value is None else '%s=%s' % (name, value)
                              for name, value in env.items()]
        for index, rlimit in enumerate(process.get('rlimits') or []):
            if isinstance(rlimit, dict) and isinstance(rlimit.get('type'), str):
                kind = rlimit['type'].upper()
                rlimit['type'] = kind if kind.startswith('RLIMIT_') else 'RLIMIT_' + kind
                if 'soft' in rlimit and rlimit.get('hard') is None:
                    rlimit['hard'] = rlimit['soft']
                elif 'hard' in rlimit and rlimit.get('soft') is None:
                    rlimit['soft'] = rlimit['hard']
    linux = spec.get('linux')
    if isinstance(linux, dict):
        namespaces = linux.get('namespaces')
        if isinstance(namespaces, list):
            linux['namespaces'] = [{'type': ns} if isinstance(ns, str) else ns for ns in namespaces]
        memory = (linux.get('resources') or {}).get('memory')
        if isinstance(memory, dict):
            for key in _MEMORY_FIELDS:
                if isinstance(memory.get(key), str):
                    memory[key] = _size(memory[key], 'linux.resources.memory.' + key)
    for index, mount in enumerate(spec.get('mounts') or []):
        if isinstance(mount, dict):
            _complete_mount(mount)
    return spec


def _size(text, field):
    """Bytes in "256m", "1GiB", "512k" or "1048576" (binary units); -1 stays -1."""
    if text.strip() == '-1':
        return -1
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(field, '%r is not a size: write bytes, or a number with k, m, g or t (e.g. 256m)' % text)
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def _complete_mount(mount):
    """A mount with a source and no type is a bind mount of that host path."""
    options = [o for o in mount.get('options') or [] if o is not None]
    is_bind = 'bind' in options or 'rbind' in options
    if mount.get('type') in (None, 'bind') and mount.get('source') and not is_bind:
        options = list(DEFAULT_BIND_OPTIONS) + options
        is_bind = True
    if is_bind and mount.get('type') is None:
        mount['type'] = 'bind'
    if options or 'options' in mount:
        mount['options'] = options
