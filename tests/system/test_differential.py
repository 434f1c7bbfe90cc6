# -*- coding: utf-8 -*-
"""The same bundle under runc and under bin/runcible must look the same from inside and outside.

Each test runs one bundle with both runtimes and compares what a user would
look at: command output, exit codes, state JSON, `list` columns, errors.
"""

import json
import os
import re

import pytest

from systemlib import new_id


def run_both(pair, bundle, script, **changes):
    """Run `sh -c script` in the bundle under both runtimes: [(rc, stdout, stderr)]."""
    bundle.write(['sh', '-c', script], **changes)
    results = []
    for runtime in pair:
        result = runtime.cmd('run', '--bundle', bundle.path, new_id())
        results.append((result.returncode, result.stdout, result.stderr))
    return results


def normalise_mountinfo(text):
    """mountinfo lines without mount IDs and device numbers, which differ run to run."""
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10:
            continue
        separator = fields.index('-')
        lines.append(' '.join([fields[3], fields[4], fields[5]] + fields[6:separator] + fields[separator:]))
    return sorted(lines)


def test_identity_and_limits_match(pair, bundle):
    """id, hostname, uid/gid/capability/NoNewPrivs lines of /proc/self/status and ulimit -n."""
    script = 'id; hostname; grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):" /proc/self/status; ulimit -n; ulimit -Hn'
    bundle.config['process']['rlimits'] = [{'type': 'RLIMIT_NOFILE', 'soft': 512, 'hard': 777}]
    (rc1, out1, err1), (rc2, out2, err2) = run_both(pair, bundle, script)
    assert (rc1, out1) == (rc2, out2), (err1, err2)
    assert 'uid=0(root) gid=0(root)' in out1 and '\nrunc\n' in out1 and '512\n777\n' in out1
    assert 'NoNewPrivs:\t1' in out1


def test_non_root_user_matches(pair, bundle):
    """user 101:201 with additional groups and a umask: id, HOME, umask, caps after setuid."""
    bundle.config['process']['user'] = {'uid': 101, 'gid': 201, 'additionalGids': [5, 7], 'umask': 0o027}
    script = 'id; echo HOME=$HOME; umask; grep -E "^(Cap[A-Za-z]+):" /proc/self/status'
    (rc1, out1, err1), (rc2, out2, err2) = run_both(pair, bundle, script)
    assert (rc1, out1) == (rc2, out2), (err1, err2)
    assert 'uid=101(svc) gid=201(svc) groups=5,7' in out1
    assert 'HOME=/home/svc' in out1


def test_mount_table_matches(pair, bundle):
    """The mount table seen inside, including cgroup binds, masks and read-only paths."""
    results = run_both(pair, bundle, 'cat /proc/self/mountinfo')
    assert results[0][0] == results[1][0] == 0, results
    ours = normalise_mountinfo(results[0][1])
    theirs = normalise_mountinfo(results[1][1])
    # The rootfs line and cgroup paths hold the container ID, which differs.
    ours = [re.sub(r'/t[0-9a-f]{10}\b', '/ID', line) for line in ours]
    theirs = [re.sub(r'/t[0-9a-f]{10}\b', '/ID', line) for line in theirs]
    assert ours == theirs


def test_readonly_root_write_fails(pair, bundle):
    script = 'touch /x 2>/dev/null; echo root=$?; touch /tmp/x 2>/dev/null; echo tmp=$?; touch /dev/shm/x; echo shm=$?'
    results = run_both(pair, bundle, script)
    assert results[0][:2] == results[1][:2]
    assert 'root=1' in results[0][1] and 'shm=0' in results[0][1]


def test_bind_mounts_visible(pair, bundle, tmp_path):
    host = tmp_path / 'data'
    host.mkdir()
    (host / 'hello.txt').write_text('from the host\n')
    bundle.config['mounts'].append({'destination': '/data', 'type': 'bind', 'source': str(host),
                                    'options': ['rbind', 'ro']})
    bundle.config['mounts'].append({'destination': '/rw', 'type': 'bind', 'source': str(host),
                                    'options': ['bind', 'nosuid', 'nodev']})
    script = ('cat /data/hello.txt; touch /data/new 2>/dev/null; echo ro=$?; '
              'grep -E " /(data|rw) " /proc/self/mountinfo | cut -d" " -f5,6')
    results = run_both(pair, bundle, script)
    assert results[0][:2] == results[1][:2], results
    assert 'from the host' in results[0][1] and 'ro=1' in results[0][1]
    assert not (host / 'new').exists()


