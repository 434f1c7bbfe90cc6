# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device access rules: the spec's list, runc's defaults, and the v1 devices controller.

The rules a container gets are the spec's linux.resources.devices followed
by runc's standard allowed devices, on top of "deny everything". An Emulator
computes the state those rules produce, as the kernel's v1 devices controller
would, so that v1 can be moved from its current state with the fewest
writes (runc's Transition) and v2 can get an equivalent eBPF program.
"""

from .. import errors
from .fsio import CgroupFieldError, write_field

WILDCARD = -1
FIELD = 'linux.resources.devices'


class Rule:
    """One device rule: kind 'a'/'b'/'c' (the spec's "type"), major/minor (-1 = any), access from 'rwm', allow."""

    __slots__ = ('kind', 'major', 'minor', 'access', 'allow', 'field')

    def __init__(self, kind, major, minor, access, allow, field=FIELD):
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = ''.join(c for c in 'rwm' if c in access)
        self.allow = allow
        self.field = field

    def cgroup_string(self):
        """The rule as written to devices.allow/devices.deny: 'c 1:3 rwm'."""
        return '%s %s:%s %s' % (self.kind, _number(self.major), _number(self.minor), self.access)

    def __eq__(self, other):
        return isinstance(other, Rule) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__ if s != 'field')

    def __repr__(self):
        return 'Rule(%s, %s)' % (self.cgroup_string(), 'allow' if self.allow else 'deny')


def _number(value):
    return '*' if value == WILDCARD else str(value)


# runc 1.1's specconv.AllowedDevices, in its order: mknod of any device, then
# /dev/null, random, full, tty, zero, urandom, the pts range, ptmx and tun.
# `path` lets a linux.devices entry of the same path replace the default.
ALLOWED_DEVICES = (
    (None, Rule('c', WILDCARD, WILDCARD, 'm', True)),
    (None, Rule('b', WILDCARD, WILDCARD, 'm', True)),
    ('/dev/null', Rule('c', 1, 3, 'rwm', True)),
    ('/dev/random', Rule('c', 1, 8, 'rwm', True)),
    ('/dev/full', Rule('c', 1, 7, 'rwm', True)),
    ('/dev/tty', Rule('c', 5, 0, 'rwm', True)),
    ('/dev/zero', Rule('c', 1, 5, 'rwm', True)),
    ('/dev/urandom', Rule('c', 1, 9, 'rwm', True)),
    (None, Rule('c', 136, WILDCARD, 'rwm', True)),
    (None, Rule('c', 5, 2, 'rwm', True)),
    (None, Rule('c', 10, 200, 'rwm', True)),
)


def container_rules(resource_devices, linux_devices=None):
    """Rules for a container: the spec's (checked by resources.check) then runc's defaults.

    A default whose path is also in linux.devices is left out, as runc does
    (the spec's device takes priority).
    """
    rules = []
    for index, device in enumerate(resource_devices or []):
        major = device.get('major')
        minor = device.get('minor')
        rules.append(Rule(device.get('type') or 'a', WILDCARD if major is None else major,
                          WILDCARD if minor is None else minor, device.get('access') or '', bool(device.get('allow')),
                          '%s[%d]' % (FIELD, index)))
    spec_paths = set(d.get('path') for d in linux_devices or [])
    rules.extend(rule for path, rule in ALLOWED_DEVICES if path is None or path not in spec_paths)
    return rules


class Emulator:
    """The state of a v1 devices cgroup: a default (allow or deny) plus exceptions.

    `rules` maps (type, major, minor) to the access letters the exception
    covers. Applying rules follows the kernel, with runc's one hardening:
    removing access that a partially matching wildcard exception grants is an
    error, because the kernel would silently keep allowing it.
    """

    def __init__(self, default_allow=False, rules=None):
        self.default_allow = default_allow
        self.rules = dict(rules or {})

    @classmethod
    def from_rules(cls, rules):
        """The state after applying `rules` to a deny-all cgroup."""
        emulator = cls()
        for rule in rules:
            emulator.apply(rule)
        return emulator

    @classmethod
    def from_list(cls, text):
        """The state that devices.list shows ('a *:* rwm' means allow-by-default)."""
        emulator = cls()
        for line in text.splitlines():
            parts = line.split()
            if not parts:
                continue
            if parts[0] == 'a':
                emulator = cls(default_allow=True)
                continue
            major, minor = parts[1].split(':')
            emulator.apply(Rule(parts[0], _parse_number(major), _parse_number(minor), parts[2], True))
        return emulator

    def apply(self, rule):
        """Apply one rule as the v1 devices controller would."""
        if rule.kind == 'a':
            # Any rule of type "a" resets the cgroup, whatever its numbers and access (as in runc).
            self.default_allow = rule.allow
            self.rules = {}
            return
        key = (rule.kind, rule.major, rule.minor)
        if rule.allow != self.default_allow:
            self.rules[key] = _union(self.rules.get(key, ''), rule.access)
            return
        for partial in ((rule.kind, WILDCARD, rule.minor), (rule.kind, rule.major, WILDCARD), (rule.kind, WILDCARD, WILDCARD)):
            if partial == key:
                continue
            if set(self.rules.get(partial, '')) & set(rule.access):
                raise errors.ConfigError(rule.field, 'rule %r cannot punch a hole in the wildcard rule "%s %s:%s %s" '
                                         'before it (the v1 devices controller would ignore it)'
                                         % (rule.cgroup_string(), partial[0], _number(partial[1]), _number(partial[2]),
                                            self.rules[partial]))
        remaining = _difference(self.rules.get(key, ''), rule.access)
        if remaining:
            self.rules[key] = remaining
        else:
            self.rules.pop(key, None)

    def ordered(self):
        """Exceptions sorted by (major, minor, type), as runc writes them."""
        return sorted(self.rules.items(), key=lambda item: (item[0][1], item[0][2], item[0][0]))

    def transition(self, target):
        """The writes that take a cgroup in this state to `target`, disturbing it as little as possible."""
        writes = []
        old = self.rules
        # devices.list cannot show the exceptions of an allow-by-default
        # cgroup, so from one (or to another default) start with a reset.
        if self.default_allow or self.default_allow != target.default_allow:
            writes.append(Rule('a', WILDCARD, WILDCARD, 'rwm', target.default_allow))
            old = {}
        for (kind, major, minor), access in sorted(old.items(), key=lambda item: (item[0][1], item[0][2], item[0][0])):
            dropped = _difference(access, target.rules.get((kind, major, minor), ''))
            if dropped:
                writes.append(Rule(kind, major, minor, dropped, target.default_allow))
        for (kind, major, minor), access in target.ordered():
            gained = _difference(access, old.get((kind, major, minor), ''))
            if gained:
                writes.append(Rule(kind, major, minor, gained, not target.default_allow))
        return writes

    def clean_rules(self):
        """The minimal rule list that produces this state from deny-all."""
        return Emulator().transition(self)

    def __eq__(self, other):
        return isinstance(other, Emulator) and self.default_allow == other.default_allow and self.rules == other.rules


def _parse_number(text):
    return WILDCARD if text == '*' else int(text)


def _union(a, b):
    return ''.join(c for c in 'rwm' if c in a or c in b)


def _difference(a, b):
    return ''.join(c for c in 'rwm' if c in a and c not in b)


def set_v1(files, directory, rules):
    """Bring a v1 devices cgroup to the state `rules` describe, then check the kernel agrees."""
    target = Emulator.from_rules(rules)
    current = Emulator.from_list(files.read(directory, 'devices.list'))
    for rule in current.transition(target):
        write_field(files, directory, 'devices.allow' if rule.allow else 'devices.deny', rule.cgroup_string(), FIELD)
    after = Emulator.from_list(files.read(directory, 'devices.list'))
    if target.default_allow != after.default_allow or (not target.default_allow and after != target):
        raise CgroupFieldError(FIELD, 'the devices cgroup %s does not hold the requested rules after writing them' % directory)
