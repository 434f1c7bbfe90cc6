# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_container's `systemd_unit`: a unit that starts the container at boot, without Ansible.

The unit runs the container's supervisor in the foreground, from the copy of
the runtime and supervisor that driver/persist.py keeps on the target (a
module's own files are gone once the task ends). Before it starts, the unit
puts the supervisor's settings back under /run (gone at boot) from a copy
kept beside the unit, and deletes a leftover container of the same ID, so the
supervisor creates and starts the container as the module would have. The
next Ansible run finds the supervisor's record and changes nothing.

    /etc/systemd/system/runcible-<name>.service          the unit
    /etc/systemd/system/multi-user.target.wants/...      enabled (a symlink, as systemctl enable makes)
    /var/lib/runcible/units/runcible-<name>.json         the supervisor settings it starts from
"""

import os
import shutil
import tempfile

from ..runtime import errors, jsonc
from ..runtime.linux import spawn

UNIT_DIR = '/etc/systemd/system'
WANTS = 'multi-user.target.wants'
SETTINGS_DIR = '/var/lib/runcible/units'
MARKER = '# Written by runcible.oci (oci_container systemd_unit).'
# What systemd needs beyond the container's stop timeout: the supervisor's own exit and the runtime's delete.
STOP_MARGIN = 15


class Unit:
    """The files of one container's unit."""

    def __init__(self, name, unit_dir=UNIT_DIR, settings_dir=SETTINGS_DIR):
        self.name = name
        self.unit_name = 'runcible-%s.service' % name
        self.path = os.path.join(unit_dir, self.unit_name)
        self.wants = os.path.join(unit_dir, WANTS, self.unit_name)
        self.settings_path = os.path.join(settings_dir, 'runcible-%s.json' % name)

    def ours(self):
        """Whether the unit file exists and was written by this collection (a unit of the same name by hand is not)."""
        try:
            with open(self.path) as handle:
                return handle.readline().rstrip('\n') == MARKER
        except OSError:
            return False

    def exists(self):
        return os.path.lexists(self.path) or os.path.lexists(self.settings_path)

    def current(self):
        """(unit text, settings text) as they are on disk ('' when missing)."""
        return _read(self.path), _read(self.settings_path)

    def write(self, text, settings_text):
        """Write the settings copy and the unit, enable it, and tell a running systemd."""
        if os.path.exists(self.path) and not self.ours():
            raise errors.ConfigError('systemd_unit', '%s exists and was not written by runcible.oci: remove or rename '
                                     'it first' % self.path)
        _write_atomic(self.settings_path, settings_text, 0o600)
        _write_atomic(self.path, text, 0o644)
        os.makedirs(os.path.dirname(self.wants), exist_ok=True)
        if os.path.realpath(self.wants) != os.path.realpath(self.path):
            if os.path.lexists(self.wants):
                os.unlink(self.wants)
            os.symlink(self.path, self.wants)
        _daemon_reload()

    def remove(self):
        """Disable and remove the unit and its settings copy (a unit not written by this collection is left)."""
        if os.path.exists(self.path) and not self.ours():
            return
        for path in (self.wants, self.path, self.settings_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        _daemon_reload()


def render(name, supervisor_folder, settings_path, supervise_argv, runtime_argv, stop_timeout, bundle,
           network_up_argv=None):
    """The unit's text. `network_up_argv`: for a container on networks, the command that puts it back on them
    (network/boot.py), run first."""
    folder = supervisor_folder
    lines = [
        MARKER,
        '# The supervisor of container %s: it creates and starts the container, logs its output and' % name,
        '# applies its restart policy. Change it with runcible.oci.oci_container, not by hand.',
        '[Unit]',
        'Description=runcible.oci container %s' % name,
        # nftables.service loads its ruleset with a flush: the container's rules are written after it.
        'After=local-fs.target network.target' + (' nftables.service' if network_up_argv else ''),
        'RequiresMountsFor=%s' % _escape(bundle),
        '',
        '[Service]',
        'Type=simple',
    ]
    if network_up_argv:
        # Its network namespace (under /run), veth, bridge and rules are gone at boot; its records are not.
        lines.append('ExecStartPre=' + _command(list(network_up_argv)))
    lines += [
        'ExecStartPre=' + _command(['/bin/mkdir', '-p', '-m', '0700', folder]),
        'ExecStartPre=' + _command(['/bin/cp', settings_path, os.path.join(folder, 'settings.json')]),
        'ExecStartPre=-' + _command(list(runtime_argv) + ['delete', '--force', name]),
        'ExecStart=' + _command(list(supervise_argv) + [folder]),
        # SIGTERM to the supervisor alone: it stops the container with its stop signal and timeout, then exits.
        'KillMode=mixed',
        'TimeoutStopSec=%d' % (int(stop_timeout) + STOP_MARGIN),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
    ]
    return '\n'.join(lines) + '\n'


def settings_text(settings):
    """The settings copy's text (the supervisor reads JSON)."""
    return jsonc.dumps(settings) + '\n'


def verify(unit_name, text):
    """Problems `systemd-analyze verify` finds in the unit ('' when none, or when systemd-analyze is missing)."""
    analyze = shutil.which('systemd-analyze')
    if not analyze:
        return ''
    folder = tempfile.mkdtemp(prefix='runcible-unit-')
    try:
        path = os.path.join(folder, unit_name)
        with open(path, 'w') as handle:
            handle.write(text)
        try:
            result = spawn.run([analyze, 'verify', path], executable=analyze, timeout=60)
        except OSError as exc:
            return 'systemd-analyze verify could not run: %s' % exc
        if result.timed_out:
            return 'systemd-analyze verify did not finish within 60s'
        output = (result.stdout + result.stderr).decode('utf-8', 'replace')
        # verify exits 0 on parse errors it "ignores"; the lines about our file are what matter.
        problems = [line for line in output.splitlines() if path in line or unit_name in line]
        if result.returncode != 0 and not problems:
            problems = output.splitlines()[-3:]
        return '; '.join(line.replace(path, unit_name) for line in problems)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ''


def _write_atomic(path, text, mode):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(temporary, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _daemon_reload():
    """Tell systemd about the change when it runs (it is not PID 1 everywhere, e.g. in containers)."""
    systemctl = shutil.which('systemctl')
    if systemctl and os.path.isdir('/run/systemd/system'):
        spawn.run([systemctl, 'daemon-reload'], executable=systemctl, timeout=120)


def _escape(word):
    """One word of a unit's command line: % and $ escaped, quoted when it holds spaces or quotes."""
    word = word.replace('%', '%%').replace('$', '$$')
    if any(char in word for char in ' \t"\'\\;'):
        return '"%s"' % word.replace('\\', '\\\\').replace('"', '\\"')
    return word


def _command(argv):
    return ' '.join(_escape(str(arg)) for arg in argv)
