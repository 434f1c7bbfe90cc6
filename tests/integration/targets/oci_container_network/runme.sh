#!/usr/bin/env bash
# oci_container and oci_containers with networks, ports and dns, twice:
# - on localhost inside a network namespace of its own that stands in for the host
#   (`unshare --net --mount`): the bridges, sysctls, nftables table and published ports the
#   playbook makes vanish with it, and its private mount namespace holds the containers'
#   namespace files, so the machine's links, ruleset and mounts are left as they were;
# - on two SSH test hosts at once (../setup_remote_hosts: network namespaces running sshd, each
#   with its own state folder), reached over real SSH: there the bridges, table, client machine
#   and containers' namespaces are made in each host's own network namespace, and the
#   containers carry the host's name (the hosts share this machine's file system and kernel).
# The target Python is Debian's, with python3-pyroute2 0.7 (the system tests cover PyPI's 0.9).
set -eux
here=$(cd "$(dirname "$0")" && pwd)
netns_dir=/run/runcible-netns
testhosts="$here/../setup_remote_hosts/files/testhosts"
hosts_dir=$(mktemp -u "${TMPDIR:-/tmp}/runcible-testhosts.XXXXXX")
made_netns_dir=
if [ ! -d "$netns_dir" ]; then
    made_netns_dir=yes
fi
cleanup() {
    if [ -e "$hosts_dir" ]; then
        "$testhosts" down "$hosts_dir"
    fi
    if [ -n "$made_netns_dir" ]; then
        rmdir "$netns_dir" 2>/dev/null || true
    fi
}
trap cleanup EXIT
mkdir -p "$netns_dir"
# tmpfs over the namespace folders: the files `ip netns add` and the modules make stay in this mount namespace.
unshare --net --mount -- bash -c 'ip link set lo up && mount -t tmpfs tmpfs /run/netns && \
        mount -t tmpfs tmpfs /run/runcible-netns && exec "$@"' bash \
    ansible-playbook -i "${INVENTORY_PATH}" "$here/playbook.yml" -e ansible_python_interpreter=/usr/bin/python3 "$@"

"$testhosts" up "$hosts_dir" alpha beta
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/playbook.yml" -e network_hosts=testhosts "$@"
