# -*- coding: utf-8 -*-
"""A runtime and supervisors in memory, for unit tests of the convergers (Converger, CheckpointRun).

FakeDriver keeps containers as OCI state dicts and moves them between
statuses the way a runtime does (create -> created, start -> running, kill ->
stopped, checkpoint -> gone...). FakeSupervision stands in for a container's
supervisor: launched, it creates (and starts, or restores) the container
through the driver, as the real one runs the runtime. Both record every call
in `host.calls`, and `host.fail(name)` makes the next such call raise, so a
test can break a run in the middle. What the real runtime and supervisor do
is the system and integration tests' job; these test what the convergers
decide and in which order they do it.
"""

import json
import os

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.supervisor import records


class FakeHost:
    """One machine: its containers and its supervisors' folders."""

    def __init__(self, root):
        self.root = str(root)
        self.calls = []
        self.containers = {}
        self.supervisors = {}
        self._failures = {}
        self.driver = FakeDriver(self)

    def fail(self, name, error=None):
        """The next call `name` (a driver method or 'launch') raises `error` (a SetupError by default)."""
        self._failures[name] = error or errors.SetupError('%s failed (injected)' % name)

    def record(self, name, *args):
        self.calls.append((name,) + args)
        error = self._failures.pop(name, None)
        if error is not None:
            raise error

    def called(self, *names):
        """The recorded calls named `names` (all calls if none given), as (name, args...) tuples."""
        return [call for call in self.calls if not names or call[0] in names]

    def supervisions(self, directory):
        """The `supervisions` argument of Converger and CheckpointRun."""
        return FakeSupervision(self, directory)


class FakeDriver:
    """The driver interface (driver/__init__.py Driver) over FakeHost.containers."""

    name = 'runcible'

    def __init__(self, host):
        self.host = host
        self.root = os.path.join(host.root, 'runtime')
        self.criu_path = None

    def command(self):
        return ['/fake/runcible', '--root', self.root]

    def state(self, container_id):
        found = self.host.containers.get(container_id)
        return dict(found) if found else None

    def list(self):
        return [dict(found) for found in self.host.containers.values()]

    def create(self, container_id, bundle, stdio=None, pid_file=None):
        self.host.record('create', container_id)
        if container_id in self.host.containers:
            raise errors.ContainerExists(container_id)
        self.host.containers[container_id] = {'ociVersion': '1.0.2', 'id': container_id, 'status': 'created',
                                              'pid': 1000 + len(self.host.calls), 'bundle': bundle}

    def _existing(self, container_id):
        found = self.host.containers.get(container_id)
        if found is None:
            raise errors.ContainerNotExist(container_id)
        return found

    def start(self, container_id):
        self.host.record('start', container_id)
        self._existing(container_id)['status'] = 'running'

    def kill(self, container_id, signal='SIGTERM', all_processes=False):
        self.host.record('kill', container_id, signal)
        found = self._existing(container_id)
        if found['status'] not in ('running', 'paused'):
            raise errors.ContainerNotRunning()
        found['status'] = 'stopped'

    def delete(self, container_id, force=False):
        self.host.record('delete', container_id)
        self._existing(container_id)
        del self.host.containers[container_id]

    def update(self, container_id, resources):
        self.host.record('update', container_id, resources)
        self._existing(container_id)['resources'] = resources

    def pause(self, container_id):
        self.host.record('pause', container_id)
        self._existing(container_id)['status'] = 'paused'

    def resume(self, container_id):
        self.host.record('resume', container_id)
        self._existing(container_id)['status'] = 'running'

    def criu(self):
        return type('Criu', (), {'version_text': '4.2'})()

    def require_checkpoint(self):
        return None

    def checkpoint(self, container_id, image_path, leave_running=False, tcp_established=False, file_locks=False):
        self.host.record('checkpoint', container_id, image_path)
        self._existing(container_id)
        os.makedirs(image_path, exist_ok=True)
        for name, data in (('inventory.img', 'criu'), ('descriptors.json', '["/dev/null", "pipe:[1]", "pipe:[2]"]')):
            with open(os.path.join(image_path, name), 'w') as handle:
                handle.write(data)
        if not leave_running:
            del self.host.containers[container_id]
            for supervisor in self.host.supervisors.values():
                if (supervisor.get('settings') or {}).get('id') == container_id and supervisor.get('alive'):
                    supervisor['alive'] = False
                    supervisor['status'] = {'state': 'checkpointed'}

    def restore(self, container_id, bundle, image_path, tcp_established=False, file_locks=False, stdio=None,
                pid_file=None):
        self.host.record('restore', container_id, image_path)
        if container_id in self.host.containers:
            raise errors.ContainerExists(container_id)
        self.host.containers[container_id] = {'ociVersion': '1.0.2', 'id': container_id, 'status': 'running',
                                              'pid': 2000 + len(self.host.calls), 'bundle': bundle}

    def restore_command(self, bundle, image_path, tcp_established=False, file_locks=False):
        return ['restore', '-d', '--image-path', image_path, '--bundle', bundle]


class FakeSupervision:
    """client.Supervision's interface; what a supervisor would do, done through the fake driver at once."""

    def __init__(self, host, directory):
        self.host = host
        self.directory = directory

    @property
    def _entry(self):
        return self.host.supervisors.get(self.directory)

    @property
    def settings_path(self):
        return os.path.join(self.directory, records.SETTINGS)

    def settings(self):
        entry = self._entry
        return json.loads(json.dumps(entry['settings'])) if entry and entry.get('settings') else None

    def status(self):
        entry = self._entry
        return dict(entry['status']) if entry and entry.get('status') else None

    def exists(self):
        return self._entry is not None

    def alive(self, status=None):
        return bool(self._entry and self._entry.get('alive'))

    def orphaned(self, status=None):
        return False

    def write_settings(self, settings):
        os.makedirs(self.directory, exist_ok=True)
        self.host.supervisors.setdefault(self.directory, {})['settings'] = json.loads(json.dumps(settings))

    def launch(self, settings, command, timeout=60.0):
        self.write_settings(settings)
        self.host.record('launch', settings['id'])
        driver = self.host.driver
        name = settings['id']
        if settings.get('restore_args'):
            driver.restore(name, settings['bundle'], settings['restore_args'][3])
        else:
            driver.create(name, settings['bundle'])
            if settings.get('start'):
                driver.start(name)
        entry = self._entry
        entry['alive'] = True
        entry['status'] = {'state': driver.state(name)['status'], 'supervisor_pid': 1}
        return self.status()

    def wait(self, condition, timeout):
        return self.status()

    def start(self, timeout=30.0):
        self.host.driver.start(self._entry['settings']['id'])
        self._entry['status']['state'] = 'running'
        return self.status()

    def stop(self, timeout):
        entry = self._entry
        name = entry['settings']['id']
        self.host.record('supervisor-stop', name)
        found = self.host.driver.state(name)
        if found and found['status'] in ('running', 'paused'):
            self.host.containers[name]['status'] = 'stopped'
        entry['alive'] = False
        entry['status'] = {'state': 'stopped'}
        return self.status()

    def reload(self, settings):
        self.host.record('reload', settings['id'])
        self.write_settings(settings)

    def remove(self, with_logs=False):
        self.host.supervisors.pop(self.directory, None)

    def logs(self, count=20):
        return []
