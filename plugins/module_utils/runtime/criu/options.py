# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CRIU options of `checkpoint` and `restore` (runc's flags), checked before anything runs."""

import os

from .. import errors
from ..linux import consts as c
from . import messages

# --empty-ns: the namespaces CRIU may create empty instead of restoring (runc accepts only network).
EMPTY_NS_FLAGS = {'network': c.CLONE_NEWNET}

# Flags runcible refuses, and why.
REFUSED = {
    'pre_dump': '--pre-dump is not supported: iterative checkpoints need the kernel\'s soft-dirty page tracking '
                '(CRIU: "Dirty tracking is OFF" on the kernels runcible is tested on); take a full checkpoint',
    'parent_path': '--parent-path is not supported: it names the images of a pre-dump, and runcible takes only full '
                   'checkpoints (iterative ones need soft-dirty page tracking)',
    'lazy_pages': '--lazy-pages is not supported: lazy migration needs a `criu lazy-pages` daemon and a page server '
                  'that runcible does not run; take a full checkpoint and copy the image',
    'page_server': '--page-server is not supported: images are written to --image-path; copy that folder to the '
                   'destination host',
    'status_fd': '--status-fd is not supported: it belongs to --lazy-pages, which runcible does not do',
    'lsm_profile': '--lsm-profile: this host has no AppArmor or SELinux support enabled',
    'lsm_mount_context': '--lsm-mount-context: this host has no AppArmor or SELinux support enabled',
}


class CriuOptions:
    """What the user asked of CRIU; `validate` raises UsageError for a bad or refused value.

    `image_path` defaults, as runc's, to ./checkpoint; `empty_ns` holds
    namespace types (only "network"); `refused` maps flags runcible does
    not support to whether they were given.
    """

    def __init__(self, image_path=None, work_path=None, leave_running=False, tcp_established=False,
                 ext_unix_sk=False, shell_job=False, file_locks=False, manage_cgroups_mode='', empty_ns=(),
                 auto_dedup=False, refused=None):
        self.image_path = os.path.abspath(image_path or 'checkpoint')
        self.work_path = os.path.abspath(work_path) if work_path else None
        self.leave_running = bool(leave_running)
        self.tcp_established = bool(tcp_established)
        self.ext_unix_sk = bool(ext_unix_sk)
        self.shell_job = bool(shell_job)
        self.file_locks = bool(file_locks)
        self.manage_cgroups_mode = manage_cgroups_mode or ''
        self.empty_ns = list(empty_ns or ())
        self.auto_dedup = bool(auto_dedup)
        self.refused = dict(refused or {})

    def validate(self):
        for name, given in sorted(self.refused.items()):
            if given:
                raise errors.UsageError(REFUSED[name])
        if self.manage_cgroups_mode not in messages.CGROUP_MODES:
            raise errors.UsageError('invalid manage-cgroups-mode value %r: use soft, full, strict or ignore'
                                    % self.manage_cgroups_mode)
        for name in self.empty_ns:
            if name not in EMPTY_NS_FLAGS:
                raise errors.UsageError('--empty-ns: namespace "%s" is not supported (only "network")' % name)
        return self

    def empty_ns_mask(self):
        """CLONE_NEW* flags CRIU creates empty: always the network namespace, as runc.

        runc never has CRIU dump or restore network devices (a container's
        interfaces belong to whoever made them, e.g. a CNI hook, which runs
        again at restore); runcible brings the loopback up itself.
        """
        mask = c.CLONE_NEWNET
        for name in self.empty_ns:
            mask |= EMPTY_NS_FLAGS[name]
        return mask

    def rpc_opts(self):
        """The criu_opts fields both dump and restore take from the flags."""
        return {
            'shell_job': self.shell_job,
            'tcp_established': self.tcp_established,
            'ext_unix_sk': self.ext_unix_sk,
            'file_locks': self.file_locks,
            'manage_cgroups': True,
            'manage_cgroups_mode': messages.CGROUP_MODES[self.manage_cgroups_mode],
            'empty_ns': self.empty_ns_mask(),
            'auto_dedup': self.auto_dedup,
            'orphan_pts_master': True,
            'notify_scripts': True,
            'log_level': 4,
        }
