# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vendored runtime, called in-process: no subprocess, no interpreter start-up.

Each verb imports its runtime module when called: a run that only reads states (a no-op
converge) then never compiles create, exec and the rest, which Ansible ships as source in
the module's zip and Python compiles on every run (about 60 ms here).
"""

from ..runtime import errors
from ..runtime.container import query
from . import Driver


class VendoredDriver(Driver):
    name = 'runcible'

    def command(self):
        """The runtime's command line from a persisted copy of this package (see driver.persist)."""
        from . import persist
        return persist.cli_command() + ['--root', self.root] + (['--criu', self.criu_path] if self.criu_path else [])

    def state(self, container_id):
        try:
            return query.get_state(self.root, container_id)
        except errors.ContainerNotExist:
            return None

    def list(self):
        return query.list_states(self.root)

    def create(self, container_id, bundle, stdio=None, pid_file=None):
        from ..runtime.container import create
        create.create(self.root, container_id, bundle, pid_file=pid_file, stdio=stdio)

    def start(self, container_id):
        from ..runtime.container import start
        start.start(self.root, container_id)

    def kill(self, container_id, signal='SIGTERM', all_processes=False):
        from ..runtime.container import kill
        kill.kill(self.root, container_id, kill.parse_signal(str(signal)), all_processes=all_processes)

    def delete(self, container_id, force=False):
        from ..runtime.container import delete
        try:
            delete.delete(self.root, container_id, force=force)
        except errors.ContainerNotExist:
            if not force:
                raise

    def exec_captured(self, container_id, process, input_bytes=b'', timeout=None):
        from ..runtime.container import exec as execmod
        return execmod.run_captured(self.root, container_id, process, input_bytes=input_bytes, timeout=timeout)

    def update(self, container_id, resources):
        from ..runtime.container import update
        update.update(self.root, container_id, resources)

    def pause(self, container_id):
        from ..runtime.container import pause
        pause.pause(self.root, container_id)

    def resume(self, container_id):
        from ..runtime.container import pause
        pause.resume(self.root, container_id)

    def criu_cache(self):
        from ..runtime.criu import binary
        return binary.cache_file(self.root)

    def checkpoint(self, container_id, image_path, leave_running=False, tcp_established=False, file_locks=False):
        from ..runtime.container import checkpoint
        from ..runtime.criu.options import CriuOptions
        options = CriuOptions(image_path=image_path, leave_running=leave_running, tcp_established=tcp_established,
                              file_locks=file_locks)
        checkpoint.checkpoint(self.root, container_id, options, criu=self.criu_path or 'criu')

    def restore(self, container_id, bundle, image_path, tcp_established=False, file_locks=False, stdio=None,
                pid_file=None):
        import os
        from ..runtime.container import restore
        from ..runtime.criu.options import CriuOptions
        options = CriuOptions(image_path=image_path, tcp_established=tcp_established, file_locks=file_locks)
        # In-process, the default stdio would be the module's own (Ansible reads it): never hand that over.
        with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
            fds = stdio or (null_in.fileno(), null_out.fileno(), null_out.fileno())
            restore.restore(self.root, container_id, bundle, options, criu=self.criu_path or 'criu', detach=True,
                            pid_file=pid_file, stdio=fds)
