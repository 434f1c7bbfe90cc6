# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull benchmark: runcible's registry client against `skopeo copy docker://... oci:...`.

Starts Debian's docker-registry on loopback, pushes a generated image (several gzip
layers, tens of MiB, part incompressible, part text), then times, side by side and
interleaved so that both see the same machine state:

    cold     pull into an empty store / empty OCI layout (--rounds of each)
    warm     pull again when everything is there (we: one HEAD; skopeo: manifest, config,
             blob checks), --warm iterations of each, at two levels:
               library  each tool as its own process (start-up included); our side is
                        `registry.pull()` under --python (default Debian's /usr/bin/python3)
                        and also reports the call alone ("in-process")
               module   what a playbook sees: one ansible-playbook run whose tasks alternate
                        a loop of runcible.oci.oci_image and a loop of ansible.builtin.command
                        running the same `skopeo copy`, target interpreter --python. A callback
                        times each item (from the previous item's result to its own), after an
                        untimed first item of each; a loop of ansible.builtin.ping beside them
                        is the floor any module run pays.

Prints the median of each and the ratio runcible/skopeo (below 1 means we are faster).

    /tmp/venv-probe/bin/python bench/images_pull/run.py [--rounds 5] [--warm 20] [--python /usr/bin/python3]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'system'))

import registry_fixtures as fixtures  # noqa: E402 pylint: disable=wrong-import-position

MIB = 1024 * 1024
PULL = '''
import sys, time
started = time.perf_counter()
from ansible_collections.runcible.oci.plugins.module_utils.image import registry
imported = time.perf_counter()
result = registry.pull(sys.argv[1], sys.argv[2], insecure=True)
print(time.perf_counter() - imported, result['changed'])
'''
# Times each loop item: from the task's start, or the previous item's result, to its own result.
ITEM_TIMER = r'''
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'item_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.items = {}
        self.task = None
        self.last = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.task = task.get_name()
        self.last = time.perf_counter()

    def v2_runner_item_on_ok(self, result):
        now = time.perf_counter()
        self.items.setdefault(self.task, []).append({'seconds': now - self.last, 'changed': bool(result._result.get('changed'))})
        self.last = now

    def v2_runner_item_on_failed(self, result):
        self.items.setdefault(self.task, []).append({'failed': str(result._result.get('msg'))[:2000]})
        self.last = time.perf_counter()

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['ITEM_TIMER_OUT'], 'w') as handle:
            json.dump(self.items, handle)
'''
MODULE_TASKS = '''
    - name: ours-%(n)d
      runcible.oci.oci_image:
        name: %(name)s
        store: %(store)s
        insecure: true
      loop: "{{ range(%(loop)d) | list }}"
    - name: skopeo-%(n)d
      ansible.builtin.command:
        argv: %(argv)s
      changed_when: false
      loop: "{{ range(%(loop)d) | list }}"
    - name: ping-%(n)d
      ansible.builtin.ping:
      loop: "{{ range(%(loop)d) | list }}"
'''
ITEMS_PER_TASK = 5


def _text(size, seed):
    """Compressible, log-like text."""
    words = [b'alpha', b'beta', b'gamma', b'delta', b'error', b'request', b'/usr/lib', b'200', b'404', b'\n']
    generator = fixtures.random.Random(seed)
    out = bytearray()
    while len(out) < size:
        out += b' '.join(generator.choice(words) for dummy in range(12)) + b'\n'
    return bytes(out[:size])


def build_image(layout):
    """A five-layer image: busybox, two incompressible 12 MiB layers, two text layers of 16 MiB."""
    builder = fixtures.OciLayoutBuilder(layout)
    layers = [builder.layer(fixtures.busybox_files(), 'gzip')]
    for number in range(2):
        layers.append(builder.layer({'opt/bin%d.dat' % number: fixtures.pseudo_random(12 * MIB, number)}, 'gzip'))
    for number in range(2):
        layers.append(builder.layer({'var/log/app%d.log' % number: _text(16 * MIB, number)}, 'gzip'))
    builder.tag('bench:1', builder.image(layers))
    return sum(layer['size'] for layer in layers)


