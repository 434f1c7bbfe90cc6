# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command lines the connection plugin runs on the container's host.

Every runtime the collection drives (the vendored one through its runc-style
command line, runc, crun) takes the same `exec` flags, so one function builds
the argv for all of them.
"""


def exec_argv(runtime_command, container_id, argv, user=None):
    """argv that runs `argv` in the container with runtime_command (the runtime and its --root).

    `user` is a bundle.users.ExecUser (uid, gid, additional gids, home) or
    None to run as the container's own process user. The "--" keeps the
    runtime from reading the command's flags (sh's -c) as its own.
    """
    command = list(runtime_command) + ['exec']
    if user is not None:
        command += ['--user', '%d:%d' % (user.uid, user.gid)]
        for gid in user.additional_gids or ():
            command += ['--additional-gids', str(gid)]
        # The container's configured HOME belongs to its own user, not to this one.
        command += ['--env', 'HOME=%s' % (user.home or '/')]
    return command + ['--', container_id] + list(argv)


def with_python(runtime_command, python):
    """The vendored runtime's command with its interpreter replaced by `python` (when given)."""
    if not python:
        return list(runtime_command)
    return [python] + list(runtime_command[1:])


def shell_user(spec):
    """The remote user as Ansible should see it: a name the shell expands in "~name", else None.

    Ansible finds its temporary folder under "~<remote_user>"; "101" or
    "app:staff" would not expand, so for those it gets no user and "~" is
    the HOME that exec_argv sets from the container's passwd.
    """
    if not spec:
        return None
    spec = str(spec)
    if ':' in spec or spec.isdigit():
        return None
    return spec
