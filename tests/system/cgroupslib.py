# -*- coding: utf-8 -*-
"""Helpers for the cgroup system tests: the runtime import, test-owned cgroup paths, child processes.

Children are started blocked on their stdin, so a test can move them into
a cgroup before they do their work, then release them by writing a line.
"""

import os
import shutil
import subprocess
import sys
import uuid

from systemlib import import_collection

import_collection()

from ansible_collections.runcible.oci.plugins.module_utils.runtime import cgroups  # noqa: E402

BUSYBOX = '/bin/busybox'


def unique_name():
    """A cgroup name no one else uses: runcible-test-<random>."""
    return 'runcible-test-' + uuid.uuid4().hex[:12]


def leftovers(name):
    """Every directory called `name` at the top of, or below this process's cgroup in, any hierarchy."""
    found = []
    for hierarchy in cgroups.discover():
        for base in ('/', hierarchy.own_path):
            directory = hierarchy.directory(os.path.join(base, name))
            if os.path.isdir(directory):
                found.append(directory)
    return sorted(set(found))


class Child:
    """A Python child that waits for one line on stdin before running `code`."""

    def __init__(self, code, *args):
        script = 'import sys\nsys.stdin.readline()\n' + code
        self.process = subprocess.Popen([sys.executable, '-c', script] + [str(a) for a in args],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        universal_newlines=True)
        self.pid = self.process.pid

    def release(self):
        self.process.stdin.write('go\n')
        self.process.stdin.flush()

    def finish(self, timeout=60):
        """(returncode, stdout, stderr) once it has exited."""
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def make_busybox_rootfs(rootfs):
    """rootfs/bin/busybox from busybox-static, with every applet linked to it."""
    bin_dir = os.path.join(rootfs, 'bin')
    os.makedirs(bin_dir)
    shutil.copy2(BUSYBOX, os.path.join(bin_dir, 'busybox'))
    applets = subprocess.run([BUSYBOX, '--list'], check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    for applet in applets.split():
        if applet != 'busybox':
            os.symlink('busybox', os.path.join(bin_dir, applet))
