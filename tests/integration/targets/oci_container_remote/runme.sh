#!/usr/bin/env bash
# oci_container's own tasks (with oci_exec and oci_container_info) against two "remote"
# test hosts reached over real SSH: network namespaces running sshd, each with its own
# runtime roots and bundle folder (../setup_remote_hosts). Then the supervisor outliving
# the SSH session that started its container (survive.yml).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
testhosts="$here/../setup_remote_hosts/files/testhosts"
hosts_dir=$(mktemp -u "${TMPDIR:-/tmp}/runcible-testhosts.XXXXXX")
trap '"$testhosts" down "$hosts_dir"' EXIT
"$testhosts" up "$hosts_dir" alpha beta

export ANSIBLE_ROLES_PATH="$here/.."
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/playbook.yml" "$@"
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/survive.yml" "$@"
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/logs.yml" "$@"
ansible-playbook -i "$hosts_dir/inventory.ini" "$here/adopt.yml" "$@"
