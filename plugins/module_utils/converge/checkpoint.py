# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_checkpoint: checkpoint a container to an image folder, restore it, carry it to another host.

Every checkpoint the module writes gets a record beside CRIU's files,
oci_checkpoint.json: the container ID, a checkpoint ID drawn at dump time,
the config digest (as oci_container records it), the bundle, the runtime
and the CRIU version. The record makes the module idempotent:

- `checkpointed`: an image of this container with the container's current
  config digest is not taken again (unless `force`); an image of another
  container, or a folder of other files, is never overwritten by accident.
- `restored`: a container that runs and was restored from this checkpoint
  ID (its supervisor's settings say so) is left alone.

Containers run under a supervisor (supervisor/main.py) that owns their
stdio pipes. A dump of a supervised container is announced to it with the
file `checkpoint.json` in its folder, so the end of the dumped init is
recorded as `checkpointed` and never restarted; a restore is done by a new
supervisor that runs the runtime's `restore -d` with its own pipes, so the
restored processes write into the same log.
"""

import os
import re
import time
import uuid

from ..runtime import errors, jsonc, state as statemod
from ..runtime.criu import archive, image as criu_image
from .. import driver as drivers
from ..driver import persist
from ..supervisor import client, records
from . import container_network
from .container import Converger, canonical_digest, discard, parse_restart_policy, read_bundle, split_resources
from .failures import about

RECORD = 'oci_checkpoint.json'
STATES = ('checkpointed', 'restored')
SUPERVISOR_EXIT_TIMEOUT = 30.0


def config_digest(config):
    """The digest oci_container records for a config: sha256 of its canonical form without linux.resources."""
    return canonical_digest(split_resources(config)[0])


# The supervisor's settings a checkpoint carries to another host (the log file's path stays the target's own).
SUPERVISION_KEYS = ('restart_policy', 'stop_signal', 'stop_timeout', 'log_max_size', 'log_max_files')
SIGNAL_NAME = re.compile(r'^[A-Za-z0-9+-]{1,32}$')


def supervision_out(recorded):
    """The supervision settings of a container's record (its supervisor's), for the checkpoint's record."""
    return {key: recorded[key] for key in SUPERVISION_KEYS if recorded.get(key) is not None}


def supervision_in(carried, where):
    """The supervision settings a checkpoint's record carries, checked (the record may come from an archive):
    ConfigError naming `where` (the record file) and the entry."""
    if carried is None:
        return {}
    if not isinstance(carried, dict):
        raise errors.ConfigError('image_path', '%s, supervision: must be a dict: checkpoint the container again' % where)
    checked = {}
    for key in SUPERVISION_KEYS:
        value = carried.get(key)
        if value is None:
            continue
        bad = None
        if key == 'restart_policy':
            if not isinstance(value, str):
                bad = 'must be a string'
            else:
                try:
                    parse_restart_policy(value)
                except errors.ConfigError as exc:
                    bad = exc.reason
        elif key == 'stop_signal':
            if not isinstance(value, str) or not SIGNAL_NAME.match(value):
                bad = 'must be a signal name or number'
        elif isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == 'log_max_files' else 0):
            bad = 'must be a whole number of at least %d' % (1 if key == 'log_max_files' else 0)
        if bad:
            raise errors.ConfigError('image_path', '%s, supervision.%s: %s (not %r): checkpoint the container '
                                                   'again' % (where, key, bad, value))
        checked[key] = value
    return checked


def read_record(image_path):
    """The oci_checkpoint.json of an image folder, or None."""
    try:
        with open(os.path.join(image_path, RECORD), 'rb') as handle:
            record = jsonc.loads(handle.read())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(image_path, record):
    statemod.atomic_write(os.path.join(image_path, RECORD), jsonc.dumps(record).encode(), mode=0o600)


def image_state(image_path):
    """What the folder holds: 'missing', 'empty', 'checkpoint' or 'other' (files that are no checkpoint)."""
    if not os.path.lexists(image_path):
        return 'missing'
    if not os.path.isdir(image_path):
        return 'other'
    if not os.listdir(image_path):
        return 'empty'
    return 'checkpoint' if criu_image.is_checkpoint(image_path) else 'other'


