# shellcheck shell=bash
# Helpers for the runme.sh of integration targets (aliases: needs/target/setup_helpers), sourced as
# ../setup_helpers/files/lib.sh: ansible-test runs each target from a copy of the targets it needs.

# The root of the runcible.oci under test: on ANSIBLE_COLLECTIONS_PATH when ansible-test runs the
# target (it puts the collection there), else the source tree this targets folder belongs to.
collection_root() {
    local path candidates=() collection_paths=()
    IFS=: read -r -a collection_paths <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
    for path in "${collection_paths[@]}"; do
        candidates+=("$path/ansible_collections/runcible/oci")
    done
    candidates+=("$(dirname "${BASH_SOURCE[0]}")/../../../../..")
    for path in "${candidates[@]}"; do
        if [ -f "$path/galaxy.yml" ] || [ -f "$path/MANIFEST.json" ]; then
            (cd "$path" && pwd)
            return 0
        fi
    done
    echo "cannot find the runcible.oci collection under test" >&2
    return 1
}

# A criu that passes `criu check` on this kernel ($RUNCIBLE_TEST_CRIU, the host's, or the one
# scripts/criu-setup installs), or nothing and a failure status.
usable_criu() {
    local candidate
    for candidate in "${RUNCIBLE_TEST_CRIU:-}" "$(command -v criu || true)" /opt/runcible-criu/bin/criu; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" check >/dev/null 2>&1; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}
