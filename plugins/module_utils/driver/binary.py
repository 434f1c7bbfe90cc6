# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc, crun or any runtime with runc's command line, run as a program.

The binary's own messages go to a JSON log file (--log, --log-format json),
so that its stdio can be the container's (create) or the process' (exec)
without mixing the two.
"""

import os
import shutil
import tempfile

from ..runtime import errors, jsonc
from ..runtime import log as runtime_log
from ..runtime.linux import spawn
from . import Driver, criu_flags, not_found

# How long a runtime command may take before we give up on it.
COMMAND_TIMEOUT = 120


def resolve_binary(runtime):
    """The absolute path of `runtime` (a name on PATH or a path); UsageError if it is not there."""
    if os.sep in runtime:
        path = runtime
    else:
        path = shutil.which(runtime) or ''
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise errors.UsageError('runtime %r: no such executable (install it, or give its path in `runtime`)'
                                % runtime)
    return os.path.abspath(path)


class BinaryDriver(Driver):

    def __init__(self, binary, root, criu_path=None):
        super().__init__(root, criu_path)
        self.binary = binary
        self.name = os.path.basename(binary)

    def command(self):
        argv = [self.binary, '--root', self.root]
        if self.criu_path:
            argv += ['--criu', self.criu_path]
        return argv

    def _run(self, args, stdio=None, input_bytes=b'', timeout=COMMAND_TIMEOUT):
        """Run a command; (result, error message from the log or None)."""
        with tempfile.NamedTemporaryFile(prefix='runcible-runtime-log-') as log:
            argv = [self.binary, '--log', log.name, '--log-format', 'json', '--root', self.root]
            if self.criu_path:
                argv += ['--criu', self.criu_path]
            try:
                result = spawn.run(argv + list(args), executable=self.binary, input_bytes=input_bytes,
                                   timeout=timeout, stdio=stdio)
            except OSError as exc:
                raise errors.SetupError('cannot run %s: %s' % (self.binary, errors.strerror(exc)))
            return result, runtime_log.last_error(log.name)

    def _check(self, args, **kwargs):
        result, message = self._run(args, **kwargs)
        if result.timed_out:
            raise errors.SetupError('%s %s did not finish within %ds' % (self.name, args[0], COMMAND_TIMEOUT))
        if result.returncode != 0:
            raise _error(self.name, args[0], message or result.stderr.decode('utf-8', 'replace').strip()
                         or 'exit status %d' % result.returncode)
        return result

    def state(self, container_id):
        result, message = self._run(['state', container_id])
        if result.returncode != 0:
            # runc and crun keep a container's state in <root>/<id>; without it there is no container.
            if not_found(message or '') or not os.path.isdir(os.path.join(self.root, container_id)):
                return None
            raise _error(self.name, 'state', message or 'exit status %d' % result.returncode)
        return jsonc.loads(result.stdout)

    def list(self):
        result = self._check(['list', '--format', 'json'])
        return jsonc.loads(result.stdout) or []

    def create(self, container_id, bundle, stdio=None, pid_file=None):
        args = ['create', '--bundle', bundle]
        if pid_file:
            args += ['--pid-file', pid_file]
        if stdio is None:
            with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
                return self._check(args + [container_id], stdio=(null_in.fileno(), null_out.fileno(),
                                                                 null_out.fileno()))
        return self._check(args + [container_id], stdio=stdio)

    def start(self, container_id):
        self._check(['start', container_id])

    def kill(self, container_id, signal='SIGTERM', all_processes=False):
        self._check(['kill'] + (['--all'] if all_processes else []) + [container_id, str(signal)])

    def delete(self, container_id, force=False):
        result, message = self._run(['delete'] + (['--force'] if force else []) + [container_id])
        missing = not_found(message or '') or not os.path.isdir(os.path.join(self.root, container_id))
        if result.returncode != 0 and not (force and missing):
            raise _error(self.name, 'delete', message or 'exit status %d' % result.returncode)

    def exec_captured(self, container_id, process, input_bytes=b'', timeout=None):
        with tempfile.NamedTemporaryFile('w', prefix='runcible-process-', suffix='.json') as spec:
            spec.write(jsonc.dumps(process))
            spec.flush()
            result, message = self._run(['exec', '--process', spec.name, container_id], input_bytes=input_bytes,
                                        timeout=timeout)
        if message and result.returncode == 255:
            raise _error(self.name, 'exec', message)
        code = 128 - result.returncode if result.returncode < 0 else result.returncode
        return code, result.stdout, result.stderr, result.timed_out

    def update(self, container_id, resources):
        self._check(['update', '--resources', '-', container_id], input_bytes=jsonc.dumps(resources).encode())

    def pause(self, container_id):
        self._check(['pause', container_id])

    def resume(self, container_id):
        self._check(['resume', container_id])

    def require_checkpoint(self):
        """CriuError unless this runtime has a checkpoint command (Debian's crun is built without CRIU)."""
        result, _message = self._run(['checkpoint', '--help'])
        if result.returncode != 0:
            raise errors.CriuError('runtime %s (%s) has no checkpoint command (built without CRIU support): use '
                                   'runtime runcible or runc' % (self.name, self.binary))

    def checkpoint(self, container_id, image_path, leave_running=False, tcp_established=False, file_locks=False):
        self.require_checkpoint()
        args = ['checkpoint', '--image-path', image_path] + (['--leave-running'] if leave_running else [])
        self._check(args + criu_flags(tcp_established, file_locks) + [container_id])

    def restore(self, container_id, bundle, image_path, tcp_established=False, file_locks=False, stdio=None,
                pid_file=None):
        self.require_checkpoint()
        args = self.restore_command(bundle, image_path, tcp_established, file_locks)
        args += (['--pid-file', pid_file] if pid_file else []) + [container_id]
        if stdio is None:
            with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
                return self._check(args, stdio=(null_in.fileno(), null_out.fileno(), null_out.fileno()))
        return self._check(args, stdio=stdio)


def _error(name, command, message):
    if not_found(message):
        return errors.ContainerNotExist()
    if 'already exists' in message:
        return errors.ContainerExists()
    return errors.SetupError('%s %s failed: %s' % (name, command, message))
