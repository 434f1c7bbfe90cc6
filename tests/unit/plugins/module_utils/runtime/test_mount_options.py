# -*- coding: utf-8 -*-
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import consts as c
from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import options


def test_flags_propagation_and_data_are_separated():
    parsed = options.parse(['rbind', 'ro', 'nosuid', 'rslave', 'size=64k', 'mode=755', 'tmpcopyup'])
    assert parsed.flags == c.MS_BIND | c.MS_REC | c.MS_RDONLY | c.MS_NOSUID
    assert parsed.propagation == [c.MS_SLAVE | c.MS_REC]
    assert parsed.data == 'size=64k,mode=755'
    assert parsed.extensions == ['tmpcopyup'] and parsed.is_bind


def test_later_options_clear_earlier_ones():
    assert options.parse(['ro', 'rw']).flags == 0
    assert options.parse(['nosuid', 'suid', 'noexec']).flags == c.MS_NOEXEC
    assert options.parse(['norelatime']).flags == 0
    assert options.parse(None).data == ''


def test_recursive_options_become_mount_setattr_attributes():
    parsed = options.parse(['rbind', 'rro', 'rnosuid', 'rnoatime'])
    assert parsed.attr_set == options.MOUNT_ATTR_RDONLY | options.MOUNT_ATTR_NOSUID | options.MOUNT_ATTR_NOATIME
    assert parsed.attr_clear == options.MOUNT_ATTR__ATIME
    later = options.parse(['rro', 'rrw'])
    assert (later.attr_set, later.attr_clear) == (0, options.MOUNT_ATTR_RDONLY)


def test_known_options_cover_runc_1_1():
    runc_options = {'acl', 'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion',
                    'lazytime', 'loud', 'mand', 'noacl', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion',
                    'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private',
                    'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'rnoatime', 'rnodev',
                    'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro',
                    'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid',
                    'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave', 'strictatime', 'suid',
                    'symfollow', 'sync', 'tmpcopyup', 'unbindable'}
    assert runc_options <= set(options.known_options())
