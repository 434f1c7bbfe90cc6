# -*- coding: utf-8 -*-
"""The namespace steps of create's and exec's first child (process/init.py, process/setns.py) against the
recording kernel double: which namespaces are joined and made, in which order."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import consts as c
from ansible_collections.runcible.oci.plugins.module_utils.runtime.process import init


def test_the_mount_namespace_is_joined_last(kernel):
    init.join_namespaces({'mount': 10, 'network': 11, 'ipc': 12, 'uts': 13})
    calls = [call.args for call in kernel.named('setns')]
    assert calls[-1] == (10, c.CLONE_NEWNS)
    assert sorted(calls[:-1]) == [(11, c.CLONE_NEWNET), (12, c.CLONE_NEWIPC), (13, c.CLONE_NEWUTS)]


def test_each_namespace_is_joined_with_its_own_type(kernel):
    joins = {'pid': 3, 'network': 4, 'ipc': 5, 'uts': 6, 'cgroup': 7, 'time': 8}
    init.join_namespaces(joins)
    flags = {'pid': c.CLONE_NEWPID, 'network': c.CLONE_NEWNET, 'ipc': c.CLONE_NEWIPC, 'uts': c.CLONE_NEWUTS,
             'cgroup': c.CLONE_NEWCGROUP, 'time': c.CLONE_NEWTIME}
    assert sorted(call.args for call in kernel.named('setns')) == sorted((joins[k], flags[k]) for k in joins)


def test_without_a_mount_namespace_exec_chroots_into_the_containers_root_after_the_joins(kernel, monkeypatch):
    """exec's joins hold "root" (an fd of /proc/<init>/root) when the container shares the runtime's mounts."""
    steps = []
    # Each step with the number of namespaces joined by then.
    monkeypatch.setattr(init.os, 'fchdir', lambda fd: steps.append(('fchdir', fd, len(kernel.named('setns')))))
    monkeypatch.setattr(init.os, 'chroot', lambda path: steps.append(('chroot', path, len(kernel.named('setns')))))
    init.join_namespaces({'root': 9, 'network': 4, 'pid': 3})
    assert sorted(call.args for call in kernel.named('setns')) == [(3, c.CLONE_NEWPID), (4, c.CLONE_NEWNET)]
    assert steps == [('fchdir', 9, 2), ('chroot', '.', 2)]


def test_a_failed_join_stops_there(kernel):
    kernel.fail('setns', when=lambda call: call.args[1] == c.CLONE_NEWNET)
    with pytest.raises(OSError):
        init.join_namespaces({'network': 4, 'mount': 5})
    assert all(call.args[1] != c.CLONE_NEWNS for call in kernel.named('setns'))


class Channel:
    """The runtime's side of the channel as the first child sees it: the answers it waits for, what it sent."""

    write_fd = None

    def __init__(self):
        self.sent = []

    def expect(self, kind):
        self.sent.append(('expected', kind))

    def send(self, kind, **fields):
        self.sent.append((kind, fields))


class Plan:
    """An InitPlan's namespace part."""

    def __init__(self, joins, unshare_flags):
        self.close_in_child = ()
        self.join_fds = joins
        self.unshare_flags = unshare_flags
        self.new_userns = False
        self.bundle = type('B', (), {'process': {}, 'linux': {}})()


def test_create_joins_the_user_namespace_first_and_unshares_the_new_ones_after_the_joins(kernel, monkeypatch):
    """create's intermediate: user first (it owns the others), joins, then the new namespaces, then fork."""
    forked = []
    monkeypatch.setattr(init.os, 'fork', lambda: forked.append(1) or 4242)

    def leave(code):
        raise SystemExit(code)

    monkeypatch.setattr(init.os, '_exit', leave)
    channel = Channel()
    with pytest.raises(SystemExit) as ended:
        init.intermediate(Plan([('mount', 5), ('user', 3), ('network', 4)], c.CLONE_NEWPID | c.CLONE_NEWUTS), channel)
    assert ended.value.code == 0
    names = [(call.name, call.args) for call in kernel.calls]
    assert names == [('setns', (3, c.CLONE_NEWUSER)), ('setns', (4, c.CLONE_NEWNET)), ('setns', (5, c.CLONE_NEWNS)),
                     ('unshare', (c.CLONE_NEWPID | c.CLONE_NEWUTS,)),
                     # Not dumpable before the fork: the init runs the host's interpreter until it execs.
                     ('prctl', (c.PR_SET_DUMPABLE, 0))]
    assert forked and channel.sent[-1] == ('pid', {'pid': 4242})
