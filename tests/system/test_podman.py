# -*- coding: utf-8 -*-
"""podman as a client of the runtime: the same podman commands under runcible and under runc.

Debian's podman 4.3 drives the runtime through conmon the way it drives runc:
create, start, exec --process, pause, resume, kill, delete --force, update, with
its own config.json (podman fills linux.devices[].fileMode from st_mode, type
bits included). Every scenario runs under runc and under runcible (the zipapp
of scripts/build-zipapp, registered by name in containers.conf as podman's users
would) and compares what a podman user sees.

Nothing global changes: podman gets a private containers.conf (CONTAINERS_CONF:
lowered default ulimits, which this host's hard limits need, the cgroupfs
manager, file events and file locks instead of /dev/shm, private tmp, volume and
network-config folders) and private storage (CONTAINERS_STORAGE_CONF), and
every container runs with --network none. The image is a busybox rootfs
`podman import`ed, pods use podman's own catatonit pause image, built locally.
The one host path podman 4.3 writes regardless is its image blob cache,
/var/lib/containers/cache (hard-wired for root): removed afterwards when this
test created it. The runtimes keep their state under their default roots
(/run/runc, /run/runcible), as podman calls them without --root; every
container is removed at the end and its state folder and cgroups are checked gone
(podman 4.3 itself leaves a removed pod's name=systemd and unified cgroup folders
behind, under runc too: the test removes those).
"""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from criulib import find_criu
from systemlib import REPO, cgroup_dirs, make_rootfs, new_id

PODMAN = shutil.which('podman')
RUNC = shutil.which('runc')
IMAGE = 'localhost/runcible-podman-test:1'
RUNTIMES = ('runcible', 'runc')
RUNTIME_ROOTS = {'runcible': '/run/runcible', 'runc': '/run/runc'}
BLOB_CACHE_PARENT = '/var/lib/containers'

pytestmark = [
    pytest.mark.skipif(PODMAN is None, reason='podman is not installed (apt-get install podman catatonit)'),
    pytest.mark.skipif(RUNC is None, reason='runc is not installed: podman under runc is the reference'),
    pytest.mark.skipif(not os.path.exists('/usr/bin/python3'), reason='the zipapp is built for /usr/bin/python3'),
]

CONTAINERS_CONF = '''\
[containers]
# Podman's defaults (nofile 1048576, nproc 4194304) exceed this host's hard limits.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{root}/events.log"
lock_type = "file"
tmp_dir = "{root}/tmp"
static_dir = "{root}/storage/libpod"
volume_path = "{root}/storage/volumes"
image_copy_tmp_dir = "{root}/tmp"
# Both runtimes report errors to podman through --log-format=json --log FILE.
runtime_supports_json = ["runc", "runcible"]

[engine.runtimes]
runcible = ["{runcible}"]
runc = ["{runc}"]

[network]
network_config_dir = "{root}/net"
'''

STORAGE_CONF = '''\
[storage]
driver = "overlay"
graphroot = "{root}/storage"
runroot = "{root}/run"
'''


class Podman:
    """podman with a private configuration and storage under `root`."""

    def __init__(self, root):
        self.root = root
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(root, 'containers.conf'),
                        CONTAINERS_STORAGE_CONF=os.path.join(root, 'storage.conf'))

    def __call__(self, runtime, *args, check=True, timeout=120, env=None):
        """Run `podman --runtime RUNTIME ARGS`; output through files, as conmon may outlive the command."""
        argv = [PODMAN, '--runtime', runtime] + list(args)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            completed = subprocess.run(argv, env=dict(self.env, **(env or {})), stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=err, timeout=timeout, check=False)
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(argv, completed.returncode, out.read().decode('utf-8', 'replace'),
                                                 err.read().decode('utf-8', 'replace'))
        if check and result.returncode != 0:
            raise AssertionError('podman --runtime %s %s failed (%d): %s%s' % (
                runtime, ' '.join(args), result.returncode, result.stdout, result.stderr))
        return result

    def ids(self):
        """Full IDs of every container podman knows (pods' infra containers included)."""
        return self('runc', 'ps', '-a', '--no-trunc', '--format', '{{.ID}}').stdout.split()


