# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""start: release the init blocked on the exec FIFO, then run poststart hooks."""

import os
import select

from .. import errors, hooks, log, state as statemod
from . import destroy, query


def start(root, container_id):
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state = container_dir.load()
        status = statemod.status(state, container_dir)
        if status == 'stopped':
            raise errors.StateError('cannot start a container that has stopped')
        if status != 'created':
            raise errors.StateError('cannot start an already running container')
        release_init(container_dir, state)
        log.debug('container %s started: init %s released' % (container_id, state.pid))
        config = state.config or {}
        if (config.get('hooks') or {}).get('poststart'):
            hooks.run(config['hooks'], 'poststart', query.oci_state(state, 'running'))
    return state


def release_init(container_dir, state):
    """Open the FIFO for reading: the init's blocked open returns, it runs the
    startContainer hooks and execs; return once the program runs.

    The init keeps its end of the FIFO until the exec closes it, so end of file
    means "the program started"; the init's exit before that is a failure,
    whose reason it wrote to init.error.
    """
    pidfd = destroy.open_pidfd(state.pid, state.init_start)
    if pidfd is None:
        raise errors.StateError('cannot start a container that has stopped')
    fifo = os.open(container_dir.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        released = _wait_for_exec(fifo, pidfd)
    finally:
        os.close(fifo)
        os.close(pidfd)
    os.unlink(container_dir.fifo)
    reason = container_dir.read_init_error()
    if reason:
        raise errors.StateError(reason)
    if not released:
        raise errors.StateError('container init exited before it could start the process')


def _wait_for_exec(fifo, pidfd):
    """True once the init wrote its byte and closed the FIFO; False if it died first."""
    poller = select.poll()
    poller.register(fifo, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    released = False
    while True:
        events = dict(poller.poll())
        if fifo in events:
            data = os.read(fifo, 1)
            if data:
                released = True
                continue
            if released:
                return True
        if pidfd in events and fifo not in events:
            return released and not _fifo_has_writer(fifo)


def _fifo_has_writer(fifo):
    try:
        return os.read(fifo, 1) != b''
    except BlockingIOError:
        return True
