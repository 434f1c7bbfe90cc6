#!/usr/bin/env bash
# The README's main command runs playbooks/demo.yml: run it here as the collection playbook
# runcible.oci.demo and check the summary it prints, so the demo stays true on every commit.
set -euo pipefail

output=$(mktemp)
trap 'rm -f "$output"' EXIT
ANSIBLE_STDOUT_CALLBACK=default ansible-playbook -i localhost, -c local runcible.oci.demo \
    -e demo_work=/var/tmp/runcible-it-demo "$@" | tee "$output"

expect() {
    grep -qF -- "$1" "$output" || { echo "the demo's summary lacks: $1" >&2; exit 1; }
}
expect '"second run: changed=False, actions=[]"'
expect '"    user: 101:201"'
expect '"    open files: 1024"'
expect '"    bind mount: hello from the host"'
expect '"    root: read-only"'
expect '"    memory limit: 67108864"'
expect '"    pids limit: 32"'
expect '"memory limit raised: update, same pid True, now 134217728"'
expect '"stopped: stop -> stopped, exit code 0"'
grep -q 'failed=0' "$output"
[ ! -e /var/tmp/runcible-it-demo ] || { echo "the demo left /var/tmp/runcible-it-demo behind" >&2; exit 1; }