@pytest.fixture(scope='module')
def podman(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('podman'))
    made_blob_cache = not os.path.exists(BLOB_CACHE_PARENT)
    build = subprocess.run([os.path.join(REPO, 'scripts', 'build-zipapp'), os.path.join(root, 'bin', 'runcible')],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    with open(os.path.join(root, 'containers.conf'), 'w') as handle:
        handle.write(CONTAINERS_CONF.format(root=root, runcible=build.stdout.strip(), runc=RUNC))
    with open(os.path.join(root, 'storage.conf'), 'w') as handle:
        handle.write(STORAGE_CONF.format(root=root))
    rootfs = os.path.join(root, 'rootfs')
    make_rootfs(rootfs)
    tarball = os.path.join(root, 'busybox.tar')
    subprocess.run(['tar', '-C', rootfs, '-cf', tarball, '.'], check=True)
    client = Podman(root)
    client('runc', 'import', '--change', 'CMD ["/bin/sh"]', tarball, IMAGE)
    try:
        yield client
    finally:
        client('runc', 'pod', 'rm', '--all', '--force', '--time', '0', check=False)
        client('runc', 'rm', '--all', '--force', '--time', '0', check=False)
        left = client.ids()
        created = [line.split() for line in client('runc', 'events', '--stream=false', '--filter', 'event=create',
                                                   '--format', '{{.Type}} {{.ID}}', check=False).stdout.splitlines()]
        client('runc', 'rmi', '--all', '--force', check=False)
        with open('/proc/self/mountinfo') as handle:
            mounts = [line.split()[4] for line in handle if ' %s/' % root in line]
        for mount in reversed(mounts):
            subprocess.run(['umount', '-l', mount], check=False)
        shutil.rmtree(root, ignore_errors=True)
        if made_blob_cache:
            remove_blob_cache()
    leaks = []
    for kind, identifier in created:
        # podman's cgroupfs paths: libpod_parent/libpod-<container>, libpod_parent/<pod>/libpod-<container>.
        leaks += remove_pod_cgroups(identifier) if kind == 'pod' else cgroup_dirs('libpod-' + identifier)
        leaks += [os.path.join(r, identifier) for r in RUNTIME_ROOTS.values()
                  if os.path.exists(os.path.join(r, identifier))]
    assert (left, mounts, leaks) == ([], [], [])
    assert {kind for kind, _unused in created} == {'container', 'pod'}, created


def remove_pod_cgroups(identifier):
    """podman 4.3's `pod rm` leaves the pod's cgroup in the name=systemd and unified hierarchies, under runc as
    under runcible: remove those (empty) folders; any other is a leak the caller reports."""
    left = []
    for directory in cgroup_dirs(identifier):
        if directory.startswith(('/sys/fs/cgroup/systemd/', '/sys/fs/cgroup/unified/')):
            os.rmdir(directory)
        else:
            left.append(directory)
    return left


def remove_blob_cache():
    """Remove the blob cache this test's podman made, and its folders if nothing else is in them."""
    cache = os.path.join(BLOB_CACHE_PARENT, 'cache')
    for path in (os.path.join(cache, 'blob-info-cache-v1.boltdb'), cache, BLOB_CACHE_PARENT):
        try:
            (os.rmdir if os.path.isdir(path) else os.unlink)(path)
        except OSError:
            return


@pytest.fixture
def both(podman):
    """Run a scenario under each runtime: [(runtime, result)]; containers it names are removed after."""
    names = []

    def run(scenario):
        results = []
        for runtime in RUNTIMES:
            name = new_id('pm')
            names.append(name)
            results.append(scenario(runtime, name))
        return results
    yield run
    for name in names:
        podman('runc', 'pod', 'rm', '--force', '--ignore', '--time', '0', name, check=False)
        podman('runc', 'rm', '--force', '--ignore', '--time', '0', name, check=False)


def test_run_in_the_foreground(podman, both):
    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none', IMAGE,
                        'sh', '-c', 'echo out; echo err >&2; id; exit 7', check=False)
        return result.returncode, result.stdout, result.stderr
    (rc1, out1, err1), (rc2, out2, err2) = both(scenario)
    assert (rc1, out1, err1) == (rc2, out2, err2)
    assert (rc1, out1, err1) == (7, 'out\nuid=0(root) gid=0(root)\n', 'err\n')


