# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kill: send a signal to the init, or with all=True to every process of the container."""

from .. import errors, state as statemod
from ..linux import signals
from . import destroy, query


def parse_signal(text):
    """A signal number from "9", "KILL" or "SIGKILL" (runc's parseSignal)."""
    if text.isdigit():
        number = int(text)
        if not 0 < number < signals.NSIG:
            raise errors.UsageError('unknown signal "%s"' % text)
        return number
    name = text.upper()
    if not name.startswith('SIG'):
        name = 'SIG' + name
    value = signals.number(name)
    if value is None:
        raise errors.UsageError('unknown signal "%s"' % text)
    return value


def kill(root, container_id, signum, all_processes=False):
    container_dir = statemod.ContainerDir(root, container_id)
    # What cleanup.json recorded finds the init too: a damaged state.json must
    # not keep a container from being stopped.
    state = container_dir.load_remains()
    query.require_init(query.status_of_remains(container_dir, state))
    if all_processes and state.cgroup:
        # Only --all needs the cgroup manager.
        from ..cgroups.manager import Manager  # pylint: disable=import-outside-toplevel
        destroy.kill_cgroup(Manager.from_state(state.cgroup), signum)
        return
    destroy.signal_process(state.pid, state.init_start, signum)
