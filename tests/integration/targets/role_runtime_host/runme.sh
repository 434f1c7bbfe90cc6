#!/usr/bin/env bash
# runcible.oci.runtime_host on this host (twice: the second run must change nothing), then inside an
# unprivileged container, where it must fail with its reasons. The clean-up runs whatever happened.
set -eu

# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh
# With a CRIU that passes `criu check` here (scripts/criu-setup), the role must find it usable.
criu_args=()
if criu=$(usable_criu); then criu_args=(-e "criu=$criu"); fi

# Names of this run only.
run=(-e "work=/var/tmp/runcible-it-runtime-host-$$" -e "runtime_root=/run/runcible-it-runtime-host-$$"
    -e "container=it-runtime-host-$$")
cleanup() { ansible-playbook -i "${INVENTORY_PATH}" cleanup.yml "${run[@]}" "$@"; }
trap 'cleanup "$@"' EXIT
cleanup "$@"
mkdir -p "/var/tmp/runcible-it-runtime-host-$$"

ansible-playbook -i "${INVENTORY_PATH}" host.yml "${run[@]}" "${criu_args[@]}" "$@"
second=$(mktemp)
ansible-playbook -i "${INVENTORY_PATH}" host.yml "${run[@]}" "${criu_args[@]}" "$@" | tee "$second"
grep -Eq ': ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$second" || {
    echo "the second run of runtime_host changed something" >&2
    exit 1
}
rm -f "$second"
ansible-playbook -i "${INVENTORY_PATH}" checks.yml "${run[@]}" "$@"
ansible-playbook -i "${INVENTORY_PATH}" unprivileged.yml "${run[@]}" "$@"
