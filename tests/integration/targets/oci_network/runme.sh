#!/usr/bin/env bash
# oci_network and oci_network_info, twice:
# - on localhost inside a network namespace of its own that stands in for the host
#   (`unshare --net --mount`): the bridges, sysctls and the nftables table the playbook
#   makes vanish with it, so the machine's links and ruleset are left as they were;
# - on two SSH test hosts at once (../setup_remote_hosts: network namespaces running
#   sshd, each with its own state folder), reached over real SSH: there the bridges,
#   sysctls and table are made in each host's namespace, nested and self-contained.
# The target Python is Debian's, with python3-pyroute2 0.7 (the system tests cover PyPI's 0.9).
set -eux
here=$(cd "$(dirname "$0")" && pwd)
export ANSIBLE_ROLES_PATH="$here/.."
unshare --net --mount -- bash -c 'ip link set lo up && exec "$@"' bash \
    ansible-playbook -i "${INVENTORY_PATH}" "$here/playbook.yml" -e ansible_python_interpreter=/usr/bin/python3 "$@"

testhosts="$here/../setup_remote_hosts/files/testhosts"
hosts_dir=$(mktemp -u "${TMPDIR:-/tmp}/runcible-testhosts.XXXXXX")
trap '"$testhosts" down "$hosts_dir"' EXIT
"$testhosts" up "$hosts_dir" alpha beta
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/playbook.yml" -e network_hosts=testhosts "$@"
