# -*- coding: utf-8 -*-
"""Real containers under seccomp profiles real clients send, compared with crun and runc.

Many profiles in use were written before the newest syscalls existed: they
allow access/faccessat/stat/open and refuse faccessat2, openat2, clone3,
close_range, statx or pidfd_* (EPERM, or ENOSYS where the profile says so),
and some refuse getcwd. The runtime's own steps after the filter is loaded
must get through such a profile (issue 14, item 1: `os.access(...,
effective_ids=True)` became faccessat2 and `create` failed with "exec
/bin/sh: permission denied").

Every case runs the same bundle under runcible and crun (and runc where runc
1.1.5 can run it): same output, same exit code, and that exit code is 0.
Debian's runc 1.1.5 carries the CVE-2024-21626 fix, whose cwd check calls
getcwd after the filter without noNewPrivileges: it fails with "failed to
verify if current working directory is safe" under a profile that refuses
getcwd, so those cases compare with crun only.
"""

import errno
import json
import os
import shutil
import tempfile

import pytest

from systemlib import leftovers_of, new_id, processes_with_cgroup, runtime_factory

from runtime import errors  # noqa: E402  (systemlib puts the runtime on sys.path)
from runtime.linux import consts  # noqa: E402
from runtime.process import finalize  # noqa: E402
from runtime.security import seccomp  # noqa: E402
from runtime.security.syscall_tables import x86_64  # noqa: E402

PODMAN_PROFILE = '/usr/share/containers/seccomp.json'
# The last syscall of Linux 4.18 on x86_64 (rseq): a profile of that time knows nothing newer.
LINUX_4_18_LAST = x86_64.NUMBERS['rseq']
NEWER = ('faccessat2', 'openat2', 'clone3', 'close_range', 'pidfd_open', 'pidfd_send_signal', 'pidfd_getfd')
SCRIPT = 'id; echo "cwd=$(pwd)"; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; ls -d /tmp /bin/sh'

pytestmark = pytest.mark.skipif(seccomp.abi.native_abi_name() != 'SCMP_ARCH_X86_64',
                                reason='the old-kernel profiles are written from the x86_64 syscall table')


def linux4_profile(default_errno=None):
    """A profile written for Linux 4.18 that also refuses statx and getcwd.

    Without `architectures` there is no ENOSYS stub: every newer syscall gets
    the default action, EPERM unless `default_errno` says otherwise.
    """
    names = sorted(name for name, number in x86_64.NUMBERS.items()
                   if number <= LINUX_4_18_LAST and name not in ('statx', 'getcwd'))
    profile = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': names, 'action': 'SCMP_ACT_ALLOW'}]}
    if default_errno is not None:
        profile['defaultErrnoRet'] = default_errno
        profile['architectures'] = ['SCMP_ARCH_X86_64']
    return profile


