# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_exec and oci_container_info: run a command in a container; describe containers."""

import os

from ..runtime import errors, jsonc
from ..runtime.rootfs import securejoin
from .. import driver as drivers
from ..supervisor import client


def exec_process(driver, name, command, env=None, cwd=None, user=None):
    """The process object for `command` (argv list or shell string), based on the container's own process."""
    state = driver.state(name)
    if state is None:
        raise errors.ContainerNotExist(name)
    if state['status'] != 'running':
        raise errors.StateError('container %s is %s, not running: exec needs a running container'
                                % (name, state['status']))
    path = os.path.join(state['bundle'], 'config.json')
    try:
        with open(path, 'rb') as handle:
            base = jsonc.loads(handle.read()).get('process') or {}
    except (OSError, ValueError) as exc:
        raise errors.StateError('container %s: cannot read its bundle\'s %s (the process settings exec starts from): %s'
                                % (name, path, errors.describe(exc)))
    argv = command if isinstance(command, list) else ['/bin/sh', '-c', command]
    if not argv:
        raise errors.ConfigError('command', 'is empty: give the program and its arguments')
    process = dict(base)
    process['args'] = [str(arg) for arg in argv]
    process['terminal'] = False
    environment = list(base.get('env') or [])
    for key, value in (env or {}).items():
        environment = [item for item in environment if item.partition('=')[0] != key] + ['%s=%s' % (key, value)]
    process['env'] = environment
    if cwd:
        process['cwd'] = cwd
    if user is not None:
        uid, _sep, gid = str(user).partition(':')
        try:
            process['user'] = {'uid': int(uid), 'gid': int(gid) if gid else 0}
        except ValueError:
            raise errors.ConfigError('user', 'must be uid or uid:gid as numbers, not %r' % user)
    return process


def run_exec(params, check_mode=False):
    """The oci_exec result for `params`."""
    driver = drivers.get_driver(params.get('runtime'), params.get('runtime_root'))
    name = params['name']
    command = params.get('command')
    if params.get('creates') and _exists_in(driver, name, params['creates']):
        return {'changed': False, 'skipped': True, 'msg': '%s exists in the container' % params['creates'],
                'rc': 0, 'stdout': '', 'stderr': ''}
    if params.get('removes') and not _exists_in(driver, name, params['removes']):
        return {'changed': False, 'skipped': True, 'msg': '%s does not exist in the container' % params['removes'],
                'rc': 0, 'stdout': '', 'stderr': ''}
    process = exec_process(driver, name, command, params.get('env'), params.get('chdir'), params.get('user'))
    if check_mode:
        return {'changed': True, 'skipped': True, 'msg': 'check mode: the command was not run',
                'rc': 0, 'stdout': '', 'stderr': '', 'cmd': process['args']}
    data = params.get('stdin')
    if data is not None and params.get('stdin_add_newline', True) and not data.endswith('\n'):
        data += '\n'
    code, stdout, stderr, timed_out = driver.exec_captured(name, process, (data or '').encode(), params.get('timeout'))
    result = {'changed': True, 'rc': code, 'cmd': process['args'],
              'stdout': _text(stdout), 'stderr': _text(stderr)}
    if timed_out:
        result['msg'] = 'the command did not finish within %ss and was killed' % params.get('timeout')
    return result


def _text(output):
    """Output as text without its final line break, as ansible.builtin.command returns it."""
    return output.decode('utf-8', 'replace').rstrip('\r\n')


def _exists_in(driver, name, path):
    """Whether `path` exists in the container's root, symlinks resolved inside it (never on the host)."""
    state = driver.state(name)
    if state is None or not state.get('pid'):
        return False
    try:
        os.close(securejoin.open_in_root('/proc/%d/root' % state['pid'], path, strict=False))
    except OSError:
        return False
    return True


def describe(driver, name, supervisor_root=client.SUPERVISOR_ROOT, log_lines=20):
    """One container as oci_container_info reports it."""
    supervision = client.Supervision(client.folder_for(driver.root, name, supervisor_root))
    # A container its supervisor is restarting is reported too (once made again), not left out.
    state = supervision.state_between_runs(lambda: driver.state(name))
    if state is None:
        return None
    status = supervision.status() or {}
    settings = supervision.settings() or {}
    return {
        'name': name,
        'container': state,
        'status': state['status'],
        'annotations': state.get('annotations') or {},
        'exit_code': status.get('exit_code'),
        'last_exit_code': status.get('last_exit_code'),
        'oom_killed': status.get('oom_killed'),
        'last_oom_killed': status.get('last_oom_killed'),
        'started_at': status.get('started_at'),
        'finished_at': status.get('finished_at'),
        'restart_count': status.get('restart_count', 0),
        'config_digest': (settings.get('record') or {}).get('config_digest'),
        'log_path': settings.get('log_path'),
        'logs': ['%s %s' % (stream, text) for _stamp, stream, text in supervision.logs(log_lines)],
        'supervised': bool(settings),
        'runtime': driver.name,
    }


def run_info(params):
    driver = drivers.get_driver(params.get('runtime'), params.get('runtime_root'))
    names = [params['name']] if params.get('name') else sorted(s['id'] for s in driver.list())
    containers = []
    for name in names:
        info = describe(driver, name, log_lines=params.get('log_lines', 20))
        if info is None:
            continue
        if params.get('status') and info['status'] not in params['status']:
            continue
        wanted = params.get('annotations') or {}
        if any(info['annotations'].get(key) != value for key, value in wanted.items()):
            continue
        containers.append(info)
    return {'changed': False, 'containers': containers, 'exists': bool(containers) if params.get('name') else None}
