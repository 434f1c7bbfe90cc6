# -*- coding: utf-8 -*-
"""Fuzz: mutated config.json, state.json and cleanup.json files against the commands, on every Python we support.

Hypothesis mutates real files: runc's default config.json (`runc spec`), a
podman-shaped one (data/podman-config.json: seccomp, devices, bind mounts,
hooks, rlimits, cgroupfs path) and the state.json of a created or running
container. Each mutant is handed to every command of the command line, run
by fuzzdriver.py under each Python the collection supports that this machine
has, and each run must end the way a user can act on:

- no Python traceback on stderr, exit code 1 (255 for a failed `exec`) or
  the command's own success;
- a failure is exactly one error line, and it names the field (a JSON path
  such as `mounts[3].destination`), the file, or the state the container is
  in;
- for config.json mutants, nothing is left behind: no state folder, cgroup or
  mount of either container. For state.json mutants the container is put back
  and deleted afterwards (what `list` and `delete --force` make of a corrupt
  state is tested with those commands);
- for cleanup.json mutants (state.json gone, as after a create killed early),
  `delete --force` frees the ID as well.

The examples are derandomized, so CI runs the same few on every interpreter
(RUNCIBLE_FUZZ_EXAMPLES, default 4 config.json, 2 state.json and 2 cleanup.json mutants per
Python, about a minute in all). For a longer hunt set it higher, and
RUNCIBLE_FUZZ_SEED to a number so that each interpreter gets other mutants
(seed + its position in the list; a failure is then reported unshrunk);
RUNCIBLE_FUZZ_LOG=FILE writes one line per mutant there (the commands' exit
codes, the first error and the problems found).
"""

import copy
import glob
import json
import os
import re
import shutil
import subprocess
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from systemlib import BUSYBOX, REPO, default_config, leftovers_of, new_id, processes_with_cgroup

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, 'fuzzdriver.py')
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')
EXAMPLES = int(os.environ.get('RUNCIBLE_FUZZ_EXAMPLES', '4'))
STATE_EXAMPLES = max(2, EXAMPLES * 3 // 8)
SEED = os.environ.get('RUNCIBLE_FUZZ_SEED')
LOG = os.environ.get('RUNCIBLE_FUZZ_LOG')


def _target_pythons():
    """Debian's python3 and pyenv's 3.9 and newer, one per version (the collection claims 3.9+)."""
    found = {}
    candidates = ['/usr/bin/python3'] + sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3')))
    for path in candidates:
        try:
            version = subprocess.run([path, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                                     capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if tuple(int(part) for part in version.split('.')[:2]) >= (3, 9):
            found.setdefault(version, path)
    return sorted(found.items())


PYTHONS = _target_pythons()

# -- what a mutation puts in --------------------------------------------------

_HOSTILE_TEXT = ['', '.', '..', '/', '//', '../../../x', '/proc', '/proc/sys', '/proc/self/ns/net', 'a\x00b',
                 '\ud800', '\n', 'x' * 5000, 'RLIMIT_NOFILE', 'CAP_SYS_ADMIN', 'SCMP_ACT_KILL', 'SCMP_ARCH_X86',
                 'rbind', 'ro', 'bind', 'tmpfs', 'proc', 'cgroup', 'user', 'network', '-1', 'true', '0x10', 'é',
                 '/dev/null', '/tmp', 'sleep', 'sh', 'c', 'b', 'p', 'rwm']
_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, 1, -1, 7, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, -2 ** 63, 10 ** 30]),
    st.integers(), st.floats(allow_nan=False), st.sampled_from(_HOSTILE_TEXT), st.text(max_size=8))
_VALUES = st.recursive(_SCALARS, lambda children: st.lists(children, max_size=3)
                       | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=6)
_DEEP = '"__deeply_nested__"'


def _paths(document):
    """Every path (tuple of keys and indices) below the root of `document`."""
    found = []
    stack = [((), document)]
    while stack:
        path, value = stack.pop()
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            found.append(path + (key,))
            stack.append((path + (key,), child))
    return sorted(found, key=lambda path: [str(part) for part in path])


def _parent(document, path):
    for key in path[:-1]:
        document = document[key]
    return document


