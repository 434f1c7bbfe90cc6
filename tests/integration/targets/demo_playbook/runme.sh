#!/usr/bin/env bash
# The README's main command runs playbooks/demo.yml: run it here as the collection playbook
# runcible.oci.demo and check the summary it prints, so the demo stays true on every commit.
# Where a CRIU passes `criu check` (the host's, or scripts/criu-setup's), the checkpoint part
# must run; elsewhere the summary must say why it was skipped.
set -euo pipefail
# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh

criu_options=()
checkpoint=
if criu=$(usable_criu); then
    criu_options=(-e "demo_criu=$criu")
    checkpoint=checkpoint
fi

output=$(mktemp)
trap 'rm -f "$output"' EXIT
ANSIBLE_STDOUT_CALLBACK=default ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local runcible.oci.demo \
    -e demo_work=/var/tmp/runcible-it-demo -e "demo_name=it-demo-$$" "${criu_options[@]}" "$@" | tee "$output"
../setup_helpers/files/check_demo_summary.sh "$output" "$checkpoint"
for left in /var/tmp/runcible-it-demo "/run/runcible-it-demo-$$" "/var/log/runcible/it-demo-$$-ticker.log"; do
    [ ! -e "$left" ] || { echo "the demo left $left behind" >&2; exit 1; }
done
