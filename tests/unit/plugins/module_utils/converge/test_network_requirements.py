# -*- coding: utf-8 -*-
"""oci_network on a host without pyroute2 or nftables fails naming the package and records nothing."""

import sys

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge import network
from ansible_collections.runcible.oci.plugins.module_utils.network import netlink, nft
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import RuntimeErrorBase


def _params(root):
    return {'name': 'web', 'state': 'present', 'driver': 'bridge', 'subnets': None, 'ipv6': False,
            'internal': False, 'mtu': None, 'bridge_name': None, 'dns': True, 'force': False,
            'network_root': str(root)}


def _records(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob('*') if path.is_file())


def test_without_pyroute2_no_network_is_recorded(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'pyroute2', None)
    with pytest.raises(netlink.MissingLibrary) as caught:
        network.ensure_network(_params(tmp_path))
    assert 'apt-get install python3-pyroute2' in str(caught.value)
    assert _records(tmp_path) == ['.lock']


def _no_library(name):
    raise OSError('%s: cannot open shared object file' % name)


def _no_netlink():
    raise AssertionError('netlink opened (the host would change) before nftables was found missing')


def test_without_nftables_no_network_is_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(nft, '_Library', _no_library)
    monkeypatch.setattr(nft.shutil, 'which', lambda name, path=None: None)
    monkeypatch.setattr(network, 'route', _no_netlink)
    with pytest.raises(RuntimeErrorBase) as caught:
        network.ensure_network(_params(tmp_path))
    assert 'apt-get install nftables' in str(caught.value)
    assert _records(tmp_path) == ['.lock']
