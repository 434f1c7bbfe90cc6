# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux.seccomp on the real kernel.

1. In-process: a forked child loads a compiled filter with the runtime's
   install() and makes real syscalls; the parent checks errno values, signals
   and exit statuses.
2. Differential: the same busybox bundle with a seccomp profile runs under
   each runtime in RUNTIMES (runc first, as the reference); exit codes and
   output must match runc's.

Needs root; the differential needs runc and busybox-static (Debian packages).
"""

import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if os.path.join(REPO, 'plugins', 'module_utils') not in sys.path:
    sys.path.insert(0, os.path.join(REPO, 'plugins', 'module_utils'))

from runtime import errors  # noqa: E402
from runtime.linux import consts  # noqa: E402
from runtime.linux import syscalls  # noqa: E402
from runtime.security import seccomp  # noqa: E402

RUNTIMES = [shutil.which('runc') or 'runc', os.path.join(REPO, 'bin', 'runcible')]
BUSYBOX = '/bin/busybox'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='seccomp system tests run as root')

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


# Looked up now: after a filter is loaded, even uname(2) may be refused.
NUMBERS = seccomp.abi.ABIS[seccomp.abi.native_abi_name()].numbers


def _raw_syscall(name, *args):
    """Call syscall `name` by its number on this machine; returns (result, errno)."""
    number = NUMBERS[name]
    result = _libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    return result, (ctypes.get_errno() if result < 0 else 0)


def run_filtered(spec, body, no_new_privs=True, before=None):
    """Fork; the child loads `spec`'s filter, runs body() and reports its result. Returns (result, wait status)."""
    compiled = seccomp.validate(spec)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(reader)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if before is not None:
                before()
            if no_new_privs:
                _libc.prctl(consts.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            try:
                seccomp.install(compiled)
            except errors.RuntimeErrorBase as e:
                result = {'install_error': str(e)}
            else:
                result = body()
            os.write(writer, json.dumps(result).encode())
        except BaseException:
            code = 99
        finally:
            os._exit(code)
    os.close(writer)
    chunks = []
    while True:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    status = os.waitpid(pid, 0)[1]
    data = b''.join(chunks)
    return (json.loads(data) if data else None), status


def rule(names, action, **extra):
    entry = {'names': names, 'action': action}
    entry.update(extra)
    return entry


@pytest.fixture
def scratch():
    path = tempfile.mkdtemp(prefix='runcible-seccomp-')
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_errno_action_fails_the_syscall_with_errno_ret(scratch):
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir', 'mkdirat'], 'SCMP_ACT_ERRNO', errnoRet=122)]}
    target = os.path.join(scratch, 'denied')

    def body():
        try:
            os.mkdir(target)
        except OSError as e:
            return {'errno': e.errno, 'pid_ok': os.getpid() > 0}
        return {'errno': 0}

    result, status = run_filtered(spec, body)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert result == {'errno': errno.EDQUOT, 'pid_ok': True}
    assert not os.path.exists(target)


def test_errno_action_without_errno_ret_is_eperm(scratch):
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['mkdir', 'mkdirat'], 'SCMP_ACT_ERRNO')]}

    def body():
        return {'mkdir': _raw_syscall('mkdirat', -100, ctypes.addressof(ctypes.create_string_buffer(
            os.path.join(scratch, 'x').encode())), 0o755)[1]}

    result = run_filtered(spec, body)[0]
    assert result == {'mkdir': errno.EPERM}


def test_kill_action_kills_with_sigsys():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['getppid'], 'SCMP_ACT_KILL')]}

    def body():
        os.getppid()
        return {'survived': True}

    for action in ('SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS'):
        spec['syscalls'][0]['action'] = action
        result, status = run_filtered(spec, body)
        assert result is None
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, (action, status)


