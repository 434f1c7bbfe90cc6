#!/usr/bin/env bash
# The connection plugin needs several plays: one on the controller that makes the
# containers and adds them to the inventory, plays that run inside them, and a
# clean-up play that runs whatever happened before.
set -eu

status=0
ansible-playbook -i "${INVENTORY_PATH}" playbook.yml "$@" || status=$?
ansible-playbook -i "${INVENTORY_PATH}" cleanup.yml "$@"
exit "$status"
