#!/usr/bin/env bash
# Check the summary of playbooks/demo.yml in the output file $1 (ansible-playbook's default
# callback). With "checkpoint" as $2, the counter must have been checkpointed and restored (the same
# run token, a higher count); otherwise the summary must say why the checkpoint was skipped.
# With "network" as $3, the web container's page must have been fetched through its published
# port; otherwise either that or a line saying the network part was skipped and what to install.
# Used by the targets demo_playbook, galaxy_artifact and awx_runner, and the compat stage of scripts/test.
set -euo pipefail

checkpoint=${2:-}
network=${3:-}
# Without colours (ansible-runner keeps them in its stdout file).
output=$(mktemp)
trap 'rm -f "$output"' EXIT
sed 's/\x1b\[[0-9;]*m//g' "$1" >"$output"

fail() {
    echo "the demo's summary: $*" >&2
    exit 1
}
expect() {
    grep -qF -- "$1" "$output" || fail "lacks: $1"
}
expect_match() {
    grep -qE -- "$1" "$output" || fail "has no line matching: $1"
}

expect_match '"runtime: (runcible [0-9.]+ \(vendored, Python 3\.[0-9]+\.[0-9]+ at /[^ ]+\)|[^ ]+ [^ ]+ \(/[^ ]+\))",'
expect '"second run: changed=False, actions=[]"'
expect '"    user: 101:201"'
expect '"    open files: 1024"'
expect '"    bind mount: hello from the host"'
expect '"    root: read-only"'
expect '"    memory limit: 67108864"'
expect '"    pids limit: 32"'
expect '"memory limit raised: update, same pid True, now 134217728"'
expect '"hostname changed: recreate, new pid True, now demo-2"'
if [ "$checkpoint" = checkpoint ]; then
    line=$(grep -oE "counter [^ ]+-counter at 'count [0-9]+ of run [0-9a-f]+': checkpointed with CRIU [0-9.]+ \([0-9.]+ MiB\), container absent" "$output") ||
        fail "has no checkpoint line"
    before=$(sed -E 's/.*count ([0-9]+) of run ([0-9a-f]+).*/\1 \2/' <<<"$line")
    line=$(grep -oE "restored: restore -> running, now 'count [0-9]+ of run [0-9a-f]+'" "$output") ||
        fail "has no restore line"
    after=$(sed -E 's/.*count ([0-9]+) of run ([0-9a-f]+).*/\1 \2/' <<<"$line")
    # The same run token: the restored process is the checkpointed one, with its memory; a higher count: it went on.
    [ "${before#* }" = "${after#* }" ] || fail "the restored counter is another run (${before#* } then ${after#* })"
    [ "${after% *}" -gt "${before% *}" ] || fail "the count did not go on (${before% *} then ${after% *})"
else
    expect_match '"checkpoint skipped: .+"'
fi
if grep -qF '"network skipped: ' "$output" && [ "$network" != network ]; then
    expect_match '"network skipped: it needs pyroute2 on the target.s Python and nftables \(Debian/Ubuntu: apt-get install python3-pyroute2 nftables\): .+"'
else
    expect_match '"network [^ ]+-net: bridge rc-[^ ]+, subnet [0-9.]+/[0-9]+, gateway [0-9.]+",'
    expect_match '"web [^ ]+-web: bundle, create -> running at [0-9.]+, port 127\.0\.0\.1:[0-9]+ -> 8080",'
    port=$(grep -oE '"web [^ ]+-web: .* port 127\.0\.0\.1:[0-9]+ -> 8080"' "$output" | sed -E 's/.*127\.0\.0\.1:([0-9]+) .*/\1/')
    # The page came from the container, through the host port it was given.
    expect "\"fetched http://127.0.0.1:$port/: HTTP 200, 'hello over HTTP from busybox httpd in a container'\","
fi
expect '"stopped: stop -> stopped, exit code 0"'
# The play recap (the host is localhost, or ansible-test's testhost): nothing failed or unreachable.
recaps=$(grep -E ': ok=[0-9]+ +changed=[0-9]+ +unreachable=[0-9]+ +failed=[0-9]+' "$output") || fail "has no play recap"
if grep -vqE 'unreachable=0 +failed=0 ' <<<"$recaps"; then
    fail "a task failed: $recaps"
fi
