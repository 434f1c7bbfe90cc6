# -*- coding: utf-8 -*-
"""Build layers and OCI image layouts for tests and benchmarks, entry by entry.

Entries are dicts: name, and optionally type ('file', 'dir', 'symlink',
'hardlink', 'char', 'block', 'fifo'), data, mode, uid, gid, mtime, link,
major, minor, xattrs. Used by unit tests, the system tests against umoci
and bench/images_unpack, so every side sees the same bytes.
"""

import gzip
import hashlib
import io
import json
import os
import tarfile

TYPES = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE,
         'char': tarfile.CHRTYPE, 'block': tarfile.BLKTYPE, 'fifo': tarfile.FIFOTYPE}


def entry(name, kind='file', data=b'', mode=None, uid=0, gid=0, mtime=1700000000, link='', major=0, minor=0,
          xattrs=None):
    return {'name': name, 'type': kind, 'data': data, 'mode': mode, 'uid': uid, 'gid': gid, 'mtime': mtime,
            'link': link, 'major': major, 'minor': minor, 'xattrs': xattrs or {}}


def tar_layer(entries, fmt=tarfile.PAX_FORMAT):
    """The uncompressed tar bytes of `entries` (dicts from entry(), or name strings for plain files)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=fmt) as archive:
        for item in entries:
            if isinstance(item, str):
                item = entry(item)
            info = tarfile.TarInfo(item['name'])
            info.type = TYPES[item['type']]
            default = 0o755 if item['type'] == 'dir' else 0o644
            info.mode = default if item['mode'] is None else item['mode']
            info.uid, info.gid = item['uid'], item['gid']
            info.uname = info.gname = ''
            info.mtime = item['mtime']
            info.linkname = item['link']
            info.devmajor, info.devminor = item['major'], item['minor']
            if item['xattrs']:
                info.pax_headers = {'SCHILY.xattr.' + k: v.decode('utf-8', 'surrogateescape') if isinstance(v, bytes) else v
                                    for k, v in item['xattrs'].items()}
            if item['type'] == 'file':
                info.size = len(item['data'])
                archive.addfile(info, io.BytesIO(item['data']))
            else:
                archive.addfile(info)
    return buf.getvalue()


def compress(raw, how):
    if how == 'gzip':
        return gzip.compress(raw, compresslevel=6, mtime=0), 'application/vnd.oci.image.layer.v1.tar+gzip'
    if how == 'zstd':
        import zstandard
        return zstandard.ZstdCompressor().compress(raw), 'application/vnd.oci.image.layer.v1.tar+zstd'
    return raw, 'application/vnd.oci.image.layer.v1.tar'


class Layout:
    """An OCI image layout being written in `path`."""

    def __init__(self, path):
        self.path = str(path)
        os.makedirs(os.path.join(self.path, 'blobs', 'sha256'), exist_ok=True)
        with open(os.path.join(self.path, 'oci-layout'), 'w') as handle:
            handle.write('{"imageLayoutVersion": "1.0.0"}')
        self.manifests = []

    def put(self, data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, 'blobs', 'sha256', digest), 'wb') as handle:
            handle.write(data)
        return 'sha256:' + digest, len(data)

    def add_image(self, layers, config=None, compression='gzip', tag='latest', extra=None):
        """Add an image of `layers` (raw tar bytes each); return its manifest digest."""
        descriptors, diff_ids = [], []
        for raw in layers:
            how = compression if isinstance(compression, str) else compression[len(descriptors)]
            blob, media_type = compress(raw, how)
            diff_ids.append('sha256:' + hashlib.sha256(raw).hexdigest())
            digest, size = self.put(blob)
            descriptors.append({'mediaType': media_type, 'digest': digest, 'size': size})
        image = {'architecture': 'amd64', 'os': 'linux', 'config': config or {},
                 'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}
        image.update(extra or {})
        config_digest, config_size = self.put(json.dumps(image).encode())
        manifest = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': config_digest,
                               'size': config_size},
                    'layers': descriptors}
        digest, size = self.put(json.dumps(manifest).encode())
        self.manifests.append({'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': digest,
                               'size': size, 'annotations': {'org.opencontainers.image.ref.name': tag}})
        with open(os.path.join(self.path, 'index.json'), 'w') as handle:
            json.dump({'schemaVersion': 2, 'manifests': self.manifests}, handle)
        return digest


def snapshot(root, times=False):
    """{relative path: (type, mode, uid, gid, content or link target or device)} of a tree, for comparisons."""
    import stat
    found = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            info = os.lstat(path)
            rel = os.path.relpath(path, root)
            mode = info.st_mode
            if stat.S_ISREG(mode):
                with open(path, 'rb') as handle:
                    content = hashlib.sha256(handle.read()).hexdigest()
                kind = 'file'
            elif stat.S_ISLNK(mode):
                content, kind = os.readlink(path), 'symlink'
            elif stat.S_ISDIR(mode):
                content, kind = None, 'dir'
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                content, kind = (os.major(info.st_rdev), os.minor(info.st_rdev)), 'dev'
            else:
                content, kind = None, 'other'
            record = (kind, stat.S_IMODE(mode), info.st_uid, info.st_gid, content)
            if times and kind != 'symlink':
                record += (info.st_mtime_ns,)
            found[rel] = record
    return found
