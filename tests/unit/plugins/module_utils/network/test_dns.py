# -*- coding: utf-8 -*-
"""hosts and resolv.conf for containers."""

import os

from ansible_collections.runcible.oci.plugins.module_utils.network import dns


def test_resolv_conf_skips_loopback_servers(tmp_path):
    host = tmp_path / 'resolv.conf'
    host.write_text('nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.com\noptions edns0\n')
    text = dns.resolv_text(host_file=str(host), upstream=str(tmp_path / 'none'))
    assert 'nameserver 10.0.0.2\n' in text and '127.0.0.53' not in text
    assert 'search example.com\n' in text and 'options edns0\n' in text


def test_resolv_conf_stub_only_uses_resolved_upstream_then_fallback(tmp_path):
    host = tmp_path / 'resolv.conf'
    host.write_text('nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n')
    upstream = tmp_path / 'upstream'
    upstream.write_text('nameserver 192.0.2.53\nnameserver ::1\n')
    text = dns.resolv_text(host_file=str(host), upstream=str(upstream))
    assert 'nameserver 192.0.2.53\n' in text and '::1' not in text and 'search lan' in text
    text = dns.resolv_text(host_file=str(host), upstream=str(tmp_path / 'none'))
    assert 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n' in text


def test_resolv_conf_options_win(tmp_path):
    host = tmp_path / 'resolv.conf'
    host.write_text('nameserver 10.0.0.2\nsearch a\n')
    text = dns.resolv_text(['1.1.1.1'], ['b.example'], ['ndots:2'], host_file=str(host))
    assert text.splitlines()[1:] == ['nameserver 1.1.1.1', 'search b.example', 'options ndots:2']


def test_hosts_in_place_keeps_inode(tmp_path):
    path = str(tmp_path / 'hosts')
    assert dns.write_in_place(path, dns.hosts_text([('10.1.0.2', ['web', 'www'])], [('10.1.0.3', ['db'])]))
    inode = os.stat(path).st_ino
    assert not dns.write_in_place(path, dns.hosts_text([('10.1.0.2', ['web', 'www'])], [('10.1.0.3', ['db'])]))
    assert dns.write_in_place(path, dns.hosts_text([('10.1.0.2', ['web'])], []))
    assert os.stat(path).st_ino == inode
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert lines[-1] == '10.1.0.2\tweb' and not any('db' in line for line in lines)
