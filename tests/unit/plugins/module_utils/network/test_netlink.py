# -*- coding: utf-8 -*-
"""Without pyroute2, networking fails with a message naming the package."""

import sys

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.network import netlink


def test_missing_pyroute2_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pyroute2', None)
    with pytest.raises(netlink.MissingLibrary) as caught:
        with netlink.route():
            pass
    assert caught.value.library == 'pyroute2'
    assert 'apt-get install python3-pyroute2' in str(caught.value)
    assert 'pip install pyroute2' in str(caught.value)


def test_both_pyroute2_generations_are_told_apart():
    class Old:
        class IPRoute:
            def __init__(self, *argv, **kwarg):
                pass

    class New:
        class IPRoute:
            def __init__(self, port=None, netns=None, flags=0):
                pass

    assert not netlink._opens_netns(Old)
    assert netlink._opens_netns(New)
