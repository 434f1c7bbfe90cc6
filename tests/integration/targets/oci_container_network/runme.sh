#!/usr/bin/env bash
# oci_container and oci_containers with networks, ports and dns, on localhost inside a network
# namespace of its own that stands in for the host (`unshare --net --mount`): the bridges, sysctls,
# nftables table and published ports the playbook makes vanish with it, and its private mount
# namespace holds the containers' namespace files, so the machine's links, ruleset and mounts are
# left as they were. The target Python is Debian's, with python3-pyroute2 0.7 (the system tests
# cover PyPI's 0.9).
set -eux
here=$(cd "$(dirname "$0")" && pwd)
netns_dir=/run/runcible-netns
if [ ! -d "$netns_dir" ]; then
    trap 'rmdir "$netns_dir" 2>/dev/null || true' EXIT
fi
mkdir -p "$netns_dir"
# tmpfs over the namespace folders: the files `ip netns add` and the modules make stay in this mount namespace.
unshare --net --mount -- bash -c 'ip link set lo up && mount -t tmpfs tmpfs /run/netns && \
        mount -t tmpfs tmpfs /run/runcible-netns && exec "$@"' bash \
    ansible-playbook -i "${INVENTORY_PATH}" "$here/playbook.yml" -e ansible_python_interpreter=/usr/bin/python3 "$@"
