# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge one container to its declared state.

The container remembers what it was created from (in its supervisor's
settings: the bundle, the digest of config.json, its resources, the rootfs
digest, the supervisor settings). Each run compares that record with what
is wanted now, through the option table in container_spec.py, and plans the
smallest set of actions: nothing, a supervisor reload, a live resource
update, a start/stop/pause, or a recreate. Check mode stops after planning.
"""

import hashlib
import os
import time

from ..runtime import errors, jsonc
from ..runtime.spec import config as specconfig
from .. import driver as drivers
from ..driver import persist
from ..supervisor import client
from . import container_network, container_spec
from .container_spec import LIVE, NETWORK, RECREATE, SETTINGS, STATES

LOG_ROOT = '/var/log/runcible'


def canonical_digest(value):
    return 'sha256:' + hashlib.sha256(jsonc.dumps(_sorted(value), compact=True).encode()).hexdigest()


def _sorted(value):
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def parse_restart_policy(text):
    """'on-failure:3' -> ('on-failure', 3); the policy names are Docker's."""
    policy, _sep, limit = (text or 'no').partition(':')
    if policy not in ('no', 'on-failure', 'always', 'unless-stopped'):
        raise errors.ConfigError('restart_policy', 'must be no, on-failure[:max], always or unless-stopped, '
                                 'not %r' % text)
    if limit and (policy != 'on-failure' or not limit.isdigit()):
        raise errors.ConfigError('restart_policy', 'only on-failure takes a maximum, as on-failure:3')
    return policy, int(limit) if limit else 0


def read_bundle(path):
    """(config.json, rootfs digest or None) of bundle `path`, with errors naming `bundle`."""
    if not path or not os.path.isdir(path):
        raise errors.ConfigError('bundle', 'bundle folder %s does not exist: make it with oci_bundle first' % path)
    try:
        with open(os.path.join(path, 'config.json'), 'rb') as handle:
            config = jsonc.loads(handle.read())
    except FileNotFoundError:
        raise errors.ConfigError('bundle', '%s has no config.json: make the bundle with oci_bundle' % path)
    except ValueError as exc:
        raise errors.ConfigError('bundle', '%s/config.json is not valid JSON: %s' % (path, exc))
    check_config(config, path)
    rootfs_digest = None
    try:
        with open(os.path.join(path, 'runcible.json'), 'rb') as handle:
            rootfs_digest = (jsonc.loads(handle.read()).get('rootfs') or {}).get('digest')
    except (OSError, ValueError):
        pass
    return config, rootfs_digest


def check_config(config, path):
    """`config` if a supervisor can run it; ConfigError naming `bundle` if not."""
    if (config.get('process') or {}).get('terminal'):
        raise errors.ConfigError('bundle', 'process.terminal is true in %s/config.json: a supervised container '
                                 'has its output logged, not a terminal; set it to false' % path)
    return config


def discard(driver, name, supervision, with_logs=False):
    """Stop a container's supervisor, delete the container, remove the supervisor's folder: for undoing a failure."""
    if supervision.alive():
        supervision.stop(15)
    try:
        if driver.state(name) is not None:
            driver.delete(name, force=True)
    except errors.RuntimeErrorBase:
        pass
    supervision.remove(with_logs=with_logs)


def missing_bundle(name, wanted_state, field='bundle'):
    """The error for a container declared without a bundle that does not exist, so must be created."""
    return errors.ConfigError(field, 'container %s does not exist, and state %s creates it: give the bundle folder '
                                     'to create it from' % (name, wanted_state))


def split_resources(config):
    """(config without linux.resources, linux.resources)."""
    stripped = dict(config)
    linux = dict(stripped.get('linux') or {})
    resources = linux.pop('resources', None) or {}
    stripped['linux'] = linux
    return stripped, resources


