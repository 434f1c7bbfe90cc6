#!/usr/bin/env bash
# oci_container and oci_bundle load the collection's code from a copy on the host
# (plugins/module_utils/hostcopy.py), which their action plugin installs when it is missing.
# Here the collection is copied with one extra module_utils file holding a random marker: a
# version no host has, so its first module run must install a copy, and the copy is this run's
# alone (found by the marker, removed at the end). playbook.yml checks install, reuse, the
# refusal of a copy others could change, and that containers run from the copy.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
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

work=$(mktemp -d /var/tmp/runcible-it-copy.XXXXXX)
marker="itcopy$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() {
    # This run's copy (its version exists nowhere else), then the work folder.
    grep -l "$marker" /var/lib/runcible/lib/*/runcible_utils/zz_it_marker.py 2>/dev/null |
        while read -r file; do rm -rf "${file%/runcible_utils/zz_it_marker.py}"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir -p "$work/collections/ansible_collections/runcible"
cp -a "$collection" "$work/collections/ansible_collections/runcible/oci"
echo "# $marker: a version of the collection that exists only for this test run" \
    > "$work/collections/ansible_collections/runcible/oci/plugins/module_utils/zz_it_marker.py"

ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-playbook -i "${INVENTORY_PATH:-localhost,}" "$here/playbook.yml" \
    -e "work=$work" -e "marker=$marker" "$@"
