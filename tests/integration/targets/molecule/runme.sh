#!/usr/bin/env bash
# `molecule test` of the collection's scenario (extensions/molecule/default): instances that are
# containers of this collection, created and destroyed with its modules, reached with its connection
# plugin, and the container_service role converged in them. The Debian image is built once with
# debootstrap and kept in /var/cache/runcible-molecule (RUNCIBLE_MOLECULE_CACHE).
set -eu

command -v molecule >/dev/null || { echo "molecule is not installed: run scripts/setup test" >&2; exit 1; }
# The collection under test: ansible-test runs this script from a copy of the target alone, with
# the collection on ANSIBLE_COLLECTIONS_PATH; by hand, it is the source tree.
collection=
candidates=()
IFS=: read -r -a collection_paths <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
for path in "${collection_paths[@]}"; do
    candidates+=("$path/ansible_collections/runcible/oci")
done
candidates+=(../../../..)
for candidate in "${candidates[@]}"; do
    if [ -f "$candidate/extensions/molecule/default/molecule.yml" ]; then
        collection=$(cd "$candidate" && pwd)
        break
    fi
done
[ -n "$collection" ] || { echo "cannot find the collection's extensions/molecule" >&2; exit 1; }

# Container IDs of this run only: other runs on the machine may test at the same time.
export RUNCIBLE_MOLECULE_PREFIX="it-molecule-$$"
cd "$collection"
# Bounded: a first run builds the image (about two minutes), later ones take about one.
NO_COLOR=1 timeout 900 molecule test
rmdir /run/runcible-molecule 2>/dev/null || true