def test_recursive_mount_options(pair, bundle, tmp_path):
    """rro/rnosuid on an rbind reach the mounts below it too (mount_setattr, as runc 1.1)."""
    import subprocess
    host = tmp_path / 'tree'
    (host / 'sub').mkdir(parents=True)
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', str(host / 'sub')], check=True)
    try:
        bundle.config['mounts'].append({'destination': '/tree', 'type': 'bind', 'source': str(host),
                                        'options': ['rbind', 'rro', 'rnosuid']})
        script = ('touch /tree/x 2>/dev/null; echo top=$?; touch /tree/sub/x 2>/dev/null; echo sub=$?; '
                  'grep " /tree" /proc/self/mountinfo | cut -d" " -f5,6')
        results = run_both(pair, bundle, script)
    finally:
        subprocess.run(['umount', str(host / 'sub')], check=True)
    assert results[0][:2] == results[1][:2], results
    assert 'top=1' in results[0][1] and 'sub=1' in results[0][1]
    assert '/tree/sub ro,nosuid' in results[0][1]


def test_masked_paths_unreadable(pair, bundle):
    script = ('wc -c < /proc/keys; ls /sys/firmware | wc -l; cat /proc/kcore 2>/dev/null | wc -c; '
              'echo 1 > /proc/sysrq-trigger 2>/dev/null; echo sysrq=$?')
    results = run_both(pair, bundle, script)
    assert results[0][:2] == results[1][:2], results
    assert results[0][1].split()[:3] == ['0', '0', '0']


def test_tmpfs_and_devices_match(pair, bundle):
    os.makedirs(os.path.join(bundle.rootfs, 'scratch'), mode=0o1777)
    os.chmod(os.path.join(bundle.rootfs, 'scratch'), 0o1777)
    bundle.config['mounts'].append({'destination': '/scratch', 'type': 'tmpfs', 'source': 'tmpfs',
                                    'options': ['nosuid', 'size=1m']})
    bundle.config['linux']['devices'] = [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229,
                                          'fileMode': 0o640, 'uid': 0, 'gid': 5}]
    script = ('ls -ln /dev | grep -v total | awk \'{print $1, $3, $4, $5, $6, $NF}\' | sort; '
              'stat -c "%a %U" /scratch; grep " /scratch " /proc/self/mountinfo | cut -d" " -f5,6,9-')
    results = run_both(pair, bundle, script)
    assert results[0][:2] == results[1][:2], results
    assert 'crw-r----- 0 5 10, 229 fuse' in results[0][1]
    assert '1777 root' in results[0][1]


def test_devices_with_st_mode_file_modes_match(pair, bundle):
    """podman's linux.devices: fileMode is the host's st_mode, file-type bits included (8576 = 0o20600)."""
    bundle.config['linux']['devices'] = [
        {'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 0o20600, 'uid': 0, 'gid': 0},
        {'path': '/dev/loop-x', 'type': 'b', 'major': 7, 'minor': 0, 'fileMode': 0o60660, 'uid': 0, 'gid': 6},
        {'path': '/dev/null-u', 'type': 'u', 'major': 1, 'minor': 3, 'fileMode': 0o20666},
        {'path': '/dev/fifo-x', 'type': 'p', 'fileMode': 0o10640}]
    results = run_both(pair, bundle, 'stat -c "%A %u %g %t:%T %n" /dev/fuse /dev/loop-x /dev/null-u /dev/fifo-x')
    assert results[0][:2] == results[1][:2], results
    assert results[0][1].splitlines() == ['crw------- 0 0 a:e5 /dev/fuse', 'brw-rw---- 0 6 7:0 /dev/loop-x',
                                          'crw-rw-rw- 0 0 1:3 /dev/null-u', 'prw-r----- 0 0 0:0 /dev/fifo-x']


def test_device_file_mode_of_another_type_is_refused(runcible, bundle):
    """Type bits that contradict `type`: runc ignores them, crun ors them in (a block device for type c,
    EINVAL for most others); we refuse at create, naming the field, and leave nothing behind."""
    bundle.config['linux']['devices'] = [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 3,
                                          'fileMode': 0o60600}]
    bundle.write(['true'])
    container_id = new_id()
    result = runcible.cmd('create', '--bundle', bundle.path, container_id)
    assert result.returncode == 1
    assert "linux.devices[0].fileMode: 24960 (0o60600) has the file-type bits 0o60000, but type 'c' needs" \
        in result.stderr
    assert runcible.ids() == []