def _like(value):
    """Another value of the same JSON type (most mutants stay valid enough to reach a container)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.sampled_from([0, 1, -1, 7, 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64, -2 ** 63, 10 ** 30]) | st.integers()
    if isinstance(value, str):
        return st.sampled_from(_HOSTILE_TEXT) | st.text(max_size=8)
    return _VALUES


# How a mutant is made: one to three of these on the parsed document...
_OPERATIONS = ['tweak'] * 6 + ['replace', 'delete', 'delete', 'duplicate', 'add', 'deep']
# ...and sometimes damage to the bytes afterwards.
_DAMAGE = ['none'] * 8 + ['truncate', 'insert']


def _index(draw, count):
    """A position below `count`, drawn the same way whatever `count` is.

    A state.json differs from run to run (pid, times, lengths); Hypothesis
    must see the same draws for the same example, so no drawn range may
    depend on the document.
    """
    return draw(st.integers(0, 1 << 20)) % count


@st.composite
def mutants(draw, seeds):
    """(seed name, mutated file content as bytes) from one of `seeds` ({name: parsed JSON})."""
    name = draw(st.sampled_from(sorted(seeds)))
    document = copy.deepcopy(seeds[name])
    depth = None
    for _step in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        if not paths:
            break
        path = paths[_index(draw, len(paths))]
        operation = draw(st.sampled_from(_OPERATIONS))
        parent, key = _parent(document, path), path[-1]
        if operation == 'tweak':
            parent[key] = draw(_like(parent[key]))
        elif operation == 'replace':
            parent[key] = draw(_VALUES)
        elif operation == 'delete':
            del parent[key]
        elif operation == 'duplicate' and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif operation == 'add' and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=8))] = draw(_VALUES)
        elif operation == 'deep' and depth is None:
            depth = draw(st.sampled_from([150, 199, 200, 201, 1000, 100000]))
            parent[key] = _DEEP[1:-1]
    text = json.dumps(document)
    if depth is not None:
        text = text.replace(_DEEP, '[' * depth + ']' * depth, 1)
    data = text.encode('utf-8', 'surrogatepass')
    damage = draw(st.sampled_from(_DAMAGE))
    if damage == 'truncate':
        data = data[:_index(draw, len(data) + 1)]
    elif damage == 'insert':
        at = _index(draw, len(data) + 1)
        data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
    return name, data


# -- running commands and judging the outcome ---------------------------------

def drive(python, commands):
    """Run `commands` ([(argv, timeout)]) with fuzzdriver.py under `python`; their results in order."""
    plan = {'module_utils': MODULE_UTILS, 'commands': [{'argv': argv, 'timeout': timeout} for argv, timeout in commands]}
    completed = subprocess.run([python, DRIVER], input=json.dumps(plan), capture_output=True, text=True,
                               timeout=60 + sum(timeout for _argv, timeout in commands), check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)['results']


# A failure must say what to fix: a field, the file, or the container's state.
_FIELD = re.compile(r'(^|: )(\$|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["[^"]*"\])*): '
                    r'|\b(process|linux|mounts|hooks|root|hostname|domainname|annotations)(\.[A-Za-z_]|\[\d)')
_NAMED = ('config.json', 'state.json', 'state of container', 'container does not exist', 'container not running',
          'container with given ID already exists', 'container not paused', 'is not running', 'that is not stopped',
          'cannot start', 'cannot allocate tty', 'is paused', 'stopped')


def judge(argv, result):
    """[problem] of one command's outcome: a traceback, an odd exit code, or an error that names nothing."""
    command = argv[2]
    stderr = result['stderr']
    if 'Traceback (most recent call last)' in stderr:
        return ['%s: traceback:\n%s' % (command, stderr[stderr.index('Traceback'):][-2000:])]
    allowed = (0, 1, 255) if command == 'exec' else (0, 1)
    if result['rc'] not in allowed:
        return ['%s: exit code %r, stderr %r' % (command, result['rc'], stderr[-500:])]
    if result['rc'] == 0:
        return []
    errors = [line for line in stderr.splitlines() if 'level=error' in line]
    if len(errors) != 1:
        return ['%s: %d error lines: %r' % (command, len(errors), stderr[-1000:])]
    message = json.loads(errors[0].split('msg=', 1)[1]) if 'msg="' in errors[0] else errors[0]
    message = re.sub(r'^runcible \S+ failed: (unable to start container process: )?', '', message)
    if not (_FIELD.search(message) or any(words in message for words in _NAMED)):
        return ['%s: the error names no field or file: %r' % (command, message)]
    return []


