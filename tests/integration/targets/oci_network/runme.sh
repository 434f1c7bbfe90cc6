#!/usr/bin/env bash
# oci_network and oci_network_info inside a network namespace of their own that stands in
# for the host (`unshare --net --mount`): the bridges, sysctls and the nftables table the
# playbook makes vanish with it, so the machine's links and ruleset are left as they were.
# The target Python is Debian's, with python3-pyroute2 0.7 (the system tests cover PyPI's 0.9).
set -eux
export ANSIBLE_ROLES_PATH=..
exec unshare --net --mount -- bash -c 'ip link set lo up && exec "$@"' bash \
    ansible-playbook -i "${INVENTORY_PATH}" playbook.yml -e ansible_python_interpreter=/usr/bin/python3 "$@"