def test_trap_action_raises_sigsys_the_process_can_catch():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['getppid'], 'SCMP_ACT_TRAP')]}
    caught = []

    def before():
        signal.signal(signal.SIGSYS, lambda signum, frame: caught.append(signum))

    def body():
        os.getppid()
        return {'caught': list(caught)}

    result, status = run_filtered(spec, body, before=before)
    assert os.WIFEXITED(status)
    assert result == {'caught': [signal.SIGSYS]}


def test_argument_rule_denies_only_matching_calls(scratch):
    # fchmod(fd, 0777) is refused, any other mode goes through.
    spec = {'defaultAction': 'SCMP_ACT_ALLOW',
            'syscalls': [rule(['fchmod'], 'SCMP_ACT_ERRNO', errnoRet=errno.EACCES,
                              args=[{'index': 1, 'value': 0o777, 'op': 'SCMP_CMP_EQ'}])]}
    path = os.path.join(scratch, 'file')
    open(path, 'w').close()

    def body():
        fd = os.open(path, os.O_RDONLY)
        outcome = {}
        for mode in (0o777, 0o640):
            try:
                os.fchmod(fd, mode)
                outcome[oct(mode)] = 0
            except OSError as e:
                outcome[oct(mode)] = e.errno
        return outcome

    result = run_filtered(spec, body)[0]
    assert result == {'0o777': errno.EACCES, '0o640': 0}
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_default_action_and_allowed_syscalls():
    names = ['read', 'write', 'close', 'exit', 'exit_group', 'getpid', 'rt_sigreturn', 'rt_sigprocmask', 'brk',
             'mmap', 'munmap', 'futex', 'madvise', 'fstat', 'newfstatat', 'lseek', 'ioctl', 'getrandom']
    spec = {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': errno.ENOTSUP,
            'syscalls': [rule(names, 'SCMP_ACT_ALLOW')]}

    def body():
        return {'getpid': _raw_syscall('getpid')[0] == os.getpid(), 'getppid': _raw_syscall('getppid')[1],
                'umask': _raw_syscall('umask', 0o22)[1]}

    result, status = run_filtered(spec, body)
    assert os.WIFEXITED(status)
    assert result == {'getpid': True, 'getppid': errno.ENOTSUP, 'umask': errno.ENOTSUP}


def test_syscalls_newer_than_the_profile_get_enosys():
    native = seccomp.abi.native_abi_name()
    numbers = NUMBERS
    spec = {'defaultAction': 'SCMP_ACT_KILL_PROCESS', 'architectures': [native],
            'syscalls': [rule(sorted(n for n, nr in numbers.items() if nr <= numbers['getrandom']), 'SCMP_ACT_ALLOW')]}
    newer = 'memfd_secret' if 'memfd_secret' in numbers else 'pidfd_open'
    assert numbers[newer] > numbers['getrandom']

    def body():
        return {'newer': _raw_syscall(newer, 0)[1]}

    result, status = run_filtered(spec, body)
    assert os.WIFEXITED(status), status
    assert result == {'newer': errno.ENOSYS}


def test_flags_are_passed_to_the_kernel():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG',
                                                         'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
            'syscalls': [rule(['getppid'], 'SCMP_ACT_ERRNO', errnoRet=errno.EDOM)]}

    def body():
        with open('/proc/self/status') as f:
            status = dict(line.split(':\t', 1) for line in f.read().splitlines() if ':\t' in line)
        return {'getppid': _raw_syscall('getppid')[1], 'filters': status.get('Seccomp_filters', '').strip()}

    result = run_filtered(spec, body)[0]
    assert result == {'getppid': errno.EDOM, 'filters': '1'}


def test_install_without_no_new_privs_or_cap_sys_admin_is_a_setup_error():
    spec = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [rule(['getppid'], 'SCMP_ACT_ERRNO')]}

    def before():
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)

    result = run_filtered(spec, lambda: {'loaded': True}, no_new_privs=False, before=before)[0]
    assert 'install_error' in result
    assert 'no_new_privs' in result['install_error']


# --- differential against runc ------------------------------------------------

