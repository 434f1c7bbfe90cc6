# shellcheck shell=bash
# Shared by scripts/setup and scripts/test: the host's Debian packages, the
# project's virtualenv, the cgroup fix crun needs, and the collection tree
# ansible-test runs on. Sourced, not run: the caller sets REPO and
# `set -euo pipefail`.

# RUNCIBLE_VENV puts the virtualenv elsewhere (the plain-host stage makes one of its own).
VENV="${RUNCIBLE_VENV:-$REPO/.venv}"
# The demo's virtualenv needs only ansible-core; the test suite's (tests/requirements.txt) includes it.
# shellcheck disable=SC2034  # used by scripts/setup
DEMO_REQUIREMENTS="$REPO/tests/requirements-demo.txt"
# shellcheck disable=SC2034  # used by scripts/setup
TEST_REQUIREMENTS="$REPO/tests/requirements.txt"

# Debian/Ubuntu packages of the demo (scripts/setup demo).
# shellcheck disable=SC2034  # used by scripts/setup
DEMO_PACKAGES=(
    busybox-static     # a one-file root filesystem for the demo bundle
    python3            # bin/runcible runs on the host's own interpreter
    ca-certificates    # pip over HTTPS
    python3-pyroute2   # netlink under /usr/bin/python3, which runs the demo's modules: its bridge network, veths
    nftables           # the demo network's NAT and published port (brings libnftables1, used through its JSON)
)

# Debian/Ubuntu packages of the test suite (scripts/setup test): the demo's and these.
# shellcheck disable=SC2034  # used by scripts/setup
TEST_PACKAGES=(
    "${DEMO_PACKAGES[@]}"
    runc crun          # reference runtimes: differential tests, bench/lifecycle
    criu               # checkpoint/restore
    skopeo umoci       # image tools the image code is compared with
    docker-registry    # a local registry for pull tests
    openssl            # the registry tests' CA and server certificates, signatures
    apache2-utils      # htpasswd (bcrypt) for the registry's Basic auth
    zstd tar           # zstd-compressed layers; layer archives
    python3-zstandard  # zstd layers under the host's python3, which runs bin/runcible in tests
    openssh-server     # sshd in network namespaces: the "remote" hosts of integration tests
    iproute2           # network namespaces and veth pairs of the tests (nftables and python3-pyroute2: the demo's;
                       # the network tests run against Debian's pyroute2 0.7 and PyPI's 0.9)
    procps psmisc      # ps (runcible ps), pkill, fuser
    strace             # kill -9 at chosen system calls: bench/faults, tests/system/test_faults.py
    util-linux         # setpriv, unshare, nsenter, mount
    gcc libc6-dev      # a system test builds a static helper binary
    golang-github-containers-common  # podman's default seccomp profile, run by the seccomp system tests
    git                # scripts/test copies the tracked files into ansible-test's tree
    shellcheck         # ansible-test's shellcheck test and the lint of scripts/
    podman             # a client of the runtime: tests/system/test_podman.py runs podman under runcible and runc
    catatonit          # podman's pause image for pods is built from it (no registry to pull one from)
    debootstrap debian-archive-keyring  # the molecule scenario's Debian image (extensions/molecule), built once
)

# Services Debian starts when their package is installed (where it can start
# services); the tests start their own instances on ports of their choosing.
PACKAGED_SERVICES=(docker-registry ssh)

say() {
    if [ -t 1 ]; then
        printf '\n\033[1m== %s\033[0m\n' "$*"
    else
        printf '\n== %s\n' "$*"
    fi
}

warn() { printf 'warning: %s\n' "$*" >&2; }

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

package_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]
}