def without_faccessat2_profile():
    """Everything this kernel has but faccessat2, which gets EPERM: the case of the issue."""
    names = sorted(name for name in x86_64.NUMBERS if name != 'faccessat2')
    return {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': names, 'action': 'SCMP_ACT_ALLOW'}]}


def podman_profile(capabilities):
    """podman's default profile (containers-common's seccomp.json) as podman puts it in config.json.

    podman keeps an entry when the process has every capability of
    `includes.caps` and none of `excludes.caps`, and the arch filters match;
    it lists the native architecture with its sub-architectures.
    """
    if not os.path.exists(PODMAN_PROFILE):
        pytest.skip('%s is missing (Debian package golang-github-containers-common)' % PODMAN_PROFILE)
    with open(PODMAN_PROFILE) as handle:
        source = json.load(handle)
    arch = 'amd64'
    syscalls = []
    for entry in source['syscalls']:
        includes = entry.get('includes') or {}
        excludes = entry.get('excludes') or {}
        if includes.get('arches') and arch not in includes['arches']:
            continue
        if excludes.get('arches') and arch in excludes['arches']:
            continue
        if any(cap not in capabilities for cap in includes.get('caps') or []):
            continue
        if any(cap in capabilities for cap in excludes.get('caps') or []):
            continue
        rule = {'names': entry['names'], 'action': entry['action']}
        for key in ('args', 'errnoRet'):
            if entry.get(key):
                rule[key] = entry[key]
        syscalls.append(rule)
    architectures = []
    for item in source['archMap']:
        if item['architecture'] == 'SCMP_ARCH_X86_64':
            architectures = [item['architecture']] + item['subArchitectures']
    return {'defaultAction': source['defaultAction'], 'defaultErrnoRet': source['defaultErrnoRet'],
            'architectures': architectures, 'syscalls': syscalls}


PROFILES = ('linux4-eperm', 'linux4-enosys', 'without-faccessat2', 'podman-default')
# runc 1.1.5's cwd check needs getcwd after the filter unless noNewPrivileges moves the filter later.
RUNC_CAN_RUN = {'linux4-eperm': (True,), 'linux4-enosys': (True,), 'without-faccessat2': (True, False),
                'podman-default': (True, False)}


def profile_for(name, capabilities):
    if name == 'linux4-eperm':
        return linux4_profile()
    if name == 'linux4-enosys':
        return linux4_profile(errno.ENOSYS)
    if name == 'without-faccessat2':
        return without_faccessat2_profile()
    return podman_profile(capabilities)


def configure(bundle, profile_name, nnp, uid, args):
    process = bundle.config['process']
    process['noNewPrivileges'] = nnp
    process['user'] = {'uid': uid, 'gid': uid and 201}
    process['cwd'] = '/tmp'
    process['env'] = ['PATH=/usr/bin:/bin']
    bundle.config['linux']['seccomp'] = profile_for(profile_name, process['capabilities']['bounding'])
    bundle.write(args)


def references(profile_name, nnp, tmp_path, verb='run'):
    """The runtimes to compare with: crun, and runc where it can run the case.

    crun 1.8.1's exec without noNewPrivileges loads the filter before it
    stats /proc/self/setgroups, through statx: under a profile that refuses
    statx with EPERM it fails ("error stat'ing file `/proc/self/setgroups`").
    """
    names = ['runc'] if nnp in RUNC_CAN_RUN[profile_name] else []
    if not (verb == 'exec' and profile_name == 'linux4-eperm' and not nnp):
        names.insert(0, 'crun')
    return [runtime_factory(name, str(tmp_path / (name + '-root'))) for name in names]


def run_outcome(runtime, bundle):
    result = runtime.cmd('run', '--bundle', bundle.path, new_id())
    return result.returncode, result.stdout, result.stderr


def exec_outcome(runtime, bundle, nnp):
    container_id = new_id()
    try:
        runtime.cmd('run', '-d', '--bundle', bundle.path, container_id, check=True)
        # crun's exec takes the user, cwd and no_new_privs from its flags only (runc's from config.json too).
        flags = ['--user', '101:201', '--cwd', '/tmp'] + (['--no-new-privs'] if nnp else [])
        result = runtime.cmd('exec', *(flags + [container_id, 'sh', '-c', SCRIPT]))
        return result.returncode, result.stdout, result.stderr
    finally:
        runtime.cmd('delete', '--force', container_id)


@pytest.mark.parametrize('uid', [0, 101])
@pytest.mark.parametrize('nnp', [True, False], ids=['nnp', 'no-nnp'])
@pytest.mark.parametrize('profile_name', PROFILES)
def test_run_under_profile_matches_crun(runcible, bundle, tmp_path, profile_name, nnp, uid):
    configure(bundle, profile_name, nnp, uid, ['sh', '-c', SCRIPT])
    ours = run_outcome(runcible, bundle)
    assert ours[0] == 0, ours
    assert 'uid=%d' % uid in ours[1] and '/bin/sh' in ours[1]
    for reference in references(profile_name, nnp, tmp_path):
        try:
            theirs = run_outcome(reference, bundle)
        finally:
            reference.cleanup()
        assert ours[:2] == theirs[:2], (reference.name, ours, theirs)


@pytest.mark.parametrize('nnp', [True, False], ids=['nnp', 'no-nnp'])
@pytest.mark.parametrize('profile_name', PROFILES)
def test_exec_under_profile_matches_crun(runcible, bundle, tmp_path, profile_name, nnp):
    configure(bundle, profile_name, nnp, 101, ['sleep', '60'])
    ours = exec_outcome(runcible, bundle, nnp)
    assert ours[0] == 0, ours
    assert 'uid=101' in ours[1]
    for reference in references(profile_name, nnp, tmp_path, 'exec'):
        try:
            theirs = exec_outcome(reference, bundle, nnp)
        finally:
            reference.cleanup()
        assert ours[:2] == theirs[:2], (reference.name, ours, theirs)


@pytest.mark.parametrize('nnp', [True, False], ids=['nnp', 'no-nnp'])
def test_personality_set_before_a_filter_that_refuses_it(runcible, crun, bundle, nnp):
    """linux.personality is set before the filter is loaded, as crun does: the profile need not allow personality(2)."""
    bundle.config['linux']['personality'] = {'domain': 'LINUX32'}
    configure(bundle, 'linux4-eperm', nnp, 101, ['uname', '-m'])
    profile = bundle.config['linux']['seccomp']
    profile['syscalls'][0]['names'].remove('personality')
    bundle.write(['uname', '-m'])
    ours = run_outcome(runcible, bundle)
    assert ours[:2] == (0, 'i686\n'), ours
    assert run_outcome(crun, bundle)[:2] == ours[:2]


def _in_child(body):
    """Run body() in a forked child; returns what it returned (a short string) or the exception's text."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reader)
            try:
                outcome = body()
            except Exception as exc:  # pylint: disable=broad-except
                outcome = '%s: %s' % (type(exc).__name__, exc)
            os.write(writer, str(outcome).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, 'rb') as handle:
        data = handle.read().decode()
    os.waitpid(pid, 0)
    return data


@pytest.mark.parametrize('inside', [True, False])
def test_cwd_check_without_getcwd(tmp_path, inside):
    """With getcwd refused by the filter, a cwd outside the root (CVE-2024-21626) is still caught."""
    root = tmp_path / 'root'
    (root / 'sub' / 'deeper').mkdir(parents=True)
    outside = tempfile.mkdtemp(prefix='runcible-outside-')
    refuse_getcwd = seccomp.validate({'defaultAction': 'SCMP_ACT_ALLOW',
                                      'syscalls': [{'names': ['getcwd'], 'action': 'SCMP_ACT_ERRNO'}]})

    def body():
        leaked = os.open(outside, os.O_RDONLY | os.O_DIRECTORY)
        os.chroot(str(root))
        if inside:
            os.chdir('/sub/deeper')
        else:
            os.fchdir(leaked)
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(consts.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        seccomp.install(refuse_getcwd)
        try:
            os.getcwd()
        except OSError as exc:
            assert exc.errno == errno.EPERM
        try:
            finalize.verify_cwd()
        except errors.SetupError as exc:
            return str(exc)
        return 'inside'

    try:
        outcome = _in_child(body)
    finally:
        shutil.rmtree(outside)
    assert outcome == ('inside' if inside else 'current working directory is outside of container mount namespace root')


@pytest.mark.parametrize('nnp', [True, False], ids=['nnp', 'no-nnp'])
def test_a_profile_that_refuses_every_call_is_named(runcible, runc, bundle, nnp):
    """Found by test_fuzz.py (60 examples): a profile refusing every call (`defaultAction` errno, no rules) stops the
    init right after the filter is loaded, before it can write its error. runc fails too ("container process is
    already dead"); runcible names linux.seccomp and what the profile must allow, and leaves nothing."""
    configure(bundle, 'linux4-enosys', nnp, 0, ['true'])
    bundle.config['linux']['seccomp']['syscalls'] = []
    bundle.write(['true'])
    container_id = new_id()
    result = runcible.cmd('run', '--bundle', bundle.path, container_id)
    assert result.returncode == 1, result
    assert 'Traceback' not in result.stderr
    assert 'linux.seccomp: the container init process ended right after loading this filter' in result.stderr
    assert 'allow write, read, close, execve and exit_group' in result.stderr
    assert not leftovers_of(runcible, container_id) and not processes_with_cgroup(container_id)
    theirs = runc.cmd('run', '--bundle', bundle.path, new_id())
    assert theirs.returncode == 1, theirs
