# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run runtime-spec hooks with the container state on stdin."""


from . import errors, jsonc, log
from .linux import spawn

# Hooks whose failure fails the operation; the others only warn.
MUST_SUCCEED = ('prestart', 'createRuntime', 'createContainer', 'startContainer')


def run_one(hook, state_json, name, index):
    """Run one hook; HookError (or a warning) if it fails or times out."""
    path = hook['path']
    args = hook.get('args') or [path]
    env = {}
    for item in hook.get('env') or []:
        key, _sep, value = item.partition('=')
        env[key] = value
    try:
        result = spawn.run(args, executable=path, env=env, input_bytes=state_json, timeout=hook.get('timeout'))
    except OSError as exc:
        return _fail(name, index, 'cannot run %s: %s' % (path, errors.strerror(exc)))
    if result.timed_out:
        return _fail(name, index, 'timeout after %ds' % hook['timeout'])
    if result.returncode != 0:
        if result.returncode < 0:
            reason = 'signal: %d' % -result.returncode
        else:
            reason = 'exit status %d' % result.returncode
        return _fail(name, index, '%s, stdout: %s, stderr: %s'
                     % (reason, result.stdout.decode('utf-8', 'replace').strip(),
                        result.stderr.decode('utf-8', 'replace').strip()))
    return None


def _fail(name, index, reason):
    message = 'error running %s hook #%d: %s' % (name, index, reason)
    if name in MUST_SUCCEED:
        raise errors.HookError(message)
    log.warning(message)
    return message


def run(hooks, name, state):
    """Run every hook of kind `name` in order; `state` is the OCI state dict."""
    entries = (hooks or {}).get(name) or []
    if not entries:
        return
    state_json = jsonc.dumps(state).encode()
    for index, hook in enumerate(entries):
        run_one(hook, state_json, name, index)


def has(hooks, *names):
    return any((hooks or {}).get(n) for n in names)
