# -*- coding: utf-8 -*-
import signal

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.container.kill import parse_signal


@pytest.mark.parametrize('text, number', [
    ('9', 9), ('KILL', signal.SIGKILL), ('SIGKILL', signal.SIGKILL), ('term', signal.SIGTERM),
    ('sigusr1', signal.SIGUSR1), ('HUP', signal.SIGHUP), ('SIGRTMIN', signal.SIGRTMIN),
])
def test_names_and_numbers(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize('text', ['NOSUCH', 'SIG_DFL', '0', '999', '', 'SIG'])
def test_unknown_signals(text):
    with pytest.raises(errors.UsageError) as caught:
        parse_signal(text)
    assert caught.value.message == 'unknown signal "%s"' % text
