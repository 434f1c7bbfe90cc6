# -*- coding: utf-8 -*-
"""Another machine on the stand-in host's LAN, for the network scenarios (the collection must be importable)."""

import os


def client_host(name, host_cidr, client_cidr, folder):
    """A persistent namespace `folder/name` joined to the stand-in host by a veth pair (host side `host_cidr`, its
    `eth0` `client_cidr`, default route through the host); its path."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.runcible.oci.plugins.module_utils.network import netlink, netns
    path = netns.create(name, folder)[0]
    fd = os.open(path, os.O_RDONLY)
    with netlink.route() as host:
        host.add_veth('lan' + name[-4:], 'eth0', fd)
        index = host.index('lan' + name[-4:])
        host.add_address(index, host_cidr)
        host.set_link(index, state='up')
    os.close(fd)
    with netlink.route(path) as inside:
        index = inside.index('eth0')
        inside.add_address(index, client_cidr)
        inside.set_link(index, state='up')
        inside.add_default_route(host_cidr.split('/')[0], index)
    return path
