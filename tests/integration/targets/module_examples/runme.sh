#!/usr/bin/env bash
# Run the EXAMPLES block of every module (plugins/modules/*.py), in order, module by module,
# against registries, images, bundles, runtime roots and networks this run makes: files/examples.py
# extracts them with the substitutions of substitutions.yml, playbook.yml sets up, runs and checks.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# The collection under test: on ANSIBLE_COLLECTIONS_PATH under ansible-test, else the source tree.
collection=
IFS=: read -r -a collection_paths <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
for path in "${collection_paths[@]}" "$here/../../../../../../.."; do
    if [ -d "$path/ansible_collections/runcible/oci/plugins/modules" ]; then
        collection=$(cd "$path/ansible_collections/runcible/oci" && pwd)
        break
    fi
done
if [ -z "$collection" ] && [ -d "$here/../../../../plugins/modules" ]; then
    collection=$(cd "$here/../../../.." && pwd)
fi
[ -n "$collection" ] || { echo "the runcible.oci collection was not found" >&2; exit 1; }

python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-$(command -v python3)}
work=$(mktemp -d /var/tmp/runcible-it-examples.XXXXXX)
# The playbook's teardown removes it; this is for a run that stops before (never crossing into a mount).
trap 'rm -rf --one-file-system "$work"' EXIT
prefix="itx$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
# Not traced: the registry password only reaches the playbook through the environment.
OCI_EXAMPLES_PASSWORD="ex-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export OCI_EXAMPLES_PASSWORD
read -r hub private mirror origin < <("$python" -c "
import socket
socks = [socket.socket() for _ in range(4)]
for sock in socks:
    sock.bind(('127.0.0.1', 0))
print(' '.join('127.0.0.1:%d' % sock.getsockname()[1] for sock in socks))")

"$python" "$here/files/examples.py" extract --collection "$collection" --substitutions "$here/substitutions.yml" \
    --out "$work/examples" --value "WORK=$work" --value "PREFIX=$prefix" --value "HUB=$hub" \
    --value "PRIVATE=$private" --value "MIRROR=$mirror" --value "ORIGIN=$origin"

# In a network namespace of its own with loopback up, standing in for the host: the registries listen on its
# loopback, and the bridges, sysctls and nftables table of oci_network's examples vanish with it. The mount
# namespace keeps the network namespaces' bind mounts (/run/runcible/netns) to this run.
unshare --net --mount -- bash -c 'ip link set lo up && exec "$@"' bash \
  ansible-playbook -i "${INVENTORY_PATH:-localhost,}" "$here/playbook.yml" -e "work=$work" -e "prefix=$prefix" \
      -e "hub=$hub" -e "private=$private" -e "mirror=$mirror" -e "origin=$origin" -e "collection=$collection" \
      -e "helper=$here/files/examples.py" "$@"
