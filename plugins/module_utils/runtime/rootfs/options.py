# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mount options from config.json into mount(2) flags, as runc parses them."""

from ..linux import consts as c

# option -> (clear, flag): clear=True removes the flag
_FLAGS = {
    'acl': (False, 1 << 16), 'async': (True, c.MS_SYNCHRONOUS), 'atime': (True, c.MS_NOATIME),
    'bind': (False, c.MS_BIND), 'defaults': (False, 0), 'dev': (True, c.MS_NODEV),
    'diratime': (True, c.MS_NODIRATIME), 'dirsync': (False, c.MS_DIRSYNC), 'exec': (True, c.MS_NOEXEC),
    'iversion': (False, 1 << 23), 'lazytime': (False, c.MS_LAZYTIME), 'loud': (True, c.MS_SILENT),
    'mand': (False, c.MS_MANDLOCK), 'noacl': (True, 1 << 16), 'noatime': (False, c.MS_NOATIME),
    'nodev': (False, c.MS_NODEV), 'nodiratime': (False, c.MS_NODIRATIME), 'noexec': (False, c.MS_NOEXEC),
    'noiversion': (True, 1 << 23), 'nolazytime': (True, c.MS_LAZYTIME), 'nomand': (True, c.MS_MANDLOCK),
    'norelatime': (True, c.MS_RELATIME), 'nostrictatime': (True, c.MS_STRICTATIME),
    'nosuid': (False, c.MS_NOSUID), 'nosymfollow': (False, c.MS_NOSYMFOLLOW),
    'rbind': (False, c.MS_BIND | c.MS_REC), 'relatime': (False, c.MS_RELATIME),
    'remount': (False, c.MS_REMOUNT), 'ro': (False, c.MS_RDONLY), 'rw': (True, c.MS_RDONLY),
    'silent': (False, c.MS_SILENT), 'strictatime': (False, c.MS_STRICTATIME),
    'suid': (True, c.MS_NOSUID), 'symfollow': (True, c.MS_NOSYMFOLLOW), 'sync': (False, c.MS_SYNCHRONOUS),
}

PROPAGATION_FLAGS = {
    'private': c.MS_PRIVATE, 'rprivate': c.MS_PRIVATE | c.MS_REC,
    'shared': c.MS_SHARED, 'rshared': c.MS_SHARED | c.MS_REC,
    'slave': c.MS_SLAVE, 'rslave': c.MS_SLAVE | c.MS_REC,
    'unbindable': c.MS_UNBINDABLE, 'runbindable': c.MS_UNBINDABLE | c.MS_REC,
}

# Options runc understands itself and never passes to the kernel.
EXTENSIONS = ('tmpcopyup',)

# Recursive options (runc 1.1): applied to the mount and every mount below it
# with mount_setattr(2). option -> (attributes to set, attributes to clear).
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
RECURSIVE = {
    'rro': (MOUNT_ATTR_RDONLY, 0), 'rrw': (0, MOUNT_ATTR_RDONLY),
    'rnosuid': (MOUNT_ATTR_NOSUID, 0), 'rsuid': (0, MOUNT_ATTR_NOSUID),
    'rnodev': (MOUNT_ATTR_NODEV, 0), 'rdev': (0, MOUNT_ATTR_NODEV),
    'rnoexec': (MOUNT_ATTR_NOEXEC, 0), 'rexec': (0, MOUNT_ATTR_NOEXEC),
    'rnodiratime': (MOUNT_ATTR_NODIRATIME, 0), 'rdiratime': (0, MOUNT_ATTR_NODIRATIME),
    'rrelatime': (0, MOUNT_ATTR__ATIME), 'rnorelatime': (0, 0),
    'rnoatime': (MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME), 'ratime': (0, MOUNT_ATTR_NOATIME),
    'rstrictatime': (MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME), 'rnostrictatime': (0, MOUNT_ATTR_STRICTATIME),
    'rnosymfollow': (MOUNT_ATTR_NOSYMFOLLOW, 0), 'rsymfollow': (0, MOUNT_ATTR_NOSYMFOLLOW),
}


def known_options():
    """Every option name this runtime understands (for `features`)."""
    return sorted(set(_FLAGS) | set(PROPAGATION_FLAGS) | set(EXTENSIONS) | set(RECURSIVE))


class MountOptions:
    """flags, propagation flags, the data string and runc's own extensions."""

    def __init__(self, flags, propagation, data, extensions, attr_set=0, attr_clear=0):
        self.flags = flags
        self.propagation = propagation
        self.data = data
        self.extensions = extensions
        self.attr_set = attr_set
        self.attr_clear = attr_clear

    @property
    def is_bind(self):
        return bool(self.flags & c.MS_BIND)


def parse(options):
    flags = 0
    propagation = []
    data = []
    extensions = []
    attr_set = attr_clear = 0
    for option in options or []:
        if option in RECURSIVE:
            to_set, to_clear = RECURSIVE[option]
            attr_set = (attr_set & ~to_clear) | to_set
            attr_clear = (attr_clear & ~to_set) | to_clear
        elif option in _FLAGS:
            clear, flag = _FLAGS[option]
            if clear:
                flags &= ~flag
            else:
                flags |= flag
        elif option in PROPAGATION_FLAGS:
            propagation.append(PROPAGATION_FLAGS[option])
        elif option in EXTENSIONS:
            extensions.append(option)
        else:
            data.append(option)
    return MountOptions(flags, propagation, ','.join(data), extensions, attr_set, attr_clear)