def test_detached_container_exec_logs_top_pause_stop_rm(podman, both):
    """run -d, exec, logs, top, pause/unpause, stop (the container's TERM trap), rm: as podman shows them."""
    script = 'echo started; trap "echo term; exit 3" TERM; while true; do sleep 0.1; done'

    def scenario(runtime, name):
        seen = []
        podman(runtime, 'run', '-d', '--name', name, '--network', 'none', IMAGE, 'sh', '-c', script)
        container_id = podman(runtime, 'inspect', '--format', '{{.ID}}', name).stdout.strip()
        seen.append(os.path.isdir(os.path.join(RUNTIME_ROOTS[runtime], container_id)))
        seen.append(podman(runtime, 'exec', name, 'sh', '-c', 'echo in exec; exit 4', check=False).returncode)
        seen.append(podman(runtime, 'exec', '--user', '101:201', '--workdir', '/tmp', '--env', 'FOO=bar', name,
                           'sh', '-c', 'id; pwd; echo $FOO').stdout)
        seen.append(podman(runtime, 'top', name, 'args').stdout.splitlines()[:2])
        for command in ('pause', 'unpause'):
            podman(runtime, command, name)
            seen.append(podman(runtime, 'inspect', '--format', '{{.State.Status}}', name).stdout)
        podman(runtime, 'stop', '--time', '10', name)
        seen.append(podman(runtime, 'inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name).stdout)
        seen.append(podman(runtime, 'logs', name).stdout)
        podman(runtime, 'rm', name)
        seen.append(podman(runtime, 'ps', '-a', '--filter', 'name=' + name, '--format', '{{.Names}}').stdout)
        seen.append(os.path.exists(os.path.join(RUNTIME_ROOTS[runtime], container_id)))
        return seen
    with_runcible, with_runc = both(scenario)
    assert with_runcible == with_runc
    assert with_runcible == [
        True, 4, 'uid=101(svc) gid=201(svc)\n/tmp\nbar\n', ['COMMAND', 'sh -c %s ' % script], 'paused\n', 'running\n',
        'exited 3\n', 'started\nterm\n', '', False]


def test_memory_and_pids_limits(podman, both):
    script = ('if [ -e /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; '
              'else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; fi')

    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none', '--memory', '64m',
                        '--pids-limit', '50', IMAGE, 'sh', '-c', script, check=False)
        return result.returncode, result.stdout, result.stderr
    results = both(scenario)
    assert results[0] == results[1] == (0, '67108864\n50\n', '')


def test_privileged(podman, both):
    """Every host device (fileMode from st_mode), all capabilities, no seccomp, /sys writable."""
    with open('/proc/self/status') as handle:
        bounding = [line.split()[1] for line in handle if line.startswith('CapBnd:')][0]
    script = ('ls /dev | sort | md5sum; grep -E "^(CapEff|Seccomp):" /proc/self/status; '
              'grep " /sys " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1')

    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none', '--privileged', IMAGE,
                        'sh', '-c', script, check=False)
        return result.returncode, result.stdout, result.stderr
    results = both(scenario)
    assert results[0] == results[1]
    assert results[0][0] == 0, results[0][2]
    assert results[0][1].splitlines()[1:] == ['CapEff:\t' + bounding, 'Seccomp:\t0', 'rw']


def test_devices(podman, both):
    """--device keeps the host's mode (podman sends st_mode, 0o20600 for /dev/fuse) or takes a new path."""
    if not os.path.exists('/dev/fuse'):
        pytest.skip('this host has no /dev/fuse')
    script = 'stat -c "%A %t:%T %n" /dev/fuse /dev/mynull; echo data > /dev/mynull; echo written=$?'

    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none', '--device', '/dev/fuse',
                        '--device', '/dev/null:/dev/mynull:rw', IMAGE, 'sh', '-c', script, check=False)
        return result.returncode, result.stdout, result.stderr
    results = both(scenario)
    fuse = os.stat('/dev/fuse')
    expected = subprocess.run(['stat', '-c', '%A %t:%T', '/dev/fuse'], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert results[0] == results[1] == (
        0, '%s /dev/fuse\ncrw-rw-rw- 1:3 /dev/mynull\nwritten=0\n' % expected, ''), oct(fuse.st_mode)


def test_pod_shares_namespaces_with_its_infra_container(podman, both):
    """A pod sharing ipc, uts and pid: its containers join the infra container's namespaces by path."""
    script = 'hostname; ps -o args > /tmp/ps; grep -E "^(/catatonit|sleep)" /tmp/ps'

    def scenario(runtime, name):
        podman(runtime, 'pod', 'create', '--name', name, '--network', 'none', '--share', 'ipc,uts,pid')
        podman(runtime, 'run', '-d', '--pod', name, '--name', name + '-sleeper', IMAGE, 'sleep', '100')
        inside = podman(runtime, 'run', '--rm', '--pod', name, IMAGE, 'sh', '-c', script, check=False)
        seen = [inside.returncode, inside.stdout.replace(name, 'POD')]
        seen.append(podman(runtime, 'pod', 'inspect', '--format', '{{.State}} {{.NumContainers}}', name).stdout)
        podman(runtime, 'pod', 'stop', '--time', '0', name)
        seen.append(podman(runtime, 'pod', 'inspect', '--format', '{{.State}}', name).stdout)
        podman(runtime, 'pod', 'rm', name)
        return seen
    results = both(scenario)
    assert results[0] == results[1]
    assert results[0] == [0, 'POD\n/catatonit -P\nsleep 100\n', 'Running 2\n', 'Exited\n']


def test_seccomp_profile(podman, both, tmp_path):
    """--security-opt seccomp=FILE: a profile that refuses mkdir with EACCES."""
    profile = tmp_path / 'profile.json'
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
                       '"action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')
    script = 'grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; echo mkdir=$?; touch /tmp/y; echo touch=$?'

    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none',
                        '--security-opt', 'seccomp=%s' % profile, IMAGE, 'sh', '-c', script, check=False)
        return result.returncode, result.stdout, result.stderr
    results = both(scenario)
    assert results[0] == results[1] == (
        0, "Seccomp:\t2\nmkdir: can't create directory '/tmp/x': Permission denied\nmkdir=1\ntouch=0\n", '')


