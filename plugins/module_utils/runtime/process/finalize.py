# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The last steps before a container process execs, shared by the init and `exec`.

Order (runc's finalizeNamespace): no_new_privs, rlimits, close-on-exec for
every inherited fd, the cwd, the personality, seccomp early when it needs
privileges, the bounding set, the user switch, the other capability sets,
then (with no_new_privs) seccomp as late as possible, and the PATH lookup,
so that a missing program is an error of create/exec rather than a silent
exit.

Every system call made after the filter is loaded must pass a profile
written for an older kernel: such profiles refuse newer calls with EPERM or
ENOSYS (faccessat2, statx, openat2, close_range, clone3), and a few refuse
getcwd. So what can run before the filter does (the cwd and its check while
still privileged, close_range, personality), and what must run after it
has a fallback that only uses old calls (eaccess, the cwd check after a
late chdir). tests/system/test_seccomp_profiles.py runs such profiles.
"""

import errno
import os
import stat

from .. import errors
from ..linux import consts as c
from ..linux import signals, syscalls
from ..security import capabilities, lsm, rlimits, user as users


class PreparedProcess:
    """A process ready to exec: the resolved program, its argv and environment."""

    def __init__(self, executable, args, env):
        self.executable = executable
        self.args = args
        self.env = env


def use_stdio(stdio):
    """Make the three fds given this process' stdin, stdout and stderr."""
    if not stdio:
        return
    for target, fd in enumerate(stdio):
        if fd == target:
            os.set_inheritable(fd, True)
        else:
            os.dup2(fd, target)


def prepare(process, linux, caps, preserve_fds=0, setgroups_allowed=True, before_filter=None):
    """Apply the process' security settings to this process; returns what to exec.

    `before_filter` is called right before a seccomp filter is loaded (the
    init tells the runtime: a profile that refuses even the calls that would
    report an error leaves the runtime only the end of the channel).
    """
    nnp = bool(process.get('noNewPrivileges'))
    if nnp:
        syscalls.prctl(c.PR_SET_NO_NEW_PRIVS, 1)
    rlimits.apply(process.get('rlimits'))
    mark_fds_cloexec(3 + preserve_fds)
    env = environment(process)
    chdir_later = not enter_cwd(process['cwd'])
    set_personality(linux)
    if not nnp:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before dropping it.
        _load_seccomp(linux, before_filter)
    switch_user(process, caps, env, setgroups_allowed, chdir_later)
    user = process.get('user') or {}
    os.umask(user.get('umask', 0o022))
    executable = find_executable(process['args'][0], env.get('PATH'))
    if nnp:
        # As late as possible, so that the profile need not allow the runtime's own calls.
        _load_seccomp(linux, before_filter)
    return PreparedProcess(executable, process['args'], env)


def execute(prepared, process):
    """Labels, default signal handling, then exec. Never returns on success."""
    lsm.apply_exec_labels(process)
    reset_signals()
    try:
        os.execve(prepared.executable, prepared.args, prepared.env)
    except OSError as exc:
        hint = ''
        if _refused_by_filter(exc):
            hint = ' (check linux.seccomp: the filter is in force from here on and must allow execve)'
        raise errors.SetupError('exec %s: %s%s' % (prepared.executable, errors.strerror(exc), hint))


def explain(exc):
    """`exc` as the init or an exec process reports it: naming linux.seccomp when its filter refused a call.

    Once the filter is in force, ENOSYS and EPERM from the runtime's own
    remaining calls (closing an fd, writing the exec FIFO...) come from the
    profile; without this the error would be the bare errno text.
    """
    if not _refused_by_filter(exc):
        return exc
    return errors.SetupError('%s (a call the runtime makes after loading the filter was refused: check '
                             'linux.seccomp)' % errors.describe(exc))


def _refused_by_filter(exc):
    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSYS, errno.EPERM):
        return False
    try:
        return syscalls.prctl(c.PR_GET_SECCOMP) == 2
    except OSError:
        return True  # prctl itself refused: only a filter does that


def with_compiled_seccomp(linux):
    """`linux` with its seccomp profile compiled to a filter, for a plan made before fork.

    The container's processes load the filter after entering the container's
    mount namespace, where the runtime's own modules (the compiler, the
    syscall tables) are out of reach: compiling happens in the runtime.
    """
    profile = linux.get('seccomp')
    if not profile:
        return linux
    from ..security import seccomp
    if isinstance(profile, seccomp.SeccompFilter):
        return linux
    return dict(linux, seccomp=seccomp.validate(profile))


def _load_seccomp(linux, before_filter=None):
    profile = linux.get('seccomp')
    if not profile:
        return
    from ..security import seccomp
    if before_filter is not None:
        before_filter()
    seccomp.install(profile)


def environment(process):
    env = {}
    for item in process.get('env') or []:
        key, _sep, value = item.partition('=')
        env[key] = value
    return env


