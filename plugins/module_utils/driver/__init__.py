# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One interface to the three runtimes a playbook can choose.

`runtime: runcible` (the default) calls the vendored runtime in-process;
`runtime: runc`, `crun` or a path runs that binary with runc's command line.
Every driver takes the same arguments and raises the runtime's errors
(runtime.errors), so the modules never care which one they talk to.
"""

import os

from ..runtime import errors

VENDORED = 'runcible'
DEFAULT_ROOTS = {'runcible': '/run/runcible', 'runc': '/run/runc', 'crun': '/run/crun'}


def default_root(runtime):
    """The --root a runtime uses when none is given."""
    name = os.path.basename(runtime) if runtime else VENDORED
    return DEFAULT_ROOTS.get(name, '/run/' + name)


def get_driver(runtime=None, runtime_root=None, criu_path=None):
    """The driver for `runtime` (runcible, runc, crun or a binary's path)."""
    runtime = runtime or VENDORED
    root = runtime_root or default_root(runtime)
    if runtime == VENDORED:
        from .vendored import VendoredDriver
        return VendoredDriver(root, criu_path=criu_path)
    from .binary import BinaryDriver, resolve_binary
    return BinaryDriver(resolve_binary(runtime), root, criu_path=criu_path)


class Driver:
    """What every driver offers. Container states are OCI state dicts (status included)."""

    name = None

    def __init__(self, root, criu_path=None):
        self.root = root
        self.criu_path = criu_path

    def command(self):
        """argv prefix that runs this runtime's command line (for the supervisor and units)."""
        raise NotImplementedError

    def state(self, container_id):
        """The OCI state of the container, or None when it does not exist."""
        raise NotImplementedError

    def list(self):
        raise NotImplementedError

    def create(self, container_id, bundle, stdio=None, pid_file=None):
        raise NotImplementedError

    def start(self, container_id):
        raise NotImplementedError

    def kill(self, container_id, signal='SIGTERM', all_processes=False):
        raise NotImplementedError

    def delete(self, container_id, force=False):
        raise NotImplementedError

    def exec_captured(self, container_id, process, input_bytes=b'', timeout=None):
        """(exit code, stdout bytes, stderr bytes, timed out) of `process` run in the container."""
        raise NotImplementedError

    def update(self, container_id, resources):
        raise NotImplementedError

    def pause(self, container_id):
        raise NotImplementedError

    def resume(self, container_id):
        raise NotImplementedError

    def exists(self, container_id):
        return self.state(container_id) is not None

    def criu(self):
        """The usable CRIU (runtime.criu.binary.Criu) for `criu_path`; CriuError with CRIU's reason if there is none."""
        from ..runtime.criu import binary
        return binary.find(self.criu_path or 'criu', self.criu_cache())

    def criu_cache(self):
        """Where a passed `criu check` may be remembered (None: nowhere)."""
        return None

    def require_checkpoint(self):
        """CriuError unless this runtime can checkpoint at all."""
        return None

    def checkpoint(self, container_id, image_path, leave_running=False, tcp_established=False, file_locks=False):
        """Dump the running container to the folder `image_path` with CRIU (removed unless `leave_running`)."""
        raise NotImplementedError

    def restore(self, container_id, bundle, image_path, tcp_established=False, file_locks=False, stdio=None,
                pid_file=None):
        """Restore the container from `image_path` with `bundle`, detached; `stdio` replaces its stdio pipes."""
        raise NotImplementedError

    def restore_command(self, bundle, image_path, tcp_established=False, file_locks=False):
        """The runtime's `restore -d` arguments (after command()'s global flags; the caller adds
        --pid-file and the container ID): the supervisor restores through them."""
        args = ['restore', '-d', '--image-path', image_path, '--bundle', bundle]
        return args + criu_flags(tcp_established, file_locks)


def criu_flags(tcp_established=False, file_locks=False):
    """runc's command-line flags for the CRIU options the modules offer."""
    return (['--tcp-established'] if tcp_established else []) + (['--file-locks'] if file_locks else [])


def not_found(message):
    """Is `message` a runtime's way of saying the container does not exist?"""
    return 'does not exist' in message or 'not found' in message.lower()


__all__ = ['Driver', 'get_driver', 'default_root', 'errors']