def record(version, kind, mutant, commands, results, problems):
    """One line about a mutant in RUNCIBLE_FUZZ_LOG, when set."""
    if not LOG:
        return
    first_error = next((line for result in results for line in result['stderr'].splitlines() if 'level=error' in line),
                       '')
    line = {'python': version, 'kind': kind, 'mutant': mutant[:300].decode('utf-8', 'replace'), 'size': len(mutant),
            'codes': ' '.join('%s=%s' % (argv[2], result['rc']) for (argv, _t), result in zip(commands, results)),
            'error': first_error[first_error.find('msg=') + 4:][:300], 'problems': [p[:500] for p in problems]}
    with open(LOG, 'a') as handle:
        handle.write(json.dumps(line) + '\n')


def _commands(root, bundle, first, second, spec_dir):
    run = ['--root', root]
    return [
        (run + ['create', '--bundle', bundle, first], 30),
        (run + ['state', first], 10),
        (run + ['start', first], 20),
        (run + ['ps', '--format', 'json', first], 10),
        (run + ['exec', first, 'true'], 20),
        (run + ['pause', first], 10),
        (run + ['resume', first], 10),
        (run + ['update', '--pids-limit', '500', first], 10),
        (run + ['events', '--stats', first], 10),
        (run + ['delete', first], 10),
        (run + ['kill', first, 'KILL'], 10),
        (run + ['delete', '--force', first], 20),
        (run + ['run', '--detach', '--bundle', bundle, second], 30),
        (run + ['list', '--format', 'json'], 10),
        (run + ['delete', '--force', second], 20),
        (run + ['spec', '--bundle', spec_dir], 10),
        (run + ['features'], 10),
    ]


# -- fixtures -------------------------------------------------------------------

def _seed_configs(tmp, cgroup_name):
    """{name: config.json}: what `runc spec` writes (ours when runc is missing) and the podman-shaped one."""
    seeds = {}
    spec_dir = os.path.join(tmp, 'runc-spec')
    os.makedirs(spec_dir)
    runc = shutil.which('runc')
    if runc and subprocess.run([runc, 'spec'], cwd=spec_dir, capture_output=True, check=False).returncode == 0:
        with open(os.path.join(spec_dir, 'config.json')) as handle:
            seeds['runc-spec'] = json.load(handle)
    else:
        seeds['runc-spec'] = default_config()
    with open(os.path.join(HERE, 'data', 'podman-config.json')) as handle:
        seeds['podman'] = json.load(handle)
    seeds['podman']['linux']['cgroupsPath'] = '/%s/libpod-fuzzed' % cgroup_name
    for config in seeds.values():
        config['process']['terminal'] = False
        config['process']['args'] = ['sleep', '30']
        config['root'] = {'path': 'rootfs'}
    return seeds


@pytest.fixture
def fuzz_bundle(tmp_path, busybox_template):
    """A bundle folder with a busybox rootfs and the files podman's binds need; config.json is each mutant."""
    bundle = str(tmp_path / 'bundle')
    os.makedirs(os.path.join(bundle, 'userdata', 'shm'))
    shutil.copytree(busybox_template, os.path.join(bundle, 'rootfs'), symlinks=True)
    for name, text in (('hosts', '127.0.0.1 localhost\n'), ('resolv.conf', 'nameserver 127.0.0.1\n'),
                       ('hostname', 'fuzzed\n'), ('.containerenv', '')):
        with open(os.path.join(bundle, 'userdata', name), 'w') as handle:
            handle.write(text)
    os.makedirs(str(tmp_path / 'spec'))
    cgroup_name = 'runcible-fuzz-' + uuid.uuid4().hex[:8]
    yield bundle, _seed_configs(str(tmp_path), cgroup_name), str(tmp_path / 'root'), str(tmp_path / 'spec')
    for hierarchy in _hierarchy_dirs(cgroup_name):
        try:
            os.rmdir(hierarchy)
        except OSError:
            pass


