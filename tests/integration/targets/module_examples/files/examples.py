# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the module_examples target.

extract   read the EXAMPLES block of every module of the collection, apply the
          substitutions of substitutions.yml (remote registries and host paths
          become the test's own: each must match as often as it says, so a
          changed example fails here instead of silently running something
          else), drop the examples listed as not runnable here, and write one
          task file per module (its examples in order) plus skipped.txt.
multiarch write an OCI layout whose tag is an index of a linux/amd64 and a
          linux/arm64 image of one layer (a root filesystem tarball), for the
          example that pulls an arm64 image through a mirror.
"""

import argparse
import ast
import gzip
import hashlib
import json
import os
import sys

import yaml


def examples_of(path):
    """The EXAMPLES text of module file `path`."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'EXAMPLES' for target in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit('%s has no EXAMPLES' % path)


def substitute(text, rules, values, where):
    """Apply the rules (from, to, count) to `text`; a rule that matches a different number of times is an error."""
    for rule in rules:
        old = fill(rule['from'], values)
        new = fill(rule['to'], values)
        found = text.count(old)
        wanted = rule.get('count', 1)
        if wanted != 'any' and found != wanted:
            raise SystemExit('%s: substitution %r matches %d times, not %s: the examples changed, update '
                             'substitutions.yml' % (where, rule['from'], found, wanted))
        text = text.replace(old, new)
    return text


def fill(text, values):
    for key, value in values.items():
        text = text.replace('@%s@' % key, value)
    return text


def extract(options):
    with open(options.substitutions) as handle:
        spec = yaml.safe_load(handle)
    values = dict(item.split('=', 1) for item in options.value)
    modules_dir = os.path.join(options.collection, 'plugins', 'modules')
    os.makedirs(options.out, exist_ok=True)
    skipped = []
    names = sorted(name[:-3] for name in os.listdir(modules_dir) if name.endswith('.py') and not name.startswith('_'))
    missing = sorted(set(names) - set(spec['modules']))
    if missing:
        raise SystemExit('no entry in substitutions.yml for the modules %s: every module\'s examples are run'
                         % ', '.join(missing))
    for name in names:
        module = spec['modules'][name] or {}
        text = examples_of(os.path.join(modules_dir, name + '.py'))
        text = substitute(text, spec.get('all') or [], values, name)
        text = substitute(text, module.get('substitutions') or [], values, name)
        tasks = yaml.safe_load(text)
        not_here = module.get('not_run_here') or {}
        unknown = set(not_here) - set(task['name'] for task in tasks)
        if unknown:
            raise SystemExit('%s: not_run_here names examples that do not exist: %s' % (name, ', '.join(sorted(unknown))))
        kept = []
        for number, task in enumerate(tasks, 1):
            if task['name'] in not_here:
                skipped.append('%s example %d "%s": %s' % (name, number, task['name'], not_here[task['name']]))
                continue
            task['name'] = '%s example %d: %s' % (name, number, task['name'])
            kept.append(task)
        with open(os.path.join(options.out, name + '.yml'), 'w') as handle:
            handle.write('---\n# Generated from the EXAMPLES of plugins/modules/%s.py by examples.py extract.\n' % name)
            yaml.safe_dump(kept, handle, default_flow_style=False, sort_keys=False, width=1000)
        print('%s: %d examples to run, %d not run here' % (name, len(kept), len(tasks) - len(kept)))
    with open(os.path.join(options.out, 'skipped.txt'), 'w') as handle:
        handle.write(''.join(line + '\n' for line in skipped))
    for line in skipped:
        print('NOT RUN: ' + line)
    return 0


def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, 'blobs', 'sha256', digest), 'wb') as handle:
        handle.write(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def multiarch(options):
    layout = options.layout
    os.makedirs(os.path.join(layout, 'blobs', 'sha256'))
    with open(os.path.join(layout, 'oci-layout'), 'w') as handle:
        json.dump({'imageLayoutVersion': '1.0.0'}, handle)
    with open(options.rootfs, 'rb') as handle:
        raw = handle.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    layer = dict(_blob(layout, gzip.compress(raw, mtime=0)), mediaType='application/vnd.oci.image.layer.v1.tar+gzip')
    manifests = []
    for architecture in ('amd64', 'arm64'):
        config = {'architecture': architecture, 'os': 'linux', 'config': {'Cmd': ['/bin/tool'], 'Env': ['PATH=/bin']},
                  'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + hashlib.sha256(raw).hexdigest()]}}
        config_descriptor = dict(_blob(layout, json.dumps(config, sort_keys=True).encode()),
                                 mediaType='application/vnd.oci.image.config.v1+json')
        manifest = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'config': config_descriptor, 'layers': [layer]}
        manifests.append(dict(_blob(layout, json.dumps(manifest, sort_keys=True).encode()),
                              mediaType='application/vnd.oci.image.manifest.v1+json',
                              platform={'os': 'linux', 'architecture': architecture}))
    index = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'manifests': manifests}
    descriptor = dict(_blob(layout, json.dumps(index, sort_keys=True).encode()),
                      mediaType='application/vnd.oci.image.index.v1+json',
                      annotations={'org.opencontainers.image.ref.name': options.tag})
    with open(os.path.join(layout, 'index.json'), 'w') as handle:
        json.dump({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                   'manifests': [descriptor]}, handle)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    commands = parser.add_subparsers(dest='command', required=True)
    command = commands.add_parser('extract')
    command.add_argument('--collection', required=True)
    command.add_argument('--substitutions', required=True)
    command.add_argument('--out', required=True)
    command.add_argument('--value', action='append', default=[], help='NAME=value for @NAME@ in substitutions.yml')
    command = commands.add_parser('multiarch')
    command.add_argument('--rootfs', required=True, help='a root filesystem tarball: the one layer of both images')
    command.add_argument('--layout', required=True)
    command.add_argument('--tag', required=True)
    options = parser.parse_args()
    return extract(options) if options.command == 'extract' else multiarch(options)


if __name__ == '__main__':
    sys.exit(main())
