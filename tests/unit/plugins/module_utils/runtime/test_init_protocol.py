# -*- coding: utf-8 -*-
"""The runtime's side of create's channel: messages from the intermediate and the init, in any order."""

import subprocess

from ansible_collections.runcible.oci.plugins.module_utils.runtime.process import main


class ScriptedEnd:
    """The runtime's end of the channel; what the two children send is scripted."""

    def __init__(self, messages):
        self.incoming = list(messages)
        self.sent = []

    def recv(self):
        return self.incoming.pop(0)

    def send(self, kind, **fields):
        self.sent.append((kind, fields))


def serve(messages):
    intermediate = subprocess.Popen(['true'])
    process = main.InitProcess()
    process.intermediate_pid = intermediate.pid
    calls = []
    end = ScriptedEnd(messages)
    main.serve(end, None, process, lambda pid: calls.append(('hooks', pid)) or {'pid': pid},
               lambda pid: calls.append(('done', pid)))
    return calls, end.sent, process


def test_the_init_may_be_done_before_the_intermediate_reports_its_pid():
    """Seen under load (bench/faults): "done" first made create record no PID and fail with a TypeError."""
    calls, sent, process = serve([{'type': 'done'}, {'type': 'pid', 'pid': 4242}])
    assert calls == [('done', 4242)]
    assert sent == [('recorded', {})]
    assert (process.pid, process.intermediate_pid) == (4242, None)


def test_hooks_before_the_pid_get_the_pid():
    calls, sent, _process = serve([{'type': 'hooks'}, {'type': 'pid', 'pid': 7}, {'type': 'done'}])
    assert calls == [('hooks', 7), ('done', 7)]
    assert sent == [('hooks-done', {'state': {'pid': 7}}), ('recorded', {})]


def test_in_order():
    calls, sent, _process = serve([{'type': 'pid', 'pid': 9}, {'type': 'hooks'}, {'type': 'done'}])
    assert calls == [('hooks', 9), ('done', 9)]
    assert [kind for kind, _fields in sent] == ['hooks-done', 'recorded']