def _hierarchy_dirs(name):
    return glob.glob('/sys/fs/cgroup/%s' % name) + glob.glob('/sys/fs/cgroup/*/%s' % name)


def _cgroups_path(data):
    try:
        return json.loads(data)['linux']['cgroupsPath']
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def _fuzzing(count, version):
    """Hypothesis settings (and a seed, with RUNCIBLE_FUZZ_SEED) for `count` examples on Python `version`."""
    # A hunt by hand (with a seed) reports its first failure as found: shrinking one takes minutes here.
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if SEED is None else [])
    configured = settings(max_examples=count, derandomize=SEED is None, deadline=None, database=None, phases=phases,
                          suppress_health_check=list(HealthCheck))
    if SEED is None:
        return configured
    offset = [known for known, _path in PYTHONS].index(version)
    return lambda test: seed(int(SEED) + offset)(configured(test))


# -- the tests ------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason='busybox-static is not installed')
@pytest.mark.parametrize('version, python', PYTHONS, ids=[version for version, _path in PYTHONS])
def test_config_json_mutants(fuzz_bundle, version, python):
    """Every command on each mutated config.json: a clean error or success, and nothing left behind."""
    bundle, seeds, root, spec_dir = fuzz_bundle

    @_fuzzing(EXAMPLES, version)
    @given(mutants(seeds))
    def check(mutant):
        _name, data = mutant
        with open(os.path.join(bundle, 'config.json'), 'wb') as handle:
            handle.write(data)
        first, second = new_id('fz'), new_id('fz')
        cgroups_path = _cgroups_path(data)
        before = set(leftovers_of(_Root(root), first, None, cgroups_path))
        commands = _commands(root, bundle, first, second, spec_dir)
        try:
            results = drive(python, commands)
        finally:
            spec_file = os.path.join(spec_dir, 'config.json')
            if os.path.exists(spec_file):
                os.remove(spec_file)
        problems = []
        for (argv, _timeout), result in zip(commands, results):
            problems.extend(judge(argv, result))
        for container_id in (first, second):
            left = set(leftovers_of(_Root(root), container_id, os.path.join(bundle, 'rootfs'), cgroups_path)) - before
            left.update('process %d' % pid for pid in processes_with_cgroup(container_id))
            if left:
                problems.append('left behind by %s: %s' % (container_id, sorted(left)))
                _clean(python, root, container_id)
        record(version, 'config', data, commands, results, problems)
        assert not problems, 'Python %s, mutant %r:\n%s' % (version, data[:3000], '\n'.join(problems))

    check()


class _Root:
    """What leftovers_of needs of a runtime: its --root."""

    def __init__(self, root):
        self.root = root


