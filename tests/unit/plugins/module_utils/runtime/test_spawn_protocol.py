# -*- coding: utf-8 -*-
"""create's side of the set-up protocol: the intermediate's and the init's messages in any order."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime.process import main


class _Channel:
    """Hands out `messages` in order and records what the runtime sends."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.sent = []

    def recv(self):
        return self.messages.pop(0)

    def send(self, kind, **fields):
        self.sent.append((kind, fields))


@pytest.fixture
def intermediate():
    """A real child that has exited, as the intermediate has once it reported the init's PID."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid


@pytest.mark.parametrize('order', [
    ['pid', 'hooks', 'done'],
    ['hooks', 'pid', 'done'],
    ['hooks', 'done', 'pid'],  # found by test_fuzz.py under load: create died with a TypeError (PID None)
    ['done', 'pid'],
])
def test_init_messages_may_overtake_the_pid(intermediate, order):
    messages = {'pid': {'type': 'pid', 'pid': 4242}, 'hooks': {'type': 'hooks'}, 'done': {'type': 'done'}}
    channel = _Channel(messages[kind] for kind in order)
    process = main.InitProcess()
    process.intermediate_pid = intermediate
    hooks_ran_for = []

    def on_hooks(pid):
        hooks_ran_for.append(pid)
        return {'pid': pid}

    main.drive(channel, intermediate, {}, process, on_hooks)
    assert process.pid == 4242 and process.intermediate_pid is None
    assert hooks_ran_for == ([4242] if 'hooks' in order else [])
    assert channel.sent == ([('hooks-done', {'state': {'pid': 4242}})] if 'hooks' in order else [])
    assert channel.messages == []
