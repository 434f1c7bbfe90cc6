# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What oci_containers does: converge a list of containers in one run, and optionally remove the rest.

Each item is converged by container.Converger, exactly as oci_container
would, with two savings that make a host of many containers fast: one
driver per runtime root for the whole list, and the runtime's state read
once (the driver's `list`) instead of once per container.

"Managed by this collection" means: the container has a supervisor folder
(/run/runcible-supervisor/<tag of its runtime root>-<id>) whose settings
hold the record oci_container and oci_containers write for every container
they create. A container made by hand with runc or crun has none, so
`exclusive` never touches it; nor does it touch containers of runtime roots
the task does not use.
"""

import os

from ..runtime import errors
from .. import driver as drivers
from ..driver import persist
from ..supervisor import client
from . import container_spec
from .failures import failure_message
from .container import Converger, missing_bundle


class Group:
    """The containers of one runtime root: one driver, one listing of their states."""

    def __init__(self, runtime, runtime_root):
        self.driver = drivers.get_driver(runtime, runtime_root)
        self.runtime = runtime
        self.runtime_root = runtime_root
        self._listed = None

    @property
    def key(self):
        return os.path.abspath(self.driver.root)

    def listed(self):
        """{id: OCI state} of the runtime root, read once."""
        if self._listed is None:
            self._listed = {state['id']: state for state in self.driver.list()}
        return self._listed

    def managed(self, supervisor_root=client.SUPERVISOR_ROOT):
        """IDs of the containers of this runtime root that have a supervisor record (see the module docstring)."""
        prefix = os.path.basename(client.folder_for(self.driver.root, 'x', supervisor_root))[:-1]
        try:
            entries = os.listdir(supervisor_root)
        except FileNotFoundError:
            return []
        found = []
        for entry in sorted(entries):
            if not entry.startswith(prefix):
                continue
            settings = client.Supervision(os.path.join(supervisor_root, entry)).settings() or {}
            if settings.get('record') and settings.get('id') == entry[len(prefix):]:
                found.append(settings['id'])
        return found


def _check_bundle(index, item, group, supervisor_root):
    """A bundle is needed to create a container (or to make one with bundle_options): fail before anything is done."""
    if item['state'] == 'absent' or item.get('bundle'):
        return
    if item.get('bundle_options') is not None:
        raise errors.ConfigError('containers[%d].bundle' % index, 'container %s has bundle_options, which make the '
                                 'bundle at bundle: give its folder' % item['name'])
    # Its supervisor may be between delete and create of a restart: its folder says the container is there.
    if item['name'] not in group.listed() and not client.Supervision(
            client.folder_for(group.driver.root, item['name'], supervisor_root)).exists():
        raise missing_bundle(item['name'], item['state'], 'containers[%d].bundle' % index)


def converge_all(params, check_mode=False, supervisor_root=client.SUPERVISOR_ROOT, lib_root=persist.LIB_ROOT):
    """The oci_containers result: one result per container, `changed`, `removed`, a diff list and failures."""
    defaults = params.get('defaults') or {}
    items = [container_spec.resolve(item, defaults) for item in params.get('containers') or []]
    groups = {}
    declared = {}
    placed = []
    for index, item in enumerate(items):
        group = _group(groups, item['runtime'], item['runtime_root'])
        names = declared.setdefault(group.key, {})
        if item['name'] in names:
            raise errors.ConfigError('containers[%d].name' % index, 'container %s is declared twice for runtime root '
                                     '%s (also containers[%d]): give each container one item'
                                     % (item['name'], group.key, names[item['name']]))
        names[item['name']] = index
        _check_bundle(index, item, group, supervisor_root)
        placed.append((item, group))
    results, failures = [], []
    for item, group in placed:
        results.append(_converge(item, group, check_mode, supervisor_root, lib_root, failures))
    removed = []
    if params.get('exclusive'):
        # The runtime of `defaults` is in scope too, so that an empty list still says which containers to remove.
        resolved = container_spec.resolve({'name': None}, defaults)
        _group(groups, resolved['runtime'], resolved['runtime_root'])
        for group in groups.values():
            undeclared = [name for name in group.managed(supervisor_root) if name not in declared.get(group.key, {})]
            if not check_mode:
                _stop_together(group, undeclared, supervisor_root)
            for name in undeclared:
                item = dict(container_spec.resolve({'name': name, 'state': 'absent'}, {}),
                            runtime=group.runtime, runtime_root=group.runtime_root)
                results.append(_converge(item, group, check_mode, supervisor_root, lib_root, failures))
                removed.append(name)
    return _summary(results, removed, failures)


def _stop_together(group, names, supervisor_root):
    """Ask the supervisors of `names` to stop their containers, all at once: each removal then waits only for its own."""
    for name in names:
        client.Supervision(client.folder_for(group.driver.root, name, supervisor_root)).request('stop')


def _group(groups, runtime, runtime_root):
    """The Group of (runtime, runtime_root), made once."""
    key = (runtime or drivers.VENDORED, os.path.abspath(runtime_root or drivers.default_root(runtime)))
    if key not in groups:
        groups[key] = Group(runtime, runtime_root)
    return groups[key]


def _converge(item, group, check_mode, supervisor_root, lib_root, failures):
    """One container's result (with `name`); a failure is recorded in `failures` and the others go on."""
    try:
        result = Converger(item, check_mode=check_mode, supervisor_root=supervisor_root, lib_root=lib_root,
                           driver=group.driver, listed=group.listed()).run()
    except (errors.RuntimeErrorBase, OSError) as exc:
        message = str(exc) if isinstance(exc, errors.RuntimeErrorBase) else failure_message(exc)
        failures.append('%s: %s' % (item['name'], message))
        return {'name': item['name'], 'changed': False, 'failed': True, 'msg': message}
    result['name'] = item['name']
    return result


def _summary(results, removed, failures):
    diffs, warnings = [], []
    for result in results:
        diff = result.pop('diff', None)
        if isinstance(diff, list):
            diffs.extend(diff)
        elif diff:
            diffs.append({'before_header': result['name'], 'after_header': result['name'],
                          'before': diff['before'], 'after': diff['after']})
        warnings.extend(result.pop('warnings', []))
    summary = {
        'changed': any(result.get('changed') for result in results),
        'containers': results,
        'changed_containers': [result['name'] for result in results if result.get('changed')],
        'removed': removed,
        'warnings': warnings,
        'failures': failures,
    }
    if diffs:
        summary['diff'] = diffs
    return summary
