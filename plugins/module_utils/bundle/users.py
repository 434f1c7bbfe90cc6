# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve an image's User ("name", "uid", "uid:gid", "name:group") through the rootfs's /etc files.

As the image-spec's conversion rules say: numeric parts are taken as they
are; names are looked up in the rootfs's /etc/passwd and /etc/group and must
exist; supplementary groups come from /etc/group, and only when the user is
given by name and no group is given. The files are read inside the rootfs
(runtime/rootfs/securejoin.py), so an image's /etc/passwd symlinked to a host
path reads the rootfs's own file at that path, never the host's.
"""

import os

from ..runtime.errors import ConfigError
from ..runtime.rootfs.securejoin import RootDir, split_path

MAX_FILE = 4 << 20


class ExecUser:
    """uid, gid, additional_gids (None: leave unset) and home directory of the process."""

    def __init__(self, uid, gid, additional_gids=None, home='/'):
        self.uid = uid
        self.gid = gid
        self.additional_gids = additional_gids
        self.home = home

    def __repr__(self):
        return 'ExecUser(%d, %d, %r, %r)' % (self.uid, self.gid, self.additional_gids, self.home)


def read_rootfs_file(rootfs, path):
    """The text of file `path` inside `rootfs` (symlinks resolved inside it), or None if it is missing."""
    parts, _unused = split_path(path)
    try:
        with RootDir(rootfs) as root:
            fd = root.open_file(parts)
    except (FileNotFoundError, NotADirectoryError):
        return None
    with os.fdopen(fd, 'rb') as handle:
        data = handle.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ConfigError('process.user', '%s in the rootfs is larger than %d bytes' % (path, MAX_FILE))
    return data.decode('utf-8', 'replace')


def _entries(text, width):
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        fields = line.split(':')
        if len(fields) < width:
            continue
        yield fields


def _number(text):
    return int(text) if text.isdigit() else None


class UserDatabase:
    """The rootfs's /etc/passwd and /etc/group (empty when rootfs is None or they are missing)."""

    def __init__(self, rootfs=None):
        self.rootfs = rootfs
        self.passwd = []
        self.groups = []
        if rootfs is not None:
            for fields in _entries(read_rootfs_file(rootfs, '/etc/passwd'), 7):
                uid, gid = _number(fields[2]), _number(fields[3])
                if uid is not None and gid is not None:
                    self.passwd.append((fields[0], uid, gid, fields[5]))
            for fields in _entries(read_rootfs_file(rootfs, '/etc/group'), 4):
                gid = _number(fields[2])
                if gid is not None:
                    self.groups.append((fields[0], gid, [m for m in fields[3].split(',') if m]))

    def user_by_name(self, name):
        return next((entry for entry in self.passwd if entry[0] == name), None)

    def user_by_uid(self, uid):
        return next((entry for entry in self.passwd if entry[1] == uid), None)

    def group_by_name(self, name):
        return next((entry for entry in self.groups if entry[0] == name), None)


def resolve_user(spec, rootfs=None, field='process.user', database=None):
    """ExecUser for a user string such as "app", "101", "101:201" or "app:staff".

    An empty string is root (uid 0, gid 0). Names need `rootfs`; a name that
    is not in its /etc/passwd (or group not in /etc/group) is a ConfigError.
    """
    spec = (spec or '').strip()
    user_part, _unused, group_part = spec.partition(':')
    user_part = user_part or '0'
    needs_files = _number(user_part) is None or (group_part and _number(group_part) is None)
    if needs_files and rootfs is None and database is None:
        raise ConfigError(field, 'user %r has names in it, which can only be resolved in an unpacked rootfs' % spec)
    db = database or UserDatabase(rootfs)
    uid = _number(user_part)
    if uid is None:
        entry = db.user_by_name(user_part)
        if entry is None:
            raise ConfigError(field, 'user %r is not in the image\'s /etc/passwd: use a numeric uid, or a user the '
                                     'image defines' % user_part)
        uid = entry[1]
    else:
        entry = db.user_by_uid(uid)
    home = entry[3] if entry and entry[3] else '/'
    if group_part:
        gid = _number(group_part)
        if gid is None:
            group = db.group_by_name(group_part)
            if group is None:
                raise ConfigError(field, 'group %r is not in the image\'s /etc/group: use a numeric gid, or a group '
                                         'the image defines' % group_part)
            gid = group[1]
        return ExecUser(uid, gid, None, home)
    gid = entry[2] if entry else 0
    additional = None
    if _number(user_part) is None:
        additional = []
        for _unused, group_gid, members in db.groups:
            if user_part in members and group_gid != gid and group_gid not in additional:
                additional.append(group_gid)
    return ExecUser(uid, gid, additional, home)
