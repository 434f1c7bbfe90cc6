# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every setting a container is converged on, declared once.

`compare` says how the wanted and the recorded value are compared; `apply`
says what a difference costs: `recreate` (stop, delete, create, start),
`update` (changed live in the running container with the runtime's update),
or `settings` (only the supervisor's settings change). The same table
decides `changed`, the actions and the diff, so they cannot disagree.
"""


class Option:
    def __init__(self, name, compare, apply, description):
        self.name = name
        self.compare = compare
        self.apply = apply
        self.description = description

    def differs(self, wanted, recorded):
        if self.compare == 'value':
            return wanted != recorded
        if self.compare == 'dict':
            return _normalise(wanted) != _normalise(recorded)
        raise ValueError(self.compare)


def _normalise(value):
    """Dicts compared without their empty members ({} and None mean "nothing set")."""
    if isinstance(value, dict):
        cleaned = {k: _normalise(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


OPTIONS = (
    Option('bundle', 'value', 'recreate', 'the bundle folder the container runs from'),
    Option('config_digest', 'value', 'recreate', 'config.json without linux.resources (sha256 of its canonical form)'),
    Option('resources', 'dict', 'update', 'linux.resources of config.json: memory, cpu, pids, blockIO limits'),
    Option('rootfs_digest', 'value', 'recreate', "the rootfs' digest as oci_bundle recorded it"),
    Option('runtime', 'value', 'recreate', 'the runtime binary that runs the container'),
    Option('restart_policy', 'value', 'settings', 'what the supervisor does when the container exits'),
    Option('stop_signal', 'value', 'settings', 'the signal that stops the container'),
    Option('stop_timeout', 'value', 'settings', 'seconds between the stop signal and SIGKILL'),
    Option('log_max_size', 'value', 'settings', 'size at which the log file is rotated'),
    Option('log_max_files', 'value', 'settings', 'how many log files are kept'),
)

BY_NAME = {option.name: option for option in OPTIONS}

# Resources the runtime's update can change in a running container; a change
# to any other part of linux.resources recreates it.
LIVE_RESOURCES = ('memory', 'cpu', 'pids', 'blockIO')


def differences(wanted, recorded):
    """[(option, recorded value, wanted value)] for every option that differs."""
    found = []
    for option in OPTIONS:
        if option.name not in wanted:
            continue
        before = recorded.get(option.name)
        after = wanted[option.name]
        if option.differs(after, before):
            found.append((option, before, after))
    return found
