# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`network-up`: put a container back on its networks at boot, from the records alone.

oci_container's systemd unit (converge/systemd_unit.py) runs it from the
persisted copy (driver/persist.py) before the supervisor. After a reboot the
container's network namespace (a file under /run), its veth, the bridges,
their sysctls and the nftables table are gone, while the records under
network_root (on disk) remain. This makes the namespace again and re-attaches
it as the container's own record says (attach.reattach with moved_record of
this host): the same addresses (its IPAM entries are still its own), aliases,
MAC, host ports and DNS options; bridges and the table are made as an attach
makes them. The supervisor then creates the container from the run bundle,
which joins that namespace, as oci_container would have.

    network-up --network-root DIR --netns-dir DIR NAME

Exit status 0 when the container is on its networks (or on none: nothing to
do), 1 with a message on stderr otherwise.
"""

import sys

USAGE = 'usage: network-up --network-root DIR --netns-dir DIR NAME'


def _arguments(argv):
    """{network_root, netns_dir, name} from argv; ValueError with the usage."""
    given = {}
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word in ('--network-root', '--netns-dir') and rest:
            given[word[2:].replace('-', '_')] = rest.pop(0)
        elif not word.startswith('-') and 'name' not in given:
            given['name'] = word
        else:
            raise ValueError(USAGE)
    if set(given) != {'network_root', 'netns_dir', 'name'}:
        raise ValueError(USAGE)
    return given


def network_up(network_root, netns_dir, name):
    """Re-attach container `name` from its records; the lines to report (addresses that could not be kept)."""
    from . import attach, netns  # pylint: disable=import-outside-toplevel
    from .store import NetworkStore  # pylint: disable=import-outside-toplevel
    store = NetworkStore(network_root)
    moved = attach.moved_record(store, name)
    if moved is None:
        return ['container %s is on no network in %s: nothing to do' % (name, network_root)]
    path, created = netns.create(name, netns_dir)
    try:
        result = attach.reattach(store, name, path, moved)
    except BaseException:
        if created:
            netns.remove(name, netns_dir)
        raise
    return ['network %s: address %s was taken, %s given' % (item['network'], item['recorded'], item['given'])
            for item in result['readdressed']]


def main(argv=None):
    from ..runtime.errors import RuntimeErrorBase  # pylint: disable=import-outside-toplevel
    try:
        given = _arguments(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        sys.stderr.write('network-up: %s\n' % exc)
        return 2
    try:
        for line in network_up(**given):
            sys.stderr.write('network-up: %s\n' % line)
    except (RuntimeErrorBase, OSError) as exc:
        sys.stderr.write('network-up: container %s: %s\n' % (given['name'], exc))
        return 1
    return 0