def _clean(python, root, container_id):
    drive(python, [(['--root', root, 'delete', '--force', container_id], 20)])


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason='busybox-static is not installed')
@pytest.mark.parametrize('version, python', PYTHONS, ids=[version for version, _path in PYTHONS])
def test_state_json_mutants(fuzz_bundle, version, python):
    """Every command against a created or running container whose state.json was mutated: no traceback."""
    bundle, seeds, root, spec_dir = fuzz_bundle
    with open(os.path.join(bundle, 'config.json'), 'w') as handle:
        json.dump(seeds['runc-spec'], handle)

    @_fuzzing(STATE_EXAMPLES, version)
    @given(started=st.booleans(), data=st.data())
    def check(started, data):
        container_id = new_id('fs')
        made = drive(python, [(['--root', root, 'create', '--bundle', bundle, container_id], 30)]
                     + ([(['--root', root, 'start', container_id], 20)] if started else []))
        assert all(result['rc'] == 0 for result in made), made
        state_file = os.path.join(root, container_id, 'state.json')
        with open(state_file, 'rb') as handle:
            original = handle.read()
        _name, mutated = data.draw(mutants({'state.json': json.loads(original)}))
        with open(state_file, 'wb') as handle:
            handle.write(mutated)
        run = ['--root', root]
        commands = [(run + ['state', container_id], 10), (run + ['list', '--format', 'json'], 10),
                    (run + ['ps', '--format', 'json', container_id], 10), (run + ['exec', container_id, 'true'], 20),
                    (run + ['pause', container_id], 10), (run + ['resume', container_id], 10),
                    (run + ['update', '--pids-limit', '500', container_id], 10),
                    (run + ['events', '--stats', container_id], 10), (run + ['start', container_id], 20),
                    (run + ['kill', container_id, 'KILL'], 10), (run + ['delete', container_id], 10),
                    (run + ['delete', '--force', container_id], 20)]
        try:
            results = drive(python, commands)
        finally:
            # Put the real state back (the folder too, if a command removed it) and delete for real.
            os.makedirs(os.path.dirname(state_file), exist_ok=True)
            with open(state_file, 'wb') as handle:
                handle.write(original)
            _clean(python, root, container_id)
        problems = []
        for (argv, _timeout), result in zip(commands, results):
            problems.extend(problem for problem in judge(argv, result) if 'names no field' not in problem)
        record(version, 'state', mutated, commands, results, problems)
        left = leftovers_of(_Root(root), container_id, os.path.join(bundle, 'rootfs'))
        assert not left and not processes_with_cgroup(container_id), left
        assert not problems, 'Python %s, state.json %r:\n%s' % (version, mutated[:3000], '\n'.join(problems))

    check()


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason='busybox-static is not installed')
@pytest.mark.parametrize('version, python', PYTHONS, ids=[version for version, _path in PYTHONS])
def test_cleanup_json_mutants(fuzz_bundle, version, python):
    """A container with no state.json and a mutated cleanup.json (what a create killed early, then damaged, leaves):
    the commands that read such remains end without a traceback, and `delete --force` frees the ID."""
    bundle, seeds, root, _spec_dir = fuzz_bundle
    with open(os.path.join(bundle, 'config.json'), 'w') as handle:
        json.dump(seeds['runc-spec'], handle)

    @_fuzzing(STATE_EXAMPLES, version)
    @given(data=st.data())
    def check(data):
        container_id = new_id('fc')
        made = drive(python, [(['--root', root, 'create', '--bundle', bundle, container_id], 30)])
        assert all(result['rc'] == 0 for result in made), made
        folder = os.path.join(root, container_id)
        originals = {}
        for name in ('state.json', 'cleanup.json'):
            with open(os.path.join(folder, name), 'rb') as handle:
                originals[name] = handle.read()
        _name, mutated = data.draw(mutants({'cleanup.json': json.loads(originals['cleanup.json'])}))
        os.unlink(os.path.join(folder, 'state.json'))
        with open(os.path.join(folder, 'cleanup.json'), 'wb') as handle:
            handle.write(mutated)
        run = ['--root', root]
        commands = [(run + ['state', container_id], 10), (run + ['list', '--format', 'json'], 10),
                    (run + ['kill', container_id, 'KILL'], 10), (run + ['delete', container_id], 10),
                    (run + ['delete', '--force', container_id], 20)]
        try:
            results = drive(python, commands)
        finally:
            # Put the real files back and delete for real: a damaged record cannot say what to clean.
            os.makedirs(folder, exist_ok=True)
            for name, content in originals.items():
                with open(os.path.join(folder, name), 'wb') as handle:
                    handle.write(content)
            _clean(python, root, container_id)
        problems = []
        for (argv, _timeout), result in zip(commands, results):
            problems.extend(problem for problem in judge(argv, result) if 'names no field' not in problem)
        if results[-1]['rc'] != 0:
            problems.append('delete --force did not free the ID: %r' % results[-1]['stderr'][-500:])
        record(version, 'cleanup', mutated, commands, results, problems)
        left = leftovers_of(_Root(root), container_id, os.path.join(bundle, 'rootfs'))
        assert not left and not processes_with_cgroup(container_id), left
        assert not problems, 'Python %s, cleanup.json %r:\n%s' % (version, mutated[:3000], '\n'.join(problems))

    check()