PROFILE = {
    'defaultAction': 'SCMP_ACT_ALLOW',
    'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    'syscalls': [
        rule(['mkdir', 'mkdirat'], 'SCMP_ACT_ERRNO', errnoRet=errno.EDQUOT),
        rule(['sync'], 'SCMP_ACT_KILL'),
        rule(['chmod', 'fchmod'], 'SCMP_ACT_ERRNO', errnoRet=errno.EACCES,
             args=[{'index': 1, 'value': 0o777, 'op': 'SCMP_CMP_EQ'}]),
        rule(['fchmodat'], 'SCMP_ACT_ERRNO', errnoRet=errno.EACCES, args=[{'index': 2, 'value': 0o777, 'op': 'SCMP_CMP_EQ'}]),
        rule(['sethostname'], 'SCMP_ACT_ERRNO', errnoRet=errno.ENOTSUP,
             args=[{'index': 1, 'value': 4, 'op': 'SCMP_CMP_GT'}]),
    ],
}
SCRIPT = '''
mkdir /tmp/made; echo "mkdir=$?"
touch /tmp/f; chmod 777 /tmp/f; echo "chmod777=$?"; chmod 640 /tmp/f; echo "chmod640=$?"
hostname abcd; echo "hostname4=$?"; hostname abcdefgh; echo "hostname8=$?"
ls -d /tmp/made 2>&1; echo "ls=$?"
(sync); echo "sync=$?"
exec sync
'''


