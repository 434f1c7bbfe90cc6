#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: oci_bundle
short_description: Make an OCI bundle (a rootfs and a config.json) from an image and settings in YAML
description:
  - Converges an OCI runtime bundle on the target, the folder C(runc run --bundle) and
    C(runcible run --bundle) start a container from.
  - The root filesystem comes from an image in the store (O(image), pulled or imported with M(runcible.oci.oci_image))
    or from a root filesystem archive or folder (O(rootfs)), imported into the store first.
  - With O(rootfs_mode=copy) the bundle owns an unpacked copy of the image. With O(rootfs_mode=overlay) its rootfs
    is an overlay mount of the image's layers, unpacked once into a cache shared by all bundles, with the bundle's
    own upper directory; a new bundle of a cached image costs one mount. An overlay lost at reboot is mounted again
    (keeping what the container wrote) when the bundle is converged again.
  - C(config.json) is built from runc's default spec (C(runc spec)), the image config (C(Entrypoint) and C(Cmd),
    C(Env), C(WorkingDir), C(User) resolved through the image's C(/etc/passwd), C(Labels), C(Volumes), C(StopSignal)),
    then the options below, which are the runtime-spec's fields in snake_case at the spec's nesting
    (C(noNewPrivileges) is O(process.no_new_privileges)), with the fields of C(linux) at the top level
    (O(resources), O(namespaces), O(sysctl), ...). O(config), a raw C(config.json) fragment, is merged last.
  - The result is validated against a JSON Schema of the runtime-spec and checks the schema cannot express
    (a user namespace needs mappings, a sysctl needs its namespace, soft <= hard); errors name the field and the fix.
  - Idempotent. The rootfs is rewritten only when the image digest, the source's content or the mode changed,
    and C(config.json) only when its content changed.
version_added: 0.1.0
author:
  - runcible developers (@runcible)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runcible.oci.attributes
  - runcible.oci.attributes.actiongroup
  - runcible.oci.store
  - runcible.oci.bundle_spec
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written. A O(rootfs) source is read into a temporary store to learn its digest; when the rootfs
        would be rewritten, users named in O(process.user) are looked up in the image's layers.
  diff_mode:
    support: full
    details:
      - Shows C(config.json) before and after as text, and the rootfs's image and digest before and after.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  path:
    description:
      - The bundle folder. Created with mode 0700 when missing.
    type: path
    required: true
  state:
    description:
      - V(present) makes the rootfs and C(config.json).
      - V(absent) unmounts an overlay rootfs and removes the bundle folder with everything in it, including the data
        of image volumes under C(volumes/). A folder that holds neither C(config.json) nor C(runcible.json)
        is not removed (the task fails).
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - The image in the store, as a reference (C(golang:1.22), C(localhost/app:1)) or a manifest digest.
      - With O(rootfs), the reference the imported root filesystem is stored under (default
        C(localhost/rootfs/<name>:<hash of the path>)).
      - One of O(image) and O(rootfs) is required with O(state=present).
    type: str
  rootfs:
    description:
      - Make the rootfs from this archive or folder on the target instead of an image of the store.
      - A root filesystem tarball as C(docker export) writes it (plain, gzip, zstd, xz or bzip2), a plain folder,
        a C(docker save) archive or an OCI layout. It is imported into the store (see O(image)); the same content
        gives the same digest, so the rootfs is rewritten only when the content changed.
    type: path
  rootfs_format:
    description:
      - The format of O(rootfs). Detected from the content when not given.
    type: str
    choices: [docker-archive, oci-archive, oci-dir, rootfs, dir]
  rootfs_mode:
    description:
      - V(copy) unpacks the image into C(<path>/rootfs), owned by this bundle.
      - V(overlay) mounts the image's cached layers at C(<path>/rootfs) with the bundle's upper directory in
        C(<path>/overlay). Needs root and overlayfs.
      - Changing the mode makes a fresh rootfs.
    type: str
    choices: [copy, overlay]
    default: copy
  layer_cache:
    description:
      - Where O(rootfs_mode=overlay) keeps unpacked layers. Default C(layers) beside the O(store)
        (C(/var/lib/runcible/layers)).
    type: path
  image_volumes:
    description:
      - What the image's C(Volumes) become. V(bind) mounts C(<path>/volumes/<name>), seeded once from the image's
        content at that path and never touched again (data survives image updates); V(tmpfs) mounts a tmpfs;
        V(ignore) leaves the path in the rootfs.
    type: str
    choices: [bind, tmpfs, ignore]
    default: bind
  config:
    description:
      - A raw C(config.json) fragment in the spec's own camelCase, deep-merged last; objects merge, lists and values
        replace, and null deletes a key.
    type: dict
