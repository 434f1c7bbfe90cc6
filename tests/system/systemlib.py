# -*- coding: utf-8 -*-
"""Helpers for system tests: real containers from busybox bundles, as root.

A `Runtime` runs one OCI runtime binary (bin/runcible or runc) with its own
--root in the test's temporary folder, so that runs never collide, and after
each test every container it made is force-deleted and checked gone.
"""

import atexit
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNCIBLE = os.path.join(REPO, 'bin', 'runcible')
BUSYBOX = '/bin/busybox'
# Debian's interpreter starts fastest; any Python 3.9+ runs bin/runcible.
PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable

sys.path.insert(0, os.path.join(REPO, 'plugins', 'module_utils'))


def import_collection():
    """Make `ansible_collections.runcible.oci` importable from this checkout (a symlink tree in a temp folder)."""
    try:
        import ansible_collections.runcible.oci.plugins.module_utils.image  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    base = tempfile.mkdtemp(prefix='runcible-collection-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'runcible'))
    os.symlink(REPO, os.path.join(base, 'ansible_collections', 'runcible', 'oci'))
    sys.path.insert(0, base)
    atexit.register(shutil.rmtree, base, True)
    for name in [name for name in sys.modules if name == 'ansible_collections' or name.startswith('ansible_collections.')]:
        del sys.modules[name]


def make_rootfs(path):
    """A one-file rootfs: static busybox and a symlink per applet, plus /etc files."""
    bin_dir = os.path.join(path, 'bin')
    os.makedirs(bin_dir)
    shutil.copy2(BUSYBOX, os.path.join(bin_dir, 'busybox'))
    applets = subprocess.run([BUSYBOX, '--list'], check=True, capture_output=True, text=True).stdout.split()
    for applet in applets:
        if applet != 'busybox':
            os.symlink('busybox', os.path.join(bin_dir, applet))
    etc = os.path.join(path, 'etc')
    os.makedirs(etc)
    with open(os.path.join(etc, 'passwd'), 'w') as handle:
        handle.write('root:x:0:0:root:/root:/bin/sh\nsvc:x:101:201:service:/home/svc:/bin/sh\n')
    with open(os.path.join(etc, 'group'), 'w') as handle:
        handle.write('root:x:0:\nsvc:x:201:\n')
    for name in ('proc', 'sys', 'dev', 'tmp', 'root'):
        os.makedirs(os.path.join(path, name), exist_ok=True)
    os.chmod(os.path.join(path, 'tmp'), 0o1777)


def default_config():
    from runtime.spec.default import default_spec
    spec = default_spec()
    spec['process']['terminal'] = False
    return spec


class Bundle:
    """A bundle folder with its own copy of the busybox rootfs."""

    def __init__(self, path, template):
        self.path = path
        self.rootfs = os.path.join(path, 'rootfs')
        shutil.copytree(template, self.rootfs, symlinks=True)
        self.config = default_config()

    def write(self, args=None, **changes):
        """Write config.json with process.args `args` and top-level `changes` merged in."""
        config = copy.deepcopy(self.config)
        if args is not None:
            config['process']['args'] = list(args)
        for key, value in changes.items():
            config[key] = value
        with open(os.path.join(self.path, 'config.json'), 'w') as handle:
            json.dump(config, handle)
        return self


class Runtime:
    """One OCI runtime command with a private --root."""

    def __init__(self, name, argv, root):
        self.name = name
        self.argv = argv
        self.root = root

    def __repr__(self):
        return '<Runtime %s>' % self.name

    def cmd(self, *args, check=False, timeout=60, **kwargs):
        """Run the runtime; output is captured through files, not pipes.

        A created or detached container keeps the caller's stdio (as runc
        does), so a pipe would never reach end-of-file while it lives.
        """
        if 'stdin' not in kwargs and 'input' not in kwargs:
            kwargs['stdin'] = subprocess.DEVNULL
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            completed = subprocess.run(self.argv + ['--root', self.root] + list(args), timeout=timeout,
                                       stdout=out, stderr=err, check=False, **kwargs)
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(completed.args, completed.returncode,
                                                 out.read().decode('utf-8', 'replace'),
                                                 err.read().decode('utf-8', 'replace'))
        if check and result.returncode != 0:
            raise AssertionError('%s %s failed (%d): %s%s' % (self.name, ' '.join(args), result.returncode,
                                                              result.stdout, result.stderr))
        return result

    def state(self, container_id):
        result = self.cmd('state', container_id, check=True)
        return json.loads(result.stdout)

    def ids(self):
        result = self.cmd('list', '-q', check=True)
        return result.stdout.split()

    def cleanup(self):
        for container_id in self.ids():
            self.cmd('delete', '-f', container_id)


def runtime_factory(name, root, prefix=()):
    """The runtime `name` with --root `root`; `prefix` runs it through a command (nsenter ...)."""
    if name == 'runcible':
        return Runtime('runcible', list(prefix) + [PYTHON, RUNCIBLE], root)
    binary = shutil.which(name)
    if binary is None:
        pytest.skip('%s is not installed' % name)
    if name == 'crun':
        reason = crun_unusable_reason()
        if reason:
            pytest.skip(reason)
    return Runtime(name, list(prefix) + [binary], root)


def crun_unusable_reason():
    """Why Debian's crun 1.8 cannot run containers here, or None (ENVIRONMENT.md)."""
    try:
        with open('/sys/fs/cgroup/unified/cgroup.controllers') as handle:
            controllers = handle.read().split()
    except OSError:
        return None
    if controllers:
        return ('crun 1.8 refuses a hybrid host whose cgroup v2 tree holds controllers (%s): mount them as v1 '
                'hierarchies first (scripts/lib/common.sh mount_v1_hierarchies; scripts/test system does it)'
                % ' '.join(controllers))
    return None


def error_message(stderr):
    """The msg of the last runc-style error line on stderr, unquoted."""
    lines = [line for line in stderr.splitlines() if 'level=error' in line]
    if not lines:
        return None
    text = lines[-1].split('msg=', 1)[1]
    return json.loads(text) if text.startswith('"') else text


def new_id(prefix='t'):
    return '%s%s' % (prefix, uuid.uuid4().hex[:10])


def block_io_weight_supported():
    """Whether this kernel can weigh block I/O per cgroup: BFQ, the only I/O scheduler with cgroup weights, is
    registered (it is listed for the block devices). Some of these machines' kernels lack it, and then runc and
    runcible both refuse linux.resources.blockIO.weight (the file the weight goes to does not exist)."""
    for name in os.listdir('/sys/block'):
        try:
            with open('/sys/block/%s/queue/scheduler' % name) as handle:
                if 'bfq' in handle.read().replace('[', ' ').replace(']', ' ').split():
                    return True
        except OSError:
            continue
    return False


def cgroup_dirs(name):
    """Every directory called `name` in any cgroup hierarchy (to prove clean-up)."""
    found = []
    for top in ('/sys/fs/cgroup',):
        for directory, subdirs, _files in os.walk(top):
            if os.path.basename(directory) == name:
                found.append(directory)
            subdirs[:] = [d for d in subdirs if not d.startswith('.')]
    return found


def processes_with_cgroup(name):
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cgroup' % entry) as handle:
                if '/%s\n' % name in handle.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def leftovers_of(runtime, container_id, rootfs=None, cgroups_path=None):
    """What a container that failed or was deleted left on the host: [] when nothing.

    Its state folder, a cgroup directory where the runtime puts its cgroup
    (beside our own cgroups, or at `cgroups_path`), and mounts below `rootfs`
    in this mount namespace.
    """
    from runtime import cgroups
    found = []
    if os.path.exists(os.path.join(runtime.root, container_id)):
        found.append('state folder %s' % os.path.join(runtime.root, container_id))
    names = [container_id]
    if isinstance(cgroups_path, str) and cgroups_path.strip('/') and '..' not in cgroups_path.split('/'):
        names.append(cgroups_path)
    for hierarchy in cgroups.discover():
        for name in names:
            path = name if name.startswith('/') else os.path.join(hierarchy.own_path, name)
            directory = hierarchy.directory(path)
            if os.path.isdir(directory) and directory != hierarchy.mountpoint:
                found.append('cgroup %s' % directory)
    if rootfs:
        with open('/proc/self/mountinfo') as handle:
            found.extend('mount %s' % line.split()[4] for line in handle
                         if line.split()[4].startswith(rootfs.rstrip('/') + '/'))
    return found


class ScratchMountNamespace:
    """A mount namespace of the test's own, held by a sleeping process, that runtimes can run in.

    A runtime run through `prefix` (nsenter) treats it as the host's: what it
    mounts there never reaches the machine, and the namespace goes with the
    holder. `propagation` ("private" or "shared") is what its "/" gets.
    """

    def __init__(self, propagation='private'):
        self.holder = subprocess.Popen(['unshare', '--mount', '--propagation', propagation, 'sleep', '600'],
                                       stdin=subprocess.DEVNULL)
        own = os.readlink('/proc/self/ns/mnt')
        for _attempt in range(500):
            if os.readlink('/proc/%d/ns/mnt' % self.holder.pid) != own:
                break
            if self.holder.poll() is not None:
                raise AssertionError('unshare --mount failed (%s)' % self.holder.returncode)
            time.sleep(0.01)
        self.prefix = ['nsenter', '-t', str(self.holder.pid), '-m', '--']

    def runtime(self, name, root):
        return runtime_factory(name, root, prefix=self.prefix)

    def run(self, *argv):
        """Run a command in the namespace (mount, umount): the CompletedProcess."""
        return subprocess.run(self.prefix + list(argv), capture_output=True, text=True, timeout=60, check=False)

    def mounts_under(self, path):
        """Mount points at or below `path` in the namespace."""
        with open('/proc/%d/mountinfo' % self.holder.pid) as handle:
            points = [line.split()[4] for line in handle]
        return [p for p in points if p == path or p.startswith(path.rstrip('/') + '/')]

    def close(self):
        self.holder.kill()
        self.holder.wait()
