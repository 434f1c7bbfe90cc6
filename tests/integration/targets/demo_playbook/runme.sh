#!/usr/bin/env bash
# The README's main command runs playbooks/demo.yml: run it here as the collection playbook
# runcible.oci.demo and check the summary it prints, so the demo stays true on every commit.
# Where a CRIU passes `criu check` (the host's, or scripts/criu-setup's), the checkpoint part
# must run; elsewhere the summary must say why it was skipped. The network part must run (this
# host has pyroute2 and nftables), and leave no bridge, rule, namespace or record behind.
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
../setup_helpers/files/check_demo_summary.sh "$output" "$checkpoint" network
for left in /var/tmp/runcible-it-demo "/run/runcible-it-demo-$$" "/var/log/runcible/it-demo-$$-ticker.log" \
    "/run/runcible-netns/it-demo-$$-web" "/var/lib/runcible/network/networks/it-demo-$$-net" \
    "/var/lib/runcible/network/containers/it-demo-$$-web"; do
    [ ! -e "$left" ] || { echo "the demo left $left behind" >&2; exit 1; }
done
bridge=$(sed -nE 's/.*"network it-demo-[0-9]+-net: bridge (rc-[^,]+), subnet ([^,]+),.*/\1/p' "$output")
subnet=$(sed -nE 's/.*"network it-demo-[0-9]+-net: bridge (rc-[^,]+), subnet ([^,]+),.*/\2/p' "$output")
if [ -z "$bridge" ] || [ -z "$subnet" ]; then
    echo "the summary names no bridge and subnet" >&2
    exit 1
fi
if ip link show dev "$bridge" >/dev/null 2>&1; then
    echo "the demo left its bridge $bridge behind" >&2
    exit 1
fi
# The table goes with the last network; another network of this host's may keep it, but not with the demo's rules.
if rules=$(nft list table inet runcible 2>/dev/null) && grep -qE -- "$bridge|${subnet%/*}" <<<"$rules"; then
    echo "the demo left rules for $bridge ($subnet) in the inet runcible table:" >&2
    echo "$rules" >&2
    exit 1
fi
