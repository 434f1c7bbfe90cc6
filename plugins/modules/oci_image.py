#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: oci_image
short_description: Pull, import or remove container images in the target's image store
description:
  - Makes an image reference present in (or absent from) the image store on the target, an OCI image layout that
    M(runcible.oci.oci_bundle) makes bundles from. No container engine is needed.
  - Pulls over the OCI distribution API from any registry (Docker Hub, quay.io, ghcr.io, a private registry), with
    anonymous, Basic or Bearer token authentication, TLS with extra CAs, mirrors and platform selection from
    multi-platform images. Every blob is checked against its digest; blobs already in the store are not downloaded
    again and an interrupted download resumes where it stopped.
  - A tag that still points to the stored image costs one C(HEAD) request and reports C(changed=false).
  - Imports C(docker save) archives, OCI layouts (folders or tarballs), root filesystem tarballs (C(docker export))
    and plain folders instead, with O(import_from).
  - O(state=absent) removes the reference and deletes the blobs no other image needs.
version_added: 0.1.0
author:
  - runcible developers (@runcible)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runcible.oci.attributes
  - runcible.oci.attributes.actiongroup
  - runcible.oci.store
attributes:
  check_mode:
    support: full
    details:
      - A pull downloads nothing and asks the registry whether the tag moved (one C(HEAD) request).
      - An import reads the archive into a temporary store, removed afterwards, to learn the digest it would give.
  diff_mode:
    support: full
    details:
      - Shows the reference's digest before and after.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - The image reference, as C(docker pull) takes it; normalised the same way (C(golang) is
        C(docker.io/library/golang:latest)).
      - With a digest (C(ghcr.io/o/r@sha256:...)) the image is pulled by digest and never changes.
      - With O(import_from), the reference the imported image is stored under.
    type: str
    required: true
  state:
    description:
      - V(present) pulls or imports the image when the store does not hold what O(name) names.
      - V(absent) removes the reference from the store and deletes the blobs no other stored image uses
        (the layer cache of overlay bundles is not touched).
    type: str
    choices: [present, absent]
    default: present
  import_from:
    description:
      - Import the image from this path on the target instead of pulling it.
      - A C(docker save) archive (tarball or folder), an OCI image layout (folder or tarball), a root filesystem
        tarball as C(docker export) writes it (plain, gzip, zstd, xz or bzip2), or a plain folder.
      - The same input gives the same digests, so importing it again reports C(changed=false).
    type: path
  import_format:
    description:
      - The format of O(import_from). Detected from the content when not given (never from the file name).
    type: str
    choices: [docker-archive, oci-archive, oci-dir, rootfs, dir]
  source_ref:
    description:
      - Which image of an O(import_from) archive that holds several to import (a C(RepoTag) or an OCI C(ref.name)).
      - Not needed for archives with one image, or when the archive holds O(name).
    type: str
  image_config:
    description:
      - Image config fields (C(Cmd), C(Entrypoint), C(Env), C(WorkingDir), C(User), C(ExposedPorts), C(Volumes),
        C(Labels), C(StopSignal)) for an image imported from a root filesystem tarball or folder, which carries none.
    type: dict
  platform:
    description:
      - The platform to pull from a multi-platform image, C(os/arch[/variant]) (C(linux/arm64), C(linux/arm/v7)).
      - Default is the target's own platform.
    type: str
  insecure:
    description:
      - Skip TLS certificate verification, and use plain HTTP when the registry does not speak TLS.
      - Plain HTTP is never used without it.
    type: bool
    default: false
  username:
    description:
      - User name for the registry of O(name) (not for O(mirrors)).
    type: str
  password:
    description:
      - Password or token for the registry of O(name). Never logged.
    type: str
  auth_file:
    description:
      - A Docker-style C(auth.json) or C(config.json) with registry credentials.
      - Without it, C($REGISTRY_AUTH_FILE), C($XDG_RUNTIME_DIR/containers/auth.json),
        C(~/.config/containers/auth.json) and C(~/.docker/config.json) are read when they exist.
      - Credential helpers (C(credHelpers), C(credsStore)) are not run.
    type: path
  ca_file:
    description:
      - A PEM file (or folder) of CA certificates to trust, in addition to the system's, for the registry and its token server.
    type: path
  mirrors:
    description:
      - Registries tried before the one in O(name), in order, as C(host[:port]) or C(https://host[:port])
        (C(http://) only with O(insecure)). The repository path is the same as on the origin.
    type: list
    elements: str
  timeout:
    description:
      - Seconds to wait for each connect and each read from a registry.
    type: float
    default: 30
  force:
    description:
      - Do not trust the reference's recorded digest; fetch the manifest and check that every blob is in the store.
      - Blobs already present are still not downloaded again.
    type: bool
    default: false
seealso:
  - module: runcible.oci.oci_bundle
'''

EXAMPLES = r'''
- name: Pull golang 1.22 for this host's platform
  runcible.oci.oci_image:
    name: golang:1.22

- name: Pull from a private registry with credentials
  runcible.oci.oci_image:
    name: registry.example.com/team/app:2.3
    username: deploy
    password: "{{ registry_token }}"
    ca_file: /etc/pki/example-ca.pem

- name: Pull an arm64 image through a mirror
  runcible.oci.oci_image:
    name: ghcr.io/example/tool:1
    platform: linux/arm64
    mirrors:
      - mirror.internal:5000

- name: Import an image saved with docker save
  runcible.oci.oci_image:
    name: localhost/app:1.0
    import_from: /srv/images/app.tar

- name: Import a root filesystem made with docker export, with a command
  runcible.oci.oci_image:
    name: localhost/rootfs-app:1
    import_from: /srv/images/rootfs.tar.gz
    image_config:
      Cmd: [/app/server]
      Env: [PATH=/usr/bin:/bin]

- name: Remove an image and the blobs only it used
  runcible.oci.oci_image:
    name: golang:1.22
    state: absent
'''

RETURN = r'''
reference:
  description: The normalised reference.
  returned: always
  type: str
  sample: docker.io/library/golang:1.22
digest:
  description:
    - Digest of the image manifest in the store (for a multi-platform image, the manifest of the chosen platform).
    - In check mode, null when the image would be pulled or imported for the first time.
  returned: always
  type: str
  sample: sha256:2b3d2c1e2a4f6b7e...
resolved_digest:
  description:
    - What the reference resolves to at the registry (the index digest of a multi-platform image).
    - In check mode when the tag moved, the digest it points to now.
  returned: always
  type: str
media_type:
  description: Media type of the image manifest.
  returned: when the image is in the store
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
platform:
  description: The image's platform.
  returned: always
  type: dict
  sample: {"os": "linux", "architecture": "amd64"}
config:
  description: The image config (C(config) has C(Cmd), C(Entrypoint), C(Env), C(User), ...; also C(rootfs), C(history)).
  returned: always
  type: dict
config_digest:
  description: Digest of the image config blob.
  returned: always
  type: str
layers:
  description: The image's layers, bottom first.
  returned: always
  type: list
  elements: dict
  contains:
    digest:
      description: Digest of the layer blob.
      type: str
    size:
      description: Size of the blob in bytes.
      type: int
    media_type:
      description: Media type of the layer.
      type: str
size:
  description: Bytes of the manifest, config and layer blobs together.
  returned: always
  type: int
downloaded_blobs:
  description: Blobs downloaded by this pull (0 when the store had them all).
  returned: when pulled
  type: int
downloaded_bytes:
  description: Bytes downloaded by this pull.
  returned: when pulled
  type: int
format:
  description: The format of O(import_from), as detected or given.
  returned: when imported
  type: str
  sample: docker-archive
removed_blobs:
  description: Blobs deleted from the store by O(state=absent).
  returned: when O(state=absent)
  type: int
freed_bytes:
  description: Bytes freed by O(state=absent).
  returned: when O(state=absent)
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

# First among ours: the modules below load their compiled code from the target's bytecode cache.
from ansible_collections.runcible.oci.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
# Everything else comes from the host's copy of the collection's code (hostcopy.py): the payload stays small.
from ansible_collections.runcible.oci.plugins.module_utils import hostcopy


def main():
    utils = hostcopy.load_or_exit()
    errors = utils('runtime.errors')
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            store=dict(type='path', default=utils('image.store').DEFAULT_STORE),
            import_from=dict(type='path'),
            import_format=dict(type='str', choices=list(utils('image.formats').FORMATS)),
            source_ref=dict(type='str'),
            image_config=dict(type='dict'),
            platform=dict(type='str'),
            insecure=dict(type='bool', default=False),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            auth_file=dict(type='path'),
            ca_file=dict(type='path'),
            mirrors=dict(type='list', elements='str'),
            timeout=dict(type='float', default=30),
            force=dict(type='bool', default=False),
        ),
        required_together=[('username', 'password')],
        supports_check_mode=True,
    )
    try:
        result = utils('converge.image').ensure_image(module.params, check_mode=module.check_mode, diff=module._diff)
    except (errors.RuntimeErrorBase, OSError) as exc:
        module.fail_json(msg=utils('converge.failures').failure_message(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
