# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A checkpoint image folder: CRIU's files plus what runcible (and runc) keep beside them.

descriptors.json  the container init's stdio (and preserved fds) as /proc/<pid>/fd
                  names them ("/dev/null", "pipe:[123]"), as runc writes it: at
                  restore, pipes are replaced by the restoring runtime's own stdio.
runcible.json     who was checkpointed: the container ID, when, with which CRIU,
                  and the parts of its config a restore must agree with.
"""

import os
import time

from .. import errors, jsonc, state as statemod

DESCRIPTORS = 'descriptors.json'
METADATA = 'runcible.json'
INVENTORY = 'inventory.img'

# CRIU prints this in every log on hosts where no process may raise RLIMIT_NOFILE's hard limit; it is harmless.
_HARMLESS = ("Can't setup RLIMIT_NOFILE",)


def is_checkpoint(path):
    return os.path.isfile(os.path.join(path, INVENTORY))


def require_checkpoint(path):
    """Raise CriuError unless `path` holds a checkpoint that runcible or runc wrote."""
    if not os.path.isdir(path):
        raise errors.CriuError('checkpoint image path %s does not exist (give the --image-path of the checkpoint)'
                               % path)
    if not is_checkpoint(path):
        raise errors.CriuError('%s holds no checkpoint (no %s): give the --image-path a checkpoint was written to'
                               % (path, INVENTORY))
    if not os.path.isfile(os.path.join(path, DESCRIPTORS)):
        raise errors.CriuError('%s holds a CRIU image but no %s: it was not written by runcible or runc checkpoint'
                               % (path, DESCRIPTORS))


def write_json(path, name, data):
    statemod.atomic_write(os.path.join(path, name), jsonc.dumps(data).encode(), mode=0o600)


def read_descriptors(path):
    try:
        with open(os.path.join(path, DESCRIPTORS), 'rb') as handle:
            descriptors = jsonc.loads(handle.read())
    except (OSError, ValueError) as exc:
        raise errors.CriuError('cannot read %s in %s: %s' % (DESCRIPTORS, path, errors.describe(exc)))
    if not isinstance(descriptors, list) or not all(isinstance(item, str) for item in descriptors):
        raise errors.CriuError('%s in %s is not a list of strings' % (DESCRIPTORS, path))
    return descriptors


def read_metadata(path):
    """runcible.json of the image, or None for an image runc wrote."""
    try:
        with open(os.path.join(path, METADATA), 'rb') as handle:
            data = jsonc.loads(handle.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise errors.CriuError('cannot read %s in %s: %s' % (METADATA, path, errors.describe(exc)))
    return data if isinstance(data, dict) else None


def metadata(container_id, config, criu_version, options):
    return {
        'id': container_id,
        'checkpointed': statemod.rfc3339_nano(time.time_ns()),
        'criu_version': criu_version,
        'tcp_established': options.tcp_established,
        'fingerprint': fingerprint(config),
    }


def fingerprint(config):
    """The parts of a config a restore must match: what the checkpointed processes depend on.

    Mount sources are left out (another host may keep the data elsewhere),
    and so is a time namespace (CRIU makes one of its own at restore).
    """
    process = config.get('process') or {}
    user = process.get('user') or {}
    linux = config.get('linux') or {}
    return {
        'process.args': process.get('args') or [],
        'process.cwd': process.get('cwd') or '/',
        'process.terminal': bool(process.get('terminal')),
        'process.user': [user.get('uid', 0), user.get('gid', 0)],
        'root.readonly': bool((config.get('root') or {}).get('readonly')),
        'mounts': [[m.get('destination'), m.get('type') or ''] for m in config.get('mounts') or []],
        'linux.namespaces': sorted([ns['type'], bool(ns.get('path'))] for ns in linux.get('namespaces') or []
                                   if ns.get('type') != 'time'),
    }


# The order differences are reported in: what a user recognises a container by first.
_FIELDS = ('process.args', 'process.cwd', 'process.user', 'process.terminal', 'root.readonly', 'mounts',
           'linux.namespaces')


def mismatch(recorded, config):
    """(field, in the checkpoint, in this config) of the first difference, or None.

    For mounts, the two sides are the mounts only one of them has. Their order does not
    count: CRIU finds each by its mount point, and podman lists them in another order
    when it restores a checkpoint into a new container (restore --import --name).
    """
    current = fingerprint(config)
    for field in _FIELDS:
        if field not in recorded or jsonc.dumps(recorded[field]) == jsonc.dumps(current[field]):
            continue
        if field == 'mounts':
            theirs = sorted(tuple(m) for m in recorded[field])
            ours = sorted(tuple(m) for m in current[field])
            if theirs == ours:
                continue
            return field, _only_in(theirs, ours), _only_in(ours, theirs)
        return field, recorded[field], current[field]
    return None


def _only_in(mounts, others):
    """The mounts of `mounts` that `others` lacks (counting repeats), as 'destination (type)'."""
    rest = list(others)
    only = []
    for mount in mounts:
        if mount in rest:
            rest.remove(mount)
        else:
            only.append('%s (%s)' % mount)
    return only or 'no other mount'


# "(00.109760)     10: Error (soccr/soccr.c:529): " before the message of a CRIU log line.
_LOG_PREFIX = r'^\(\s*[\d.]+\)\s*(?:\d+:\s*)?Error \([^)]*\):\s*'

# Known CRIU failures and what to do about them.
_HINTS = (
    ("Can't get 1:16 opt", 'CRIU older than 4.2 cannot dump network sockets on Linux 6.16 and newer: use CRIU 4.2+'),
    ('Connected TCP socket', 'the container has established TCP connections: checkpoint with --tcp-established'),
    ("Can't lookup mount=", 'the container holds a file of the host open (stdout or stderr redirected to a host file?): '
                            'give it pipes or /dev/null instead'),
)


def is_harmless(line):
    return any(h in line for h in _HARMLESS)


def log_errors(path, limit=3):
    """The first `limit` error lines of a CRIU log (the cause comes first), without the harmless ones."""
    try:
        with open(path, 'rb') as handle:
            lines = handle.read().decode('utf-8', 'replace').splitlines()
    except OSError:
        return []
    import re
    prefix = re.compile(_LOG_PREFIX)
    found = [prefix.sub('', line.strip()) for line in lines if 'Error (' in line and not is_harmless(line)]
    return found[:limit]


def hint(lines):
    """Advice for a known failure among CRIU's error lines, or ''."""
    text = '\n'.join(lines)
    for pattern, advice in _HINTS:
        if pattern in text:
            return advice
    return ''


def failure_reason(exc, log_path):
    """Why CRIU failed, in CRIU's words: its log's first errors, else its answer, and a hint if one applies."""
    lines = log_errors(log_path)
    reason = '; '.join(lines) if lines else exc.message
    advice = hint(lines)
    return reason + (' (%s)' % advice if advice else '')


def size(path):
    """Bytes of the files in the image folder."""
    total = 0
    for name in os.listdir(path):
        try:
            total += os.lstat(os.path.join(path, name)).st_size
        except OSError:
            continue
    return total