def timed(argv, env=None):
    """(wall seconds of the process, what it printed on stdout)."""
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit('%s failed: %s' % (argv[0], result.stderr.decode('utf-8', 'replace')))
    return elapsed, result.stdout.decode('utf-8', 'replace').strip()


def measure(times, label, phase, argv, env):
    """Run one side once and record its time (ours: also the in-process time, and check `changed`)."""
    elapsed, printed = timed(argv, env)
    times['%s %s' % (label, phase)].append(elapsed)
    if label == 'ours':
        seconds, changed = printed.split()
        if (changed == 'True') != (phase == 'cold'):
            raise SystemExit('our %s pull reported changed=%s' % (phase, changed))
        times['ours-inprocess %s' % phase].append(float(seconds))


def default_ansible_playbook():
    own = os.path.join(REPO, '.venv', 'bin', 'ansible-playbook')
    return own if os.path.exists(own) else shutil.which('ansible-playbook')


def module_level(args, work, name, store, layout, skopeo_argv):
    """{'ours': [...], 'skopeo': [...], 'ping': [...]}: seconds per loop item, from one ansible-playbook run."""
    # A copy of the collection: editing the checkout while the bench runs does not change what it measures.
    tree = os.path.join(work, 'collections', 'ansible_collections', 'runcible', 'oci')
    for part in ('plugins', 'meta'):
        shutil.copytree(os.path.join(REPO, part), os.path.join(tree, part), ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy2(os.path.join(REPO, 'galaxy.yml'), tree)
    callbacks = os.path.join(work, 'callbacks')
    os.makedirs(callbacks)
    with open(os.path.join(callbacks, 'item_timer.py'), 'w') as handle:
        handle.write(ITEM_TIMER)
    rounds = -(-args.warm // ITEMS_PER_TASK)
    # Round 0 is one untimed item of each: the controller builds each module's payload once per run.
    tasks = ''.join(MODULE_TASKS % {'n': number, 'name': name, 'store': store, 'loop': ITEMS_PER_TASK if number else 1,
                                    'argv': json.dumps(skopeo_argv + ['oci:%s:bench' % layout])}
                    for number in range(rounds + 1))
    playbook = os.path.join(work, 'module-level.yml')
    with open(playbook, 'w') as handle:
        handle.write('- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:' + tasks)
    with open(os.path.join(work, 'inventory'), 'w') as handle:
        handle.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % args.python)
    out = os.path.join(work, 'items.json')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(work, 'collections'), ANSIBLE_CALLBACK_PLUGINS=callbacks,
               ANSIBLE_CALLBACKS_ENABLED='item_timer', ANSIBLE_INVENTORY=os.path.join(work, 'inventory'),
               ANSIBLE_PIPELINING='True', ANSIBLE_LOCAL_TEMP=os.path.join(work, 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=os.path.join(work, 'ansible-remote'), ITEM_TIMER_OUT=out, LC_ALL='C.UTF-8')
    # As on a normal host, where modules keep their compiled code (plugins/module_utils/bytecode.py).
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    result = subprocess.run([args.ansible_playbook, playbook], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit('module-level playbook failed:\n%s' % result.stdout.decode('utf-8', 'replace')[-4000:])
    with open(out) as handle:
        items = json.load(handle)
    found = {'ours': [], 'skopeo': [], 'ping': []}
    for task, records in items.items():
        side, number = task.rsplit('-', 1)
        for record in records:
            if 'failed' in record or (side == 'ours' and record['changed']):
                raise SystemExit('%s: unexpected result %s' % (task, record))
        if number != '0':
            found[side].extend(record['seconds'] for record in records)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5, help='cold pulls of each side (default 5)')
    parser.add_argument('--warm', type=int, default=20, help='warm pulls of each side at each level (default 20)')
    parser.add_argument('--python', default='/usr/bin/python3', help='interpreter for our side')
    parser.add_argument('--ansible-playbook', default=default_ansible_playbook(),
                        help="for the module level (default: the checkout's .venv, else PATH)")
    parser.add_argument('--json', help='also write the medians (seconds) to this file, for bench/images')
    args = parser.parse_args()
    for tool in ('docker-registry', 'skopeo'):
        if shutil.which(tool) is None:
            raise SystemExit('%s is not installed' % tool)
    work = tempfile.mkdtemp(prefix='runcible-bench-pull-')
    registry = None
    try:
        size = build_image(os.path.join(work, 'layout'))
        registry = fixtures.RegistryServer(os.path.join(work, 'registry'))
        fixtures.skopeo_push(os.path.join(work, 'layout'), 'bench:1', registry, 'bench', '1')
        name = '%s/bench:1' % registry.host
        env = dict(os.environ, PYTHONPATH=fixtures.collection_pythonpath())
        # As on a normal host, where imports use cached bytecode.
        env.pop('PYTHONDONTWRITEBYTECODE', None)
        ours_argv = [args.python, '-c', PULL]
        skopeo_argv = ['skopeo', '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', 'docker://' + name]
        times = {'%s %s' % (who, phase): [] for who in ('ours', 'ours-inprocess', 'skopeo') for phase in ('cold', 'warm')}
        store = layout = None
        for round_number in range(max(1, args.rounds)):
            for path in (store, layout):
                if path:
                    shutil.rmtree(path)
            store = os.path.join(work, 'store-%d' % round_number)
            layout = os.path.join(work, 'oci-%d' % round_number)
            order = [('ours', ours_argv + [store, name]), ('skopeo', skopeo_argv + ['oci:%s:bench' % layout])]
            for label, argv in (order if round_number % 2 else order[::-1]):
                measure(times, label, 'cold', argv, env)
        # The warm pulls go to the last round's store and layout.
        order = [('ours', ours_argv + [store, name]), ('skopeo', skopeo_argv + ['oci:%s:bench' % layout])]
        for iteration in range(args.warm):
            for label, argv in (order if iteration % 2 else order[::-1]):
                measure(times, label, 'warm', argv, env)
        module = module_level(args, work, name, store, layout, skopeo_argv) if args.ansible_playbook else None
        version = subprocess.run([args.python, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True).stdout.decode().strip()
        print('image: 5 gzip layers, %.1f MiB compressed; %d cold rounds, %d warm iterations; ours under %s (%s)'
              % (size / MIB, args.rounds, args.warm, args.python, version))
        print('runcible = whole process (interpreter start and imports included); in-process = the pull() call alone,')
        print('as inside an Ansible module that has already started; skopeo = whole process.')
        print('%-6s %12s %12s %12s %10s %12s' % ('', 'runcible', 'in-process', 'skopeo', 'ratio', 'ratio (in-p)'))
        medians = {'image_mib': size / MIB, 'rounds': args.rounds, 'warm_iterations': args.warm,
                   'python': '%s (%s)' % (args.python, version)}
        for phase in ('cold', 'warm'):
            ours = statistics.median(times['ours ' + phase])
            inside = statistics.median(times['ours-inprocess ' + phase])
            theirs = statistics.median(times['skopeo ' + phase])
            medians[phase] = {'ours': ours, 'ours_in_process': inside, 'skopeo': theirs}
            print('%-6s %10.3f s %10.3f s %10.3f s %10.2f %12.2f' % (phase, ours, inside, theirs, ours / theirs, inside / theirs))
        if module is not None:
            ours, theirs, floor = (statistics.median(module[key]) for key in ('ours', 'skopeo', 'ping'))
            medians['module'] = {'ours': ours, 'skopeo': theirs, 'ping': floor, 'items': len(module['ours'])}
            print('warm, module level (%d loop items each, one ansible-playbook run): oci_image %.3f s, '
                  'command skopeo copy %.3f s, ratio %.2f; ping (the floor of a module run) %.3f s'
                  % (len(module['ours']), ours, theirs, ours / theirs, floor))
        else:
            print('warm, module level: skipped (no ansible-playbook: give --ansible-playbook)')
        if args.json:
            with open(args.json, 'w') as handle:
                json.dump(medians, handle, indent=1)
    finally:
        if registry is not None:
            registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