# Install the packages named as arguments that are missing. Does nothing (and
# needs neither root nor the network) when all are present. Packages the
# distribution does not have (e.g. criu on some Ubuntu releases) are named in
# a warning; the tests that need them skip.
install_packages() {
    local missing=() available=() unavailable=() pkg candidate
    for pkg in "$@"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
    is_root || die "missing Debian packages (${missing[*]}): run this as root"
    say "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt run (unattended-upgrades, a second session) may hold the lock for a while.
    local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
    "${apt[@]}" update -qq
    for pkg in "${missing[@]}"; do
        # Read all of apt-cache's output (no grep -q): under pipefail an early exit is a failure.
        candidate=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        if [ -n "$candidate" ] && [ "$candidate" != '(none)' ]; then
            available+=("$pkg")
        else
            unavailable+=("$pkg")
        fi
    done
    [ "${#unavailable[@]}" -eq 0 ] || warn "not in this distribution's archive, tests that need them will skip: ${unavailable[*]}"
    [ "${#available[@]}" -eq 0 ] || "${apt[@]}" install -y -qq --no-install-recommends "${available[@]}"
    local service
    for service in "${PACKAGED_SERVICES[@]}"; do
        service "$service" stop >/dev/null 2>&1 || true
    done
}

# True when the interpreter $1 runs and is at least Python 3.11, the oldest
# controller Python of the ansible-core versions the project uses: 2.21 needs
# 3.12, so on Debian 12's 3.11 tests/requirements.txt selects 2.19.
python_is_controller_capable() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# pyenv roots to look in: $PYENV_ROOT, `pyenv root`, ~/.pyenv, and under sudo
# the invoking user's ~/.pyenv (sudo resets PATH and HOME).
pyenv_roots() {
    local user_home
    [ -z "${PYENV_ROOT:-}" ] || printf '%s\n' "$PYENV_ROOT"
    if command -v pyenv >/dev/null; then pyenv root 2>/dev/null || true; fi
    printf '%s\n' "$HOME/.pyenv"
    if [ -n "${SUDO_USER:-}" ]; then
        user_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
        [ -z "$user_home" ] || printf '%s\n' "$user_home/.pyenv"
    fi
}

# The newest pyenv CPython X.Y.Z for the version X.Y in $1 (path to its bin
# folder), or nothing. Free-threaded and dev builds (3.13t, 3.13-dev) are left out.
pyenv_python_bin() {
    local root dir
    pyenv_roots | while IFS= read -r root; do
        for dir in "$root"/versions/"$1".*/bin; do
            [ -x "$dir/python$1" ] || continue
            case "${dir%/bin}" in
                */versions/"$1".[0-9] | */versions/"$1".[0-9][0-9]) printf '%s\n' "$dir" ;;
            esac
        done
    done | sort -V | tail -n 1
}

# The interpreter the project's virtualenv is made from: $RUNCIBLE_PYTHON if
# set, else pyenv's newest 3.13, else the newest python3.13, python3.12 or
# python3 (at least 3.11) on PATH: a plain Debian 12 has only its python3 3.11
# (ansible-core 2.19), Ubuntu 24.04 its 3.12 (ansible-core 2.21). Prints the
# real executable (not a pyenv shim).
find_controller_python() {
    local candidate bin
    if [ -n "${RUNCIBLE_PYTHON:-}" ]; then
        python_is_controller_capable "$RUNCIBLE_PYTHON" || die "RUNCIBLE_PYTHON=$RUNCIBLE_PYTHON is not a Python >= 3.11"
        "$RUNCIBLE_PYTHON" -c 'import sys; print(sys.executable)'
        return 0
    fi
    bin=$(pyenv_python_bin 3.13)
    if [ -n "$bin" ] && python_is_controller_capable "$bin/python3"; then
        printf '%s\n' "$bin/python3"
        return 0
    fi
    for candidate in python3.13 python3.12 python3; do
        candidate=$(command -v "$candidate") || continue
        if python_is_controller_capable "$candidate"; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    return 1
}

