# -*- coding: utf-8 -*-
"""Helpers for the checkpoint/restore system tests: a CRIU that works here, and containers it can dump.

The CRIU is the host's when `criu check` passes, else the one scripts/criu-setup
installs (/opt/runcible-criu/bin/criu), else RUNCIBLE_TEST_CRIU if set first.
CRIU cannot dump a container whose stdout or stderr is a host file, so these
containers get /dev/null or pipes, and runtime errors are read from --log.
"""

import json
import os
import platform
import re
import shutil
import subprocess
import time

import pytest

CRIU_WRAPPER = '/opt/runcible-criu/bin/criu'

# A counter that keeps a random token in memory: after a restore the same token and a count
# that went on prove the process kept its memory; a restarted one would draw a new token.
COUNTER = ('t=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do i=$((i+1)); '
           'echo "$t $i" > {dir}/count.new && mv {dir}/count.new {dir}/count; sleep 0.05; done')
# The same, on stdout.
STDOUT_COUNTER = 't=$(cat /proc/sys/kernel/random/uuid); i=0; while :; do i=$((i+1)); echo "$t $i"; sleep 0.05; done'


def criu_check(path):
    """(passes, output) of `path check`."""
    try:
        result = subprocess.run([path, 'check'], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return False, str(exc)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def find_criu():
    """(path, None) of a CRIU that passes `criu check`, or (None, why there is none)."""
    reasons = []
    candidates = [os.environ.get('RUNCIBLE_TEST_CRIU'), shutil.which('criu'), CRIU_WRAPPER]
    for candidate in [c for c in candidates if c]:
        if not os.path.exists(candidate):
            reasons.append('%s: not installed' % candidate)
            continue
        passes, output = criu_check(candidate)
        if passes:
            return candidate, None
        reasons.append('%s fails criu check: %s' % (candidate, output.splitlines()[-1] if output else '?'))
    return None, 'no usable CRIU (run scripts/criu-setup as root): ' + '; '.join(reasons)


def criu_version(path):
    output = subprocess.run([path, '--version'], capture_output=True, text=True, check=False).stdout
    match = re.search(r'Version:\s*(\d+)\.(\d+)', output)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def kernel_version():
    match = re.match(r'(\d+)\.(\d+)', platform.release())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def skip_unless_criu_dumps_sockets(criu):
    """CRIU < 4.2 cannot dump any inet socket on Linux >= 6.16 (SO_PASSCRED is refused there)."""
    if kernel_version() >= (6, 16) and criu_version(criu) < (4, 2):
        pytest.skip('CRIU %d.%d cannot dump inet sockets on Linux %d.%d (needs CRIU 4.2+)'
                    % (criu_version(criu) + kernel_version()))


@pytest.fixture(scope='session')
def criu():
    path, reason = find_criu()
    if path is None:
        pytest.skip(reason)
    return path


class Checkpointer:
    """A Runtime driven with --criu, and with --log for commands whose container keeps their stdio."""

    def __init__(self, runtime, criu_path, log_path):
        self.runtime = runtime
        self.criu = criu_path
        self.log_path = log_path

    @property
    def name(self):
        return self.runtime.name

    def cmd(self, *args, **kwargs):
        """A command whose output may go to files (nothing of it outlives the command)."""
        return self.runtime.cmd('--criu', self.criu, *args, **kwargs)

    def detached(self, *args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, criu=None):
        """`run -d`, `restore` and the like: stdio the container may keep, errors read from --log."""
        with open(self.log_path, 'w'):
            pass
        argv = self.runtime.argv + ['--root', self.runtime.root, '--log', self.log_path,
                                    '--criu', criu or self.criu] + list(args)
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, timeout=timeout,
                                   check=False)
        with open(self.log_path) as handle:
            completed.log = handle.read()
        return completed

    def checkpoint(self, container_id, image, *flags, criu=None):
        return self.runtime.cmd('--criu', criu or self.criu, 'checkpoint', '--image-path', str(image),
                                *flags, container_id)

    def restore(self, container_id, image, bundle, *flags, detach=True, criu=None, **kwargs):
        args = ['restore'] + (['-d'] if detach else []) + ['--image-path', str(image), '--bundle', bundle.path]
        return self.detached(*(args + list(flags) + [container_id]), criu=criu, **kwargs)

    def state(self, container_id):
        return self.runtime.state(container_id)

    def status(self, container_id):
        result = self.runtime.cmd('state', container_id)
        return json.loads(result.stdout)['status'] if result.returncode == 0 else None

    def ids(self):
        return self.runtime.ids()

    def exec_output(self, container_id, *argv):
        result = self.runtime.cmd('exec', container_id, *argv)
        return result.stdout if result.returncode == 0 else None


def log_message(text):
    """The msg of the last error line of a runc-style log."""
    lines = [line for line in text.splitlines() if 'level=error' in line]
    if not lines:
        return ''
    raw = lines[-1].split('msg=', 1)[1]
    return json.loads(raw) if raw.startswith('"') else raw


def wait_until(predicate, timeout=15.0, interval=0.05):
    """Poll `predicate` until it returns a true value (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def read_count(path):
    """(token, count) from a counter file, or None while it is not there."""
    try:
        with open(path) as handle:
            token, count = handle.read().split()
        return token, int(count)
    except (OSError, ValueError):
        return None


def parse_count(text):
    try:
        token, count = (text or '').split()
        return token, int(count)
    except ValueError:
        return None


def counter_bundle(bundle, data_dir=None, readonly_root=True):
    """A bundle whose process counts into `data_dir` (a bind mount at /data), else into a tmpfs at /tmp."""
    config = bundle.config
    config['root']['readonly'] = readonly_root
    if data_dir is not None:
        os.makedirs(data_dir, exist_ok=True)
        config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(data_dir),
                                 'options': ['rbind', 'rw']})
        script = COUNTER.format(dir='/data')
    else:
        config['mounts'].append({'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',
                                 'options': ['nosuid', 'nodev', 'mode=1777']})
        script = COUNTER.format(dir='/tmp')
    config['process']['args'] = ['sh', '-c', script]
    return bundle.write()


def image_files(path):
    """{name: bytes} of an image folder, to prove a failed operation left it alone."""
    found = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), 'rb') as handle:
            found[name] = handle.read()
    return found