def test_runtime_errors_reach_the_podman_user(podman, both):
    """A missing program: the runtime's JSON log line becomes podman's message and exit code 127."""
    def scenario(runtime, name):
        result = podman(runtime, 'run', '--rm', '--name', name, '--network', 'none', IMAGE, '/no/such/program',
                        check=False)
        return result.returncode, result.stdout, result.stderr.replace(runtime, 'RUNTIME')
    results = both(scenario)
    assert results[0] == results[1] == (
        127, '', 'Error: RUNTIME: RUNTIME create failed: unable to start container process: exec: '
                 '"/no/such/program": stat /no/such/program: no such file or directory: OCI runtime attempted to '
                 'invoke a command that was not found\n')


def test_checkpoint_and_restore(podman, both, tmp_path):
    """podman asks `RUNTIME checkpoint --help` whether it can, then drives CRIU through the runtime; an exported
    checkpoint restored as a new container (--import --name) gets a config.json with its mounts in another order."""
    criu, reason = find_criu()
    if criu is None:
        pytest.skip(reason)
    # podman, conmon and both runtimes take the criu on PATH.
    env = {'PATH': os.path.dirname(criu) + os.pathsep + os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}
    script = 't=$(cat /proc/sys/kernel/random/uuid); i=0; while true; do i=$((i+1)); echo "$t $i" > /tmp/n; sleep 0.05; done'

    def count(runtime, name, above):
        """(token, count) of the counter once it passes `above` (10 s at most)."""
        deadline = time.monotonic() + 10
        while True:
            token, number = (podman(runtime, 'exec', name, 'cat', '/tmp/n').stdout.split() + ['', '0'])[:2]
            if int(number) > above or time.monotonic() > deadline:
                return token, int(number)
            time.sleep(0.1)

    def scenario(runtime, name):
        podman(runtime, 'run', '-d', '--name', name, '--network', 'none', IMAGE, 'sh', '-c', script)
        token, before = count(runtime, name, 5)
        seen = [podman(runtime, 'container', 'checkpoint', name, env=env, check=False).returncode]
        seen.append(podman(runtime, 'inspect', '--format', '{{.State.Status}}', name).stdout)
        seen.append(podman(runtime, 'container', 'restore', name, env=env, check=False).returncode)
        seen.append(podman(runtime, 'inspect', '--format', '{{.State.Status}}', name).stdout)
        after_token, after = count(runtime, name, before)
        seen.append((after_token == token, after > before))
        podman(runtime, 'exec', name, 'sh', '-c', 'echo kept > /dev/shm/data')
        archive = str(tmp_path / (name + '.tar'))
        seen.append(podman(runtime, 'container', 'checkpoint', '--export', archive, name, env=env,
                           check=False).returncode)
        podman(runtime, 'rm', '--force', '--time', '0', name)
        copy = name + '-copy'
        seen.append(podman(runtime, 'container', 'restore', '--import', archive, '--name', copy, env=env,
                           check=False).stderr)
        copy_token, copy_count = count(runtime, copy, after)
        seen.append((copy_token == token, copy_count > after))
        seen.append(podman(runtime, 'exec', copy, 'cat', '/dev/shm/data', check=False).stdout)
        podman(runtime, 'rm', '--force', '--time', '0', copy)
        return seen
    results = both(scenario)
    assert results[0] == results[1] == [0, 'exited\n', 0, 'running\n', (True, True), 0, '', (True, True), 'kept\n']


@pytest.mark.parametrize('command', ['zipapp copied elsewhere', 'bin/runcible'])
def test_runtime_given_by_its_full_path(podman, tmp_path, command):
    """podman --runtime /path: a copy of the zipapp in another folder, or bin/runcible from the repository."""
    if command == 'bin/runcible':
        runtime = os.path.join(REPO, 'bin', 'runcible')
    else:
        runtime = str(tmp_path / 'copied' / 'my-runtime')
        os.makedirs(os.path.dirname(runtime))
        shutil.copy2(os.path.join(podman.root, 'bin', 'runcible'), runtime)
    name = new_id('pm')
    try:
        result = podman(runtime, 'run', '--name', name, '--network', 'none', IMAGE, 'echo', 'hello', check=False)
        assert (result.returncode, result.stdout) == (0, 'hello\n'), result.stderr
        assert podman(runtime, 'inspect', '--format', '{{.OCIRuntime}}', name).stdout == runtime + '\n'
    finally:
        podman(runtime, 'rm', '--force', '--ignore', '--time', '0', name, check=False)
