# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: oci
short_description: Run tasks in a running OCI container on the controller's host
description:
  - Runs Ansible tasks inside a running container of the vendored runtime (C(runcible)), C(runc) or C(crun),
    the way C(community.docker.docker) does for Docker. Commands go through the runtime's C(exec); files are copied
    straight into and out of the container's root file system.
  - The container must run on the host where Ansible runs, and Ansible must run as root there.
  - Files go through C(/proc/<pid>/root) of the container's init. Every path is resolved inside the container
    (symlinks and C(..) never lead out of it), files put into the container belong to the remote user (mapped
    through the container's user namespace, if it has one) and are written under a temporary name then renamed,
    so a failed transfer leaves nothing behind. Binary and large files are streamed.
  - Modules need a Python in the container (see C(ansible_python_interpreter)); without one, only
    C(ansible.builtin.raw) works.
author:
  - runcible developers (@runcible)
version_added: 0.1.0
extends_documentation_fragment:
  - connection_pipelining
options:
  remote_addr:
    description:
      - The container's ID, as the runtime knows it (C(runc list)).
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_oci_container
  remote_user:
    description:
      - The user tasks run as in the container, given as a uid, C(uid:gid), or a user (and group) name from the container's
        C(/etc/passwd) and C(/etc/group).
      - Unset, tasks run as the container's own process user (C(process.user) of its config.json).
    type: str
    vars:
      - name: ansible_user
      - name: ansible_oci_user
    keyword:
      - name: remote_user
  runtime:
    description:
      - The runtime that runs the container. C(runcible) is the collection's vendored runtime; C(runc) and C(crun)
        are looked up on the controller's E(PATH); any other value is the path of a binary with runc's command
        line.
    type: str
    default: runcible
    vars:
      - name: ansible_oci_runtime
    env:
      - name: RUNCIBLE_OCI_RUNTIME
  runtime_root:
    description:
      - The runtime's state folder (its C(--root)), where it finds the container.
      - Default C(/run/runcible), C(/run/runc) or C(/run/crun) by runtime, as in the modules.
    type: str
    vars:
      - name: ansible_oci_runtime_root
    env:
      - name: RUNCIBLE_OCI_RUNTIME_ROOT
  runtime_python:
    description:
      - The Python interpreter that runs the vendored runtime's command line (runtime C(runcible) only).
      - The plugin copies the runtime's sources once to C(/var/lib/runcible/lib/<digest>/), the copy that the
        modules' container supervisors use too, and runs its C(runcible) script with this interpreter.
      - Default the interpreter Ansible itself runs on. A system Python such as C(/usr/bin/python3) starts faster
        than a virtual environment's.
    type: str
    vars:
      - name: ansible_oci_runtime_python
    env:
      - name: RUNCIBLE_OCI_RUNTIME_PYTHON
notes:
  - C(become) works when it needs no password (sudo with NOPASSWD, su as root); the plugin does not answer
    password prompts.
  - A paused or stopped container is refused with its status in the message.
"""

EXAMPLES = r"""
# inventory.yml: the container "web" of the vendored runtime, and "db" of runc
# all:
#   hosts:
#     web:
#       ansible_connection: runcible.oci.oci
#       ansible_python_interpreter: /usr/bin/python3
#     db:
#       ansible_connection: runcible.oci.oci
#       ansible_oci_runtime: runc
#       ansible_user: "101:201"

- name: Configure the container
  hosts: web
  gather_facts: false
  tasks:
    - name: A file in it
      ansible.builtin.copy:
        content: "hello\n"
        dest: /etc/motd
        mode: "0644"
"""

import os
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.runcible.oci.plugins.module_utils.bundle import users
from ansible_collections.runcible.oci.plugins.module_utils.driver import get_driver
from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.plugin_utils import container_exec, container_files

display = Display()


class Connection(ConnectionBase):
    """Exec and file transfer into a running container of an OCI runtime."""

    transport = 'runcible.oci.oci'
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._driver = None
        self._runtime_command = None
        self._exec_user = None
        self._user_resolved = False
        self._user_spec = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        """Load the options; keep remote_user for the runtime, and show Ansible only a name its shell can expand."""
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._user_spec = self.get_option('remote_user')
        self.set_option('remote_user', container_exec.shell_user(self._user_spec))
        self._user_resolved = False
        self._exec_user = None

    @property
    def _container_id(self):
        return self.get_option('remote_addr')

    def _connect(self):
        """Find the runtime and check that the container runs."""
        if self._connected:
            return self
        runtime = self.get_option('runtime') or 'runcible'
        try:
            self._driver = get_driver(runtime, self.get_option('runtime_root'))
            command = self._driver.command()
        except errors.RuntimeErrorBase as exc:
            raise AnsibleConnectionFailure('runcible.oci.oci: %s' % to_native(exc))
        if runtime == 'runcible':
            command = container_exec.with_python(command, self.get_option('runtime_python'))
        self._runtime_command = command
        self._running_pid()
        self._connected = True
        display.vvv('runcible.oci.oci: container %s of %s (root %s)' % (self._container_id, runtime, self._driver.root),
                    host=self._container_id)
        return self

    def _running_pid(self):
        """The host pid of the container's init; AnsibleConnectionFailure unless it is running."""
        try:
            state = self._driver.state(self._container_id)
        except errors.RuntimeErrorBase as exc:
            raise AnsibleConnectionFailure('runcible.oci.oci: cannot read the state of container %s: %s'
                                           % (self._container_id, to_native(exc)))
        if state is None:
            raise AnsibleConnectionFailure('runcible.oci.oci: no container %r under %s (runtime %s): check the inventory '
                                           'name or ansible_oci_container, runtime and runtime_root'
                                           % (self._container_id, self._driver.root, self._driver.name))
        if state.get('status') != 'running' or not state.get('pid'):
            raise AnsibleConnectionFailure('runcible.oci.oci: container %s is %s, not running'
                                           % (self._container_id, state.get('status')))
        return state['pid']

    def _user(self, pid):
        """The remote user as bundle.users.ExecUser (ids inside the container), or None for the container's own."""
        if not self._user_resolved:
            spec = self._user_spec
            if spec:
                try:
                    self._exec_user = users.resolve_user(str(spec), rootfs=container_files.container_root(pid),
                                                         field='remote_user')
                except (errors.RuntimeErrorBase, OSError, ValueError) as exc:
                    raise AnsibleConnectionFailure('runcible.oci.oci: remote_user %r: %s' % (spec, to_native(exc)))
            self._user_resolved = True
        return self._exec_user

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Run `cmd` with the play's shell in the container; (rc, stdout, stderr)."""
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        pid = self._running_pid()
        shell = self._play_context.executable or '/bin/sh'
        argv = container_exec.exec_argv(self._runtime_command, self._container_id, [shell, '-c', cmd],
                                        self._user(pid))
        display.vvv('EXEC %s' % to_text(' '.join(argv)), host=self._container_id)
        try:
            process = subprocess.Popen([to_bytes(arg, errors='surrogate_or_strict') for arg in argv],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise AnsibleConnectionFailure('runcible.oci.oci: cannot run %s: %s' % (argv[0], to_native(exc)))
        stdout, stderr = process.communicate(in_data)
        return process.returncode, stdout, stderr

    def _owner(self, pid):
        """(uid, gid) on the host that files put into the container belong to."""
        try:
            user = self._user(pid)
            if user is None:
                return container_files.process_ids(_read('/proc/%d/status' % pid))
            return (container_files.host_id(_read('/proc/%d/uid_map' % pid), user.uid, 'uid'),
                    container_files.host_id(_read('/proc/%d/gid_map' % pid), user.gid, 'gid'))
        except (OSError, ValueError) as exc:
            raise AnsibleConnectionFailure('runcible.oci.oci: cannot tell who owns files in container %s: %s'
                                           % (self._container_id, to_native(exc)))

    def put_file(self, in_path, out_path):
        """Copy controller file `in_path` to `out_path` in the container."""
        super().put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._container_id)
        if not os.path.exists(to_bytes(in_path, errors='surrogate_or_strict')):
            raise AnsibleFileNotFound('file or module does not exist: %s' % to_native(in_path))
        pid = self._running_pid()
        uid, gid = self._owner(pid)
        try:
            container_files.put_file(container_files.container_root(pid), in_path, out_path, uid, gid)
        except (OSError, ValueError) as exc:
            raise AnsibleError('runcible.oci.oci: failed to put %s to %s in container %s: %s'
                               % (in_path, out_path, self._container_id, to_native(exc)))

    def fetch_file(self, in_path, out_path):
        """Copy `in_path` in the container to controller file `out_path`."""
        super().fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._container_id)
        pid = self._running_pid()
        try:
            container_files.fetch_file(container_files.container_root(pid), in_path, out_path)
        except FileNotFoundError:
            raise AnsibleFileNotFound('%s does not exist in container %s' % (in_path, self._container_id))
        except (OSError, ValueError) as exc:
            raise AnsibleError('runcible.oci.oci: failed to fetch %s from container %s: %s'
                               % (in_path, self._container_id, to_native(exc)))

    def reset(self):
        self.close()

    def close(self):
        """Nothing stays open between commands."""
        self._connected = False
        self._user_resolved = False
        self._exec_user = None


def _read(path):
    with open(path) as handle:
        return handle.read()
