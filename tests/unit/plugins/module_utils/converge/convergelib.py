# -*- coding: utf-8 -*-
"""Helpers for the converge tests: root filesystem tarballs made with tarfile, module parameters as Ansible passes them."""

import io
import tarfile

PASSWD = b'root:x:0:0:root:/root:/bin/sh\napp:x:101:201:app:/home/app:/bin/sh\n'
GROUP = b'root:x:0:\napp:x:201:\n'


def rootfs_tarball(path, files):
    """Write a tar of {name: bytes or None (a folder)} to `path`, names sorted, fixed times."""
    with tarfile.open(str(path), 'w:gz', format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            data = files[name]
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if name.startswith('bin/') else 0o644
                archive.addfile(info, io.BytesIO(data))
    return str(path)


def image_params(**given):
    """oci_image's parameters with Ansible's defaults for those not given."""
    params = {'name': None, 'state': 'present', 'store': None, 'import_from': None, 'import_format': None,
              'source_ref': None, 'image_config': None, 'platform': None, 'insecure': False, 'username': None,
              'password': None, 'auth_file': None, 'ca_file': None, 'mirrors': None, 'timeout': 30.0, 'force': False}
    params.update(given)
    return params


def bundle_params(**given):
    """oci_bundle's parameters with Ansible's defaults for those not given (spec sections None)."""
    from ansible_collections.runcible.oci.plugins.module_utils.converge.bundle_options import argument_spec
    params = {name: None for name in argument_spec()}
    params.update({'path': None, 'state': 'present', 'image': None, 'rootfs': None, 'rootfs_format': None, 'store': None,
                   'rootfs_mode': 'copy', 'layer_cache': None, 'image_volumes': 'bind', 'config': None})
    params.update(given)
    return params