# Create the virtualenv (when missing or unusable) and install the requirements
# file $1 into it (when that file, one it includes, or the interpreter changed
# since the last install of that file).
ensure_venv() {
    local requirements=$1 python stamp want
    if ! python_is_controller_capable "$VENV/bin/python"; then
        python=$(find_controller_python) || die "no Python >= 3.11 found for the project's virtualenv.
Ansible's controller needs Python 3.11 or newer (ansible-core 2.19; 2.21 needs 3.12).
Install one (apt-get install python3), or point RUNCIBLE_PYTHON at one."
        say "Creating the virtualenv $VENV from $python"
        rm -rf "$VENV"
        if ! "$python" -c 'import ensurepip' 2>/dev/null; then
            # Debian and Ubuntu split ensurepip out of their python3 package.
            install_packages "python3-venv" "python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
        fi
        "$python" -m venv "$VENV" || die "could not create $VENV with $python"
    fi
    stamp="$VENV/.$(basename "$requirements" .txt).sha256"
    want="$(cat "$requirements" "$DEMO_REQUIREMENTS" | sha256sum | cut -d' ' -f1) $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "Installing ${requirements#"$REPO"/} into $VENV"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"
        printf '%s\n' "$want" >"$stamp"
    fi
}

# True when the cgroup controller $1 is mounted as a cgroup v1 hierarchy.
# mountinfo: the fields after " - " are the type, the source and the super options.
controller_on_v1() {
    awk -v controller="$1" '
        { for (i = 1; i <= NF && $i != "-"; i++) continue }
        $(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ ("," controller ",") { found = 1 }
        END { exit !found }' /proc/self/mountinfo
}

# Test machines only (the test command calls it; the demo leaves the host
# alone). Gives hugetlb, net_cls and net_prio a cgroup v1 hierarchy each when
# they have none. On these hybrid hosts hugetlb sits on the v2 tree, and crun
# 1.8.1 refuses to run while a v2 controller is in use ("cgroups in hybrid mode
# not supported"); net_cls and net_prio are mounted nowhere. Mounting them once,
# before the tests, lets crun run and the cgroup tests exercise those
# controllers, and changes nothing else.
mount_v1_hierarchies() {
    local controller
    [ -d /sys/fs/cgroup/unified ] || return 0 # only hybrid hosts: legacy ones have them, unified ones have no v1
    for controller in hugetlb net_cls net_prio; do
        controller_on_v1 "$controller" && continue
        mkdir -p "/sys/fs/cgroup/$controller"
        if mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller" 2>/dev/null; then
            echo "mounted the $controller cgroup controller as a v1 hierarchy"
        else
            rmdir "/sys/fs/cgroup/$controller" 2>/dev/null || true
            warn "could not mount $controller as a cgroup v1 hierarchy; tests that need it say so"
        fi
    done
}

# ansible-test bootstraps pip into each sanity test's virtualenv with a
# get-pip.py it downloads from ci-files.testing.ansible.com, which these
# machines cannot reach. It first looks in its cache, so put our stand-in
# (ensurepip, then pip from PyPI) there, for the pip version the ansible-test of
# the virtualenv $1 (default: the project's) pins. A real get-pip.py already in
# the cache is left alone.
prime_ansible_test_get_pip() {
    local venv=${1:-$VENV} version cache
    version=$("$venv/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3"))["pip"])') ||
        die "cannot read the pip version ansible-test uses (has ansible-core changed its internals?)"
    cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
    if [ -s "$cache" ] && ! grep -q 'stand-in for the get-pip.py' "$cache"; then
        return 0
    fi
    mkdir -p "${cache%/*}"
    cp "$REPO/tests/sanity/get_pip_standin.py" "$cache"
}

# Copy the collection into $1/ansible_collections/<namespace>/<name>, the
# layout ansible-test needs, and print that path. Copies what git would
# commit: tracked files that still exist plus untracked files .gitignore does
# not exclude, so a dirty work tree is tested as it is.
build_collection_tree() {
    local namespace name dest
    namespace=$(awk '$1 == "namespace:" { print $2 }' "$REPO/galaxy.yml")
    name=$(awk '$1 == "name:" { print $2 }' "$REPO/galaxy.yml")
    dest="$1/ansible_collections/$namespace/$name"
    mkdir -p "$dest"
    # safe.directory: under sudo the clone belongs to another user and git would refuse it.
    if git -c safe.directory="$REPO" -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (
            cd "$REPO" || exit 1
            git -c safe.directory="$REPO" ls-files -z --cached --others --exclude-standard |
                while IFS= read -r -d '' path; do
                    if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\0' "$path"; fi
                done |
                xargs -0 --no-run-if-empty cp -P --parents -t "$dest"
        )
    else
        tar -C "$REPO" --exclude=./.git --exclude=./.venv --exclude=./tests/output \
            --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis -cf - . | tar -C "$dest" -xf -
    fi
    printf '%s\n' "$dest"
}
