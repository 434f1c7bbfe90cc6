# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezing a container's processes: the v1 freezer controller or cgroup v2's cgroup.freeze.

Both return only once the kernel reports the cgroup frozen (or thawed), so a
caller that reads the state afterwards sees what it asked for.
"""

import time

from .. import errors
from .fsio import CgroupFiles, read_key_values, read_text

FROZEN = 'FROZEN'
THAWED = 'THAWED'
FREEZING = 'FREEZING'
# runc's configs.Undefined: no freezer for this cgroup.
UNDEFINED = ''


def freeze_v1(files, directory, timeout):
    """Write FROZEN until freezer.state says FROZEN, as runc does (new tasks can keep it FREEZING).

    An occasional thaw and pause lets processes that were being forked settle.
    On failure the cgroup is thawed again: a half-frozen container is worse
    than a running one.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    try:
        while True:
            if attempt % 50 == 49:
                files.write(directory, 'freezer.state', THAWED)
                time.sleep(0.01)
            files.write(directory, 'freezer.state', FROZEN)
            if attempt % 25 == 24:
                time.sleep(0.001)
            state = read_text(files, directory, 'freezer.state')
            if state == FROZEN:
                return
            if state != FREEZING:
                raise errors.CgroupError('unexpected freezer state %r while freezing %s' % (state, directory))
            if time.monotonic() > deadline:
                raise errors.CgroupError('unable to freeze %s: processes kept it in FREEZING for %.0f seconds'
                                         % (directory, timeout))
            attempt += 1
    except BaseException:
        try:
            files.write(directory, 'freezer.state', THAWED)
        except OSError:
            pass
        raise


def thaw_v1(files, directory):
    files.write(directory, 'freezer.state', THAWED)


def state_v1(files, directory, timeout):
    """FROZEN only when this cgroup itself is frozen (an ancestor freezing it does not count, as in runc)."""
    deadline = time.monotonic() + timeout
    while True:
        state = read_text(files, directory, 'freezer.state')
        if state is None:
            return UNDEFINED
        if state == THAWED:
            return THAWED
        if state == FROZEN:
            self_freezing = read_text(files, directory, 'freezer.self_freezing')
            return THAWED if self_freezing == '0' else FROZEN
        if state != FREEZING or time.monotonic() > deadline:
            return state
        time.sleep(0.001)


def set_v2(files, directory, frozen, timeout):
    """Write cgroup.freeze and wait until cgroup.events reports the change."""
    files.write(directory, 'cgroup.freeze', '1' if frozen else '0')
    deadline = time.monotonic() + timeout
    wanted = 1 if frozen else 0
    delay = 0.001
    while read_key_values(files, directory, 'cgroup.events').get('frozen', wanted) != wanted:
        if time.monotonic() > deadline:
            if frozen:
                files.write(directory, 'cgroup.freeze', '0')
            raise errors.CgroupError('unable to %s %s: cgroup.events did not report it within %.0f seconds'
                                     % ('freeze' if frozen else 'thaw', directory, timeout))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def state_v2(files, directory):
    requested = read_text(files, directory, 'cgroup.freeze')
    if requested is None:
        return UNDEFINED
    if requested == '0':
        return THAWED
    frozen = read_key_values(files, directory, 'cgroup.events').get('frozen', 1)
    return FROZEN if frozen == 1 else FREEZING


def state_of(files, dirs):
    """The freezer state of the cgroups `dirs` (a Manager's: controller -> folder, '' the v2 one):
    'FROZEN', 'THAWED', 'FREEZING' (v2, still settling) or '' when there is no freezer."""
    if 'freezer' in dirs:
        return state_v1(files, dirs['freezer'], 1.0)
    if '' in dirs:
        return state_v2(files, dirs[''])
    return UNDEFINED


class Reader:
    """A container's freezer as its state records the cgroups: what `paused` takes, without the
    cgroup manager (and its controllers' modules) that commands reading a state do not need."""

    def __init__(self, dirs, files=None):
        self.dirs = dict(dirs)
        self.files = files or CgroupFiles()

    def freezer_state(self):
        return state_of(self.files, self.dirs)
