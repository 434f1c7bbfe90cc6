#!/usr/bin/env bash
# oci_container, oci_bundle and oci_image load the collection's code from a copy on the host
# (plugins/module_utils/hostcopy.py), which their action plugin installs when it is missing.
# Here the collection is copied with one extra module_utils file holding a random marker: a
# version no host has, so its first module run must install a copy, and the copy is this run's
# alone (found by the marker, removed at the end). playbook.yml checks install, reuse, the
# refusal of a copy others could change, that containers run from the copy, and that a user
# other than root gets a copy of its own in its home folder (its oci_image and oci_bundle runs).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh
collection=$(collection_root)

work=$(mktemp -d /var/tmp/runcible-it-copy.XXXXXX)
marker="itcopy$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() {
    # This run's copy (its version exists nowhere else), then the work folder.
    { grep -l "$marker" /var/lib/runcible/lib/*/runcible_utils/zz_it_marker.py 2>/dev/null || true; } |
        while read -r file; do rm -rf "${file%/runcible_utils/zz_it_marker.py}"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir -p "$work/collections/ansible_collections/runcible/oci"
# The collection without its tests (ansible-test's output lives there).
tar -C "$collection" --exclude=./tests -cf - . | tar -C "$work/collections/ansible_collections/runcible/oci" -xf -
echo "# $marker: a version of the collection that exists only for this test run" \
    > "$work/collections/ansible_collections/runcible/oci/plugins/module_utils/zz_it_marker.py"

ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-playbook -i "${INVENTORY_PATH:-localhost,}" "$here/playbook.yml" \
    -e "work=$work" -e "marker=$marker" "$@"
