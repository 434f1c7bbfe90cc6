# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc's default config.json (`runc spec`) and its rootless variant."""

import os

# The runtime-spec version this runtime implements and writes.
OCI_VERSION = '1.0.2-dev'

_DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']


def default_spec():
    """The same config.json `runc spec` writes."""
    caps = list(_DEFAULT_CAPS)
    return {
        'ociVersion': OCI_VERSION,
        'process': {
            'terminal': True,
            'user': {'uid': 0, 'gid': 0},
            'args': ['sh'],
            'env': [
                'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                'TERM=xterm',
            ],
            'cwd': '/',
            'capabilities': {
                'bounding': list(caps),
                'effective': list(caps),
                'permitted': list(caps),
                'ambient': list(caps),
            },
            'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}],
            'noNewPrivileges': True,
        },
        'root': {'path': 'rootfs', 'readonly': True},
        'hostname': 'runc',
        'mounts': [
            {'destination': '/proc', 'type': 'proc', 'source': 'proc'},
            {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
             'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
            {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',
             'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
            {'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm',
             'options': ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
            {'destination': '/dev/mqueue', 'type': 'mqueue', 'source': 'mqueue',
             'options': ['nosuid', 'noexec', 'nodev']},
            {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',
             'options': ['nosuid', 'noexec', 'nodev', 'ro']},
            {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',
             'options': ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']},
        ],
        'linux': {
            'resources': {'devices': [{'allow': False, 'access': 'rwm'}]},
            'namespaces': [{'type': t} for t in ('pid', 'network', 'ipc', 'uts', 'mount')],
            'maskedPaths': [
                '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
                '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware',
                '/proc/scsi',
            ],
            'readonlyPaths': [
                '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
            ],
        },
    }


def rootless_spec(uid=None, gid=None):
    """runc's `spec --rootless`: a user namespace mapping the caller, no network namespace."""
    spec = default_spec()
    uid = os.geteuid() if uid is None else uid
    gid = os.getegid() if gid is None else gid
    old = spec['linux']
    # Rebuilt in the order runc writes the fields.
    spec['linux'] = {
        'uidMappings': [{'containerID': 0, 'hostID': uid, 'size': 1}],
        'gidMappings': [{'containerID': 0, 'hostID': gid, 'size': 1}],
        'namespaces': [n for n in old['namespaces'] if n['type'] != 'network'] + [{'type': 'user'}],
        'maskedPaths': old['maskedPaths'],
        'readonlyPaths': old['readonlyPaths'],
    }
    for mount in spec['mounts']:
        if mount['destination'] == '/sys':
            mount.update({'type': 'none', 'source': '/sys',
                          'options': ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']})
        elif mount['destination'] == '/dev/pts':
            mount['options'] = [o for o in mount['options'] if o != 'gid=5']
    return spec
