#!/usr/bin/env bash
# The demo playbook run as AWX runs a job: a private data directory (project, inventory, extra vars,
# environment) is streamed by `ansible-runner transmit` to `ansible-runner worker` (what a receptor
# execution node runs), whose event stream `ansible-runner process` turns back into artifacts. The
# job's status, its events (the summary task's result, the stats, no failure) and its stdout (the
# demo's summary) are checked. A second play of the job sets runtime and runtime_root for every
# container module through module_defaults on the action group (group_defaults.yml).
set -euo pipefail

command -v ansible-runner >/dev/null || { echo "ansible-runner is not installed: run scripts/setup test" >&2; exit 1; }
# shellcheck source=../setup_helpers/files/lib.sh
. ../setup_helpers/files/lib.sh
check_summary=$(pwd)/../setup_helpers/files/check_demo_summary.sh

work=$(mktemp -d /var/tmp/runcible-it-awx.XXXXXX)
trap 'rm -rf "$work"' EXIT

checkpoint=
if criu=$(usable_criu); then checkpoint=checkpoint; fi

# The job's private data directory, as AWX lays it out: the project (a playbook that uses the
# collection), the inventory, extra vars and environment variables.
data=$work/job
mkdir -p "$data/project" "$data/inventory" "$data/env"
cp group_defaults.yml "$data/project/group_defaults.yml"
cat >"$data/project/site.yml" <<'YAML'
- name: The collection's demo, as a job
  ansible.builtin.import_playbook: runcible.oci.demo

- name: The action group in module_defaults, as docs/awx.md shows it
  ansible.builtin.import_playbook: group_defaults.yml
YAML
cat >"$data/inventory/hosts" <<'INI'
localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3
INI
python3 - "$data/env" "$work/demo" "$criu" "${ANSIBLE_COLLECTIONS_PATH:-}" <<'PYTHON'
import json, os, sys
env, demo_work, criu, collections = sys.argv[1:]
# Container names of this run only: other runs on the machine may run the demo at the same time.
extravars = {'demo_work': demo_work, 'demo_name': 'it-awx-%d' % os.getppid()}
if criu:
    extravars['demo_criu'] = criu
with open(os.path.join(env, 'extravars'), 'w') as handle:
    json.dump(extravars, handle)
envvars = {'ANSIBLE_STDOUT_CALLBACK': 'default'}
if collections:
    envvars['ANSIBLE_COLLECTIONS_PATH'] = collections
with open(os.path.join(env, 'envvars'), 'w') as handle:
    json.dump(envvars, handle)
PYTHON

# transmit | worker | process, each in a directory of its own, as on separate machines.
status=0
(cd "$work" && ansible-runner transmit "$data" -p site.yml --ident demo-job |
    ansible-runner worker --private-data-dir "$work/worker" |
    ansible-runner process "$work/processed" --ident demo-job) || status=$?
[ "$status" -eq 0 ] || { echo "the transmit | worker | process pipeline exited $status" >&2; exit 1; }

artifacts=$work/processed/artifacts/demo-job
[ "$(cat "$artifacts/status")" = successful ] || { echo "job status: $(cat "$artifacts/status")" >&2; exit 1; }
[ "$(cat "$artifacts/rc")" = 0 ] || { echo "job rc: $(cat "$artifacts/rc")" >&2; exit 1; }
python3 - "$artifacts/job_events" <<'PYTHON'
import json, os, sys
folder = sys.argv[1]
events = []
for name in os.listdir(folder):
    with open(os.path.join(folder, name)) as handle:
        events.append(json.load(handle))
events.sort(key=lambda event: event['counter'])
kinds = [event['event'] for event in events]
assert kinds[0] == 'playbook_on_start' and kinds[-1] == 'playbook_on_stats', (kinds[:2], kinds[-2:])
failed = [event['event_data'].get('task') for event in events if event['event'] in ('runner_on_failed', 'runner_on_unreachable')]
assert not failed, 'failed tasks: %s' % failed
summary = [event for event in events
           if event['event'] == 'runner_on_ok' and event['event_data'].get('task') == 'What happened']
assert len(summary) == 1, 'summary events: %d' % len(summary)
lines = summary[0]['event_data']['res']['msg']
assert any(isinstance(line, str) and line.startswith('runtime: ') for line in lines), lines
group = [event for event in events
         if event['event'] == 'runner_on_ok' and event['event_data'].get('task') == 'The group defaults reached every module']
assert len(group) == 1, 'group_defaults.yml did not finish'
stats = events[-1]['event_data']
assert stats['ok'].get('localhost', 0) > 20 and not stats['failures'] and not stats['dark'], stats
print('%d events, %d tasks ok, summary: %s' % (len(events), stats['ok']['localhost'], lines[0]))
PYTHON
"$check_summary" "$artifacts/stdout" "$checkpoint"
[ ! -e "$work/demo" ] || { echo "the demo left $work/demo behind" >&2; exit 1; }
