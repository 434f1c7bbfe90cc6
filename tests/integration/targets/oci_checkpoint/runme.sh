#!/usr/bin/env bash
# oci_checkpoint on this host (playbook.yml), then examples/move-container.yml between two
# inventory hosts (move.yml): SSH test hosts of scripts/testhosts when it is there, else two
# "hosts" on this machine with their own runtime roots, checkpoint folders and bundles.
set -eux
ansible-playbook -i "${INVENTORY_PATH}" playbook.yml "$@"

criu=
for candidate in "${RUNCIBLE_TEST_CRIU:-}" "$(command -v criu || true)" /opt/runcible-criu/bin/criu; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" check >/dev/null 2>&1; then
        criu=$candidate
        break
    fi
done
if [ -z "$criu" ]; then
    echo "SKIPPED the move: no CRIU passes criu check here; run scripts/criu-setup"
    exit 0
fi
# The example playbook of the collection under test: ansible-test runs this script from a copy of the
# target alone, with the collection on ANSIBLE_COLLECTIONS_PATH; by hand, it is in the source tree.
example=
candidates=()
IFS=: read -r -a collection_paths <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
for path in "${collection_paths[@]}"; do
    candidates+=("$path/ansible_collections/runcible/oci/examples/move-container.yml")
done
candidates+=(../../../../examples/move-container.yml)
for candidate in "${candidates[@]}"; do
    if [ -f "$candidate" ]; then
        example=$(cd "$(dirname "$candidate")" && pwd)/move-container.yml
        break
    fi
done
[ -n "$example" ] || { echo "examples/move-container.yml of runcible.oci not found" >&2; exit 1; }

# Over SSH between two test hosts (network namespaces running sshd) when scripts/testhosts is there,
# else between two local inventory hosts with their own runtime roots (move-inventory.ini).
here=$(pwd)
testhosts="$here/../setup_remote_hosts/files/testhosts"
if [ -x "$testhosts" ]; then
    hosts_dir=$(mktemp -u "${TMPDIR:-/tmp}/runcible-testhosts.XXXXXX")
    trap '"$testhosts" down "$hosts_dir"' EXIT
    "$testhosts" up "$hosts_dir" cksource cktarget
    ansible-playbook -i "$hosts_dir/inventory.ini" -i move-remote-vars.yml move.yml -e source=cksource \
        -e target=cktarget -e "controller_dir=$hosts_dir/controller" -e "criu_path=$criu" -e "move_playbook=$example" "$@"
else
    echo "scripts/testhosts is not here: the move runs between two local inventory hosts"
    ansible-playbook -i move-inventory.ini move.yml -e source=host-a -e target=host-b -e "criu_path=$criu" \
        -e "move_playbook=$example" "$@"
fi
