# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""start: release the init blocked on the exec FIFO, then run poststart hooks."""

import errno
import os
import select

from .. import errors, hooks, log, state as statemod
from ..linux import signals
from . import query


def start(root, container_id):
    container_dir = statemod.ContainerDir(root, container_id)
    with container_dir:
        state = container_dir.load()
        status = query.container_status(container_dir, state)
        if status == 'stopped':
            raise errors.StateError('cannot start a container that has stopped')
        if status == 'paused':
            raise errors.StateError('cannot start a container in the paused state')
        if status != 'created':
            raise errors.StateError('cannot start an already running container')
        release_init(container_dir, state)
        log.debug('container %s started: init %s released' % (container_id, state.pid))
        config = state.config or {}
        if (config.get('hooks') or {}).get('poststart'):
            hooks.run(config['hooks'], 'poststart', query.oci_state(state, 'running'))
    return state


def release_init(container_dir, state):
    """Write the byte the init waits for on the exec FIFO; return once the program runs.

    The init holds the FIFO (close-on-exec) until the exec: when no one holds
    its other end any more, the program runs, or the init failed and wrote
    why to init.error. The FIFO is removed last: a `start` killed before it
    wrote changed nothing, one killed after it left a running container.
    """
    try:
        fifo = os.open(container_dir.fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno not in (errno.ENXIO, errno.ENOENT):
            raise errors.StateError('cannot open %s: %s' % (container_dir.fifo, errors.strerror(exc)))
        # No reader: the init exec'd or exited since the status was read.
        raise errors.StateError(container_dir.read_init_error() or 'container init exited before it could start '
                                                                   'the process')
    try:
        try:
            signals.write_no_sigpipe(fifo, b'0')
        except BrokenPipeError:
            pass
        poller = select.poll()
        # Nothing asked for: poll reports POLLERR once the last reader is gone.
        poller.register(fifo, 0)
        poller.poll()
    finally:
        os.close(fifo)
    try:
        os.unlink(container_dir.fifo)
    except FileNotFoundError:
        pass
    reason = container_dir.read_init_error()
    if reason:
        raise errors.StateError(reason)
