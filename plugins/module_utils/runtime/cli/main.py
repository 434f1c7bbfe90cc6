# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`runcible`: runc's command line over the vendored runtime.

This module only parses arguments, calls the library and prints results in
runc's formats; errors become runc-style log lines and exit codes.
"""

import gc
import os
import sys

from .. import errors, jsonc, log
from . import parser
from .parser import Command, Flag

from .. import VERSION
DEFAULT_ROOT = '/run/runcible'

GLOBAL_FLAGS = [
    Flag(['debug'], help_text='enable debug logging'),
    Flag(['log'], True, help_text="set the log file to write runcible logs to (default is '/dev/stderr')"),
    Flag(['log-format'], True, 'text', help_text="set the log format ('text' (default), or 'json')"),
    Flag(['root'], True, DEFAULT_ROOT, help_text='root directory for storage of container state'),
    Flag(['criu'], True, 'criu', help_text='path to the criu binary used for checkpoint and restore'),
    Flag(['systemd-cgroup'], help_text='not supported: runcible manages cgroups through cgroupfs'),
    Flag(['rootless'], True, 'auto', help_text="ignore cgroup permission errors ('true', 'false', or 'auto')"),
    Flag(['help', 'h'], help_text='show help'),
    Flag(['version', 'v'], help_text='print the version'),
]
# Every command takes --help/-h, as runc's do: podman asks `checkpoint --help` whether checkpoints work.
_COMMAND_HELP_FLAG = Flag(['help', 'h'], help_text='show help')


def _bundle_flag():
    return Flag(['bundle', 'b'], True, '', help_text='path to the root of the bundle directory, defaults to the '
                                                     'current directory')


def _program():
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'runcible'


def cmd_spec(ctx, opts):
    from ..spec import default
    bundle = opts.bundle or '.'
    if not os.path.isdir(bundle):
        raise errors.UsageError('chdir %s: no such file or directory' % bundle)
    path = os.path.join(bundle, 'config.json')
    if os.path.exists(path):
        raise errors.UsageError('File config.json exists. Remove it first')
    spec = default.rootless_spec() if opts.rootless else default.default_spec()
    with open(path, 'w') as handle:
        handle.write(jsonc.dumps(spec, indent='\t'))
    return 0


def _preserve_fds(opts):
    try:
        return int(opts.preserve_fds or 0)
    except ValueError:
        raise errors.UsageError('--preserve-fds takes a number, not %r' % opts.preserve_fds)


def cmd_create(ctx, opts):
    from ..container import create
    create.create(ctx.root, opts.args[0], opts.bundle or '.', pid_file=opts.pid_file,
                  preserve_fds=_preserve_fds(opts), console_socket=opts.console_socket)
    return 0


def cmd_run(ctx, opts):
    from ..container import run
    return run.run(ctx.root, opts.args[0], opts.bundle or '.', detach=opts.detach, pid_file=opts.pid_file,
                   preserve_fds=_preserve_fds(opts), keep=opts.keep, console_socket=opts.console_socket)


def cmd_exec(ctx, opts):
    from .. import state as statemod
    from ..container import exec as execmod
    container_id = opts.args[0]
    state = None
    if opts.apparmor or opts.process_label:
        raise errors.UsageError('--apparmor/--process-label: this host has no AppArmor or SELinux support enabled')
    if opts.process:
        try:
            with open(opts.process, 'rb') as handle:
                process = jsonc.loads(handle.read())
        except (OSError, ValueError) as exc:
            raise errors.UsageError('--process %s: %s' % (opts.process, errors.describe(exc)))
    else:
        if len(opts.args) < 2:
            raise errors.UsageError('process args cannot be empty')
        state = statemod.ContainerDir(ctx.root, container_id).load()
        base = (state.config or {}).get('process') or {}
        process = execmod.process_from_flags(base, opts.args[1:], env=opts.env, cwd=opts.cwd, user=opts.user,
                                             additional_gids=opts.additional_gids, caps=opts.cap,
                                             no_new_privs=opts.no_new_privs, tty=opts.tty)
    return execmod.execute(ctx.root, container_id, process, detach=opts.detach, pid_file=opts.pid_file,
                           console_socket=opts.console_socket, preserve_fds=_preserve_fds(opts), state=state)


def cmd_start(ctx, opts):
    from ..container import start
    start.start(ctx.root, opts.args[0])
    return 0


def cmd_state(ctx, opts):
    from ..container import query
    sys.stdout.write(jsonc.dumps(query.get_state(ctx.root, opts.args[0]), indent=2))
    return 0


def cmd_list(ctx, opts):
    from ..container import query
    states = query.list_states(ctx.root)
    if opts.quiet:
        for item in states:
            sys.stdout.write(item['id'] + '\n')
        return 0
    if opts.format == 'json':
        sys.stdout.write(jsonc.dumps(states or None, compact=True) + '\n')
        return 0
    if opts.format != 'table':
        raise errors.UsageError('invalid format option')
    rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']]
    for item in states:
        rows.append([item['id'], str(item['pid']), item['status'], item['bundle'], item['created'], item['owner']])
    sys.stdout.write(format_table(rows))
    return 0


def format_table(rows, minwidth=12, padding=3):
    """Go's tabwriter as runc uses it: every column but the last padded to its width."""
    widths = [max(minwidth, max(len(r[i]) for r in rows) + padding) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        lines.append(''.join(cell.ljust(width) for cell, width in zip(row, widths)) + row[-1])
    return '\n'.join(lines) + '\n'


def cmd_kill(ctx, opts):
    from ..container import kill
    signum = kill.parse_signal(opts.args[1] if len(opts.args) > 1 else 'SIGTERM')
    kill.kill(ctx.root, opts.args[0], signum, all_processes=opts.all)
    return 0


def cmd_delete(ctx, opts):
    from ..container import delete
    try:
        delete.delete(ctx.root, opts.args[0], force=opts.force)
    except errors.ContainerNotExist:
        if not opts.force:
            raise
    return 0


def cmd_ps(ctx, opts):
    from ..container import ps
    pids = ps.container_pids(ctx.root, opts.args[0])
    if opts.format == 'json':
        sys.stdout.write(jsonc.dumps(pids, compact=True) + '\n')
        return 0
    if opts.format != 'table':
        raise errors.UsageError('invalid format option')
    sys.stdout.write(ps.ps_table(pids, opts.args[1:]))
    return 0


def cmd_pause(ctx, opts):
    from ..container import pause
    pause.pause(ctx.root, opts.args[0])
    return 0


def cmd_resume(ctx, opts):
    from ..container import pause
    pause.resume(ctx.root, opts.args[0])
    return 0


_UPDATE_FLAGS = ('blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-share', 'cpu-rt-period', 'cpu-rt-runtime',
                 'cpuset-cpus', 'cpuset-mems', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit',
                 'l3-cache-schema', 'mem-bw-schema')
# runc keeps these as hidden, obsolete flags; crun writes the TCP one, and so does runcible.
_KERNEL_MEMORY_FLAGS = (
    ('kernel-memory', 'kernel memory limit: ignored, as by runc (the kernel ignores it)'),
    ('kernel-memory-tcp', 'kernel memory limit for TCP buffers (in bytes; cgroup v1 only, as crun)'),
)
_ALL_UPDATE_FLAGS = _UPDATE_FLAGS + tuple(name for name, _text in _KERNEL_MEMORY_FLAGS)


def cmd_update(ctx, opts):
    from ..cgroups.update import resources_from_update_flags
    from ..container import update
    if opts.resources:
        try:
            if opts.resources == '-':
                raw = sys.stdin.buffer.read()
            else:
                with open(opts.resources, 'rb') as handle:
                    raw = handle.read()
            changes = jsonc.loads(raw)
        except (OSError, ValueError) as exc:
            raise errors.UsageError('--resources %s: %s' % (opts.resources, errors.describe(exc)))
    else:
        changes = resources_from_update_flags({name: getattr(opts, name.replace('-', '_'))
                                               for name in _ALL_UPDATE_FLAGS})
    update.update(ctx.root, opts.args[0], changes)
    return 0


def cmd_events(ctx, opts):
    from ..container import events
    if opts.stats:
        sys.stdout.write(jsonc.dumps(events.stats_event(ctx.root, opts.args[0]), compact=True) + '\n')
        return 0

    def emit(event):
        sys.stdout.write(jsonc.dumps(event, compact=True) + '\n')
        sys.stdout.flush()

    events.stream(ctx.root, opts.args[0], events.parse_duration(opts.interval), emit)
    return 0


def _criu_options(opts, **extra):
    from ..criu.options import CriuOptions
    refused = {name: getattr(opts, name, None) for name in ('pre_dump', 'parent_path', 'lazy_pages', 'page_server',
                                                            'status_fd', 'lsm_profile', 'lsm_mount_context')}
    refused['status_fd'] = refused['status_fd'] not in (None, '-1')
    return CriuOptions(image_path=opts.image_path, work_path=opts.work_path, tcp_established=opts.tcp_established,
                       ext_unix_sk=opts.ext_unix_sk, shell_job=opts.shell_job, file_locks=opts.file_locks,
                       manage_cgroups_mode=opts.manage_cgroups_mode, empty_ns=opts.empty_ns,
                       auto_dedup=opts.auto_dedup, refused=refused, **extra)


def cmd_checkpoint(ctx, opts):
    from ..container import checkpoint
    checkpoint.checkpoint(ctx.root, opts.args[0], _criu_options(opts, leave_running=opts.leave_running), criu=ctx.criu)
    return 0


def cmd_restore(ctx, opts):
    from ..container import restore
    return restore.restore(ctx.root, opts.args[0], opts.bundle or '.', _criu_options(opts), criu=ctx.criu,
                           detach=opts.detach, pid_file=opts.pid_file, console_socket=opts.console_socket,
                           no_subreaper=opts.no_subreaper)


def _criu_flags():
    """The CRIU flags `checkpoint` and `restore` share (runc's)."""
    return [Flag(['image-path'], True, help_text='path for saving criu image files (default ./checkpoint)'),
            Flag(['work-path'], True, help_text='path for saving work files and logs'),
            Flag(['tcp-established'], help_text='allow open tcp connections'),
            Flag(['ext-unix-sk'], help_text='allow external unix sockets'),
            Flag(['shell-job'], help_text='allow shell jobs'),
            Flag(['file-locks'], help_text='handle file locks, for safety'),
            Flag(['manage-cgroups-mode'], True, help_text="cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'"),
            Flag(['empty-ns'], True, multiple=True, help_text="create a namespace, but don't restore its properties"),
            Flag(['auto-dedup'], help_text='enable auto deduplication of memory images'),
            Flag(['lazy-pages'], help_text='not supported: use userfaultfd to lazily restore memory pages')]


def cmd_features(ctx, opts):
    from .. import features
    sys.stdout.write(jsonc.dumps(features.features(), indent=4) + '\n')
    return 0


COMMANDS = [
    Command('spec', 'create a new specification file', '',
            [_bundle_flag(), Flag(['rootless'], help_text='generate a configuration for a rootless container')],
            func=cmd_spec),
    Command('create', 'create a container', '<container-id>',
            [_bundle_flag(),
             Flag(['console-socket'], True, help_text='path to an AF_UNIX socket which will receive the pty master'),
             Flag(['pid-file'], True, help_text='specify the file to write the process id to'),
             Flag(['no-pivot'], help_text='do not use pivot root to jail process inside rootfs'),
             Flag(['no-new-keyring'], help_text='do not create a new session keyring for the container'),
             Flag(['preserve-fds'], True, '0', help_text='pass N additional file descriptors to the container')],
            1, 1, func=cmd_create),
    Command('start', 'executes the user defined process in a created container', '<container-id>',
            min_args=1, max_args=1, func=cmd_start),
    Command('run', 'create and run a container', '[command options] <container-id>',
            [_bundle_flag(),
             Flag(['console-socket'], True, help_text='path to an AF_UNIX socket which will receive the pty master'),
             Flag(['detach', 'd'], help_text='detach from the container\'s process'),
             Flag(['keep'], help_text='do not delete the container after it exits'),
             Flag(['pid-file'], True, help_text='specify the file to write the process id to'),
             Flag(['no-subreaper'], help_text='disable the use of the subreaper used to reap reparented processes'),
             Flag(['no-pivot'], help_text='do not use pivot root to jail process inside rootfs'),
             Flag(['no-new-keyring'], help_text='do not create a new session keyring for the container'),
             Flag(['preserve-fds'], True, '0', help_text='pass N additional file descriptors to the container')],
            1, 1, func=cmd_run),
    Command('exec', 'execute new process inside the container', '[command options] <container-id> <command> [command options]',
            [Flag(['console-socket'], True, help_text='path to an AF_UNIX socket which will receive the pty master'),
             Flag(['cwd'], True, help_text='current working directory in the container'),
             Flag(['env', 'e'], True, multiple=True, help_text='set environment variables'),
             Flag(['tty', 't'], help_text='allocate a pseudo-TTY'),
             Flag(['user', 'u'], True, help_text='UID (format: <uid>[:<gid>])'),
             Flag(['additional-gids', 'g'], True, multiple=True, help_text='additional gids'),
             Flag(['process', 'p'], True, help_text='path to the process.json'),
             Flag(['detach', 'd'], help_text='detach from the container\'s process'),
             Flag(['pid-file'], True, help_text='specify the file to write the process id to'),
             Flag(['process-label'], True, help_text='set the asm process label for the process (SELinux)'),
             Flag(['apparmor'], True, help_text='set the apparmor profile for the process'),
             Flag(['no-new-privs'], help_text='set the no new privileges value for the process'),
             Flag(['cap', 'c'], True, multiple=True, help_text='add a capability to the bounding set for the process'),
             Flag(['preserve-fds'], True, '0', help_text='pass N additional file descriptors to the container')],
            1, 1 << 20, func=cmd_exec),
    Command('checkpoint', 'checkpoint a running container', '[command options] <container-id>',
            _criu_flags() +
            [Flag(['leave-running'], help_text='leave the process running after checkpointing'),
             Flag(['parent-path'], True, help_text='not supported: path for previous criu image files in pre-dump'),
             Flag(['pre-dump'], help_text='not supported: dump memory only, leave the container running'),
             Flag(['page-server'], True, help_text='not supported: ADDRESS:PORT of the page server'),
             Flag(['status-fd'], True, '-1', help_text='not supported: criu writes \\0 to this FD once lazy-pages is ready')],
            1, 1, func=cmd_checkpoint),
    Command('restore', 'restore a container from a previous checkpoint', '[command options] <container-id>',
            _criu_flags() +
            [Flag(['console-socket'], True, help_text='path to an AF_UNIX socket which will receive the pty master'),
             _bundle_flag(),
             Flag(['detach', 'd'], help_text='detach from the container\'s process'),
             Flag(['pid-file'], True, help_text='specify the file to write the process id to'),
             Flag(['no-subreaper'], help_text='disable the use of the subreaper used to reap reparented processes'),
             Flag(['no-pivot'], help_text='accepted for runc compatibility: CRIU restores the mount namespace itself'),
             Flag(['lsm-profile'], True, help_text='not supported: LSM profile to use during restore (TYPE:NAME)'),
             Flag(['lsm-mount-context'], True, help_text='not supported: LSM mount context to use during restore')],
            1, 1, func=cmd_restore),
    Command('features', 'show the enabled features', '', func=cmd_features),
    Command('pause', 'pause suspends all processes inside the container', '<container-id>', min_args=1,
            max_args=1, func=cmd_pause),
    Command('resume', 'resumes all processes that have been previously paused', '<container-id>', min_args=1,
            max_args=1, func=cmd_resume),
    Command('update', 'update container resource constraints', '[command options] <container-id>',
            [Flag(['resources', 'r'], True, help_text="path to the file containing the resources to update or '-' "
                                                      "to read from the standard input")]
            + [Flag([name], True, help_text='see runc update --help') for name in _UPDATE_FLAGS]
            + [Flag([name], True, help_text=text) for name, text in _KERNEL_MEMORY_FLAGS],
            1, 1, func=cmd_update),
    Command('events', 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
            '[command options] <container-id>',
            [Flag(['interval'], True, '5s', help_text='set the stats collection interval'),
             Flag(['stats'], help_text="display the container's stats then exit")],
            1, 1, func=cmd_events),
    Command('ps', 'ps displays the processes running inside a container', '[command options] <container-id> [ps options]',
            [Flag(['format', 'f'], True, 'table', help_text='select one of: table or json')],
            1, 1 << 20, func=cmd_ps),
    Command('state', 'output the state of a container', '<container-id>', min_args=1, max_args=1, func=cmd_state),
    Command('list', 'lists containers started by runcible with the given root', '[command options]',
            [Flag(['format', 'f'], True, 'table', help_text='select one of: table or json'),
             Flag(['quiet', 'q'], help_text='display only container IDs')],
            func=cmd_list, aliases=('ls',)),
    Command('kill', "kill sends the specified signal (default: SIGTERM) to the container's init process",
            '[command options] <container-id> [signal]',
            [Flag(['all', 'a'], help_text='send the specified signal to all processes inside the container')],
            1, 2, func=cmd_kill),
    Command('delete', 'delete any resources held by the container often used with detached container',
            '[command options] <container-id>',
            [Flag(['force', 'f'], help_text='Forcibly deletes the container if it is still running (uses SIGKILL)')],
            1, 1, func=cmd_delete),
]


# runc words failures of these commands with a prefix.
_ERROR_PREFIXES = {'create': 'PROGRAM create failed: ', 'run': 'PROGRAM run failed: ', 'exec': 'exec failed: '}


class Context:
    def __init__(self, root, criu='criu'):
        self.root = root
        self.criu = criu


def _find(name):
    for command in COMMANDS:
        if name == command.name or name in command.aliases:
            return command
    return None


def _usage_text(program):
    lines = ['NAME:', '   %s - Open Container Initiative runtime in Python' % program, '', 'USAGE:',
             '   %s [global options] command [command options] [arguments...]' % program, '',
             'VERSION:', '   ' + VERSION, '', 'COMMANDS:']
    lines += ['   %-10s %s' % (c.name, c.summary) for c in COMMANDS]
    lines += ['   %-10s %s' % ('help, h', 'Shows a list of commands or help for one command')]
    lines += ['', 'GLOBAL OPTIONS:']
    lines += ['   --%-18s %s' % (f.names[0] + (' value' if f.takes_value else ''), f.help) for f in GLOBAL_FLAGS]
    return '\n'.join(lines) + '\n'


def _no_help_topic(name):
    log.error("No help topic for '%s'\n" % name)
    return 3


def _help(program, topics):
    """`help [COMMAND]`: the usage, or one command's help."""
    if not topics:
        sys.stdout.write(_usage_text(program))
        return 0
    command = _find(topics[0])
    if command is None:
        return _no_help_topic(topics[0])
    sys.stdout.write(parser.command_help(program, command))
    return 0


def _version_text(program):
    from ..spec.default import OCI_VERSION
    return '%s version %s\nspec: %s\npython: %s\n' % (program, VERSION, OCI_VERSION, sys.version.split()[0])


def main(argv=None):
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    program = _program()
    # Like runc (Go): writing to a closed pipe ends the command quietly.
    from ..linux import signals
    signals.signal(signals.number('SIGPIPE'), signals.SIG_DFL)
    try:
        top = parser.parse(GLOBAL_FLAGS, argv)
    except errors.UsageError as exc:
        log.error(exc.message)
        return 1
    if not top.args or top.args[0] not in _MOVES_PROCESSES:
        return _main(program, top)
    # The container's processes will be moved into cgroups: warm the kernel's lock for that meanwhile.
    from ..linux import migration_lock
    migration_lock.start()
    try:
        return _main(program, top)
    finally:
        migration_lock.stop()


_MOVES_PROCESSES = ('create', 'run', 'exec')


def command(argv=None):
    """main() as a program: run it, then end the process at once with its exit code.

    Everything a command leaves is on disk or written by then (states are renamed into place, log
    lines flushed one by one); what the interpreter's own shutdown would add is tearing down every
    module and object, 4 ms of a 50 ms `run` (docs/benchmarks.md). Only standard output and error
    are buffered here: they are flushed first (a closed pipe ends the command quietly, as in main).

    The garbage collector runs after every 20,000 new objects instead of 700: importing a command's
    modules made it run about a dozen times for nothing (each module's objects live as long as the
    process), a tenth of the import time; the commands that run for long (`events`, a foreground `run`
    or `exec`) still collect.
    """
    gc.set_threshold(20000)
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1 if code else 0)


