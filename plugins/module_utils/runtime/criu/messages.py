# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CRIU's RPC messages (images/rpc.proto), the fields runcible sends and reads.

Field numbers are CRIU's; a field missing here is one runcible never sets.
"""

from .protobuf import Field, Message

# criu_req_type
DUMP = 1
RESTORE = 2
CHECK = 3
PRE_DUMP = 4
NOTIFY = 6
FEATURE_CHECK = 9
VERSION = 10

REQUEST_TYPE_NAMES = {DUMP: 'DUMP', RESTORE: 'RESTORE', CHECK: 'CHECK', PRE_DUMP: 'PRE_DUMP', NOTIFY: 'NOTIFY',
                      FEATURE_CHECK: 'FEATURE_CHECK', VERSION: 'VERSION'}

# criu_cg_mode, by the names of runc's --manage-cgroups-mode
CGROUP_MODES = {'ignore': 0, 'soft': 3, 'full': 4, 'strict': 5, '': 6}

PAGE_SERVER_INFO = Message('criu_page_server_info', {
    'address': Field(1, 'string'),
    'port': Field(2, 'int32'),
})

EXT_MOUNT_MAP = Message('ext_mount_map', {
    'key': Field(1, 'string'),
    'val': Field(2, 'string'),
})

JOIN_NAMESPACE = Message('join_namespace', {
    'ns': Field(1, 'string'),
    'ns_file': Field(2, 'string'),
})

INHERIT_FD = Message('inherit_fd', {
    'key': Field(1, 'string'),
    'fd': Field(2, 'int32'),
})

CGROUP_ROOT = Message('cgroup_root', {
    'ctrl': Field(1, 'string'),
    'path': Field(2, 'string'),
})

OPTS = Message('criu_opts', {
    'images_dir_fd': Field(1, 'int32'),
    'pid': Field(2, 'int32'),
    'leave_running': Field(3, 'bool'),
    'ext_unix_sk': Field(4, 'bool'),
    'tcp_established': Field(5, 'bool'),
    'evasive_devices': Field(6, 'bool'),
    'shell_job': Field(7, 'bool'),
    'file_locks': Field(8, 'bool'),
    'log_level': Field(9, 'int32'),
    'log_file': Field(10, 'string'),
    'ps': Field(11, 'message', message=PAGE_SERVER_INFO),
    'notify_scripts': Field(12, 'bool'),
    'root': Field(13, 'string'),
    'parent_img': Field(14, 'string'),
    'track_mem': Field(15, 'bool'),
    'auto_dedup': Field(16, 'bool'),
    'work_dir_fd': Field(17, 'int32'),
    'link_remap': Field(18, 'bool'),
    'ext_mnt': Field(23, 'message', repeated=True, message=EXT_MOUNT_MAP),
    'manage_cgroups': Field(24, 'bool'),
    'cg_root': Field(25, 'message', repeated=True, message=CGROUP_ROOT),
    'rst_sibling': Field(26, 'bool'),
    'inherit_fd': Field(27, 'message', repeated=True, message=INHERIT_FD),
    'manage_cgroups_mode': Field(34, 'enum'),
    'external': Field(37, 'string', repeated=True),
    'empty_ns': Field(38, 'uint32'),
    'join_ns': Field(39, 'message', repeated=True, message=JOIN_NAMESPACE),
    'freeze_cgroup': Field(44, 'string'),
    'tcp_skip_in_flight': Field(46, 'bool'),
    'lazy_pages': Field(48, 'bool'),
    'orphan_pts_master': Field(50, 'bool'),
    'config_file': Field(51, 'string'),
})

FEATURES = Message('criu_features', {
    'mem_track': Field(1, 'bool'),
    'lazy_pages': Field(2, 'bool'),
})

REQUEST = Message('criu_req', {
    'type': Field(1, 'enum'),
    'opts': Field(2, 'message', message=OPTS),
    'notify_success': Field(3, 'bool'),
    'features': Field(5, 'message', message=FEATURES),
})

DUMP_RESPONSE = Message('criu_dump_resp', {'restored': Field(1, 'bool')})
RESTORE_RESPONSE = Message('criu_restore_resp', {'pid': Field(1, 'int32')})
NOTIFY_MESSAGE = Message('criu_notify', {'script': Field(1, 'string'), 'pid': Field(2, 'int32')})

VERSION_MESSAGE = Message('criu_version', {
    'major_number': Field(1, 'int32'),
    'minor_number': Field(2, 'int32'),
    'gitid': Field(3, 'string'),
    'sublevel': Field(4, 'int32'),
    'extra': Field(5, 'int32'),
    'name': Field(6, 'string'),
})

RESPONSE = Message('criu_resp', {
    'type': Field(1, 'enum'),
    'success': Field(2, 'bool'),
    'dump': Field(3, 'message', message=DUMP_RESPONSE),
    'restore': Field(4, 'message', message=RESTORE_RESPONSE),
    'notify': Field(5, 'message', message=NOTIFY_MESSAGE),
    'cr_errno': Field(7, 'int32'),
    'features': Field(8, 'message', message=FEATURES),
    'cr_errmsg': Field(9, 'string'),
    'version': Field(10, 'message', message=VERSION_MESSAGE),
})
