# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of the kernel features the runtime uses this host offers, and whether it can run containers.

Files under /proc say what the kernel was built with, but not whether this
process may use it: Ansible inside a container, a missing capability or a
seccomp policy only show when a feature is tried. So every namespace is
created once, alone, by a forked child that exits at once; that changes
nothing on the host. The verdict (`can_run_containers` and `problems`) is
what a container start with runc's default spec would need: mount, pid, ipc,
uts and network namespaces and a writable cgroup hierarchy as root, or user
namespaces for a rootless start.
"""

import os
import re
import shutil
import sys

from .. import runtime
from ..runtime import cgroups, errors
from ..runtime.criu import binary as criu_binary
from ..runtime.linux import consts, spawn, syscalls
from ..runtime.security import capabilities
from ..runtime.spec import config as specconfig

# (name in reports and config.json, file under /proc/self/ns, unshare flag): the runtime's own tables.
NAMESPACES = tuple((name, specconfig.NAMESPACE_PROC_NAMES[name], flag) for name, flag in specconfig.NAMESPACE_FLAGS.items())
# The namespaces of runc's default spec (`runcible spec`): a container as root needs them all.
REQUIRED_NAMESPACES = ('mount', 'pid', 'ipc', 'uts', 'network')
CAP_SYS_RESOURCE = capabilities.NUMBERS['CAP_SYS_RESOURCE']
CAP_SYS_ADMIN = capabilities.NUMBERS['CAP_SYS_ADMIN']
_VERSION_TIMEOUT = 10


def _read(path):
    """The text of `path`, or None when it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def status_fields(text):
    """{field: value} of /proc/<pid>/status text."""
    fields = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition(':')
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def has_capability(status, number):
    """Whether the effective capability set (CapEff of /proc/self/status) holds capability `number`."""
    try:
        return bool(int(status.get('CapEff', '0'), 16) >> number & 1)
    except ValueError:
        return False


def probe_unshare(flags):
    """None when a child process can unshare(flags), else why not (strerror)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            syscalls.unshare(flags)
        except OSError as exc:
            code = exc.errno or 255
        except BaseException:  # pylint: disable=broad-except
            code = 255
        os._exit(code)
    waited, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 255
    if waited != pid or code == 0:
        return None
    return os.strerror(code) if code != 255 else 'the probe failed'


def namespaces(probe=probe_unshare):
    """{name: {supported, can_create, error}} for every namespace type the runtime knows."""
    found = {}
    for name, proc_name, flag in NAMESPACES:
        supported = os.path.exists('/proc/self/ns/' + proc_name)
        error = probe(flag) if supported else 'the kernel has no %s namespaces' % name
        found[name] = {'supported': supported, 'can_create': error is None, 'error': error}
    return found


def cgroup_report(hierarchies=None, layout=None):
    """The cgroup layout (unified, hybrid, legacy or none), its controllers and whether it is writable."""
    if hierarchies is None:
        try:
            hierarchies = cgroups.discover()
        except (OSError, ValueError, IndexError):
            hierarchies = []
    if not hierarchies:
        return {'layout': 'none', 'mountpoints': [], 'v1_controllers': [], 'v2_controllers': [], 'writable': False,
                'read_only': []}
    v1 = sorted(set(name for hierarchy in hierarchies for name in hierarchy.subsystems if '=' not in name))
    v2 = []
    for hierarchy in hierarchies:
        if hierarchy.unified:
            v2 = sorted((_read(os.path.join(hierarchy.mountpoint, 'cgroup.controllers')) or '').split())
    read_only = [hierarchy.mountpoint for hierarchy in hierarchies if not os.access(hierarchy.mountpoint, os.W_OK)]
    return {
        'layout': layout or cgroups.layout(),
        'mountpoints': [hierarchy.mountpoint for hierarchy in hierarchies],
        'v1_controllers': v1,
        'v2_controllers': v2,
        # Every container gets a cgroup: a hierarchy this process cannot write stops any start.
        'writable': not read_only,
        'read_only': read_only,
    }


def overlay_report(filesystems, release):
    """Whether overlayfs is there: built in or loaded (/proc/filesystems), or a module the kernel loads on first use."""
    listed = any(line.split()[-1:] == ['overlay'] for line in (filesystems or '').splitlines())
    if listed:
        return {'supported': True, 'how': 'loaded'}
    if os.path.isdir('/lib/modules/%s/kernel/fs/overlayfs' % release):
        return {'supported': True, 'how': 'module'}
    return {'supported': False, 'how': None}


def seccomp_report(status, actions_avail):
    """seccomp as the kernel offers it: filters (profiles) need CONFIG_SECCOMP_FILTER."""
    mode = status.get('Seccomp')
    return {
        'supported': mode is not None,
        'filter': actions_avail is not None,
        'actions': (actions_avail or '').split(),
        # 2: this process already runs under a filter (a container's, or a systemd unit's); nested filters still work.
        'mode': int(mode) if mode and mode.isdigit() else None,
    }


def user_namespace_report(namespace, max_text, clone_text, restrict_text):
    """User namespaces: the kernel's limit and the distribution switches that restrict unprivileged users."""
    def number(text):
        text = (text or '').strip()
        return int(text) if text.isdigit() else None
    max_count = number(max_text)
    return {
        'supported': namespace['supported'] and max_count != 0,
        'can_create': namespace['can_create'],
        'max': max_count,
        # Debian's and Ubuntu's kernel.unprivileged_userns_clone (absent elsewhere: allowed).
        'unprivileged_clone': number(clone_text) != 0,
        # Ubuntu 24.04: AppArmor confines unprivileged user namespaces unless a profile allows them.
        'apparmor_restricted': number(restrict_text) == 1,
        'error': namespace['error'],
    }


