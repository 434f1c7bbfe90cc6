#!/usr/bin/env bash
# A fleet of five SSH test hosts (../setup_remote_hosts) converged at once (converge.yml), then
# rolled to a new version one host at a time (rolling.yml, serial: 1) while files/checker.py
# polls every host's service from the controller: verify.yml asserts that no request to a host
# outside the current batch failed and that every host serves the new version at the end;
# control.yml shows the checker catching a stopped service; teardown.yml removes each host's
# container and network and checks that no link, nftables table, record or namespace file is left.
# The service is a container on a runcible network in each host's namespace, its port 80
# published on the host's port 8080 (tasks/service.yml). bench/fleet times the same service on
# 1 to 20 hosts.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
testhosts="$here/../setup_remote_hosts/files/testhosts"
python=$(command -v "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" || command -v python3)
work=$(mktemp -d "${TMPDIR:-/tmp}/runcible-fleet.XXXXXX")
hosts_dir="$work/hosts"
checker_pid=
netns_dir=/run/runcible-netns
made_netns_dir=
[ -d "$netns_dir" ] || made_netns_dir=1
cleanup() {
    if [ -n "$checker_pid" ]; then
        kill "$checker_pid" 2>/dev/null || true
        wait "$checker_pid" 2>/dev/null || true
    fi
    # A failed run may leave the containers' namespace files (bind mounts in this mount
    # namespace, named after the test hosts' namespaces): the hosts' links and tables go with them.
    if [ -f "$hosts_dir/hosts.list" ]; then
        while read -r _name netns _veth _address; do
            umount "$netns_dir/$netns-web" 2>/dev/null || true
            rm -f "$netns_dir/$netns-web"
        done <"$hosts_dir/hosts.list"
    fi
    [ -z "$made_netns_dir" ] || rmdir "$netns_dir" 2>/dev/null || true
    "$testhosts" down "$hosts_dir"
    rm -rf "$work"
}
trap cleanup EXIT
"$testhosts" up "$hosts_dir" web1 web2 web3 web4 web5 >/dev/null

# The image: busybox-static and its applets, as a rootfs tarball each host imports.
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
done
tar -C "$work/rootfs" -cf "$work/busybox.tar" .

export ANSIBLE_PIPELINING=True
run() {
    ansible-playbook -i "$hosts_dir/inventory.ini" -e "fleet_work=$work" -e "fleet_image_tarball=$work/busybox.tar" "$@"
}
run "$here/converge.yml" "$@"

"$python" "$here/files/checker.py" poll --targets "$work/targets.json" --out "$work/records.jsonl" \
    --interval 0.2 --timeout 3 --max-seconds 600 --stop-file "$work/stop" &
checker_pid=$!
run "$here/rolling.yml" "$@"
touch "$work/stop"
wait "$checker_pid"
checker_pid=
run "$here/verify.yml" "$@"
run "$here/control.yml" "$@"
run "$here/teardown.yml" "$@"
