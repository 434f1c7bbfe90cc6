# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load a bundle's config.json and check it before anything touches the host: the one config.json rule set.

Every check names the JSON path at fault. The runtime only acts on a Bundle
that passed `load_bundle`, so later code can trust types and required fields.
The same rules serve oci_bundle: `problems()` runs them all and collects each
one's fault instead of stopping at the first (bundle/validate.py adds only
the JSON schema, with its suggestions, on top).
"""

import os
import posixpath
import stat

from .. import errors, jsonc

NAMESPACE_FLAGS = {
    'pid': 0x20000000, 'network': 0x40000000, 'mount': 0x00020000, 'ipc': 0x08000000,
    'uts': 0x04000000, 'user': 0x10000000, 'cgroup': 0x02000000, 'time': 0x00000080,
}
# /proc/<pid>/ns/<name> for each namespace type
NAMESPACE_PROC_NAMES = {
    'pid': 'pid', 'network': 'net', 'mount': 'mnt', 'ipc': 'ipc', 'uts': 'uts',
    'user': 'user', 'cgroup': 'cgroup', 'time': 'time',
}

RLIMITS = {
    'RLIMIT_CPU': 0, 'RLIMIT_FSIZE': 1, 'RLIMIT_DATA': 2, 'RLIMIT_STACK': 3, 'RLIMIT_CORE': 4,
    'RLIMIT_RSS': 5, 'RLIMIT_NPROC': 6, 'RLIMIT_NOFILE': 7, 'RLIMIT_MEMLOCK': 8, 'RLIMIT_AS': 9,
    'RLIMIT_LOCKS': 10, 'RLIMIT_SIGPENDING': 11, 'RLIMIT_MSGQUEUE': 12, 'RLIMIT_NICE': 13,
    'RLIMIT_RTPRIO': 14, 'RLIMIT_RTTIME': 15,
}

PROPAGATIONS = ('', 'private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable')

# The st_mode file-type bits of each linux.devices[].type.
DEVICE_TYPE_BITS = {'c': stat.S_IFCHR, 'u': stat.S_IFCHR, 'b': stat.S_IFBLK, 'p': stat.S_IFIFO}
_FILE_TYPE_MASK = 0o170000

_UINT32_MAX = 0xffffffff
_UINT64_MAX = 0xffffffffffffffff
_IDENTIFIER_START = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_')
_IDENTIFIER = _IDENTIFIER_START | frozenset('0123456789')

# What a mount may cover inside /proc: the files lxcfs emulates (runc's
# list). Anything else there would let a bind of the host's /proc/sys or the
# like bypass linux.readonlyPaths and maskedPaths (CVE-2019-16884,
# CVE-2019-19921). runc 1.1 also lists /proc/net/dev, which never matched:
# /proc/net is a symlink to self/net, so the mount point resolves to
# /proc/<pid>/net/dev (runc 1.2 dropped it and added fips_enabled).
PROC_MOUNTS_ALLOWED = frozenset((
    '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime',
    '/proc/loadavg', '/proc/slabinfo', '/proc/sys/kernel/ns_last_pid', '/proc/sys/crypto/fips_enabled'))


class Bundle:
    """A bundle whose config passed validation.

    `path` is the absolute bundle directory, `rootfs` the absolute root
    filesystem, `config` the parsed config.json.
    """

    def __init__(self, path, rootfs, config):
        self.path = path
        self.rootfs = rootfs
        self.config = config

    @property
    def linux(self):
        return self.config.get('linux') or {}

    @property
    def process(self):
        return self.config['process']

    def namespaces(self):
        """[(type, path-or-None)] in config order."""
        return [(ns['type'], ns.get('path') or None) for ns in self.linux.get('namespaces') or []]

    def has_namespace(self, ns_type):
        return any(t == ns_type for t, _path in self.namespaces())

    def hooks(self, name):
        return (self.config.get('hooks') or {}).get(name) or []


def load_bundle(bundle_dir):
    """Read and validate `bundle_dir`/config.json; raise ConfigError naming the field."""
    path = os.path.abspath(bundle_dir)
    config_path = os.path.join(path, 'config.json')
    try:
        with open(config_path, 'rb') as handle:
            raw = handle.read()
    except FileNotFoundError:
        if not os.path.isdir(path):
            raise errors.ConfigError('bundle', 'bundle directory %s does not exist' % path)
        raise errors.ConfigError('config.json', 'open %s: no such file or directory (write one with `runcible spec`)'
                                 % config_path)
    except OSError as exc:
        raise errors.ConfigError('config.json', 'cannot read %s: %s' % (config_path, exc.strerror))
    try:
        config = jsonc.loads(raw)
    except ValueError as exc:
        raise errors.ConfigError('config.json', '%s is not valid JSON: %s' % (config_path, exc))
    validate(config)
    rootfs = config['root']['path']
    if not os.path.isabs(rootfs):
        rootfs = os.path.join(path, rootfs)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        if os.path.exists(rootfs):
            raise errors.ConfigError('root.path', 'rootfs (%s) is not a directory: point root.path at the folder '
                                     'that holds the container\'s files' % rootfs)
        raise errors.ConfigError('root.path', 'rootfs (%s) does not exist' % rootfs)
    return Bundle(path, rootfs, config)


def field_name(parts):
    """'process.rlimits[0].hard' from ('process', 'rlimits', 0, 'hard'); keys that are no identifier in ["..."]."""
    text = ''
    for part in parts:
        if isinstance(part, int):
            text += '[%d]' % part
        elif part[:1] in _IDENTIFIER_START and _IDENTIFIER.issuperset(part):
            text += ('.' if text else '') + part
        else:
            text += '[%s]' % jsonc.dumps(part)
    return text or '$'


def _show(value):
    text = jsonc.dumps(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _known(name, names):
    """`name` is one of `names` (a JSON value of any type: a list must not make the lookup fail)."""
    return isinstance(name, str) and name in names


def _expect(value, types, field, what):
    if isinstance(value, bool) and bool not in types:
        raise errors.ConfigError(field, 'must be %s, not %s' % (what, _show(value)))
    if not isinstance(value, types):
        raise errors.ConfigError(field, 'must be %s, not %s' % (what, _show(value)))
    return value


def _uint(value, field, maximum=_UINT32_MAX):
    _expect(value, (int,), field, 'an integer')
    if value < 0 or value > maximum:
        raise errors.ConfigError(field, 'must be between 0 and %d, not %d' % (maximum, value))
    return value


def _string_list(value, field):
    _expect(value, (list,), field, 'a list of strings')
    for index, item in enumerate(value):
        _expect(item, (str,), '%s[%d]' % (field, index), 'a string')
    return value


class _Rules:
    """Runs the rules: stopping at the first fault (validate), or collecting every rule's first fault (problems).

    A rule is a function that raises ConfigError at its first fault. Rules
    that read a part of the config check its type first, so a malformed
    part stops only the rules that need it. `host_state`: also the rules that
    look at the host as it is now (a namespace file exists, a joined network
    namespace is the host's); those are create's alone, since a bundle may
    name a namespace that is made after it.
    """

    def __init__(self, collect, host_state):
        self.collect = collect
        self.host_state = host_state
        self.found = []

    def run(self, rule, *args):
        """Run one rule; False if it found a fault (kept when collecting, raised otherwise)."""
        try:
            rule(*args)
        except errors.ConfigError as exc:
            if not self.collect:
                raise
            self.found.append((exc.field, exc.reason))
            return False
        return True

    def each(self, items, rule, field):
        """Run `rule(item, field % index)` for each item of the list `items` (a fault in one spares the others)."""
        for index, item in enumerate(items):
            self.run(rule, item, field % index)


def validate(config):
    """Check config.json (every rule that needs only the config); raise ConfigError at the first fault.

    create runs it first; what needs the rootfs (mount destinations), the
    seccomp compiler or the host's cgroup controllers is checked after it.
    """
    _check(config, _Rules(collect=False, host_state=True))


def problems(config):
    """[(field, message)] of every rule `config` breaks, in validate()'s order; empty when validate() accepts it
    (the host's state apart: see _Rules).

    Each rule, and each item of a list, gives its first fault. This is the
    rule set oci_bundle validates with (bundle/validate.py), beside its schema.
    """
    rules = _Rules(collect=True, host_state=False)
    _check(config, rules)
    return rules.found


def _check(config, rules):
    if not rules.run(_expect, config, (dict,), 'config.json', 'a JSON object'):
        return
    # First: such text passes every type rule below, and no kernel interface takes it.
    if not jsonc.clean_text(config):
        for parts, message in _text_problems(config):
            rules.run(_fault, field_name(parts), message)
    rules.run(_expect, config.get('ociVersion'), (str,), 'ociVersion', 'a version string such as "1.0.2"')
    rules.run(_check_root, config.get('root'))
    _process_rules(config.get('process'), rules)
    for key in ('hostname', 'domainname'):
        if key in config:
            rules.run(_expect, config[key], (str,), key, 'a string')
    if rules.run(_expect, config.get('mounts') or [], (list,), 'mounts', 'a list'):
        rules.each(config.get('mounts') or [], _check_mount, 'mounts[%d]')
    rules.run(_validate_hooks, config.get('hooks'))
    rules.run(_check_annotations, config.get('annotations'))
    _linux_rules(config, rules)


def _fault(field, message):
    raise errors.ConfigError(field, message)


def _text_problems(config):
    """(path tuple, message) for each NUL byte or lone surrogate in a key or string (annotations are opaque).

    The kernel would cut a string short at a NUL; Python fails to encode a
    lone surrogate when it hands the string to the kernel.
    """
    stack = [((), config)]
    while stack:
        parts, value = stack.pop()
        if isinstance(value, str):
            message = _text_problem(value)
            if message:
                yield parts, message
        elif isinstance(value, dict):
            for key, item in value.items():
                message = _text_problem(key)
                if message:
                    yield parts + (key,), 'key ' + message
                elif parts + (key,) != ('annotations',):
                    stack.append((parts + (key,), item))
        elif isinstance(value, list):
            stack.extend((parts + (index,), item) for index, item in enumerate(value))


def _text_problem(text):
    if '\x00' in text:
        return 'contains a NUL byte (%s): the kernel would cut it short there; remove it' % _show(text)
    if not text.isascii():
        try:
            text.encode('utf-8')
        except UnicodeEncodeError:
            return 'is not valid UTF-8 text (%s has a lone surrogate)' % _show(text)
    return None


def _check_root(root):
    if root is None:
        raise errors.ConfigError('root', 'is required: set root.path to the rootfs directory')
    _expect(root, (dict,), 'root', 'an object')
    if not isinstance(root.get('path'), str) or not root['path']:
        raise errors.ConfigError('root.path', 'is required: the rootfs directory, relative to the bundle')
    _expect(root.get('readonly', False), (bool,), 'root.readonly', 'true or false')


def _check_annotations(annotations):
    if annotations is None:
        return
    _expect(annotations, (dict,), 'annotations', 'an object of string values')
    for key, value in annotations.items():
        _expect(value, (str,), field_name(('annotations', key)), 'a string')


def validate_process(process):
    """Check a process object (config.json's, or one given to exec); raise ConfigError at the first fault."""
    _process_rules(process, _Rules(collect=False, host_state=True))


def _process_rules(process, rules):
    if not rules.run(_check_process_object, process):
        return
    rules.run(_check_args, process.get('args'))
    rules.run(_check_env, process.get('env') or [])
    rules.run(_check_cwd, process.get('cwd'))
    rules.run(_expect, process.get('terminal', False), (bool,), 'process.terminal', 'true or false')
    rules.run(_check_user, process.get('user') or {})
    if rules.run(_expect, process.get('rlimits') or [], (list,), 'process.rlimits', 'a list'):
        seen = {}
        rules.each(process.get('rlimits') or [], lambda rlimit, field: _check_rlimit(rlimit, field, seen),
                   'process.rlimits[%d]')
    rules.run(_check_capabilities, process.get('capabilities'))
    rules.run(_expect, process.get('noNewPrivileges', False), (bool,), 'process.noNewPrivileges', 'true or false')
    if 'oomScoreAdj' in process:
        rules.run(_check_oom_score, process['oomScoreAdj'])


def _check_process_object(process):
    if process is None:
        raise errors.ConfigError('process', 'is required: it says what to run (args, env, cwd, user)')
    _expect(process, (dict,), 'process', 'an object')


def _check_args(args):
    if not args:
        raise errors.ConfigError('process.args', 'args must not be empty: give the program to run')
    _string_list(args, 'process.args')


def _check_env(env):
    for index, item in enumerate(_string_list(env, 'process.env')):
        if not item.partition('=')[0] or '=' not in item:
            raise errors.ConfigError('process.env[%d]' % index, 'must be NAME=value, not %s' % _show(item))


def _check_cwd(cwd):
    if not isinstance(cwd, str) or not cwd:
        raise errors.ConfigError('process.cwd', 'cwd property must not be empty: use "/" or another absolute path')
    if not cwd.startswith('/'):
        raise errors.ConfigError('process.cwd', 'cwd must be an absolute path, not %r: write %r' % (cwd, '/' + cwd))


def _check_user(user):
    _expect(user, (dict,), 'process.user', 'an object with uid and gid')
    _uint(user.get('uid', 0), 'process.user.uid')
    _uint(user.get('gid', 0), 'process.user.gid')
    if 'umask' in user:
        _uint(user['umask'], 'process.user.umask', 0o7777)
    for index, gid in enumerate(user.get('additionalGids') or []):
        _uint(gid, 'process.user.additionalGids[%d]' % index)


def _check_rlimit(rlimit, field, seen):
    """One entry of process.rlimits; `seen` ({type: field}) finds the second entry of a type."""
    _expect(rlimit, (dict,), field, 'an object with type, soft and hard')
    kind = rlimit.get('type')
    if not _known(kind, RLIMITS):
        raise errors.ConfigError(field + '.type', 'unknown rlimit %r%s: use one of %s'
                                 % (kind, _suggestion(kind, RLIMITS), ', '.join(sorted(RLIMITS))))
    if kind in seen:
        raise errors.ConfigError(field + '.type', 'duplicate rlimit %s: it is already set at %s' % (kind, seen[kind]))
    seen[kind] = field
    soft = _uint(rlimit.get('soft', 0), field + '.soft', _UINT64_MAX)
    hard = _uint(rlimit.get('hard', 0), field + '.hard', _UINT64_MAX)
    if soft > hard:
        raise errors.ConfigError(field + '.soft', 'soft limit %d is above the hard limit %d: raise hard or lower soft'
                                 % (soft, hard))


def _check_capabilities(caps):
    if caps is None:
        return
    _expect(caps, (dict,), 'process.capabilities', 'an object of capability lists')
    for name in ('bounding', 'effective', 'inheritable', 'permitted', 'ambient'):
        _string_list(caps.get(name) or [], 'process.capabilities.%s' % name)
    from ..linux.consts import CAPABILITY_NUMBERS
    for name in ('bounding', 'effective', 'inheritable', 'permitted', 'ambient'):
        for index, cap in enumerate(caps.get(name) or []):
            if cap not in CAPABILITY_NUMBERS:
                raise errors.ConfigError('process.capabilities.%s[%d]' % (name, index),
                                         'unknown capability %r%s: names look like CAP_NET_ADMIN'
                                         % (cap, _suggestion(cap, CAPABILITY_NUMBERS)))


def _check_oom_score(score):
    _expect(score, (int,), 'process.oomScoreAdj', 'an integer')
    if not -1000 <= score <= 1000:
        raise errors.ConfigError('process.oomScoreAdj', 'must be between -1000 and 1000, not %d' % score)


def _suggestion(name, known):
    """' (did you mean X?)' for a misspelt or shortened name, or ''."""
    if not isinstance(name, str):
        return ''
    import difflib
    extended = sorted((k for k in known if k.startswith(name)), key=len)
    close = extended[:1] or difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return ' (did you mean %s?)' % close[0] if close else ''


def _check_mount(mount, field):
    _expect(mount, (dict,), field, 'an object')
    destination = mount.get('destination')
    if not isinstance(destination, str) or not destination:
        raise errors.ConfigError(field + '.destination', 'is required')
    if not destination.startswith('/'):
        raise errors.ConfigError(field + '.destination', 'mount destination %s not absolute: write %r'
                                 % (destination, '/' + destination.lstrip('./')))
    _expect(mount.get('type', ''), (str,), field + '.type', 'a string')
    _expect(mount.get('source', ''), (str,), field + '.source', 'a string')
    _string_list(mount.get('options') or [], field + '.options')
    bind = is_bind(mount)
    if bind and not mount.get('source'):
        raise errors.ConfigError(field + '.source', 'a bind mount needs a source path on the host (absolute, or '
                                                    'relative to the bundle)')
    if not bind and not mount.get('type'):
        raise errors.ConfigError(field + '.type', 'is required for a mount that is not a bind mount (e.g. "tmpfs"); '
                                                  'a bind mount takes the option "rbind" or "bind"')
    # As written; create checks it again where the destination resolves in the rootfs (mount_target_problem).
    problem = proc_mount_problem(normalize(destination), mount)
    if problem:
        raise errors.ConfigError(field + '.destination', problem)


def normalize(path):
    """An absolute container path with ".", ".." and doubled slashes resolved lexically."""
    return '/' + posixpath.normpath('/' + path).lstrip('/')


def is_bind(mount):
    """The mount is a bind mount (type "bind", or option bind or rbind)."""
    options = mount.get('options')
    options = options if isinstance(options, list) else []
    return mount.get('type') == 'bind' or 'bind' in options or 'rbind' in options


def mount_target_problem(mount, resolved, source_is_procfs=None):
    """Why `mount` may not go where its destination resolves inside the rootfs (`resolved`), or None.

    create's check once the rootfs is known (and the mount code's, at mount
    time). Besides the /proc rules: a proc or sysfs mount goes on a directory
    of the rootfs as written, never through a symlink of the image (runc and
    crun refuse that too).
    """
    fstype = mount.get('type')
    if fstype in ('proc', 'sysfs') and not is_bind(mount) and resolved != normalize(mount['destination']):
        return ('%s resolves to %s through a symlink in the rootfs: a %s file system must be mounted on a real '
                'directory' % (mount['destination'], resolved, fstype))
    problem = proc_mount_problem(resolved, mount, source_is_procfs)
    if problem and resolved != normalize(mount['destination']):
        return '%s resolves to %s through a symlink in the rootfs: %s' % (mount['destination'], resolved, problem)
    return problem


def proc_mount_problem(destination, mount, source_is_procfs=None):
    """Why `mount` may not be mounted at `destination` (normalised, symlinks resolved), or None.

    As runc: on /proc itself only a procfs (type proc, or a bind whose source
    is one: `source_is_procfs`, None when not known yet); inside /proc only
    PROC_MOUNTS_ALLOWED.
    """
    if destination == '/proc':
        if is_bind(mount):
            if source_is_procfs is False:
                return ('/proc must be a procfs: the bind source %s is not one (mount type "proc" there, or bind '
                        'a procfs)' % _show(mount.get('source')))
            return None
        if mount.get('type') == 'proc':
            return None
        return ('/proc must be a procfs: mount type "proc" there, not %s (a /proc without a procfs breaks the '
                'container\'s own set-up and linux.maskedPaths)' % _show(mount.get('type')))
    if not destination.startswith('/proc/') or destination in PROC_MOUNTS_ALLOWED:
        return None
    return ('%s is inside /proc: a mount there could bypass linux.readonlyPaths and maskedPaths, so only the '
            'files lxcfs emulates may be covered (%s)' % (destination, ', '.join(sorted(PROC_MOUNTS_ALLOWED))))


def validate_recorded(config):
    """Check the parts of a config recorded in state.json that later commands read, for shape only.

    The whole config passed validate() at create; this tells a damaged
    state.json from a good one (process for exec, hooks for start and
    delete, namespaces for exec, resources for update) without applying
    rules added since.
    """
    _expect(config.get('ociVersion', ''), (str,), 'ociVersion', 'a string')
    if config.get('process') is not None:
        _expect(config['process'], (dict,), 'process', 'an object')
        _string_list(config['process'].get('args') or [], 'process.args')
        _string_list(config['process'].get('env') or [], 'process.env')
        # exec copies these two into the new process before validating it.
        for name in ('user', 'capabilities'):
            _expect(config['process'].get(name) or {}, (dict,), 'process.' + name, 'an object')
    _validate_hooks(config.get('hooks'))
    linux = _expect(config.get('linux') or {}, (dict,), 'linux', 'an object')
    _expect(linux.get('resources') or {}, (dict,), 'linux.resources', 'an object')
    for index, ns in enumerate(_expect(linux.get('namespaces') or [], (list,), 'linux.namespaces', 'a list')):
        field = 'linux.namespaces[%d]' % index
        _expect(ns, (dict,), field, 'an object with a type')
        if not _known(ns.get('type'), NAMESPACE_FLAGS):
            raise errors.ConfigError(field + '.type', 'unknown namespace type')
        _expect(ns.get('path') or '', (str,), field + '.path', 'a path')


def validate_recorded_mounts(config):
    """The shape of what `checkpoint` reads of a recorded config besides validate_recorded()'s parts: the
    mounts, the root, the masked paths and the devices (not checked for every command: `list` reads none)."""
    for index, mount in enumerate(_expect(config.get('mounts') or [], (list,), 'mounts', 'a list')):
        field = 'mounts[%d]' % index
        _expect(mount, (dict,), field, 'an object')
        _expect(mount.get('destination'), (str,), field + '.destination', 'a path')
        _expect(mount.get('type') or '', (str,), field + '.type', 'a string')
        _expect(mount.get('source') or '', (str,), field + '.source', 'a string')
        _string_list(mount.get('options') or [], field + '.options')
    _expect(config.get('root') or {}, (dict,), 'root', 'an object')
    linux = _expect(config.get('linux') or {}, (dict,), 'linux', 'an object')
    _string_list(linux.get('maskedPaths') or [], 'linux.maskedPaths')
    for index, device in enumerate(_expect(linux.get('devices') or [], (list,), 'linux.devices', 'a list')):
        _expect(device, (dict,), 'linux.devices[%d]' % index, 'an object')
        _expect(device.get('path'), (str,), 'linux.devices[%d].path' % index, 'a path')


def _validate_hooks(hooks):
    if hooks is None:
        return
    _expect(hooks, (dict,), 'hooks', 'an object')
    for name, entries in hooks.items():
        if name not in ('prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'):
            raise errors.ConfigError(field_name(('hooks', name)), 'unknown hook type')
        _expect(entries, (list,), 'hooks.%s' % name, 'a list')
        for index, hook in enumerate(entries):
            field = 'hooks.%s[%d]' % (name, index)
            _expect(hook, (dict,), field, 'an object')
            path = hook.get('path')
            if not isinstance(path, str) or not path.startswith('/'):
                raise errors.ConfigError(field + '.path', 'must be an absolute path to the hook program')
            _string_list(hook.get('args') or [], field + '.args')
            _string_list(hook.get('env') or [], field + '.env')
            if 'timeout' in hook:
                timeout = _expect(hook['timeout'], (int,), field + '.timeout', 'a number of seconds')
                if timeout <= 0:
                    raise errors.ConfigError(field + '.timeout', 'must be greater than zero')


def _linux_rules(config, rules):
    linux = config.get('linux')
    if not rules.run(_check_linux_object, linux):
        return
    seen = {}
    if rules.run(_expect, linux.get('namespaces') or [], (list,), 'linux.namespaces', 'a list'):
        rules.each(linux.get('namespaces') or [],
                   lambda ns, field: _check_namespace(ns, field, seen, rules.host_state), 'linux.namespaces[%d]')
    for key in ('uidMappings', 'gidMappings'):
        rules.run(_check_mappings, linux, key, seen)
    rules.run(_check_new_user_namespace, linux, seen)
    rules.run(_check_user_mapped, config, seen)
    for key in ('hostname', 'domainname'):
        rules.run(_check_uts_name, config, key, seen)
    rules.run(_check_propagation, linux.get('rootfsPropagation', ''))
    for key in ('maskedPaths', 'readonlyPaths'):
        rules.run(_check_paths, linux.get(key) or [], key)
    if rules.run(_expect, linux.get('devices') or [], (list,), 'linux.devices', 'a list'):
        rules.each(linux.get('devices') or [], _validate_device, 'linux.devices[%d]')
    if 'cgroupsPath' in linux:
        rules.run(_check_cgroups_path, linux['cgroupsPath'])
    if rules.run(_expect, linux.get('sysctl') or {}, (dict,), 'linux.sysctl', 'an object of string values'):
        for key, value in (linux.get('sysctl') or {}).items():
            rules.run(_check_sysctl, key, value, seen, linux if rules.host_state else None)
    rules.run(_validate_personality, linux.get('personality'))
    rules.run(_validate_time_offsets, linux.get('timeOffsets'), seen)
    rules.run(_check_resources, linux.get('resources'))


def _check_linux_object(linux):
    if linux is None:
        raise errors.ConfigError('linux', 'is required on Linux: it lists the namespaces and other settings')
    _expect(linux, (dict,), 'linux', 'an object')


def _check_cgroups_path(path):
    """runc clamps ".." at the hierarchy's root silently; a path that climbs is refused instead."""
    _expect(path, (str,), 'linux.cgroupsPath', 'a string')
    if '..' in path.split('/'):
        raise errors.ConfigError('linux.cgroupsPath', 'must not contain ".." (%s would leave the cgroup tree it '
                                                      'names): write the path without it' % _show(path))
    if path.startswith('/') and not path.strip('/'):
        raise errors.ConfigError('linux.cgroupsPath', 'must name a cgroup below the root of the hierarchy, not "/"')


def _check_namespace(ns, field, seen, host_state):
    """One entry of linux.namespaces; `seen` ({type: entry}) collects the well-formed ones for later rules."""
    _expect(ns, (dict,), field, 'an object with a type')
    kind = ns.get('type')
    if not _known(kind, NAMESPACE_FLAGS):
        raise errors.ConfigError(field + '.type', 'namespace type %r is not one of %s'
                                 % (kind, ', '.join(sorted(NAMESPACE_FLAGS))))
    if kind in seen:
        raise errors.ConfigError(field + '.type', 'malformed spec file: duplicated ns %r' % kind)
    seen[kind] = ns
    path = ns.get('path')
    if path:
        _expect(path, (str,), field + '.path', 'a path to a namespace file')
        if host_state:
            check_namespace_file(path, kind, field + '.path')


def check_namespace_file(path, kind, field, fd=None):
    """ConfigError unless `path` (or `fd`, open on it) is a namespace of type `kind`.

    setns would only say "invalid argument". create checks the path here and
    again the fd it joins, which is the one that counts.
    """
    from ..linux import syscalls
    if fd is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errors.ConfigError(field, 'namespace file %s does not exist' % path)
        except OSError as exc:
            raise errors.ConfigError(field, 'cannot open %s: %s' % (path, exc.strerror))
        try:
            return check_namespace_file(path, kind, field, fd)
        finally:
            os.close(fd)
    try:
        found = syscalls.namespace_type(fd)
    except OSError as exc:
        raise errors.ConfigError(field, 'cannot inspect %s: %s' % (path, exc.strerror))
    if found is None:
        raise errors.ConfigError(field, '%s is not a namespace file: give a file such as /proc/<pid>/ns/%s (or '
                                        'one bind-mounted from it)' % (path, NAMESPACE_PROC_NAMES[kind]))
    if found and found != NAMESPACE_FLAGS[kind]:
        names = {flag: name for name, flag in NAMESPACE_FLAGS.items()}
        raise errors.ConfigError(field, '%s is a %s namespace, not a %s namespace'
                                 % (path, names.get(found, hex(found)), kind))
    return None


def _check_mappings(linux, key, namespaces):
    mappings = linux.get(key) or []
    _expect(mappings, (list,), 'linux.' + key, 'a list')
    for index, mapping in enumerate(mappings):
        field = 'linux.%s[%d]' % (key, index)
        _expect(mapping, (dict,), field, 'an object with containerID, hostID and size')
        for part in ('containerID', 'hostID', 'size'):
            _uint(mapping.get(part), '%s.%s' % (field, part))
        if mapping['size'] == 0:
            raise errors.ConfigError(field + '.size', 'must be at least 1')
    if mappings and 'user' not in namespaces:
        raise errors.ConfigError('linux.' + key, 'user namespaces are not enabled: add {"type": "user"} '
                                 'to linux.namespaces or remove the mappings')


def _check_new_user_namespace(linux, namespaces):
    if 'user' in namespaces and not namespaces['user'].get('path'):
        if not linux.get('uidMappings') or not linux.get('gidMappings'):
            raise errors.ConfigError('linux.uidMappings', 'a new user namespace needs uidMappings and gidMappings: '
                                                          'add e.g. [{"containerID": 0, "hostID": 100000, '
                                                          '"size": 65536}] to both')


def _check_user_mapped(config, namespaces):
    """In a new user namespace, the process' uid and gid must be mapped (setresuid would fail in the child)."""
    if 'user' not in namespaces or namespaces['user'].get('path'):
        return
    linux = config['linux']
    user = (config.get('process') or {}).get('user') or {}
    for key, part in (('uidMappings', 'uid'), ('gidMappings', 'gid')):
        value = user.get(part, 0)
        mappings = linux.get(key)
        if not isinstance(value, int) or not isinstance(mappings, list) or not mappings:
            continue
        if not any(isinstance(m, dict) and isinstance(m.get('containerID'), int) and isinstance(m.get('size'), int)
                   and m['containerID'] <= value < m['containerID'] + m['size'] for m in mappings):
            raise errors.ConfigError('process.user.' + part, '%s %d is not mapped by linux.%s: add a mapping whose '
                                     'containerID range covers it' % (part, value, key))


def _check_uts_name(config, key, namespaces):
    if config.get(key) and 'uts' not in namespaces:
        raise errors.ConfigError(key, 'unable to set %s without a private UTS namespace: add {"type": "uts"} to '
                                      'linux.namespaces' % key)


def _check_propagation(propagation):
    if propagation not in PROPAGATIONS:
        raise errors.ConfigError('linux.rootfsPropagation', 'must be one of %s' % ', '.join(p for p in PROPAGATIONS if p))


def _check_paths(paths, key):
    for index, item in enumerate(_string_list(paths, 'linux.' + key)):
        if not item.startswith('/'):
            raise errors.ConfigError('linux.%s[%d]' % (key, index), 'path %r must be absolute' % item)


# sysctls that belong to the IPC namespace (runc's list), besides fs.mqueue.*
_IPC_SYSCTLS = frozenset(('kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
                          'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'))


def _check_sysctl(key, value, namespaces, linux):
    """Only namespaced sysctls, and only when the container has that namespace (runc's rules).

    `linux` (None: the host's state is not looked at) tells a joined network namespace that is the host's.
    """
    field = field_name(('linux', 'sysctl', key))
    _expect(value, (str,), field, 'a string')
    name = key.replace('/', '.')
    if name in _IPC_SYSCTLS or name.startswith('fs.mqueue.'):
        if 'ipc' not in namespaces:
            raise errors.ConfigError(field, 'sysctl %r is not allowed in the host\'s IPC namespace: add '
                                            '{"type": "ipc"} to linux.namespaces' % key)
        return
    if name.startswith('net.'):
        if 'network' not in namespaces:
            raise errors.ConfigError(field, 'sysctl %r is not allowed in the host\'s network namespace: add '
                                            '{"type": "network"} to linux.namespaces' % key)
        if linux is not None and _joins_host_namespace(linux, 'network', 'net'):
            raise errors.ConfigError(field, 'sysctl %r is not allowed in the host network namespace' % key)
        return
    if 'uts' in namespaces and name == 'kernel.domainname':
        return
    if 'uts' in namespaces and name == 'kernel.hostname':
        raise errors.ConfigError(field, 'sysctl %r conflicts with the "hostname" field: use that instead' % key)
    raise errors.ConfigError(field, 'sysctl %r is not in a separate kernel namespace: the container may only '
                                    'set namespaced sysctls (net.*, IPC and mqueue ones, kernel.domainname)' % key)


def _joins_host_namespace(linux, kind, proc_name):
    for ns in linux.get('namespaces') or []:
        if isinstance(ns, dict) and ns.get('type') == kind and isinstance(ns.get('path'), str) and ns['path']:
            try:
                return os.stat(ns['path']).st_ino == os.stat('/proc/self/ns/' + proc_name).st_ino
            except OSError:
                return False
    return False


PERSONALITY_DOMAINS = {'LINUX': 0x0000, 'LINUX32': 0x0008}


def _validate_personality(personality):
    if personality is None:
        return
    _expect(personality, (dict,), 'linux.personality', 'an object with a domain')
    if not _known(personality.get('domain'), PERSONALITY_DOMAINS):
        raise errors.ConfigError('linux.personality.domain', 'must be LINUX or LINUX32, not %r'
                                 % personality.get('domain'))
    if personality.get('flags'):
        raise errors.ConfigError('linux.personality.flags', 'personality flags are not supported: remove them')


def _validate_time_offsets(offsets, namespaces):
    if offsets is None:
        return
    _expect(offsets, (dict,), 'linux.timeOffsets', 'an object of clocks')
    if 'time' not in namespaces:
        raise errors.ConfigError('linux.timeOffsets', 'time offsets need a time namespace: add {"type": "time"} '
                                 'to linux.namespaces')
    for clock, offset in offsets.items():
        field = field_name(('linux', 'timeOffsets', clock))
        if clock not in ('monotonic', 'boottime'):
            raise errors.ConfigError(field, 'only the monotonic and boottime clocks can be offset')
        _expect(offset, (dict,), field, 'an object with secs and nanosecs')
        _expect(offset.get('secs', 0), (int,), field + '.secs', 'an integer')
        nanosecs = _expect(offset.get('nanosecs', 0), (int,), field + '.nanosecs', 'an integer')
        if not 0 <= nanosecs < 1000000000:
            raise errors.ConfigError(field + '.nanosecs', 'must be between 0 and 999999999')


def _check_resources(resources):
    """linux.resources as the cgroup code reads it (cgroups/resources.py); the host's controllers are checked at
    create."""
    from ..cgroups import resources as cgroup_resources
    cgroup_resources.check(resources)


def _validate_device(device, field):
    _expect(device, (dict,), field, 'an object')
    path = device.get('path')
    if not isinstance(path, str) or not path.startswith('/'):
        raise errors.ConfigError(field + '.path', 'must be an absolute path such as /dev/fuse')
    kind = device.get('type')
    if kind not in ('c', 'b', 'u', 'p'):
        raise errors.ConfigError(field + '.type', 'must be one of c, b, u, p, not %r' % kind)
    if kind != 'p':
        for part in ('major', 'minor'):
            if device.get(part) is None:
                raise errors.ConfigError('%s.%s' % (field, part), 'is required for a %s device'
                                         % ('block' if kind == 'b' else 'character'))
            _uint(device[part], '%s.%s' % (field, part))
    if 'fileMode' in device:
        problem = device_file_mode_problem(_uint(device['fileMode'], field + '.fileMode'), kind)
        if problem:
            raise errors.ConfigError(field + '.fileMode', problem)
    for part in ('uid', 'gid'):
        if part in device:
            _uint(device[part], '%s.%s' % (field, part))


def device_file_mode_problem(mode, kind):
    """What is wrong with linux.devices[].fileMode `mode` for a device of type `kind`, or None.

    podman fills fileMode from the host's st_mode, file-type bits included (0o20600 for a
    character device); runc and crun accept that. Type bits that name another kind of file
    are refused: runc ignores them, crun ors them in (a block device for type c, EINVAL else).
    """
    if mode & ~(_FILE_TYPE_MASK | 0o7777):
        return ('must be the permission bits (0 to 0o7777, decimal 4095), optionally with the file-type bits '
                'of st_mode, not %d' % mode)
    type_bits = mode & _FILE_TYPE_MASK
    if type_bits and type_bits != DEVICE_TYPE_BITS[kind]:
        return ('%d (0o%o) has the file-type bits 0o%o, but type %r needs 0o%o: give the permission bits alone '
                '(0o%o)' % (mode, mode, type_bits, kind, DEVICE_TYPE_BITS[kind], mode & 0o7777))
    return None


_ID_CHARACTERS = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.')


def validate_id(container_id):
    """Refuse IDs runc refuses: only [A-Za-z0-9_+.-], not "." or ".."."""
    if not container_id or container_id in ('.', '..') or not _ID_CHARACTERS.issuperset(container_id):
        raise errors.InvalidContainerID(container_id)
    if len(container_id) > 1024:
        raise errors.InvalidContainerID(container_id)