def runtime_version(text):
    """The version in `<runtime> --version` output ("runc version 1.1.5" -> "1.1.5"), or None."""
    match = re.search(r'version\s+(\S+)', text or '')
    return match.group(1) if match else None


def runtimes_report(names):
    """{name: {found, path, version}} for each runtime: the vendored one, runc, crun or a binary's path."""
    found = {}
    for name in names:
        if name == 'runcible':
            found[name] = {'found': True, 'path': sys.executable, 'version': runtime.VERSION,
                           'python': '%d.%d.%d' % sys.version_info[:3]}
            continue
        path = name if os.sep in name else shutil.which(name)
        if not path or not os.access(path, os.X_OK):
            found[name] = {'found': False, 'path': None, 'version': None}
            continue
        try:
            result = spawn.run([path, '--version'], executable=path, timeout=_VERSION_TIMEOUT)
            version = runtime_version(result.stdout.decode('utf-8', 'replace')) if result.returncode == 0 else None
        except OSError:
            version = None
        found[name] = {'found': True, 'path': os.path.abspath(path), 'version': version}
    return found


def criu_report(criu):
    """CRIU at `criu` (a name on PATH or a path): usable only when it passes `criu check` on this kernel."""
    try:
        found = criu_binary.find(criu)
    except errors.RuntimeErrorBase as exc:
        return {'usable': False, 'path': None, 'version': None, 'error': str(exc)}
    return {'usable': True, 'path': found.path, 'version': found.version_text, 'error': None}


def verdict(report, euid):
    """(problems that stop every container start, limitations about optional features)."""
    problems = []
    limitations = []
    names = report['namespaces']
    admin = report['capabilities']['sys_admin']
    if euid == 0:
        for name in REQUIRED_NAMESPACES:
            if not names[name]['can_create']:
                problems.append('cannot create %s namespaces (%s)' % (name, names[name]['error']))
        if problems and not admin:
            problems.append('CAP_SYS_ADMIN is missing from this process: Ansible runs in a container without '
                            'privileges, or under a policy that removes it; run the collection on the host itself')
        cgroup = report['cgroup']
        if cgroup['layout'] == 'none':
            problems.append('no cgroup file system is mounted (expected at /sys/fs/cgroup): mount cgroup2 there')
        elif not cgroup['writable']:
            read_only = cgroup['read_only']
            where = ', '.join(read_only) if len(read_only) <= 2 else '%s and %d more' % (read_only[0], len(read_only) - 1)
            problems.append('the cgroup file system is read-only here (%s): containers cannot get cgroups' % where)
    elif not report['rootless']['can_create']:
        problems.append('not root, and rootless containers need user namespaces, which this host refuses (%s): '
                        'run as root, or allow unprivileged user namespaces' % report['rootless']['error'])
    if not report['overlayfs']['supported']:
        limitations.append('no overlayfs: use rootfs_mode copy (the default) for bundles')
    if not report['seccomp']['filter']:
        limitations.append('no seccomp filters (CONFIG_SECCOMP_FILTER): bundles with linux.seccomp will fail')
    if not names['user']['can_create']:
        limitations.append('user namespaces unavailable (%s): no rootless containers, no linux.uidMappings'
                           % names['user']['error'])
    for name in ('cgroup', 'time'):
        if not names[name]['can_create']:
            limitations.append('%s namespaces unavailable (%s)' % (name, names[name]['error']))
    if not report['criu']['usable']:
        limitations.append('no checkpoint/restore: %s' % report['criu']['error'])
    elif not report['capabilities']['sys_resource']:
        # CRIU reads every dumped process's rlimits with prlimit(2), which needs CAP_SYS_RESOURCE for another user's.
        limitations.append('CRIU can checkpoint only containers whose processes run as root here: CAP_SYS_RESOURCE '
                           'is missing from this process')
    return problems, limitations


def host_report(runtimes=('runcible', 'runc', 'crun'), criu='criu'):
    """Everything oci_host_info returns."""
    status = status_fields(_read('/proc/self/status'))
    uname = os.uname()
    names = namespaces()
    if os.geteuid() == 0:
        rootless_error = None
    else:
        rootless_error = probe_unshare(consts.CLONE_NEWUSER | consts.CLONE_NEWNS | consts.CLONE_NEWPID)
    report = {
        'kernel': {'release': uname.release, 'machine': uname.machine},
        'python': {'version': '%d.%d.%d' % sys.version_info[:3], 'executable': sys.executable},
        'euid': os.geteuid(),
        'capabilities': {'sys_admin': has_capability(status, CAP_SYS_ADMIN),
                         'sys_resource': has_capability(status, CAP_SYS_RESOURCE)},
        'namespaces': names,
        'cgroup': cgroup_report(),
        'overlayfs': overlay_report(_read('/proc/filesystems'), uname.release),
        'seccomp': seccomp_report(status, _read('/proc/sys/kernel/seccomp/actions_avail')),
        'user_namespaces': user_namespace_report(
            names['user'], _read('/proc/sys/user/max_user_namespaces'),
            _read('/proc/sys/kernel/unprivileged_userns_clone'),
            _read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')),
        'rootless': {'can_create': rootless_error is None, 'error': rootless_error},
        'runtimes': runtimes_report(runtimes),
        'criu': criu_report(criu),
    }
    problems, limitations = verdict(report, os.geteuid())
    report['can_run_containers'] = not problems
    report['problems'] = problems
    report['limitations'] = limitations
    return report
