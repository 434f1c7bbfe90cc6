# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
module: oci_host_copy
short_description: Put this collection's code on a host, where its modules load it from
version_added: 0.2.0
description:
  - Writes the collection's C(plugins/module_utils) to C(/var/lib/runcible/lib/<digest>/) on the host, compiled for the
    Python that runs the module, every file owned by root and writable by no one else. M(runcible.oci.oci_container),
    M(runcible.oci.oci_bundle) and M(runcible.oci.oci_image) load their code from there instead of carrying it in every
    run's payload (which Python reads from stdin a byte per system call when pipelining is on).
  - Run as another user than root (M(runcible.oci.oci_bundle) and M(runcible.oci.oci_image) need no root for a store
    of their own), it writes to C(~/.local/share/runcible/lib/<digest>/) in that user's home folder instead, owned by
    the user and writable by no one else.
  - Their action plugins run this module when a host lacks the copy of the controller's version of the collection,
    once per host and version; there is no need to call it yourself. Copies of other versions stay, since supervisors
    and systemd units of existing containers may run from them.
  - It writes even in check mode, since the copy is the collection's own code (like the files Ansible puts in its
    temporary folder), not state that the play declares.
author:
  - runcible developers (@runcible)
options:
  digest:
    description: The name of the copy, 16 hex digits of the SHA-256 of the files' names and contents.
    type: str
    required: true
  archive:
    description: The files, a zip archive in base64, as the action plugin sends it. The module checks it against O(digest).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Writes the copy in check mode too (see above).
  diff_mode:
    support: none
    description: The copy is code, not configuration.
  idempotent:
    support: full
    description: A copy that is there already is left as it is.
extends_documentation_fragment:
  - runcible.oci.attributes
'''

EXAMPLES = r'''
# Run by the action plugins of oci_container, oci_bundle and oci_image; a play never names it.
- name: Converge a container (its action plugin installs the collection's code on the host first if it is missing)
  runcible.oci.oci_container:
    name: web
    bundle: /srv/bundles/web
'''

RETURN = r'''
path:
  description: The folder of the copy.
  returned: success
  type: str
  sample: /var/lib/runcible/lib/3f2a9c0d1b7e4a65
'''

import base64
import io
import os
import zipfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runcible.oci.plugins.module_utils import hostcopy


def main():
    module = AnsibleModule(
        argument_spec={'digest': {'type': 'str', 'required': True}, 'archive': {'type': 'str', 'required': True}},
        supports_check_mode=True,
    )
    digest = module.params['digest']
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(module.params['archive']))) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except (ValueError, zipfile.BadZipFile) as exc:
        module.fail_json(msg='archive: not a zip archive in base64 (%s)' % exc)
    if hostcopy.digest(files) != digest:
        module.fail_json(msg='archive: its files have the digest %s, not %s' % (hostcopy.digest(files), digest))
    if any(name.startswith('/') or '..' in name.split('/') or not name.endswith('.py') for name in files):
        module.fail_json(msg='archive: only relative .py paths may be in it')
    try:
        target = os.path.join(hostcopy.lib_root(), digest)
    except hostcopy.CopyError as exc:
        module.fail_json(msg=str(exc))
    changed = not os.path.isdir(target)
    try:
        hostcopy.write(target, files, compile_code=True)
    except OSError as exc:
        module.fail_json(msg='cannot write %s: %s (the user the module runs as must be able to)' % (target, exc))
    problem = hostcopy.untrusted(target)
    if problem:
        module.fail_json(msg='the copy in %s cannot be used: %s: remove %s and run again' % (target, problem, target))
    module.exit_json(changed=changed, path=target)


if __name__ == '__main__':
    main()
