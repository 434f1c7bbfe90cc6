#!/usr/bin/env bash
# `molecule test` of the collection's scenario (extensions/molecule/default): instances that are
# containers of this collection, created and destroyed with its modules, reached with its connection
# plugin, and the container_service role converged in them. The Debian image is built once with
# debootstrap and kept in /var/cache/runcible-molecule (RUNCIBLE_MOLECULE_CACHE).
set -eu

command -v molecule >/dev/null || { echo "molecule is not installed: run scripts/setup test" >&2; exit 1; }
# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh
collection=$(collection_root)
[ -f "$collection/extensions/molecule/default/molecule.yml" ] || { echo "$collection has no molecule scenario" >&2; exit 1; }

# Container IDs of this run only: other runs on the machine may test at the same time.
export RUNCIBLE_MOLECULE_PREFIX="it-molecule-$$"
cd "$collection"
# Bounded: a first run builds the image (about two minutes), later ones take about one.
NO_COLOR=1 timeout 900 molecule test
rmdir /run/runcible-molecule 2>/dev/null || true
