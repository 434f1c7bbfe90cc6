#!/usr/bin/env bash
# oci_image against registries the playbook starts on loopback, then a check that the
# registry password never shows in the verbose output. The strictest output there is:
# -vvv (more than -v) with every task's module arguments shown (ansible-core 2.21 only
# shows them with ANSIBLE_INJECT_INVOCATION, as older versions always did), so only the
# module's no_log on `password` can keep it out.
set -eu

# Not traced (no set -x): the password must appear nowhere but where no_log hides it.
OCI_IT_PASSWORD="it-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export OCI_IT_PASSWORD ANSIBLE_INJECT_INVOCATION=true
log="${OUTPUT_DIR}/oci_image-verbose.log"

set +e
ansible-playbook -i "${INVENTORY_PATH}" playbook.yml -vvv "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || exit "$status"

if grep -qF "$OCI_IT_PASSWORD" "$log"; then
    echo "FAIL: the registry password appears in the verbose output ($log)" >&2
    exit 1
fi
# The log holds the arguments of the task that used the password, masked, so the check above could fail.
if ! grep -q 'Pull with Basic auth' "$log" || ! grep -q 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' "$log"; then
    echo "FAIL: the verbose output does not show the masked password argument ($log)" >&2
    exit 1
fi
echo "the registry password does not appear in the verbose output"