def checkpoint_decision(name, image_path, found, record, digest, force):
    """'checkpoint' or 'keep' for state=checkpointed; ConfigError when the folder must not be overwritten.

    `found` is image_state(image_path); `digest` the container's config
    digest now (None when it no longer exists).
    """
    if found == 'other':
        raise errors.ConfigError('image_path', '%s holds files that are not a checkpoint: give a new or empty folder'
                                 % image_path)
    if found in ('missing', 'empty'):
        return 'checkpoint'
    if record is not None and record.get('id') != name and not force:
        raise errors.ConfigError('image_path', '%s holds a checkpoint of container %s, not of %s: give another '
                                 'image_path, or force=true to replace it' % (image_path, record.get('id'), name))
    if force or record is None:
        return 'checkpoint'
    if digest is not None and record.get('config_digest') != digest:
        return 'checkpoint'
    return 'keep'


def restore_decision(name, status, restored_from, checkpoint_id, force):
    """'restore', 'replace' (remove the container of that name first) or 'keep' for state=restored."""
    if status is None:
        return 'restore'
    if status in ('running', 'paused') and restored_from and restored_from == checkpoint_id:
        return 'keep'
    if force or status in ('stopped', 'created'):
        return 'replace'
    raise errors.ConfigError('name', 'container %s is %s and was not restored from this checkpoint: remove it first '
                                     '(oci_container state=absent), restore under another name, or force=true to '
                                     'replace it' % (name, status))


def export_decision(archive_path, checkpoint_id, force):
    """'export' or 'keep': an archive of this very checkpoint is not written again unless `force`."""
    if force or not os.path.isfile(archive_path):
        return 'export'
    try:
        manifest = archive.read_manifest(archive_path)
    except archive.CheckpointArchiveError:
        return 'export'
    return 'keep' if manifest.get('checkpoint_id') == checkpoint_id else 'export'


def _image_identity(image_path):
    """A checkpoint ID for an image without a record (one runc wrote by hand): its inventory file."""
    info = os.stat(os.path.join(image_path, criu_image.INVENTORY))
    return 'inventory:%d:%d:%d' % (info.st_dev, info.st_ino, info.st_mtime_ns)