seealso:
  - module: runcible.oci.oci_image
  - name: OCI runtime specification, config.json
    description: The fields the options set.
    link: https://github.com/opencontainers/runtime-spec/blob/main/config.md
'''

EXAMPLES = r'''
- name: A bundle of golang with the settings runc users reach for first
  runcible.oci.oci_bundle:
    path: /srv/bundles/web
    image: golang:1.22
    rootfs_mode: overlay
    process:
      args: [/usr/local/bin/web, --port, "8080"]
      env:
        GOMAXPROCS: "2"
      user: {uid: 101, gid: 201}
      rlimits:
        - {type: RLIMIT_NOFILE, soft: 4096, hard: 4096}
      no_new_privileges: true
    root:
      readonly: true
    hostname: web
    mounts:
      - {source: /srv/data, destination: /data, options: [rw]}
    resources:
      memory: {limit: 256m, swap: 512m}
      pids: {limit: 100}

- name: A bundle from a docker export tarball, as the service user of its /etc/passwd
  runcible.oci.oci_bundle:
    path: /srv/bundles/tool
    rootfs: /srv/images/tool-rootfs.tar.gz
    process:
      args: [/bin/tool]
      user: tool

- name: Share the host network, and add a sysctl through the raw config
  runcible.oci.oci_bundle:
    path: /srv/bundles/proxy
    image: localhost/proxy:1
    namespaces: [pid, mount, ipc, uts]
    config:
      linux:
        sysctl:
          kernel.msgmax: "65536"

- name: Remove a bundle
  runcible.oci.oci_bundle:
    path: /srv/bundles/web
    state: absent
'''

RETURN = r'''
path:
  description: The bundle folder.
  returned: always
  type: str
  sample: /srv/bundles/web
config:
  description: The bundle's C(config.json), as written (or as it would be written in check mode).
  returned: when O(state=present)
  type: dict
config_digest:
  description: C(sha256:) of the canonical C(config.json) text (sorted keys, two-space indent, final newline), which is what is written.
  returned: when O(state=present)
  type: str
config_changed:
  description: Whether C(config.json) was (or would be) written.
  returned: when O(state=present)
  type: bool
rootfs_digest:
  description:
    - Digest of the root filesystem tree (paths, types, modes, owners, contents), the same for copy and overlay mode.
    - Null in check mode when the rootfs would be made.
  returned: when O(state=present)
  type: str
rootfs_mode:
  description: V(copy) or V(overlay).
  returned: when O(state=present)
  type: str
rootfs_changed:
  description: Whether the rootfs was (or would be) unpacked or mounted.
  returned: when O(state=present)
  type: bool
rootfs_action:
  description: What was done to the rootfs, V(none), V(unpack) or V(mount).
  returned: when O(state=present)
  type: str
image:
  description: The store reference the rootfs comes from.
  returned: when O(state=present)
  type: str
  sample: docker.io/library/golang:1.22
image_digest:
  description: The image manifest digest the rootfs holds.
  returned: when O(state=present)
  type: str
volumes_created:
  description: Volume folders made (and seeded from the image) under C(<path>/volumes).
  returned: when O(state=present)
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
# Everything else comes from the host's copy of the collection's code (hostcopy.py): the payload stays small.
from ansible_collections.runcible.oci.plugins.module_utils import hostcopy


def main():
    utils = hostcopy.load_or_exit()
    bundle_options = utils('converge.bundle_options')
    errors = utils('runtime.errors')
    module = AnsibleModule(
        argument_spec=bundle_options.module_argument_spec(),
        required_if=bundle_options.REQUIRED_IF,
        supports_check_mode=True,
    )
    try:
        result = utils('converge.bundle').ensure_bundle(module.params, check_mode=module.check_mode, diff=module._diff)
    except (errors.RuntimeErrorBase, OSError) as exc:
        module.fail_json(msg=utils('converge.failures').failure_message(exc))
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