def _bundle(path):
    rootfs = os.path.join(path, 'rootfs')
    os.makedirs(os.path.join(rootfs, 'bin'))
    for directory in ('proc', 'dev', 'sys', 'tmp'):
        os.makedirs(os.path.join(rootfs, directory))
    shutil.copy2(BUSYBOX, os.path.join(rootfs, 'bin', 'busybox'))
    applets = subprocess.run([BUSYBOX, '--list'], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != 'busybox':
            os.symlink('busybox', os.path.join(rootfs, 'bin', applet))
    subprocess.run(['runc', 'spec', '--bundle', path], check=True)
    with open(os.path.join(path, 'config.json')) as f:
        config = json.load(f)
    config['process']['terminal'] = False
    config['process']['args'] = ['/bin/sh', '-c', SCRIPT]
    config['process']['env'] = ['PATH=/bin']
    config['root']['readonly'] = False
    config['hostname'] = 'seccomp-test'
    # sethostname needs CAP_SYS_ADMIN in the container's UTS namespace.
    for capability_set in ('bounding', 'effective', 'permitted'):
        config['process']['capabilities'][capability_set].append('CAP_SYS_ADMIN')
    config['linux']['seccomp'] = PROFILE
    with open(os.path.join(path, 'config.json'), 'w') as f:
        json.dump(config, f, indent=1)


def _run_container(runtime, bundle, state_root, container_id):
    command = [runtime, '--root', state_root, 'run', '--bundle', bundle, container_id]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    finally:
        subprocess.run([runtime, '--root', state_root, 'delete', '--force', container_id],
                       capture_output=True, timeout=60, check=False)
    return finished.returncode, finished.stdout, finished.stderr


@pytest.fixture(scope='module')
def bundle():
    if not os.path.exists(BUSYBOX) or shutil.which('runc') is None:
        pytest.skip('needs busybox-static and runc (Debian packages)')
    if seccomp.abi.native_abi_name() != 'SCMP_ARCH_X86_64':
        pytest.skip('the profile lists the x86 ABIs; it is written for x86_64 hosts')
    path = tempfile.mkdtemp(prefix='runcible-seccomp-bundle-')
    try:
        _bundle(path)
        yield path
    finally:
        shutil.rmtree(path)


def _outcome(runtime, bundle_path, name):
    state_root = tempfile.mkdtemp(prefix='runcible-seccomp-root-')
    try:
        return _run_container(runtime, bundle_path, state_root, 'seccomp-%s-%d' % (name, os.getpid()))
    finally:
        shutil.rmtree(state_root, ignore_errors=True)


@pytest.fixture(scope='module')
def runc_outcome(bundle):
    return _outcome(RUNTIMES[0], bundle, 'runc')


def test_runc_reference_behaves_as_the_profile_says(runc_outcome):
    code, stdout, stderr = runc_outcome
    lines = stdout.splitlines()
    assert lines == ['mkdir=1', 'chmod777=1', 'chmod640=0', 'hostname4=0', 'hostname8=1',
                     'ls: /tmp/made: No such file or directory', 'ls=1', 'sync=%d' % (128 + signal.SIGSYS)]
    assert os.strerror(errno.EDQUOT) in stderr and os.strerror(errno.ENOTSUP) in stderr
    # The container's process ends as sync(1), killed by SIGSYS.
    assert code == 128 + signal.SIGSYS


def _run_script_under_our_filter(bundle_path):
    """The bundle's script in its rootfs (chroot, own UTS namespace) under our filter, without a runtime."""
    compiled = seccomp.validate(PROFILE)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            syscalls.unshare(consts.CLONE_NEWUTS)
            os.chroot(os.path.join(bundle_path, 'rootfs'))
            os.chdir('/')
            _libc.prctl(consts.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            seccomp.install(compiled)
            os.execve('/bin/sh', ['/bin/sh', '-c', SCRIPT], {'PATH': '/bin'})
        finally:
            os._exit(127)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r) as out, os.fdopen(err_r) as err:
        stdout = out.read()
        stderr = err.read()
    status = os.waitpid(pid, 0)[1]
    code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, stdout, stderr


def test_our_filter_alone_gives_runcs_outcome(bundle, runc_outcome):
    """Until bin/runcible runs containers, the filter itself is checked on runc's exact script."""
    assert _run_script_under_our_filter(bundle) == runc_outcome


@pytest.mark.parametrize('runtime', RUNTIMES, ids=[os.path.basename(r) for r in RUNTIMES])
def test_same_outcome_as_runc(runtime, bundle, runc_outcome):
    assert os.access(runtime, os.X_OK), '%s does not exist yet or is not executable' % runtime
    outcome = _outcome(runtime, bundle, os.path.basename(runtime))
    assert outcome == runc_outcome


def _exec_outcome(runtime, bundle_path, name):
    """The profile's script run by `exec` in a container whose own process only sleeps."""
    state_root = tempfile.mkdtemp(prefix='runcible-seccomp-root-')
    container_id = 'seccomp-exec-%s-%d' % (name, os.getpid())
    sleeper = tempfile.mkdtemp(prefix='runcible-seccomp-exec-')
    try:
        with open(os.path.join(bundle_path, 'config.json')) as f:
            config = json.load(f)
        config['root']['path'] = os.path.join(bundle_path, 'rootfs')
        config['process']['args'] = ['sleep', '60']
        with open(os.path.join(sleeper, 'config.json'), 'w') as f:
            json.dump(config, f)
        subprocess.run([runtime, '--root', state_root, 'run', '-d', '--bundle', sleeper, container_id],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)
        finished = subprocess.run([runtime, '--root', state_root, 'exec', container_id, '/bin/sh', '-c', SCRIPT],
                                  capture_output=True, text=True, timeout=60, check=False)
        return finished.returncode, finished.stdout, finished.stderr
    finally:
        subprocess.run([runtime, '--root', state_root, 'delete', '--force', container_id],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(state_root, ignore_errors=True)
        shutil.rmtree(sleeper, ignore_errors=True)


def test_exec_gets_the_containers_filter_as_under_runc(bundle):
    # exec joins the container and must load the same filter: a runtime that forgot it (or loaded it
    # before dropping privileges in a way that fails) would print 0 for the denied calls or exit differently.
    ours = _exec_outcome(RUNTIMES[1], bundle, 'runcible')
    theirs = _exec_outcome(RUNTIMES[0], bundle, 'runc')
    assert 'mkdir=1' in theirs[1] and 'sync=%d' % (128 + signal.SIGSYS) in theirs[1]
    assert ours[:2] == theirs[:2]
