# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""process.user: groups, gid, uid, and HOME from the container's /etc/passwd."""

import errno
import os

from .. import errors


def home_of(uid, passwd='/etc/passwd'):
    """The home directory of `uid` in the (container's) passwd file, or "/"."""
    try:
        with open(passwd, 'rb') as handle:
            for raw in handle:
                fields = raw.decode('utf-8', 'replace').rstrip('\n').split(':')
                if len(fields) >= 6 and fields[2] == str(uid) and fields[5]:
                    return fields[5]
    except OSError:
        pass
    return '/'


def switch(user, setgroups_allowed=True):
    """setgroups, setresgid, setresuid to the process user (call with KEEPCAPS set)."""
    uid = user.get('uid', 0)
    gid = user.get('gid', 0)
    groups = user.get('additionalGids') or []
    try:
        if setgroups_allowed:
            os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            hint = 'in a user namespace the ids must be mapped in linux.uidMappings/gidMappings'
        else:
            # Nothing but a filter makes these calls fail with ENOSYS, or with
            # EPERM while the process still has CAP_SETUID and CAP_SETGID.
            hint = ('check linux.seccomp: without process.noNewPrivileges the profile is loaded before the user '
                    'switch and must allow setgroups, setresgid and setresuid')
        raise errors.SetupError('cannot switch to user %d:%d (groups %s): %s; %s'
                                % (uid, gid, groups, exc.strerror, hint))
