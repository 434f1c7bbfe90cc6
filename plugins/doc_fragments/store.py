# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """The image store option shared by the modules that read or write images."""

    DOCUMENTATION = r'''
options:
  store:
    description:
      - The image store on the target, an OCI image layout shared by every image and bundle of the host.
      - Any OCI tool reads it (C(skopeo inspect oci:/var/lib/runcible/images:docker.io/library/golang:1.22)).
      - Created when needed. Safe with concurrent writers; blobs no reference needs are removed when an image is removed.
    type: path
    default: /var/lib/runcible/images
notes:
  - Runs on Linux targets with Python 3.9 or newer and nothing else (standard library and ctypes).
    The optional Python package C(zstandard) (zstd-compressed layers on Python before 3.14) is used when it is
    installed.
requirements:
  - Python 3.9 or newer on the target.
'''
