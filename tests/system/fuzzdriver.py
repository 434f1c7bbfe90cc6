# -*- coding: utf-8 -*-
"""Run bin/runcible's command line many times in one interpreter, for the fuzz test (test_fuzz.py).

Usage: PYTHON fuzzdriver.py < plan.json > results.json

The plan is {"module_utils": DIR, "commands": [{"argv": [...], "timeout": S}, ...]}.
Each command runs in a fork of this process exactly as bin/runcible runs it
(main() of runtime.cli.main, sys.exit with its result; an uncaught exception
prints its traceback and exits 1, as the interpreter does), with stdin from
/dev/null and stdout and stderr in files. Forking saves each command the
interpreter's start-up, which lets the fuzz test run every command of every
mutant on every Python in the time CI has. The result of each command is
{"rc": exit code, or -signal, or null on timeout, "stdout": ..., "stderr": ...,
"seconds": how long it took}.
"""

import json
import os
import signal
import sys
import tempfile
import time
import traceback


def _child(argv, out_fd, err_fd):
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    code = 1
    try:
        from runtime.cli.main import main
        sys.argv = ['runcible'] + list(argv)
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # pylint: disable=broad-except
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def _run(argv, timeout):
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            _child(argv, out.fileno(), err.fileno())
        deadline = time.monotonic() + timeout
        status = None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            else:
                time.sleep(0.002)
        if status is None:
            rc = None
        elif os.WIFSIGNALED(status):
            rc = -os.WTERMSIG(status)
        else:
            rc = os.WEXITSTATUS(status)
        out.seek(0)
        err.seek(0)
        return {'rc': rc, 'stdout': out.read().decode('utf-8', 'replace'),
                'stderr': err.read().decode('utf-8', 'replace'), 'seconds': round(time.monotonic() - started, 3)}


def main():
    plan = json.load(sys.stdin)
    sys.path.insert(0, plan['module_utils'])
    # What the commands import anyway, once here instead of in every fork.
    import runtime.cli.main  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    import runtime.container.create  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    results = [_run(command['argv'], command.get('timeout', 30)) for command in plan['commands']]
    json.dump({'python': sys.version.split()[0], 'results': results}, sys.stdout)


if __name__ == '__main__':
    main()
