# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull benchmark: runcible's registry client against `skopeo copy docker://... oci:...`.

Starts Debian's docker-registry on loopback, pushes a generated image (several gzip
layers, tens of MiB, part incompressible, part text), then times, side by side and
interleaved so that both see the same machine state:

    cold   pull into an empty store / empty OCI layout
    warm   pull again when everything is there (we: one HEAD; skopeo: manifest, config, blob checks)

Each tool runs as its own process (start-up included); our side runs under the
interpreter given with --python (default: Debian's /usr/bin/python3). Prints the
median of each and the ratio runcible/skopeo (below 1 means we are faster).

    /tmp/venv-probe/bin/python bench/images_pull/run.py [--rounds 7] [--python /usr/bin/python3]
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
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'system'))

import registry_fixtures as fixtures  # noqa: E402 pylint: disable=wrong-import-position

MIB = 1024 * 1024
PULL = '''
import sys, time
started = time.perf_counter()
from ansible_collections.runcible.oci.plugins.module_utils.image import registry
imported = time.perf_counter()
registry.pull(sys.argv[1], sys.argv[2], insecure=True)
print(time.perf_counter() - imported)
'''


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--python', default='/usr/bin/python3', help='interpreter for our side')
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
        ours_argv = [args.python, '-c', PULL]
        skopeo_argv = ['skopeo', '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', 'docker://' + name]
        times = {'%s %s' % (who, phase): [] for who in ('ours', 'ours-inprocess', 'skopeo') for phase in ('cold', 'warm')}
        for round_number in range(args.rounds):
            store = os.path.join(work, 'store-%d' % round_number)
            layout = os.path.join(work, 'oci-%d' % round_number)
            order = [('ours', ours_argv + [store, name]), ('skopeo', skopeo_argv + ['oci:%s:bench' % layout])]
            if round_number % 2:
                order.reverse()
            for phase in ('cold', 'warm'):
                for label, argv in order:
                    elapsed, printed = timed(argv, env)
                    times['%s %s' % (label, phase)].append(elapsed)
                    if label == 'ours':
                        times['ours-inprocess %s' % phase].append(float(printed))
            shutil.rmtree(store)
            shutil.rmtree(layout)
        version = subprocess.run([args.python, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True).stdout.decode().strip()
        print('image: 5 gzip layers, %.1f MiB compressed; %d rounds; ours under %s (%s)' % (size / MIB, args.rounds, args.python, version))
        print('runcible = whole process (interpreter start and imports included); in-process = the pull() call alone,')
        print('as inside an Ansible module that has already started; skopeo = whole process.')
        print('%-6s %12s %12s %12s %10s %12s' % ('', 'runcible', 'in-process', 'skopeo', 'ratio', 'ratio (in-p)'))
        medians = {'image_mib': size / MIB, 'rounds': args.rounds, 'python': '%s (%s)' % (args.python, version)}
        for phase in ('cold', 'warm'):
            ours = statistics.median(times['ours ' + phase])
            inside = statistics.median(times['ours-inprocess ' + phase])
            theirs = statistics.median(times['skopeo ' + phase])
            medians[phase] = {'ours': ours, 'ours_in_process': inside, 'skopeo': theirs}
            print('%-6s %10.3f s %10.3f s %10.3f s %10.2f %12.2f' % (phase, ours, inside, theirs, ours / theirs, inside / theirs))
        if args.json:
            with open(args.json, 'w') as handle:
                json.dump(medians, handle, indent=1)
    finally:
        if registry is not None:
            registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
