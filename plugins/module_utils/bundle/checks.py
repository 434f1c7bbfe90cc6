# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a config.json that a JSON Schema cannot express.

Each check yields (path tuple, message); validate.py runs them after the
schema, on values the schema found well-typed. The rules follow what runc
refuses (libcontainer/configs/validate) and what the kernel would refuse
later with a less helpful error.
"""

import difflib

from ..runtime.security.capabilities import NAMES as CAPABILITY_NAMES
from ..runtime.spec.config import DEVICE_TYPE_BITS, RLIMITS, device_file_mode_problem, unsafe_input_problems

# sysctls that live in the IPC namespace (ipc_namespaces(7)); fs.mqueue.* too.
_IPC_SYSCTLS = frozenset(('kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
                          'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'))
_UTS_SYSCTLS = frozenset(('kernel.hostname', 'kernel.domainname'))
_DEVICE_NUMBERED = ('c', 'b', 'u')


def _get(mapping, *keys):
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _list(value):
    return value if isinstance(value, list) else []


def _absolute(value):
    return isinstance(value, str) and value.startswith('/')


def _suggest(name, known):
    extended = sorted((k for k in known if k.startswith(name)), key=len)
    close = extended[:1] or difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return ' (did you mean %s?)' % close[0] if close else ''


def _namespaces(config):
    """{type: entry} of linux.namespaces, and [(path, message)] for duplicates."""
    found = {}
    problems = []
    for index, entry in enumerate(_list(_get(config, 'linux', 'namespaces'))):
        if not isinstance(entry, dict):
            continue
        kind = entry.get('type')
        if kind in found:
            problems.append((('linux', 'namespaces', index), 'namespace type %r is listed twice: keep one entry' % kind))
        found.setdefault(kind, entry)
    return found, problems


def semantic_errors(config):
    """[(path tuple, message)] for `config` (a dict already checked against the schema)."""
    namespaces, problems = _namespaces(config)
    problems.extend(_process(config.get('process'), config, namespaces))
    problems.extend(_mounts(config))
    problems.extend(_user_namespace(config, namespaces))
    problems.extend(_sysctls(config, namespaces))
    problems.extend(_names(config, namespaces))
    problems.extend(_devices(config))
    problems.extend(_resources(_get(config, 'linux', 'resources')))
    # The runtime's own rules (NUL bytes, mounts into /proc, cgroupsPath), so that
    # a bundle oci_bundle accepts is one `create` accepts.
    problems.extend(unsafe_input_problems(config))
    return problems


def _process(process, config, namespaces):
    if process is None:
        return [(('process',), 'is required: it says what to run (args, env, cwd, user)')]
    if not isinstance(process, dict):
        return []
    problems = []
    args = process.get('args')
    if isinstance(args, list) and not args:
        problems.append((('process', 'args'), 'is empty: give the program to run (process.args, or an image with '
                                              'an Entrypoint or Cmd)'))
    elif 'args' not in process and 'commandLine' not in process:
        problems.append((('process', 'args'), 'is required: give the program to run'))
    cwd = process.get('cwd')
    if isinstance(cwd, str) and cwd and not cwd.startswith('/'):
        problems.append((('process', 'cwd'), 'must be an absolute path inside the container, not %r: write %r'
                         % (cwd, '/' + cwd)))
    seen = {}
    for index, rlimit in enumerate(_list(process.get('rlimits'))):
        if not isinstance(rlimit, dict):
            continue
        path = ('process', 'rlimits', index)
        kind, soft, hard = rlimit.get('type'), rlimit.get('soft'), rlimit.get('hard')
        if isinstance(kind, str) and kind not in RLIMITS:
            problems.append((path + ('type',), 'unknown rlimit %r%s' % (kind, _suggest(kind, RLIMITS))))
        if kind in seen:
            problems.append((path + ('type',), '%s is already set at process.rlimits[%d]: keep one' % (kind, seen[kind])))
        seen.setdefault(kind, index)
        if isinstance(soft, int) and isinstance(hard, int) and soft > hard:
            problems.append((path + ('soft',), 'soft limit %d is above the hard limit %d: raise hard or lower soft'
                             % (soft, hard)))
    capabilities = process.get('capabilities')
    if isinstance(capabilities, dict):
        for kind, names in sorted(capabilities.items()):
            for index, name in enumerate(_list(names)):
                if isinstance(name, str) and name not in CAPABILITY_NAMES:
                    problems.append((('process', 'capabilities', kind, index), 'unknown capability %r%s'
                                     % (name, _suggest(name, CAPABILITY_NAMES))))
    return problems


def _mounts(config):
    problems = []
    for index, mount in enumerate(_list(config.get('mounts'))):
        if not isinstance(mount, dict):
            continue
        path = ('mounts', index)
        destination = mount.get('destination')
        if isinstance(destination, str) and not destination.startswith('/'):
            problems.append((path + ('destination',), 'must be an absolute path in the container, not %r: write %r'
                             % (destination, '/' + destination.lstrip('./'))))
        options = [o for o in _list(mount.get('options')) if isinstance(o, str)]
        is_bind = 'bind' in options or 'rbind' in options or mount.get('type') == 'bind'
        if is_bind and not mount.get('source'):
            problems.append((path + ('source',),
                             'a bind mount needs a source: the host path to mount (absolute, or relative to the bundle)'))
        if mount.get('type') == 'bind' and not ('bind' in options or 'rbind' in options):
            problems.append((path + ('options',),
                             'type "bind" alone does not make a bind mount: add "rbind" (or "bind") to options'))
        if not is_bind and 'type' not in mount:
            problems.append((path + ('type',), 'is required for a mount that is not a bind mount (e.g. "tmpfs")'))
    return problems


def _covered(mappings, value):
    for mapping in mappings:
        if not isinstance(mapping, dict):
            continue
        start, size = mapping.get('containerID'), mapping.get('size')
        if isinstance(start, int) and isinstance(size, int) and start <= value < start + size:
            return True
    return False


def _user_namespace(config, namespaces):
    problems = []
    linux = config.get('linux') or {}
    uid_maps = _list(linux.get('uidMappings'))
    gid_maps = _list(linux.get('gidMappings'))
    user_ns = namespaces.get('user')
    if user_ns is None:
        for key, maps in (('uidMappings', uid_maps), ('gidMappings', gid_maps)):
            if maps:
                problems.append((('linux', key), 'ID mappings need a user namespace: add {"type": "user"} to '
                                                 'linux.namespaces, or remove the mappings'))
        return problems
    if user_ns.get('path'):
        return problems
    for key, maps, what in (('uidMappings', uid_maps, 'uid'), ('gidMappings', gid_maps, 'gid')):
        if not maps:
            problems.append((('linux', key), 'a new user namespace needs %s mappings: add e.g. [{"containerID": 0, '
                                             '"hostID": 100000, "size": 65536}]' % what))
        for index, mapping in enumerate(maps):
            if isinstance(mapping, dict) and mapping.get('size') == 0:
                problems.append((('linux', key, index, 'size'), 'must be at least 1'))
    user = _get(config, 'process', 'user') or {}
    for key, maps, field in (('uidMappings', uid_maps, 'uid'), ('gidMappings', gid_maps, 'gid')):
        value = user.get(field)
        if maps and isinstance(value, int) and not _covered(maps, value):
            problems.append((('process', 'user', field), '%s %d is not mapped by linux.%s: add a mapping whose '
                             'containerID range covers it' % (field, value, key)))
    return problems


def _sysctls(config, namespaces):
    problems = []
    sysctl = _get(config, 'linux', 'sysctl')
    if not isinstance(sysctl, dict):
        return problems
    for name in sorted(sysctl):
        path = ('linux', 'sysctl', name)
        if name in _IPC_SYSCTLS or name.startswith('fs.mqueue.'):
            needed = 'ipc'
        elif name.startswith('net.'):
            needed = 'network'
        elif name in _UTS_SYSCTLS:
            needed = 'uts'
        else:
            problems.append((path, 'sysctl %r is not isolated by any namespace: setting it would change the host; '
                                   'remove it' % name))
            continue
        if needed not in namespaces:
            problems.append((path, 'sysctl %r needs a %s namespace: add {"type": "%s"} to linux.namespaces'
                             % (name, needed, needed)))
    return problems


def _names(config, namespaces):
    problems = []
    for key in ('hostname', 'domainname'):
        if config.get(key) and 'uts' not in namespaces:
            problems.append(((key,), 'setting the %s needs a UTS namespace: add {"type": "uts"} to linux.namespaces'
                             % key))
    offsets = _get(config, 'linux', 'timeOffsets')
    if offsets and 'time' not in namespaces:
        problems.append((('linux', 'timeOffsets'), 'time offsets need a time namespace: add {"type": "time"} to '
                                                   'linux.namespaces'))
    return problems


def _devices(config):
    problems = []
    for index, device in enumerate(_list(_get(config, 'linux', 'devices'))):
        if not isinstance(device, dict):
            continue
        if device.get('type') in _DEVICE_NUMBERED:
            for key in ('major', 'minor'):
                if key not in device:
                    problems.append((('linux', 'devices', index, key), 'is required for a %s device'
                                     % {'c': 'character', 'b': 'block', 'u': 'character'}[device['type']]))
        mode = device.get('fileMode')
        if device.get('type') in DEVICE_TYPE_BITS and isinstance(mode, int):
            problem = device_file_mode_problem(mode, device['type'])
            if problem:
                problems.append((('linux', 'devices', index, 'fileMode'), problem))
    return problems


def _resources(resources):
    problems = []
    memory = _get(resources, 'memory')
    if isinstance(memory, dict):
        limit, swap = memory.get('limit'), memory.get('swap')
        if isinstance(limit, int) and isinstance(swap, int) and limit > 0 and 0 <= swap < limit:
            problems.append((('linux', 'resources', 'memory', 'swap'),
                             'is the limit of memory plus swap (%d) and must be at least memory.limit (%d): set it '
                             'to the limit plus the swap you allow, or -1 for unlimited swap' % (swap, limit)))
        reservation = memory.get('reservation')
        if isinstance(limit, int) and isinstance(reservation, int) and limit > 0 and reservation > limit:
            problems.append((('linux', 'resources', 'memory', 'reservation'),
                             'soft limit %d is above memory.limit %d' % (reservation, limit)))
    pids = _get(resources, 'pids')
    if isinstance(pids, dict) and isinstance(pids.get('limit'), int) and pids['limit'] < -1:
        problems.append((('linux', 'resources', 'pids', 'limit'), 'must be a positive number of processes, or -1 '
                                                                  'for no limit'))
    return problems