def _main(program, top):
    log_stream = None
    if top.log:
        log_stream = open(top.log, 'a')
    log.configure(stream=log_stream, fmt=top.log_format, debug=top.debug)
    if top.version:
        sys.stdout.write(_version_text(program))
        return 0
    if not top.args or top.help:
        sys.stdout.write(_usage_text(program))
        return 0
    if top.args[0] in ('help', 'h'):
        return _help(program, top.args[1:])
    command = _find(top.args[0])
    if command is None:
        return _no_help_topic(top.args[0])
    try:
        opts = parser.parse(list(command.flags) + [_COMMAND_HELP_FLAG], top.args[1:])
    except errors.UsageError as exc:
        sys.stdout.write('Incorrect Usage: %s\n\n' % exc.message + parser.command_help(program, command))
        log.error(exc.message)
        return 1
    if opts.help:
        sys.stdout.write(parser.command_help(program, command))
        return 0
    if not command.min_args <= len(opts.args) <= max(command.max_args, command.min_args):
        sys.stdout.write('Incorrect Usage.\n\n' + parser.command_help(program, command))
        log.error(_count_message(sys.argv[0] if sys.argv and sys.argv[0] else program, command, len(opts.args)))
        return 1
    if top.systemd_cgroup:
        log.error('--systemd-cgroup is not supported: runcible manages cgroups through cgroupfs')
        return 1
    try:
        return command.func(Context(os.path.abspath(top.root), top.criu), opts)
    except errors.RuntimeErrorBase as exc:
        prefix = _ERROR_PREFIXES.get(command.name, '').replace('PROGRAM', program)
        if isinstance(exc, errors.SetupError) and prefix:
            prefix += 'unable to start container process: '
        log.error(prefix + exc.message)
        return 255 if command.name == 'exec' else 1
    except KeyboardInterrupt:
        return 130
    finally:
        if log_stream is not None:
            log_stream.close()


def _count_message(program, command, count):
    if command.min_args == command.max_args:
        return '%s: "%s" requires exactly %d argument(s)' % (program, command.name, command.min_args)
    if count < command.min_args:
        return '%s: "%s" requires a minimum of %d argument(s)' % (program, command.name, command.min_args)
    return '%s: "%s" requires a maximum of %d argument(s)' % (program, command.name, command.max_args)
