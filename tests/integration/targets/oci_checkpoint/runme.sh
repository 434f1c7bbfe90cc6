#!/usr/bin/env bash
# oci_checkpoint on this host (playbook.yml), then examples/move-container.yml between two
# inventory hosts (move.yml, move-inventory.ini: two "hosts" on this machine with their own
# runtime roots, checkpoint folders and bundles).
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
ansible-playbook -i move-inventory.ini move.yml -e source=host-a -e target=host-b -e "criu_path=$criu" "$@"
