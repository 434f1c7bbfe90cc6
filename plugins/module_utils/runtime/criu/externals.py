# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What CRIU must not dump but connect again at restore: external mounts and namespaces.

As runc tells CRIU: every bind mount of config.json `mounts` (and each host
cgroup directory bound under a v1 "cgroup" mount) is external, keyed by its
destination at dump and mapped to its source at restore; so are device nodes
that are bind mounts of the host's, and /dev/null where it masks a file. A
network or PID namespace given by path is external too: its inode is
recorded at dump, and the namespace is handed to CRIU again at restore.
"""

import os

from .. import errors
from ..rootfs import devices, securejoin
from ..spec.config import NAMESPACE_PROC_NAMES

# Namespaces CRIU treats as external when they are given by path (runc's extRoot<Type>NS keys).
EXTERNAL_NAMESPACES = {'network': 'extRootNetNS', 'pid': 'extRootPidNS'}


def is_bind(mount):
    options = mount.get('options') or []
    return mount.get('type') == 'bind' or 'bind' in options or 'rbind' in options


def destination_in_root(rootfs, destination):
    """The mount destination as the container sees it: symlinks in the rootfs resolved inside it."""
    # One leading slash: normpath keeps two ('//dev/shm'), a key CRIU would never match.
    clean = os.path.normpath('/' + destination.lstrip('/'))
    try:
        fd = securejoin.open_in_root(rootfs, clean)
    except OSError:
        return clean
    try:
        resolved = os.readlink(securejoin.fd_path(fd))
    finally:
        os.close(fd)
    if resolved == rootfs:
        return '/'
    if resolved.startswith(rootfs.rstrip('/') + '/'):
        return resolved[len(rootfs.rstrip('/')):]
    return clean


def cgroup_bind_destinations(config, cgroup_binds, unified, cgroupns):
    """[(destination, host directory)] of the v1 cgroup directories bound into the container."""
    if unified or cgroupns:
        return []
    found = []
    for mount in config.get('mounts') or []:
        if mount.get('type') == 'cgroup':
            for name, host_dir, _subsystems in cgroup_binds:
                found.append((mount['destination'].rstrip('/') + '/' + name, host_dir))
    return found


def _masked_files(config, init_pid):
    """Masked paths that are files in the running container (masked with a /dev/null bind)."""
    found = []
    for path in (config.get('linux') or {}).get('maskedPaths') or []:
        seen = '/proc/%d/root/%s' % (init_pid, path.lstrip('/'))
        if os.path.lexists(seen) and not os.path.isdir(seen):
            found.append(path)
    return found


def _device_paths(bundle_like):
    return [device['path'] for _field, device in devices.device_list(bundle_like)]


class _ConfigView:
    """What devices.device_list needs of a bundle, from a saved config."""

    def __init__(self, config):
        self.linux = config.get('linux') or {}


def dump_mounts(config, rootfs, cgroup_destinations, init_pid):
    """criu_opts.ext_mnt for a dump: [{key, val}], the key naming the mount in the image."""
    entries = []
    for mount in config.get('mounts') or []:
        if is_bind(mount):
            destination = destination_in_root(rootfs, mount['destination'])
            entries.append({'key': destination, 'val': destination})
    for destination, _host_dir in cgroup_destinations:
        entries.append({'key': destination, 'val': destination})
    for path in _masked_files(config, init_pid):
        entries.append({'key': path, 'val': '/dev/null'})
    for path in _device_paths(_ConfigView(config)):
        entries.append({'key': path, 'val': path})
    return entries


def bind_source(bundle_path, mount):
    source = mount.get('source') or ''
    return source if os.path.isabs(source) else os.path.join(bundle_path, source)


def restore_mounts(bundle, cgroup_destinations):
    """criu_opts.ext_mnt for a restore: each key of the dump mapped to what the host has now."""
    entries = []
    for index, mount in enumerate(bundle.config.get('mounts') or []):
        if is_bind(mount):
            source = bind_source(bundle.path, mount)
            if not os.path.exists(source):
                raise errors.ConfigError('mounts[%d].source' % index, 'bind mount source %s does not exist' % source)
            entries.append({'key': destination_in_root(bundle.rootfs, mount['destination']), 'val': source})
    for destination, host_dir in cgroup_destinations:
        entries.append({'key': destination, 'val': host_dir})
    if bundle.linux.get('maskedPaths'):
        entries.append({'key': '/dev/null', 'val': '/dev/null'})
    for path in _device_paths(bundle):
        entries.append({'key': path, 'val': path})
    return entries


def dump_namespaces(config):
    """criu_opts.external for a dump: namespaces given by path, by inode ("net[4026532]:extRootNetNS")."""
    found = []
    for index, ns in enumerate((config.get('linux') or {}).get('namespaces') or []):
        key = EXTERNAL_NAMESPACES.get(ns.get('type'))
        if key and ns.get('path'):
            try:
                inode = os.stat(ns['path']).st_ino
            except OSError as exc:
                raise errors.ConfigError('linux.namespaces[%d].path' % index,
                                         'cannot stat %s: %s' % (ns['path'], exc.strerror))
            found.append('%s[%d]:%s' % (NAMESPACE_PROC_NAMES[ns['type']], inode, key))
    return found


def restore_namespaces(bundle, first_fd):
    """(inherit_fd entries, join_ns entries, opened fds) for namespaces given by path.

    Network and PID namespaces are handed to CRIU as open files (numbered
    from `first_fd` in CRIU's process); the others CRIU joins by path. The
    caller closes the returned fds.
    """
    inherit, join, opened = [], [], []
    try:
        for index, (kind, path) in enumerate(bundle.namespaces()):
            if not path:
                continue
            field = 'linux.namespaces[%d].path' % index
            if kind in EXTERNAL_NAMESPACES:
                try:
                    opened.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
                except OSError as exc:
                    raise errors.ConfigError(field, 'the namespace must exist to restore into it: %s: %s'
                                             % (path, exc.strerror))
                inherit.append({'key': EXTERNAL_NAMESPACES[kind], 'fd': first_fd + len(opened) - 1})
            elif kind == 'cgroup':
                raise errors.ConfigError(field, 'CRIU cannot restore into an existing cgroup namespace; '
                                                'let the container make its own')
            else:
                join.append({'ns': NAMESPACE_PROC_NAMES[kind], 'ns_file': path})
    except BaseException:
        for fd in opened:
            os.close(fd)
        raise
    return inherit, join, opened