def test_tmpfs_mode_option_is_honoured(runcible, bundle):
    """runc 1.1 chmods a tmpfs to its mount point's mode even when mode= is given; we keep mode=."""
    bundle.config['mounts'].append({'destination': '/private', 'type': 'tmpfs', 'source': 'tmpfs',
                                    'options': ['mode=0700']})
    bundle.write(['stat', '-c', '%a', '/private'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert (result.returncode, result.stdout) == (0, '700\n'), result.stderr


def test_hostname_env_cwd(pair, bundle):
    bundle.config['hostname'] = 'box-1'
    bundle.config['process']['env'] = ['PATH=/bin', 'FOO=bar baz']
    bundle.config['process']['cwd'] = '/work/sub'
    results = run_both(pair, bundle, 'hostname; pwd; env | sort')
    assert results[0][:2] == results[1][:2], results
    assert 'box-1\n/work/sub\n' in results[0][1] and 'FOO=bar baz' in results[0][1]


@pytest.mark.parametrize('propagation', ['private', 'rprivate', 'slave', 'rslave'])
def test_rootfs_propagation_matches(pair, bundle, propagation):
    """linux.rootfsPropagation: the propagation of every mount as mountinfo shows it.

    Only the values runc 1.1 gets right: it applies shared and unbindable to
    the host's "/" before binding the rootfs (shared never shows inside,
    unbindable fails). test_mount_namespace.py compares those with crun.
    """
    bundle.config['linux']['rootfsPropagation'] = propagation
    script = ('awk \'{o = ""; for (i = 7; $i != "-"; i++) o = o $i " "; print $5, o}\' /proc/self/mountinfo '
              '| sed "s/:[0-9]*//g" | sort')
    results = run_both(pair, bundle, script)
    assert results[0][:2] == results[1][:2], results
    assert results[0][0] == 0


def test_domainname(runcible, bundle):
    """runc 1.1.5 ignores the spec's domainname (it came with runc 1.2): no differential."""
    bundle.config['domainname'] = 'example.org'
    bundle.write(['cat', '/proc/sys/kernel/domainname'])
    result = runcible.cmd('run', '--bundle', bundle.path, new_id())
    assert (result.returncode, result.stdout) == (0, 'example.org\n'), result.stderr


def test_exit_code_passed_through(pair, bundle):
    results = run_both(pair, bundle, 'exit 42')
    assert results[0][0] == results[1][0] == 42


def _comparable_state(state):
    data = dict(state)
    # The runtimes differ in spec version support and in run-time values.
    for key in ('pid', 'created', 'ociVersion', 'id'):
        data.pop(key)
    return data


def test_state_and_list_match_through_lifecycle(pair, bundle):
    bundle.config['annotations'] = {'org.example.team': 'edge'}
    bundle.write(['sleep', '30'])
    seen = []
    for runtime in pair:
        container_id = new_id()
        steps = {}
        runtime.cmd('create', '--bundle', bundle.path, container_id, check=True)
        steps['created'] = runtime.state(container_id)
        table = runtime.cmd('list', check=True).stdout
        listed = json.loads(runtime.cmd('list', '--format', 'json', check=True).stdout)
        runtime.cmd('start', container_id, check=True)
        steps['running'] = runtime.state(container_id)
        runtime.cmd('kill', container_id, 'KILL', check=True)
        for _attempt in range(100):
            if runtime.state(container_id)['status'] == 'stopped':
                break
            import time
            time.sleep(0.05)
        steps['stopped'] = runtime.state(container_id)
        runtime.cmd('delete', container_id, check=True)
        steps['after-delete'] = runtime.cmd('state', container_id).returncode
        header, row = table.splitlines()
        seen.append({
            'states': {k: _comparable_state(v) if isinstance(v, dict) else v for k, v in steps.items()},
            'stopped_pid': steps['stopped']['pid'],
            'header': header.split(),
            'row': row.split()[2:4] + row.split()[5:],
            'row_id_pid': row.split()[:2] == [container_id, str(steps['created']['pid'])],
            'listed': [_comparable_state(s) for s in listed],
        })
    assert seen[0] == seen[1]
    assert seen[0]['states']['created']['status'] == 'created'
    assert seen[0]['states']['stopped']['status'] == 'stopped' and seen[0]['stopped_pid'] == 0
    assert seen[0]['header'] == ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']


def _message(stderr):
    """The msg of the last runc-style log line, with the program name removed."""
    lines = [line for line in stderr.splitlines() if 'level=error' in line]
    if not lines:
        return None
    text = json.loads(lines[-1].split('msg=', 1)[1]) if 'msg="' in lines[-1] else lines[-1].split('msg=', 1)[1]
    text = re.sub(r'^\S*(runc|runcible)\b', 'PROG', text)
    return re.sub(r'\bt[0-9a-f]{10}\b', 'ID', text)


def test_error_cases_match(pair, bundle):
    """Exit codes and messages of lifecycle errors."""
    bundle.write(['sleep', '30'])
    outcomes = []
    for runtime in pair:
        container_id = new_id()
        steps = [
            runtime.cmd('state', 'missing'),
            runtime.cmd('kill', 'missing'),
            runtime.cmd('delete', 'missing'),
            runtime.cmd('delete', '--force', 'missing'),
            runtime.cmd('create', '--bundle', bundle.path, 'bad/id'),
            runtime.cmd('create', '--bundle', bundle.path, '..'),
            runtime.cmd('create', '--bundle', bundle.path, container_id),
            runtime.cmd('create', '--bundle', bundle.path, container_id),
            runtime.cmd('kill', container_id, 'NOSUCHSIGNAL'),
            runtime.cmd('start', container_id),
            runtime.cmd('start', container_id),
            runtime.cmd('delete', container_id),
            runtime.cmd('kill', container_id, '9'),
        ]
        import time
        for _attempt in range(100):
            if runtime.state(container_id)['status'] == 'stopped':
                break
            time.sleep(0.05)
        steps.append(runtime.cmd('kill', container_id))
        steps.append(runtime.cmd('start', container_id))
        steps.append(runtime.cmd('delete', container_id))
        steps.append(runtime.cmd('state'))
        steps.append(runtime.cmd('nosuchcommand'))
        outcomes.append([(r.returncode, _message(r.stderr)) for r in steps])
    ours, theirs = outcomes
    assert [rc for rc, _msg in ours] == [rc for rc, _msg in theirs], (ours, theirs)
    for (rc, mine), (_rc, reference) in zip(ours, theirs):
        if reference is None:
            assert mine is None
            continue
        assert mine is not None
        assert mine == reference, (mine, reference)


def test_bad_bundles_fail_before_touching_the_host(pair, bundle, tmp_path):
    """Missing/malformed config.json, missing rootfs, unknown namespace: both fail, exit 1, nothing left."""
    cases = []
    os.remove(os.path.join(bundle.path, 'config.json')) if os.path.exists(os.path.join(bundle.path, 'config.json')) else None
    cases.append(('missing config', None))
    cases.append(('malformed', '{"ociVersion": '))
    broken_root = dict(bundle.config, root={'path': 'nope'})
    cases.append(('missing rootfs', json.dumps(broken_root)))
    bad_ns = json.loads(json.dumps(bundle.config))
    bad_ns['linux']['namespaces'].append({'type': 'bogus'})
    cases.append(('unknown namespace', json.dumps(bad_ns)))
    for name, content in cases:
        path = os.path.join(bundle.path, 'config.json')
        if content is None:
            if os.path.exists(path):
                os.remove(path)
        else:
            with open(path, 'w') as handle:
                handle.write(content)
        codes = []
        for runtime in pair:
            container_id = new_id()
            result = runtime.cmd('create', '--bundle', bundle.path, container_id)
            codes.append(result.returncode)
            assert runtime.cmd('state', container_id).returncode == 1, name
            if runtime.name == 'runcible':
                assert not os.path.exists(os.path.join(runtime.root, container_id)), name
                message = _message(result.stderr)
                field = {'missing config': 'config.json', 'malformed': 'config.json', 'missing rootfs': 'root.path',
                         'unknown namespace': 'linux.namespaces[5].type'}[name]
                assert field in message, (name, message)
        assert codes == [1, 1], name