class Converger:
    """One run of oci_container for one container."""

    def __init__(self, params, check_mode=False, supervisor_root=client.SUPERVISOR_ROOT, lib_root=persist.LIB_ROOT,
                 driver=None, listed=None, unit_dirs=None, supervisions=client.Supervision,
                 netns_dir=container_network.NETNS_DIR):
        """`driver` and `listed` (the driver's list() by ID) let oci_containers share one driver and one list;
        `unit_dirs` ({'unit_dir', 'settings_dir'}) moves the systemd unit's files and `supervisions` (a
        client.Supervision-like class, given the folder) stands in for the supervisor (tests); `netns_dir` is
        where containers' network namespaces are made (tests)."""
        self.params = params
        self.check_mode = check_mode
        self.name = params['name']
        try:
            specconfig.validate_id(self.name)
        except errors.InvalidContainerID:
            raise errors.ConfigError('name', 'invalid container ID %r: use letters, digits and _+-. only, '
                                             'at most 1024 characters, not "." or ".."' % self.name)
        self.driver = driver or drivers.get_driver(params.get('runtime'), params.get('runtime_root'))
        self.listed = listed
        self.found = None
        # The driver of the runtime that made the existing container (another runtime can share the root).
        self.holder = self.driver
        self.supervision = supervisions(client.folder_for(self.driver.root, self.name, supervisor_root))
        self.lib_root = lib_root
        self.actions = []
        self.diff = {'before': {}, 'after': {}}
        self.bundle_made = None
        self.bundle_diff = None
        self.wanted_record = None
        self.unit_path = None
        self.unit_dirs = unit_dirs or {}
        self.warnings = []
        self.supervisor_root = supervisor_root
        self.network = container_network.ContainerNetwork(self.name, params.get('network_root'), netns_dir,
                                                          self.driver.root)
        # Declared without a bundle: the container is taken as it is and only moved to the wanted state.
        self.as_is = not params.get('bundle') and params.get('bundle_options') is None

    # -- what is wanted ----------------------------------------------------

    def wanted(self, config, rootfs_digest, bundle=None):
        params = self.params
        stripped, resources = split_resources(config)
        policy, limit = parse_restart_policy(params.get('restart_policy'))
        wanted = container_network.wanted(params)
        if wanted['networks']:
            # Not compared: where the run bundle and records are, for oci_checkpoint's restore.
            wanted['network_root'] = self.network.network_root
        wanted.update({
            'bundle': os.path.abspath(bundle or params['bundle']),
            'config_digest': canonical_digest(stripped),
            'resources': resources,
            'rootfs_digest': rootfs_digest,
            'runtime': self.driver.name,
            'restart_policy': '%s:%d' % (policy, limit) if limit else policy,
            'stop_signal': params.get('stop_signal') or _stop_signal(config),
            'stop_timeout': params.get('stop_timeout', 10),
            'log_path': params.get('log_path') or os.path.join(LOG_ROOT, '%s.log' % self.name),
            'log_max_size': params.get('log_max_size') or 10 * 1024 * 1024,
            'log_max_files': params.get('log_max_files') or 3,
        })
        return wanted

    def settings(self, record, start):
        policy, limit = parse_restart_policy(record['restart_policy'])
        return {
            'id': self.name,
            # A container on networks runs the copy of its config that joins its network namespace.
            'bundle': self.network.bundle_dir() if record.get('networks') else record['bundle'],
            'runtime': self.driver.command(),
            'log_path': record['log_path'],
            'log_max_size': record['log_max_size'],
            'log_max_files': record['log_max_files'],
            'restart_policy': policy,
            'restart_max': limit,
            'stop_signal': record['stop_signal'],
            'stop_timeout': record['stop_timeout'],
            'start': start,
            'record': record,
        }

    # -- what is there -----------------------------------------------------

    def current(self):
        settings = self.supervision.settings()
        self.holder = self._holder(settings)
        if self.listed is not None and self.holder is self.driver:
            state = self.listed.get(self.name)
        else:
            state = self.holder.state(self.name)
        status = self.supervision.status()
        if not self.check_mode and self.supervision.orphaned(status):
            # Its monitor died: another takes it over first (it reads an exit that happened meanwhile).
            status = self.supervision.take_over(persist.supervisor_command(self.lib_root))
            state = self.holder.state(self.name)
        if state is None and self.supervision.alive(status):
            # Its supervisor may be restarting it: between delete and create the runtime knows no such container.
            state = self.supervision.state_between_runs(lambda: self.holder.state(self.name))
            status = self.supervision.status()
        self.found = state
        record = (settings or {}).get('record')
        if record is not None and 'log_path' not in record:
            # Recorded before log_path was: the path in use is the supervisor's.
            record = dict(record, log_path=settings.get('log_path'))
        return state, record, status

    def _holder(self, settings):
        """The driver of the runtime the supervisor's record names: runtimes keep their state in formats of their
        own, so only the one that made the container can stop and delete it when `runtime` changes."""
        recorded = ((settings or {}).get('record') or {}).get('runtime')
        if not recorded or recorded == self.driver.name:
            return self.driver
        command = settings.get('runtime') or [recorded]
        try:
            return drivers.get_driver(recorded if recorded == drivers.VENDORED else command[0], self.driver.root)
        except errors.RuntimeErrorBase as exc:
            raise errors.ConfigError('runtime', 'container %s in %s was made by runtime %s, which cannot be run here '
                                                '(%s): remove it with that runtime (state=absent) first'
                                     % (self.name, self.driver.root, recorded, exc))

    # -- the run -----------------------------------------------------------

    def act(self, action):
        self.actions.append(action)
        return not self.check_mode

    def run(self):
        """Converge the container (and its systemd unit); the module result."""
        self.converge()
        self.converge_unit()
        return self.result()

    def converge(self):
        wanted_state = self.params.get('state') or 'running'
        state, record, status = self.current()
        if wanted_state == 'absent':
            recorded_root = (record or {}).get('network_root')
            if recorded_root and recorded_root != self.network.network_root:
                # Its networks are where it was put on them (oci_containers' exclusive passes no network_root).
                self.network = container_network.ContainerNetwork(self.name, recorded_root, self.network.netns_dir,
                                                                  self.driver.root)
            exists = state is not None or self.supervision.exists()
            # The namespace and records of another container of this name (another runtime root) are not touched.
            leftover = self.network.leftover() and self.network_held_elsewhere() is None
            if exists or leftover:
                self.diff['before']['state'] = (state or {}).get('status', 'absent')
                self.diff['after']['state'] = 'absent'
                if self.act('delete') and exists:
                    self.remove(state, with_logs=True)
                if leftover:
                    # Off its networks only once its processes are gone (a detach in check mode plans).
                    self.diff['before']['networks'] = (record or {}).get('networks') or []
                    self.diff['after']['networks'] = []
                    self.network.detach(check_mode=self.check_mode)
            return
        if self.as_is:
            self.converge_as_is(state, record, wanted_state)
            return
        config, rootfs_digest = self.bundle_config()
        wanted = self.wanted(config, rootfs_digest)
        self.wanted_record = wanted
        plan = self.plan_network(config, wanted)
        if state is None:
            self.diff['before']['state'] = 'absent'
            self.diff['after']['state'] = wanted_state
            if self.act('create'):
                self.create(wanted, wanted_state)
            return
        found = container_spec.differences(wanted, record or {})
        for value, before, after in found:
            self.diff['before'][value.key] = before
            self.diff['after'][value.key] = after
        costs = set(value.cost(before, after) for value, before, after in found)
        if plan is not None and (record or {}).get('networks'):
            if self.network.namespace_lost():
                # The container's processes hold a namespace no file names any more: it cannot be re-attached.
                self.diff['before']['network_namespace'] = None
                self.diff['after']['network_namespace'] = self.network.path
                costs.add(RECREATE)
            elif plan['changed']:
                # The host's links, addresses or rules drifted from the records (a flushed ruleset): mend them.
                if NETWORK not in costs:
                    self.diff['before']['network_actions'] = []
                    self.diff['after']['network_actions'] = plan['actions']
                costs.add(NETWORK)
        recreate = bool(self.params.get('recreate')) or record is None or RECREATE in costs
        if record is None:
            self.warnings.append('container %s was not created by this collection (no supervisor record): it is '
                                 'recreated under a supervisor' % self.name)
        status_now = state['status']
        if recreate or self._restart_asked(wanted_state):
            self.replace(state, wanted, wanted_state, 'recreate' if recreate else 'restart')
            return
        self.apply_changes(costs, wanted)
        self.transition(status_now, wanted_state, wanted)

    def apply_changes(self, costs, wanted):
        """Carry out the changes an existing container takes without a recreate (`costs`: their apply kinds)."""
        if LIVE in costs and self.act(container_spec.ACTIONS[LIVE]):
            self.driver.update(self.name, wanted['resources'])
        if NETWORK in costs and self.act(container_spec.ACTIONS[NETWORK]):
            self.network_up(wanted)
        if SETTINGS in costs and self.act(container_spec.ACTIONS[SETTINGS]):
            self.supervision.reload(self.settings(wanted, start=True))
        elif (LIVE in costs or NETWORK in costs) and not self.check_mode:
            # Only the record changes: the supervisor keeps what the container now runs with.
            self.supervision.reload(self.settings(wanted, start=True))

    def converge_as_is(self, state, record, wanted_state):
        """No bundle declared: move an existing container to `wanted_state` with the bundle and settings it has."""
        if state is None:
            raise missing_bundle(self.name, wanted_state)
        # The record holds its settings, log_path included. A container made by hand has none: should it need
        # creating again, it is made from its own bundle.
        wanted = dict(record) if record else None
        if self.params.get('recreate') or self._restart_asked(wanted_state):
            self.replace(state, wanted, wanted_state, 'recreate' if self.params.get('recreate') else 'restart')
            return
        self.transition(state['status'], wanted_state, wanted)

    def plan_network(self, config, wanted):
        """What attaching the container's namespace would do (every network input checked first: an unknown network,
        an address outside its subnet or taken, a host port published by another container are errors naming the
        option before anything changes); None for a container on no network."""
        if not wanted['networks']:
            return None
        elsewhere = self.network_held_elsewhere()
        if elsewhere is not None:
            raise errors.ConfigError('name', 'another container named %s, in runtime root %s, is on networks: a '
                                             'container\'s network namespace (%s) and records (%s) go by its name '
                                             'alone, so two containers on networks need two names; rename this one, '
                                             'or remove the other first' % (self.name, elsewhere, self.network.path,
                                                                            self.network.folder()))
        container_network.check_config(config, wanted['bundle'])
        return self.network.plan(wanted, container_network.hostname(config))

    def network_held_elsewhere(self):
        """The runtime root of another container of this name that holds the network namespace and records
        (its state or its supervisor folder still there); None when they are this container's or leftovers."""
        def exists(root):
            return os.path.isdir(os.path.join(root, self.name)) or \
                os.path.isdir(client.folder_for(root, self.name, self.supervisor_root))
        return self.network.held_elsewhere(exists)

    def network_up(self, wanted):
        """Attach the container's namespace (made if missing) as `wanted` says and write the config the runtime runs;
        whether the namespace was made now."""
        config = read_bundle(wanted['bundle'])[0]
        container_network.check_config(config, wanted['bundle'])
        result, created = self.network.attach(wanted, container_network.hostname(config))
        try:
            self.network.write_bundle(config, wanted['bundle'], result['mounts'])
        except BaseException:
            if created:
                self.network.detach()
            raise
        return created

    def _restart_asked(self, wanted_state):
        return bool(self.params.get('restart')) and wanted_state in ('running', 'paused', 'present')

    def replace(self, state, wanted, wanted_state, action):
        """Delete the container and create it again (`action`: recreate or restart), in the state wanted."""
        if self.act(action):
            status_now = state['status']
            self.remove(state)
            self.create(wanted, wanted_state if wanted_state != 'present' else status_now
                        if status_now in STATES else 'running')

    def converge_unit(self):
        """Write, update or remove the container's systemd unit (systemd_unit.py) as `systemd_unit` says."""
        from . import systemd_unit
        unit = systemd_unit.Unit(self.name, **self.unit_dirs)
        wanted = self.wanted_record
        if self.as_is and self.params.get('state') != 'absent':
            return
        if not self.params.get('systemd_unit') or wanted is None:
            if unit.exists() and (unit.ours() or not os.path.exists(unit.path)):
                self.diff['before']['systemd_unit'] = unit.path
                self.diff['after']['systemd_unit'] = None
                if self.act('unit'):
                    unit.remove()
            return
        self.unit_path = unit.path
        settings = self.settings(wanted, start=True)
        network_up = None
        if wanted.get('networks'):
            network_up = persist.network_up_command(self.lib_root) + [
                '--network-root', self.network.network_root, '--netns-dir', self.network.netns_dir, self.name]
        text = systemd_unit.render(self.name, self.supervision.directory, unit.settings_path,
                                   persist.supervisor_command(self.lib_root), self.driver.command(),
                                   wanted['stop_timeout'], wanted['bundle'], network_up)
        settings_text = systemd_unit.settings_text(settings)
        if unit.current() == (text, settings_text):
            return
        problems = systemd_unit.verify(unit.unit_name, text)
        if problems:
            raise errors.ConfigError('systemd_unit', 'systemd-analyze verify found problems in %s: %s'
                                     % (unit.unit_name, problems))
        self.diff['before']['systemd_unit'] = unit.path if unit.exists() else None
        self.diff['after']['systemd_unit'] = unit.path
        if self.act('unit'):
            unit.write(text, settings_text)

    def bundle_config(self):
        """(config.json, rootfs digest) of the bundle; with `bundle_options`, the bundle is converged first."""
        options = self.params.get('bundle_options')
        if options is None:
            return read_bundle(self.params['bundle'])
        from . import inline_bundle
        made = inline_bundle.converge(self.params['bundle'], options, check_mode=self.check_mode)
        self.bundle_diff = made.pop('diff', None) if made['changed'] else None
        made.pop('warnings', None)
        self.bundle_made = {key: value for key, value in made.items() if key != 'config'}
        if made['changed']:
            self.actions.append('bundle')
            if self.check_mode:
                # Nothing was written: compare with the config.json and rootfs a real run would make.
                return check_config(made['config'], self.params['bundle']), made['rootfs_digest']
        return read_bundle(self.params['bundle'])

    def transition(self, status_now, wanted_state, wanted):
        """Move an up-to-date container from `status_now` to `wanted_state`."""
        if wanted_state == 'present' or status_now == wanted_state:
            return
        self.diff['before']['state'] = status_now
        self.diff['after']['state'] = wanted_state
        if wanted_state == 'running':
            if status_now == 'paused':
                if self.act('resume'):
                    self.driver.resume(self.name)
            elif status_now == 'created':
                if self.act('start'):
                    self._start_created()
            elif self.act('start'):
                self.remove(None)
                self.create(wanted, 'running')
        elif wanted_state == 'paused':
            if status_now == 'stopped' and self.act('start'):
                self.remove(None)
                self.create(wanted, 'running')
            elif status_now == 'created' and self.act('start'):
                self._start_created()
            if self.act('pause'):
                self.driver.pause(self.name)
        elif wanted_state == 'stopped':
            if status_now != 'stopped' and self.act('stop'):
                self.stop()
        elif wanted_state == 'created':
            if self.act('recreate'):
                self.remove(None)
                self.create(wanted, 'created')

    def _start_created(self):
        if self.supervision.alive():
            self.supervision.start()
        else:
            self.driver.start(self.name)

    def create(self, wanted, wanted_state):
        if wanted is None:
            bundle = self.found['bundle']
            wanted = self.wanted(*read_bundle(bundle), bundle=bundle)
        start = wanted_state in ('running', 'paused', 'present')
        if wanted_state == 'stopped':
            start = False
        leftover = self.driver.state(self.name)
        if leftover is not None:
            self.driver.delete(self.name, force=True)
        self.supervision.remove()
        command = persist.supervisor_command(self.lib_root)
        # Attached before its process starts: it starts with its addresses, routes and names in place.
        made_netns = False
        if wanted.get('networks'):
            made_netns = self.network_up(wanted)
        elif self.network.leftover() and self.network_held_elsewhere() is None:
            # It left its last network (a recreate): its namespace and records go.
            self.network.detach()
        try:
            self.supervision.launch(self.settings(wanted, start), command)
            if start:
                status = self.supervision.wait(lambda s: s and s.get('state') != 'created', 30.0)
                if status and status.get('state') == 'failed':
                    raise errors.SetupError(status.get('error') or 'the container failed to start')
        except BaseException:
            self._undo_create()
            if made_netns:
                self.network.detach()
            raise
        if wanted_state == 'paused':
            self.driver.pause(self.name)

    def _undo_create(self):
        """A create that failed leaves nothing: no supervisor, container, state or log files."""
        discard(self.driver, self.name, self.supervision, with_logs=True)

    def stop(self):
        timeout = float((self.supervision.settings() or {}).get('stop_timeout') or self.params.get('stop_timeout') or 10)
        if self.supervision.alive():
            self.supervision.stop(timeout + 15)
            return
        state = self.holder.state(self.name)
        if state is None or state['status'] == 'stopped':
            return
        if state['status'] == 'paused':
            self.holder.resume(self.name)
        try:
            self.holder.kill(self.name, self.params.get('stop_signal') or 'SIGTERM')
        except errors.ContainerNotRunning:
            return
        if not self._wait_stopped(timeout):
            self.holder.kill(self.name, 'SIGKILL')
            self._wait_stopped(10)

    def _wait_stopped(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.holder.state(self.name)
            if state is None or state['status'] == 'stopped':
                return True
            time.sleep(0.05)
        return False

    def remove(self, state, with_logs=False):
        self.stop()
        self.holder.delete(self.name, force=True)
        self.supervision.remove(with_logs)
        self.holder = self.driver

    # -- results -----------------------------------------------------------

    def result(self):
        # Nothing done (or check mode): the container is as current() found it.
        if self.found is not None and (self.check_mode or not self.actions):
            state = self.found
        else:
            state = self.driver.state(self.name)
        status = self.supervision.status() or {}
        settings = self.supervision.settings() or {}
        record = settings.get('record') or {}
        result = {
            'changed': bool(self.actions),
            'actions': self.actions,
            'container': state or {},
            'status': (state or {}).get('status', 'absent'),
            'exit_code': status.get('exit_code'),
            'oom_killed': status.get('oom_killed'),
            'started_at': status.get('started_at'),
            'finished_at': status.get('finished_at'),
            'restart_count': status.get('restart_count', 0),
            'log_path': settings.get('log_path'),
            'logs': ['%s %s' % (stream, text) for _stamp, stream, text in self.supervision.logs(
                self.params.get('log_lines', 20))] if settings else [],
            'config_digest': record.get('config_digest'),
            'supervisor': client.describe(status),
        }
        result['systemd_unit'] = self.unit_path
        result.update(self.network.describe())
        if self.bundle_made is not None:
            result['bundle_result'] = self.bundle_made
        if self.bundle_diff:
            # The bundle's config.json (and rootfs) diffs, then the container's, headed with its name.
            result['diff'] = list(self.bundle_diff) + [dict(self.diff, before_header=self.name, after_header=self.name)]
        elif self.diff['before'] or self.diff['after']:
            result['diff'] = self.diff
        if self.warnings:
            result['warnings'] = self.warnings
        return result


def _stop_signal(config):
    return (config.get('annotations') or {}).get('org.opencontainers.image.stopSignal') or 'SIGTERM'
