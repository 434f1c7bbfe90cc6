#!/usr/bin/env bash
# The collection as Galaxy ships it: `ansible-galaxy collection build`, then `collection install` of
# the tarball into an empty collections path, and from that installed copy alone (run outside any
# source tree, with only that path configured): its contents, `ansible-doc` of every plugin and role,
# `ansible-builder introspect` of its execution environment requirements, bin/runcible (spec,
# features, a real run of a busybox bundle), and the demo playbook with its summary checked.
set -euo pipefail

# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh
source_tree=$(collection_root)
check_summary=$(pwd)/../setup_helpers/files/check_demo_summary.sh

work=$(mktemp -d /var/tmp/runcible-it-galaxy.XXXXXX)
runtime_root=$work/run
cleanup() {
    if [ -d "$runtime_root" ]; then
        "$installed/bin/runcible" --root "$runtime_root" delete --force it-galaxy-busybox >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "galaxy_artifact: $*" >&2
    exit 1
}

echo "== build"
version=$(awk '$1 == "version:" { print $2 }' "$source_tree/galaxy.yml")
ansible-galaxy collection build --output-path "$work/dist" "$source_tree"
tarball=$work/dist/runcible-oci-$version.tar.gz
[ -f "$tarball" ] || fail "no $tarball"

echo "== contents"
tar -tzf "$tarball" | sed 's|^\./||' | sort >"$work/contents"
for unwanted in 'tests/output/' 'bench/' 'scripts/' 'hack/' '.ci/' '.venv/' '.git/' 'changelogs/.plugin-cache.yaml'; do
    if grep -q "^${unwanted//./\\.}" "$work/contents"; then
        fail "the tarball holds $unwanted: $(grep "^${unwanted//./\\.}" "$work/contents" | head -n 3 | tr '\n' ' ')"
    fi
done
if grep -qE '(^|/)(__pycache__/|\.pytest_cache/|\.hypothesis/)|\.pyc$' "$work/contents"; then
    fail "the tarball holds caches: $(grep -E '__pycache__|\.pytest_cache|\.hypothesis|\.pyc$' "$work/contents" | head -n 3)"
fi
for wanted in MANIFEST.json FILES.json README.md COPYING CHANGELOG.md changelogs/changelog.yaml bin/runcible \
    meta/runtime.yml meta/execution-environment.yml meta/requirements.txt meta/bindep.txt playbooks/demo.yml \
    roles/container_service/meta/argument_specs.yml roles/runtime_host/meta/argument_specs.yml \
    extensions/molecule/default/molecule.yml docs/awx.md docs/molecule.md plugins/module_utils/runtime/__init__.py; do
    grep -qxF "$wanted" "$work/contents" || fail "the tarball lacks $wanted"
done

# From here on only the installed copy: run outside any collection tree, with nothing else configured.
cd "$work"
collections=$work/collections
: >"$work/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH=$collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_CONFIG=$work/ansible.cfg

echo "== install into an empty collections path"
ansible-galaxy collection install --offline -p "$collections" "$tarball"
installed=$collections/ansible_collections/runcible/oci
[ -x "$installed/bin/runcible" ] || fail "bin/runcible is not executable in the installed copy"

listed=$(ansible-galaxy collection list runcible.oci --format json)
python3 - "$listed" "$collections" "$version" <<'PYTHON'
import json, sys
listed = json.loads(sys.argv[1])
where = {path: found for path, found in listed.items() if 'runcible.oci' in found}
assert list(where) == [sys.argv[2] + '/ansible_collections'], 'runcible.oci found in %s' % list(where)
assert where[sys.argv[2] + '/ansible_collections']['runcible.oci']['version'] == sys.argv[3], where
PYTHON

echo "== ansible-doc of every plugin and role"
for type in module connection role; do
    names=$(ansible-doc -t "$type" -l runcible.oci --json | python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin))))')
    case $type in
        module) expected=$(cd "$installed/plugins/modules" && for module in *.py; do printf 'runcible.oci.%s ' "${module%.py}"; done) ;;
        connection) expected="runcible.oci.oci " ;;
        role) expected=$(cd "$installed/roles" && for role in */; do printf 'runcible.oci.%s ' "${role%/}"; done) ;;
    esac
    [ "$names " = "$expected" ] || fail "ansible-doc -t $type lists '$names', the tarball has '$expected'"
    read -r -a name_list <<<"$names"
    ansible-doc -t "$type" --json "${name_list[@]}" >"$work/doc.json"
    python3 - "$work/doc.json" "$installed" "$type" "${name_list[@]}" <<'PYTHON'
import json, sys
path, installed, plugin_type = sys.argv[1:4]
with open(path) as handle:
    docs = json.load(handle)
for name in sys.argv[4:]:
    doc = docs[name]
    if plugin_type == 'role':
        main = doc['entry_points']['main']
        assert main['short_description'] and main['options'], (name, main)
        assert doc['path'].startswith(installed), (name, doc['path'])
        short = main['short_description']
    else:
        short = doc['doc']['short_description']
        assert short, name
        assert doc['doc']['filename'].startswith(installed), (name, doc['doc']['filename'])
        assert doc['examples'] is None or doc['examples'].strip(), name
    print('%-12s %-40s %s' % (plugin_type, name, short))
PYTHON
done

echo "== ansible-builder introspect"
if command -v ansible-builder >/dev/null; then
    ansible-builder introspect --sanitize "$collections" | tee "$work/introspect"
    grep -qF "jsonschema>=4  # from collection runcible.oci" "$work/introspect" || fail "introspect lacks the Python requirements"
    grep -qF "openssh-client [platform:dpkg]  # from collection runcible.oci" "$work/introspect" || fail "introspect lacks the system requirements"
else
    fail "ansible-builder is not installed: run scripts/setup test"
fi

echo "== bin/runcible"
"$installed/bin/runcible" --version | grep -q "^runcible version $version$" || fail "runcible --version is not $version"
"$installed/bin/runcible" features | python3 -c 'import json, sys; assert json.load(sys.stdin)["ociVersionMax"]'
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
(cd "$bundle" && "$installed/bin/runcible" spec)
python3 - "$bundle/config.json" <<'PYTHON'
import json, sys
with open(sys.argv[1]) as handle:
    config = json.load(handle)
config['process']['terminal'] = False
config['process']['args'] = ['/bin/busybox', 'sh', '-c', 'echo "hello from $(/bin/busybox hostname)"; exit 3']
with open(sys.argv[1], 'w') as handle:
    json.dump(config, handle)
PYTHON
status=0
output=$("$installed/bin/runcible" --root "$runtime_root" run --bundle "$bundle" it-galaxy-busybox) || status=$?
[ "$output" = "hello from runc" ] || fail "runcible run printed '$output'"
[ "$status" -eq 3 ] || fail "runcible run exited $status, the container 3"
[ -z "$("$installed/bin/runcible" --root "$runtime_root" list -q)" ] || fail "runcible run left a container"

echo "== the demo playbook from the installed copy"
criu_options=()
checkpoint=
if criu=$(usable_criu); then
    criu_options=(-e "demo_criu=$criu")
    checkpoint=checkpoint
fi
ANSIBLE_STDOUT_CALLBACK=default ansible-playbook -i localhost, -c local runcible.oci.demo \
    -e ansible_python_interpreter=/usr/bin/python3 -e demo_work="$work/demo" -e "demo_name=it-galaxy-$$" \
    "${criu_options[@]}" | tee "$work/demo.out"
"$check_summary" "$work/demo.out" "$checkpoint"
