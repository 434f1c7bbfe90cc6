#!/usr/bin/env bash
# oci_checkpoint on this host (playbook.yml), then examples/move-container.yml between two
# inventory hosts (move.yml: two "hosts" on this machine with their own runtime roots).
set -eux
ansible-playbook -i "${INVENTORY_PATH}" playbook.yml "$@"
ansible-playbook -i move-inventory.ini move.yml "$@"
