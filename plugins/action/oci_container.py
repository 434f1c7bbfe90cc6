# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of oci_container (and oci_bundle, oci_image): the module loads its code from the host's copy.

The module's payload carries only a loader (module_utils/hostcopy.py); the
environment variable RUNCIBLE_COPY names the copy of this controller's
module_utils it loads the rest from. When the host lacks that copy the module
says so at once (`runcible_copy_missing`), and this plugin has oci_host_copy
write it, then runs the module again: once per host and version.
"""

import base64
import io
import zipfile

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.runcible.oci.plugins.module_utils import hostcopy

_controller_copy = {}


def controller_copy():
    """(digest, base64 zip) of this controller's module_utils, made once per process."""
    if not _controller_copy:
        files = hostcopy.collect(hostcopy.module_utils_dir())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                archive.writestr(name, files[name])
        _controller_copy['digest'] = hostcopy.digest(files)
        _controller_copy['archive'] = base64.b64encode(buffer.getvalue()).decode('ascii')
    return _controller_copy['digest'], _controller_copy['archive']


class ActionModule(ActionBase):

    _supports_async = True
    _runcible_digest = None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        self._runcible_digest, archive = controller_copy()
        wrap_async = self._task.async_val
        if wrap_async:
            # A job started in the background cannot say that the copy is missing: install it first (a no-op
            # when it is there).
            outcome = self._install(archive, task_vars)
            if not outcome.get('failed'):
                outcome = self._execute_module(task_vars=task_vars, wrap_async=wrap_async)
        else:
            outcome = self._execute_module(task_vars=task_vars)
            if outcome.get('runcible_copy_missing'):
                outcome = self._install(archive, task_vars)
                if not outcome.get('failed'):
                    outcome = self._execute_module(task_vars=task_vars)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return merge_hash(result, outcome)

    def _install(self, archive, task_vars):
        """Have oci_host_copy write this controller's copy on the host; a failed result says why."""
        installed = self._execute_module(module_name='runcible.oci.oci_host_copy',
                                         module_args={'digest': self._runcible_digest, 'archive': archive},
                                         task_vars=task_vars)
        if installed.get('failed'):
            return {'failed': True, 'msg': 'installing runcible.oci\'s code on the host: %s'
                    % installed.get('msg', installed)}
        return {}

    def _compute_environment_string(self, raw_environment_out=None):
        """The task's environment, and RUNCIBLE_COPY: which copy of the collection's code the module loads."""
        environment = {}
        super(ActionModule, self)._compute_environment_string(environment)
        if self._runcible_digest:
            environment[hostcopy.ENVIRONMENT] = self._runcible_digest
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(environment)
        return self._connection._shell.env_prefix(**environment)