class CheckpointRun:
    """One run of oci_checkpoint."""

    def __init__(self, params, check_mode=False, supervisor_root=client.SUPERVISOR_ROOT, lib_root=persist.LIB_ROOT,
                 driver=None, supervisions=client.Supervision, netns_dir=container_network.NETNS_DIR):
        """`driver` and `supervisions` (a client.Supervision-like class, given the folder) stand in for the
        runtime and the supervisor, `netns_dir` is where network namespaces are made (tests)."""
        self.params = params
        self.check_mode = check_mode
        self.name = params['name']
        self.driver = driver or drivers.get_driver(params.get('runtime'), params.get('runtime_root'),
                                                   params.get('criu_path'))
        self.supervisions = supervisions
        self.supervisor_root = supervisor_root
        self.lib_root = lib_root
        self.netns_dir = netns_dir
        self.supervision = self._supervision(self.name)
        self.image_path = os.path.abspath(params['image_path']) if params.get('image_path') else None
        self.actions = []
        self.diff = {'before': {}, 'after': {}}
        self.result = {}

    def _supervision(self, name):
        return self.supervisions(client.folder_for(self.driver.root, name, self.supervisor_root))

    def act(self, action):
        self.actions.append(action)
        return not self.check_mode

    def criu_version(self):
        """The version of the CRIU that will be used; CriuError naming criu_path when it is missing or unusable."""
        with about('criu_path'):
            return self.driver.criu().version_text

    def run(self):
        if not self.image_path:
            raise errors.ConfigError('image_path', 'is required: the folder of the checkpoint image')
        with about('runtime'):
            self.driver.require_checkpoint()
        if self.params.get('state') == 'restored':
            self.restored()
        else:
            self.checkpointed()
        self.result.update(changed=bool(self.actions), actions=self.actions, image_path=self.image_path)
        if self.diff['before'] or self.diff['after']:
            self.result['diff'] = self.diff
        return self.result

    # -- state=checkpointed ------------------------------------------------

    def checkpointed(self):
        params = self.params
        state = self.driver.state(self.name)
        digest = None
        bundle = None
        if state is not None:
            # A container on networks runs a copy of its config (container_network.py): its bundle is the record's.
            bundle = (((self.supervision.settings() or {}).get('record') or {}).get('networks') and
                      self.supervision.settings()['record'].get('bundle')) or state.get('bundle')
            with about('name'):
                config, _rootfs = read_bundle(bundle)
            digest = config_digest(config)
        found = image_state(self.image_path)
        record = read_record(self.image_path) if found == 'checkpoint' else None
        decision = checkpoint_decision(self.name, self.image_path, found, record, digest, params.get('force'))
        version = None
        if decision == 'checkpoint':
            if state is None:
                raise errors.ConfigError('name', 'container %s does not exist (runtime root %s): nothing to checkpoint; '
                                                 '%s is untouched' % (self.name, self.driver.root, self.image_path))
            if state['status'] not in ('running', 'paused'):
                raise errors.ConfigError('name', 'container %s is %s: only a running or paused container can be '
                                                 'checkpointed; it and %s are untouched'
                                         % (self.name, state['status'], self.image_path))
            version = self.criu_version()
            self.diff['before'] = {'container': state['status'], 'checkpoint': (record or {}).get('checkpoint_id')}
            self.diff['after'] = {'container': state['status'] if params.get('leave_running') else 'checkpointed',
                                  'checkpoint': '(new)'}
            if self.act('checkpoint'):
                record = self.dump(state, bundle, digest, version)
        dumped_now = decision == 'checkpoint' and not self.check_mode
        self.result.update(container=self.driver.state(self.name) or {}, checkpoint=record or {},
                           criu_version=version if decision == 'checkpoint' else (record or {}).get('criu_version'),
                           duration=record['duration'] if dumped_now else 0.0,
                           image_size=criu_image.size(self.image_path) if os.path.isdir(self.image_path) else 0)
        self.result['status'] = self.result['container'].get('status', 'absent')
        if params.get('export'):
            self.export(record, bundle)

    def dump(self, state, bundle, digest, version):
        """Checkpoint the container (announced to its supervisor), write the record; returns it."""
        params = self.params
        leave_running = bool(params.get('leave_running'))
        mark = os.path.join(self.supervision.directory, records.CHECKPOINT_MARK)
        supervised = self.supervision.alive() and not leave_running
        if supervised:
            records.write_json(mark, {'image_path': self.image_path, 'since': time.time()})
        if self.driver.name != drivers.VENDORED and os.path.exists(os.path.join(self.image_path, RECORD)):
            # runc dumps into the folder itself: an older record must not vouch for half-overwritten files.
            # (The vendored runtime dumps beside an older checkpoint and swaps it in only on success.)
            os.unlink(os.path.join(self.image_path, RECORD))
        network = self.network_record()
        supervision = supervision_out((self.supervision.settings() or {}).get('record') or {})
        started = time.monotonic()
        try:
            self.driver.checkpoint(self.name, self.image_path, leave_running=leave_running,
                                   tcp_established=params.get('tcp_established'), file_locks=params.get('file_locks'))
        except BaseException:
            if supervised:
                os.unlink(mark)
            raise
        duration = time.monotonic() - started
        record = {
            'id': self.name,
            'checkpoint_id': uuid.uuid4().hex,
            'config_digest': digest,
            'bundle': bundle,
            'runtime': self.driver.name,
            'criu_version': version,
            'checkpointed': statemod.rfc3339_nano(time.time_ns()),
            'leave_running': leave_running,
            'duration': round(duration, 3),
        }
        if network is not None:
            record['network'] = network
        if supervision:
            record['supervision'] = supervision
        write_record(self.image_path, record)
        if supervised:
            # The supervisor reaps the dumped init and exits; its folder (settings, log path) stays for the restore.
            self.supervision.wait(lambda s: not s or s.get('state') == 'checkpointed', SUPERVISOR_EXIT_TIMEOUT)
            os.unlink(mark)
        return record

    def export(self, record, bundle):
        path = os.path.abspath(self.params['export'])
        if record is None:
            if self.check_mode and self.actions:
                self.act('export')
                return
            raise errors.ConfigError('export', '%s holds no checkpoint written by oci_checkpoint to export'
                                     % self.image_path)
        decision = export_decision(path, record.get('checkpoint_id'), self.params.get('force'))
        self.result['export'] = path
        if decision == 'keep':
            self.result['archive_size'] = os.path.getsize(path)
            return
        bundle = self.params.get('bundle') or bundle or record.get('bundle')
        if not bundle or not os.path.isfile(os.path.join(bundle, 'config.json')):
            raise errors.ConfigError('bundle', 'the bundle of %s (%s) is not there: give the bundle to export with it'
                                     % (self.name, bundle))
        if self.act('export'):
            manifest = {key: record.get(key) for key in ('id', 'checkpoint_id', 'config_digest', 'criu_version',
                                                         'checkpointed', 'runtime', 'network')
                        if key in record}
            with about('export'):
                self.result['archive_size'] = archive.write(path, manifest, self.image_path, bundle)

    # -- state=restored ----------------------------------------------------

    def restored(self):
        params = self.params
        if params.get('import'):
            self.import_archive()
        if not params.get('bundle'):
            raise errors.ConfigError('bundle', 'is required with state=restored: the bundle the container was '
                                               'checkpointed from (or the one import made)')
        bundle = os.path.abspath(params['bundle'])
        if self.check_mode and 'import' in self.actions and not os.path.isdir(self.image_path):
            self.act('restore')
            return
        found = image_state(self.image_path)
        if found != 'checkpoint':
            raise errors.ConfigError('image_path', '%s %s: give the image_path a checkpoint was written to'
                                     % (self.image_path, {'missing': 'does not exist', 'empty': 'is empty',
                                                          'other': 'holds no checkpoint'}[found]))
        with about('image_path'):
            criu_image.require_checkpoint(self.image_path)
        if self.check_mode and 'import' in self.actions and not os.path.isdir(bundle):
            self.act('restore')
            return
        with about('bundle'):
            config, _rootfs = read_bundle(bundle)
        record = read_record(self.image_path)
        digest = config_digest(config)
        if record and record.get('config_digest') and record['config_digest'] != digest:
            raise errors.ConfigError('bundle', 'the checkpoint in %s is of container %s with config digest %s, but '
                                               '%s/config.json has digest %s: restore it with the bundle it was '
                                               'checkpointed from' % (self.image_path, record.get('id'),
                                                                      record['config_digest'], bundle, digest))
        # Checked before anything changes (the record may have come in an archive).
        supervision_in((record or {}).get('supervision'), '%s/%s' % (self.image_path, RECORD))
        checkpoint_id = (record or {}).get('checkpoint_id') or _image_identity(self.image_path)
        state = self.driver.state(self.name)
        status = state['status'] if state else None
        restored_from = ((self.supervision.settings() or {}).get('restored_from') or {}).get('checkpoint_id')
        decision = restore_decision(self.name, status, restored_from, checkpoint_id, params.get('force'))
        if decision != 'keep':
            moving = self.moving((record or {}).get('network'), (record or {}).get('id'))
            version = self.criu_version()
            self.diff['before'] = {'container': status or 'absent', 'restored_from': restored_from}
            self.diff['after'] = {'container': 'running', 'restored_from': checkpoint_id}
            if decision == 'replace' and self.act('remove'):
                self.remove_container()
            if self.act('restore'):
                started = time.monotonic()
                self.restore(bundle, config, record, checkpoint_id, moving)
                self.result['duration'] = round(time.monotonic() - started, 3)
            self.result['criu_version'] = version
        state = self.driver.state(self.name) or {}
        settings = self.supervision.settings() or {}
        self.result.update(container=state, status=state.get('status', 'absent'), checkpoint=record or {},
                           checkpoint_id=checkpoint_id, image_size=criu_image.size(self.image_path),
                           log_path=settings.get('log_path'), supervisor=client.describe(self.supervision.status()))
        self.result.setdefault('duration', 0.0)
        self.result.setdefault('criu_version', (record or {}).get('criu_version'))

    def remove_container(self):
        timeout = float((self.supervision.settings() or {}).get('stop_timeout') or 10)
        if self.supervision.alive():
            self.supervision.stop(timeout + 15)
        self.driver.delete(self.name, force=True)

    def container_network(self):
        """The container's network side on this host (records under the network_root option)."""
        return container_network.ContainerNetwork(self.name, self.params.get('network_root'), self.netns_dir,
                                                  self.driver.root)

    def network_record(self):
        """What another host needs to put the container on its networks again, kept in the checkpoint's record:
        {moved: network/attach.py's moved_record, options: its networks, ports and dns as oci_container recorded
        them}; None when it is on no network."""
        recorded = (self.supervision.settings() or {}).get('record') or {}
        if not recorded.get('networks'):
            return None
        from ..network import attach  # pylint: disable=import-outside-toplevel
        here = container_network.ContainerNetwork(self.name, recorded.get('network_root'), self.netns_dir)
        moved = attach.moved_record(here.store, self.name)
        if moved is None:
            return None
        return {'moved': moved, 'options': {key: recorded.get(key) for key in ('networks', 'ports', 'dns')}}

    def moving(self, network, checkpointed_name):
        """The checkpoint's network record when this restore must put the container on its networks here (it
        was checkpointed on another host, or removed here since), after checking that it can: a network missing
        here is a ConfigError naming it before anything changes. None when the container is on no network, or
        its network namespace is kept here for it (the checkpointed container itself)."""
        if not network:
            return None
        if ((self.supervision.settings() or {}).get('record') or {}).get('networks'):
            return None
        if checkpointed_name != self.name:
            raise errors.ConfigError('name', 'the checkpointed container %s was on networks: restore it under its '
                                             'own name (its addresses and host ports go with the name)'
                                     % checkpointed_name)
        if not isinstance(network, dict) or not isinstance(network.get('moved'), dict) or \
                not isinstance(network.get('options'), dict):
            raise errors.ConfigError('image_path', 'the network record in %s/%s is damaged: checkpoint the '
                                                   'container again' % (self.image_path, RECORD))
        try:
            self.container_network().plan_move(network['moved'])
        except errors.ConfigError as exc:
            if not (exc.field or '').startswith('moved.'):
                raise
            # The entry at fault is in the checkpoint's record, not in the task: name the file and the entry.
            where = '%s/%s' % (self.image_path, RECORD)
            raise errors.ConfigError('image_path', '%s, network.%s: %s' % (where, exc.field, exc.reason))
        return network

    def restore(self, bundle, config, record, checkpoint_id, moving=None):
        """Restore the container; with `moving` (see moving()) first put its namespace on its networks here."""
        settings = self.supervisor_settings(bundle, config, record, moving)
        network = None
        if moving is not None:
            network = self.container_network()
            moved_in = network.move_in(moving['moved'], config, bundle)
            self.result.update(network.describe(), readdressed=moved_in['readdressed'])
        try:
            self._restore(settings, checkpoint_id)
        except BaseException:
            if network is not None:
                network.detach()
            raise

    def _restore(self, settings, checkpoint_id):
        params = self.params
        restored_from = {'image_path': self.image_path, 'checkpoint_id': checkpoint_id}
        if not params.get('supervise', True):
            self.driver.restore(self.name, settings['bundle'], self.image_path,
                                tcp_established=params.get('tcp_established'), file_locks=params.get('file_locks'))
            return
        # settings['bundle'] is the run bundle of a container on networks: it joins the namespace kept for it.
        settings['restore_args'] = self.driver.restore_command(settings['bundle'], self.image_path,
                                                               params.get('tcp_established'), params.get('file_locks'))
        settings['restored_from'] = restored_from
        before = self.supervision.settings()
        self.supervision.remove()
        try:
            self.supervision.launch(settings, persist.supervisor_command(self.lib_root))
        except BaseException:
            self._undo_restore(before)
            raise

    def _undo_restore(self, before):
        """A failed restore leaves no supervisor or container; the checkpointed container's settings and log stay."""
        discard(self.driver, self.name, self.supervision)
        if before:
            self.supervision.write_settings(before)

    def supervisor_settings(self, bundle, config, record, moving=None):
        """The supervisor's settings, as oci_container would write them, keeping those of the checkpointed container.

        A restore under the same name keeps its log file, restart policy and
        stop settings; a clone takes the policies of its source (if it lives
        on this host) and a log file of its own. A container `moving` here is
        put on the networks the checkpoint's record names, under this host's
        network_root.
        """
        own = self.supervision.settings()
        source = own or self._supervision((record or {}).get('id') or self.name).settings() or {}
        recorded = source.get('record') or {}
        if not recorded:
            # No supervisor of it here (moved from another host): the settings its checkpoint carries.
            recorded = supervision_in((record or {}).get('supervision'), '%s/%s' % (self.image_path, RECORD))
        if moving is not None:
            recorded = dict(recorded, network_root=self.container_network().network_root, **moving['options'])
        if recorded.get('networks') and not own and moving is None:
            raise errors.ConfigError('name', 'the checkpointed container %s was on networks %s: restore it under its '
                                             'own name (its network namespace and addresses are kept for it)'
                                     % ((record or {}).get('id'), ', '.join(item['name'] for item in recorded['networks'])))
        converger_params = {
            'name': self.name, 'bundle': bundle, 'runtime': self.params.get('runtime'),
            'runtime_root': self.driver.root, 'restart_policy': recorded.get('restart_policy'),
            'stop_signal': recorded.get('stop_signal'), 'stop_timeout': recorded.get('stop_timeout', 10),
            'log_max_size': recorded.get('log_max_size'), 'log_max_files': recorded.get('log_max_files'),
            'log_path': self.params.get('log_path') or (own or {}).get('log_path'),
            'networks': recorded.get('networks'), 'ports': recorded.get('ports'),
            'dns': (recorded.get('dns') or {}).get('servers'), 'dns_search': (recorded.get('dns') or {}).get('search'),
            'dns_options': (recorded.get('dns') or {}).get('options'), 'network_root': recorded.get('network_root'),
        }
        converger = Converger(converger_params, supervisor_root=self.supervisor_root, lib_root=self.lib_root,
                              driver=self.driver, supervisions=self.supervisions, netns_dir=self.netns_dir)
        _config, rootfs_digest = read_bundle(bundle)
        settings = converger.settings(converger.wanted(config, rootfs_digest), start=True)
        settings['runtime'] = self.driver.command()
        return settings

    # -- import ------------------------------------------------------------

    def import_archive(self):
        params = self.params
        path = os.path.abspath(params['import'])
        if not os.path.isfile(path):
            raise errors.ConfigError('import', '%s does not exist: give the archive oci_checkpoint export wrote' % path)
        try:
            manifest = archive.read_manifest(path)
        except archive.CheckpointArchiveError as exc:
            raise errors.ConfigError('import', str(exc))
        self.result['import'] = path
        # A container on networks moving here: a network missing here is an error before anything is unpacked.
        self.moving(manifest.get('network'), manifest.get('id'))
        found = image_state(self.image_path)
        record = read_record(self.image_path) if found == 'checkpoint' else None
        if found == 'other' or (found == 'checkpoint' and (record or {}).get('checkpoint_id') != manifest['checkpoint_id']
                                and not params.get('force')):
            raise errors.ConfigError('image_path', '%s already holds %s: give a new or empty folder to import into, '
                                                   'or force=true to replace it'
                                     % (self.image_path, 'another checkpoint' if found == 'checkpoint' else 'other files'))
        bundle = os.path.abspath(params['bundle']) if params.get('bundle') else None
        if bundle is None:
            raise errors.ConfigError('bundle', 'is required with import: the bundle folder to restore with (made from '
                                               'the archive if it does not exist)')
        bundle_action = self._bundle_action(bundle, manifest)
        image_action = found != 'checkpoint' or (record or {}).get('checkpoint_id') != manifest['checkpoint_id']
        if not image_action and not bundle_action:
            return
        if not self.act('import'):
            return
        with about('import'):
            if image_action:
                self._import_image(path)
            if bundle_action == 'create':
                self._import_bundle(path, bundle)
            elif bundle_action == 'changes':
                self._import_changes(path, bundle)
            archive_mark = os.path.join(bundle, archive.IMPORTED)
            records.write_json(archive_mark, {'checkpoint_id': manifest['checkpoint_id'], 'from': path})

    def _bundle_action(self, bundle, manifest):
        """'create', 'changes' (apply the overlay changes to an existing bundle) or None (it is up to date)."""
        if not os.path.isdir(bundle):
            if manifest.get('rootfs') != archive.ROOTFS_FULL:
                raise errors.ConfigError('bundle', '%s does not exist and the archive carries only the overlay changes '
                                                   'of the rootfs: make the bundle on this host first (oci_bundle with '
                                                   'image %s, mode overlay)' % (bundle, manifest.get('image_digest')))
            return 'create'
        with about('bundle'):
            config, _rootfs = read_bundle(bundle)
        if config_digest(config) != manifest.get('config_digest'):
            raise errors.ConfigError('bundle', '%s/config.json (digest %s) is not the config of the checkpointed '
                                               'container (digest %s): import into a new bundle folder'
                                     % (bundle, config_digest(config), manifest.get('config_digest')))
        try:
            imported = records.read_json(os.path.join(bundle, archive.IMPORTED))
        except (OSError, ValueError):
            imported = {}
        if imported.get('checkpoint_id') == manifest['checkpoint_id']:
            return None
        if manifest.get('rootfs') == archive.ROOTFS_FULL:
            raise errors.ConfigError('bundle', '%s exists and the archive carries a whole rootfs: import into a new '
                                               'bundle folder (it is made from the archive)' % bundle)
        if archive.bundle_image_digest(bundle) != manifest.get('image_digest'):
            raise errors.ConfigError('bundle', '%s holds image %s, the checkpointed container ran image %s'
                                     % (bundle, archive.bundle_image_digest(bundle), manifest.get('image_digest')))
        return 'changes'

    def _import_image(self, path):
        staging = self.image_path.rstrip('/') + '.import-%d' % os.getpid()
        archive.extract(path, archive.CHECKPOINT_DIR, staging)
        if os.path.isdir(self.image_path):
            old = self.image_path.rstrip('/') + '.old-%d' % os.getpid()
            os.rename(self.image_path, old)
            os.rename(staging, self.image_path)
            archive.remove_tree(old)
        else:
            os.rename(staging, self.image_path)

    def _import_bundle(self, path, bundle):
        staging = bundle.rstrip('/') + '.import-%d' % os.getpid()
        try:
            archive.extract(path, archive.BUNDLE_DIR, staging)
            archive.extract(path, archive.ROOTFS_DIR, os.path.join(staging, 'rootfs'))
            os.rename(staging, bundle)
        except BaseException:
            archive.remove_tree(staging)
            raise

    def _import_changes(self, path, bundle):
        staging = bundle.rstrip('/') + '.changes-%d' % os.getpid()
        try:
            archive.extract(path, archive.ROOTFS_DIR, staging)
            archive.apply_changes(staging, os.path.join(bundle, 'rootfs'))
        finally:
            archive.remove_tree(staging)