def set_personality(linux):
    """linux.personality; it takes effect at exec, and a profile may restrict personality(2)."""
    personality = linux.get('personality')
    if personality:
        from ..spec.config import PERSONALITY_DOMAINS
        syscalls.personality(PERSONALITY_DOMAINS[personality['domain']])


def enter_cwd(cwd):
    """chdir to process.cwd while still privileged; False when only the process user may enter it.

    As runc: a cwd the runtime's root cannot enter (root squashed on NFS, a
    user namespace) is tried again after the user switch.
    """
    try:
        os.chdir(cwd)
    except PermissionError:
        return False
    except OSError as exc:
        raise errors.SetupError('chdir to cwd ("%s") set in config.json failed: %s' % (cwd, errors.strerror(exc)))
    verify_cwd()
    return True


def switch_user(process, caps, env, setgroups_allowed=True, chdir_later=False):
    """runc's finalizeNamespace: bounding set, user, a late cwd, then the other capability sets."""
    user = process.get('user') or {}
    capabilities.drop_bounding(caps)
    capabilities.keep_across_setuid(True)
    users.switch(user, setgroups_allowed)
    if 'HOME' not in env:
        env['HOME'] = users.home_of(user.get('uid', 0))
    if chdir_later:
        cwd = process['cwd']
        try:
            os.chdir(cwd)
        except OSError as exc:
            raise errors.SetupError('chdir to cwd ("%s") set in config.json failed: %s' % (cwd, errors.strerror(exc)))
        verify_cwd()
    capabilities.keep_across_setuid(False)
    try:
        capabilities.apply(caps)
    except OSError as exc:
        raise errors.SetupError('cannot apply process.capabilities: %s (effective must be a subset of '
                                'permitted, and both of bounding)' % exc.strerror)


_OUTSIDE = 'current working directory is outside of container mount namespace root'


def verify_cwd():
    """The cwd must be inside the container (CVE-2024-21626: a leaked host directory).

    getcwd(2) answers ENOENT for a directory the root cannot reach. When a
    seccomp profile refuses getcwd (any other error), walking up through
    ".." decides the same without it.
    """
    try:
        cwd = os.getcwd()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise errors.SetupError(_OUTSIDE)
        try:
            inside = cwd_below_root()
        except OSError as walk_error:
            raise errors.SetupError('cannot check that the current working directory is inside the container: '
                                    'getcwd: %s; walking up through "..": %s'
                                    % (errors.strerror(exc), errors.strerror(walk_error)))
        if not inside:
            raise errors.SetupError(_OUTSIDE)
        return
    if not cwd.startswith('/'):
        raise errors.SetupError(_OUTSIDE)


def cwd_below_root(max_depth=4096):
    """Whether climbing ".." from the cwd ends at this process' root (openat and fstat only).

    ".." stops at the process root, and at the top of the mount tree for
    a directory the root cannot reach: the climb ends where a directory is
    its own parent, and that must be "/" itself.
    """
    root = os.stat('/')
    fd = os.open('.', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        here = os.fstat(fd)
        for _step in range(max_depth):
            parent_fd = os.open('..', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = parent_fd
            parent = os.fstat(fd)
            if (parent.st_dev, parent.st_ino) == (here.st_dev, here.st_ino):
                return (here.st_dev, here.st_ino) == (root.st_dev, root.st_ino)
            here = parent
        return False
    finally:
        os.close(fd)


def find_executable(name, path_env):
    """Go's exec.LookPath on the container's PATH, plus runc's eaccess check."""
    if '/' in name:
        candidates = [name]
        not_found = 'exec: "%s": stat %s: no such file or directory' % (name, name)
    else:
        candidates = [os.path.join(d or '.', name) for d in path_env.split(':')] if path_env else []
        not_found = 'exec: "%s": executable file not found in $PATH' % name
    for candidate in candidates:
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) or not info.st_mode & 0o111:
            if '/' in name:
                raise errors.SetupError('exec: "%s": permission denied' % name)
            continue
        try:
            syscalls.eaccess(candidate)
        except OSError as exc:
            raise errors.SetupError('exec %s: %s' % (candidate, errors.strerror(exc)))
        return candidate
    raise errors.SetupError(not_found)


def mark_fds_cloexec(first):
    """No file descriptor of the runtime may reach the container (CVE-2024-21626)."""
    try:
        syscalls.close_range(first, 0xffffffff, c.CLOSE_RANGE_CLOEXEC)
        return
    except OSError:
        pass
    import fcntl
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        if fd >= first:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
            except OSError:
                continue


def reset_signals():
    for signum in range(1, signals.NSIG):
        if signum in (signals.SIGKILL, signals.SIGSTOP):
            continue
        try:
            signals.signal(signum, signals.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            continue
    signals.pthread_sigmask(signals.SIG_SETMASK, [])
