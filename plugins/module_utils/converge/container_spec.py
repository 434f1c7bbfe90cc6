# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_container's options, declared once, for oci_container, every item of oci_containers and the Converger.

Each option is one row (an Option, in the manner of community.docker's
option groups): its name, its Ansible declaration (type, default, choices),
its documentation, and either the values of the container's record it decides
(Compared: how each is compared, and how a change is applied to an existing
container) or, with `not_compared`, the reason it is not compared. From the
table come:

- `argument_spec()`, oci_container's argument spec;
- `item_spec()` and `defaults_spec()`, the suboptions of oci_containers'
  `containers` items and of its `defaults` (the same options without their
  defaults, so that "not given" can fall back to `defaults`, then to the
  option's own default: `resolve()`);
- `differences()`, what the Converger (container.py) compares: the same rows
  decide `changed`, the actions and the diff, so they cannot disagree;
- `render_doc_fragment()`, the text of plugins/doc_fragments/container.py,
  whose DOCUMENTATION is oci_container's options and whose LIST is
  oci_containers' `containers` and `defaults`, each option's documentation
  ending with what a change of it costs (a unit test keeps the file current,
  so the docs cannot drift from the table).

How a change is applied (APPLY_KINDS) is one of LIVE (the runtime's update
in the running container), SETTINGS (the supervisor re-reads its settings;
the container runs on), NETWORK (the container's persistent network
namespace is re-attached: veth, addresses, routes, rules and hosts files
changed in place; the container runs on) and RECREATE (stop, delete,
create, start). No option needs a plain restart: a container's process
settings are fixed when it is created, so what a restart could change needs
a recreate. Each kind has its handler in Converger.apply_changes().
"""

import re
import textwrap

STATES = ('present', 'created', 'running', 'paused', 'stopped', 'absent')

LIVE = 'live'
SETTINGS = 'settings'
NETWORK = 'network'
RECREATE = 'recreate'
APPLY_KINDS = (LIVE, SETTINGS, NETWORK, RECREATE)
# The action each kind shows in the module's `actions`.
ACTIONS = {LIVE: 'update', SETTINGS: 'reconfigure', NETWORK: 'reattach', RECREATE: 'recreate'}
# What a change of each kind does, as the documentation says it.
_EFFECTS = {LIVE: "is applied to the running container with the runtime's update",
            SETTINGS: 'is applied by the supervisor; the container runs on',
            NETWORK: 'is applied by re-attaching the container\'s network namespace (interfaces, addresses, routes, '
                     'nftables rules, hosts and resolv.conf changed in place); the container runs on',
            RECREATE: 'recreates the container'}


class Compared:
    """One value of the container's record: compared each run with what is wanted, and what a change costs.

    `compare` is 'value' (equal or not) or 'dict' (empty members and None
    count as unset; 'list': None counts as an empty list; 'set': a list
    whose order does not matter). `live_parts`, for a
    dict value applied LIVE: the only keys the runtime can change live; a
    change anywhere else costs a recreate. `recreate_when`: (test of
    (recorded, wanted), what it means for the documentation) for a change that
    costs a recreate although the kind says otherwise. `about` names the value
    in the documentation (None: the option itself).
    """

    def __init__(self, key, apply, about=None, compare='value', live_parts=None, recreate_when=None):
        if apply not in APPLY_KINDS or compare not in ('value', 'dict', 'list', 'set'):
            raise ValueError('%s: apply %r, compare %r' % (key, apply, compare))
        self.key = key
        self.apply = apply
        self.about = about
        self.compare = compare
        self.live_parts = live_parts
        self.recreate_when = recreate_when

    def differs(self, wanted, recorded):
        if self.compare == 'dict':
            return _normalised(wanted) != _normalised(recorded)
        if self.compare == 'list':
            return (wanted or []) != (recorded or [])
        if self.compare == 'set':
            return sorted(wanted or []) != sorted(recorded or [])
        return wanted != recorded

    def cost(self, recorded, wanted):
        """The apply kind a change from `recorded` to `wanted` needs."""
        if self.recreate_when is not None and self.recreate_when[0](recorded, wanted):
            return RECREATE
        if self.live_parts is None:
            return self.apply
        before = dict(_normalised(recorded) or {})
        after = dict(_normalised(wanted) or {})
        for key in self.live_parts:
            before.pop(key, None)
            after.pop(key, None)
        return self.apply if before == after else RECREATE

    def effect(self):
        """What a change does, for the documentation."""
        text = '%s %s' % ('A change of %s' % self.about if self.about else 'A change', _EFFECTS[self.apply])
        if self.live_parts:
            text += ' when only %s change; any other change of it %s' % (
                ', '.join(self.live_parts[:-1]) + ' or ' + self.live_parts[-1], _EFFECTS[RECREATE])
        if self.recreate_when is not None:
            text += '. %s %s' % (self.recreate_when[1], _EFFECTS[RECREATE])
        return text + '.'


def _normalised(value):
    """Dicts without their empty members ({}, [] and None mean "nothing set")."""
    if isinstance(value, dict):
        cleaned = {k: _normalised(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


class Option:
    """One option of oci_container: declaration, documentation, and the record values it decides (or why none)."""

    def __init__(self, name, declared, description, compared=(), not_compared=None):
        if bool(compared) == bool(not_compared):
            raise ValueError('option %s: give either what it compares or why it is not compared' % name)
        self.name = name
        self.declared = declared
        self.description = description
        self.compared = tuple(compared)
        self.not_compared = not_compared

    def documentation(self):
        """The description sentences, then what a change of the option costs."""
        return list(self.description) + [value.effect() for value in self.compared]


OPTIONS = (
    Option('name', {'type': 'str', 'required': True}, ['The container ID (letters, digits, C(_+-.)).'],
           not_compared='it names the container: another name is another container'),
    Option('bundle', {'type': 'path'}, [
        'The bundle folder (a C(config.json) and a rootfs), as made by M(runcible.oci.oci_bundle). '
        'C(process.terminal) must be false.',
        'Needed when the container has to be created. Without it, an existing container is only brought to O(state) '
        '(stopped, started, paused, restarted, removed) with the bundle and the settings it was created with; its '
        'systemd unit is left as it is. A container that does not exist fails the task, naming O(bundle).'], compared=(
        Compared('bundle', RECREATE, 'the bundle folder'),
        Compared('config_digest', RECREATE, 'C(config.json) outside C(linux.resources)'),
        Compared('resources', LIVE, 'C(linux.resources)', compare='dict',
                 live_parts=('memory', 'cpu', 'pids', 'blockIO')),
        Compared('rootfs_digest', RECREATE, "the rootfs (its digest as M(runcible.oci.oci_bundle) recorded it)"))),
    Option('bundle_options', {'type': 'dict'}, [
        'Make the bundle in the same task: the options of M(runcible.oci.oci_bundle) (O(runcible.oci.oci_bundle#module:image) '
        'or O(runcible.oci.oci_bundle#module:rootfs), O(runcible.oci.oci_bundle#module:rootfs_mode), '
        'O(runcible.oci.oci_bundle#module:process), O(runcible.oci.oci_bundle#module:resources), ...) except C(path) '
        'and C(state). The bundle is converged at O(bundle) exactly as M(runcible.oci.oci_bundle) would, then the container.',
        'Checked against M(runcible.oci.oci_bundle)\'s options; errors name the option under C(bundle_options).',
        'The action V(bundle) in RV(actions) says the bundle was (or would be) written. In check mode the container is '
        'compared with the C(config.json) the bundle would get. With diff mode, the bundle\'s C(config.json) diff comes '
        'first. Removing the container (V(absent)) leaves the bundle; remove it with M(runcible.oci.oci_bundle).',
        'What the bundle holds is compared as O(bundle) says.'],
        not_compared='it makes the bundle, whose config.json and rootfs are compared through `bundle`'),
    Option('state', {'type': 'str', 'default': 'running', 'choices': list(STATES)}, [
        'V(running) creates and starts the container if needed, and starts a created or stopped one.',
        'V(created) creates it without starting it; V(present) only makes sure it exists (created if absent).',
        'V(paused) runs it, frozen; V(stopped) stops it (stop signal, then SIGKILL after O(stop_timeout)) and keeps '
        'it, with its exit code; a missing container is created, not started.',
        'V(absent) stops and deletes it, and removes its supervisor.'],
        not_compared='the status to reach, by start, stop, pause or resume (Converger.transition)'),
    Option('runtime', {'type': 'str', 'default': 'runcible'}, [
        'V(runcible) (the vendored runtime, called in-process), V(runc), V(crun), or the path of a runtime binary.',
        'Each runtime keeps its containers in its own O(runtime_root) unless one is given: a container is found (and '
        'compared) only in the root of the runtime named.'],
        compared=(Compared('runtime', RECREATE, 'the runtime in one O(runtime_root)'),)),
    Option('runtime_root', {'type': 'path'}, [
        'The runtime\'s state folder (its C(--root)); the default is the runtime\'s own (V(/run/runcible) for runcible).'],
        not_compared='it says where the container is looked for: another root holds other containers'),
    Option('restart_policy', {'type': 'str', 'default': 'no'}, [
        'What the supervisor does when the container\'s process exits: V(no), V(on-failure[:max]), V(always) or '
        'V(unless-stopped). V(on-failure:3) restarts at most 3 times.'],
        compared=(Compared('restart_policy', SETTINGS),)),
    Option('stop_signal', {'type': 'str'}, [
        'The signal that stops the container; default the image\'s StopSignal annotation, else SIGTERM.'],
        compared=(Compared('stop_signal', SETTINGS),)),
    Option('stop_timeout', {'type': 'int', 'default': 10}, ['Seconds between the stop signal and SIGKILL.'],
           compared=(Compared('stop_timeout', SETTINGS),)),
    Option('restart', {'type': 'bool', 'default': False},
           ['Stop and start the container again even when nothing changed.'],
           not_compared='an action asked of this run (restart), not a setting the container keeps'),
    Option('recreate', {'type': 'bool', 'default': False},
           ['Delete and create the container again even when nothing changed.'],
           not_compared='an action asked of this run (recreate), not a setting the container keeps'),
    Option('systemd_unit', {'type': 'bool', 'default': False}, [
        'Also write and enable the systemd unit C(/etc/systemd/system/runcible-<name>.service), which starts the '
        'container at boot without Ansible (as Podman\'s quadlet units do): it runs the container\'s supervisor from '
        'the copy of the runtime kept in C(/var/lib/runcible/lib/), with the settings kept in '
        'C(/var/lib/runcible/units/runcible-<name>.json). The unit is checked with C(systemd-analyze verify) when that '
        'is installed; a problem fails the task.',
        'V(false) removes a unit this collection wrote for the container, and so does O(state=absent).',
        'A container on O(networks) is put back on them by the unit before its supervisor starts (its network '
        'namespace, veth, bridge and nftables rules are gone after a reboot; its records are not).',
        'The bundle must still be there at boot: an overlay rootfs (C(rootfs_mode=overlay)) is mounted again only by '
        'M(runcible.oci.oci_bundle), so use a copy rootfs for containers that start without Ansible.'],
        not_compared='the unit files are compared as written (Converger.converge_unit, action unit); the '
                     'container is not touched'),
    Option('log_path', {'type': 'path'}, ['The log file of the container\'s output; default V(/var/log/runcible/<name>.log).',
                                          'Earlier files stay where they were.'],
           compared=(Compared('log_path', SETTINGS),)),
    Option('log_max_size', {'type': 'int', 'default': 10485760}, ['Size in bytes at which the log file is rotated.'],
           compared=(Compared('log_max_size', SETTINGS),)),
    Option('log_max_files', {'type': 'int', 'default': 3}, ['How many log files are kept (the current one included).'],
           compared=(Compared('log_max_files', SETTINGS),)),
    Option('log_lines', {'type': 'int', 'default': 20}, ['How many of the last log lines RV(logs) returns.'],
           not_compared='it only shapes the result of this run'),
    Option('networks', {'type': 'list', 'elements': 'raw'}, [
        'The networks (made with M(runcible.oci.oci_network)) the container is on, in order: the first is its '
        'C(eth0), and the first that is not internal carries its default route and its published O(ports). Each item '
        'is a network name or a dict with C(name) and optionally C(ipv4_address), C(ipv6_address) (static addresses '
        'inside the network\'s subnets; otherwise one is allocated and kept across runs and restarts), C(aliases) '
        '(more names the other containers find it by) and C(mac_address).',
        'The container gets a persistent network namespace, V(/run/runcible-netns/<name>) (its C(config.json) names it '
        'as a C(path) namespace, so the runtime, runc or crun joins it), attached before its process starts, and its '
        'own C(/etc/hosts) (itself, its C(hostname) from C(config.json), and every container sharing a network with it, '
        'by name and aliases) and C(/etc/resolv.conf), bind-mounted. The bundle\'s C(config.json) is not changed: the '
        'runtime is given a copy with the namespace path and the two mounts, in O(network_root).',
        'The bundle must give the container a network namespace of its own (a C(network) entry in '
        'C(linux.namespaces)).',
        'Items are compared normalised: a plain name equals C({name: NAME}), addresses are compared as addresses. '
        'Besides, every run compares the host\'s interfaces and nftables rules with the records and mends them '
        '(action V(reattach)), so a flushed ruleset is restored by the next run.',
        'V(state=absent) takes the container off every network: no veth, address, rule, address record or hosts line '
        'is left, and the namespace is removed.'],
        compared=(Compared('networks', NETWORK, 'the networks or their settings', compare='list', recreate_when=(
            lambda recorded, wanted: bool(recorded) != bool(wanted),
            'Joining the first network or leaving the last (the container changes network namespace)')),)),
    Option('ports', {'type': 'list', 'elements': 'raw'}, [
        'Published ports, as C(docker run -p) writes them: C([[host_ip:]host_port:]container_port[/protocol]), '
        'C(8080:80), C(127.0.0.1:8080:80/udp), C(8000-8010:8000-8010), C(80) (a host port chosen once from '
        '32768-60999 and kept), or a dict with C(container_port), C(host_port), C(host_ip), C(protocol).',
        'Every spelling of one mapping compares equal (C(0.0.0.0:8080:80) is C(8080:80)), and the order does not '
        'matter. Reached from other hosts, from the host itself (127.0.0.1 too), and from the container itself '
        '(hairpin). Needs O(networks) with one that is not internal.'],
        compared=(Compared('ports', NETWORK, compare='set'),)),
    Option('dns', {'type': 'list', 'elements': 'str'}, [
        'Name servers for the container\'s C(/etc/resolv.conf). Without O(dns), O(dns_search) and O(dns_options), '
        'the host\'s own file without its loopback servers (as docker and podman do). Needs O(networks).'],
        compared=(Compared('dns', NETWORK, 'O(dns), O(dns_search) or O(dns_options)', compare='dict'),)),
    Option('dns_search', {'type': 'list', 'elements': 'str'}, [
        'Search domains for the container\'s C(/etc/resolv.conf). Needs O(networks).'],
        not_compared='compared with dns, as one resolv.conf'),
    Option('dns_options', {'type': 'list', 'elements': 'str'}, [
        'Resolver options for the container\'s C(/etc/resolv.conf) (C(ndots:2)). Needs O(networks).'],
        not_compared='compared with dns, as one resolv.conf'),
    Option('network_root', {'type': 'path', 'default': '/var/lib/runcible/network'}, [
        'Where the network records are (as O(runcible.oci.oci_network#module:network_root) of '
        'M(runcible.oci.oci_network)): networks, address allocations, the containers\' hosts files.'],
        not_compared='it says where the networks are looked for'),
)

BY_NAME = {option.name: option for option in OPTIONS}
COMPARED = tuple(value for option in OPTIONS for value in option.compared)


def differences(wanted, recorded):
    """[(Compared, recorded value, wanted value)] of every record value that differs."""
    found = []
    for value in COMPARED:
        if value.key not in wanted:
            continue
        before = recorded.get(value.key)
        after = wanted[value.key]
        if value.differs(after, before):
            found.append((value, before, after))
    return found


def argument_spec():
    """oci_container's argument spec."""
    return {option.name: dict(option.declared) for option in OPTIONS}


def _without_default(declared):
    return {key: value for key, value in declared.items() if key != 'default'}


def item_spec():
    """The suboptions of an item of oci_containers' `containers`: the options, none defaulted."""
    return {option.name: _without_default(option.declared) for option in OPTIONS}


def defaults_spec():
    """The suboptions of oci_containers' `defaults`: every option but `name`, none defaulted."""
    return {option.name: _without_default(option.declared) for option in OPTIONS if option.name != 'name'}


def resolve(item, defaults=None):
    """The full parameters of one container: the item's value, else `defaults`' value, else the option's default."""
    defaults = defaults or {}
    params = {}
    for option in OPTIONS:
        value = item.get(option.name)
        if value is None:
            value = defaults.get(option.name)
        if value is None:
            value = option.declared.get('default')
        params[option.name] = value
    return params


# -- documentation ----------------------------------------------------------------

def _quoted(text, indent):
    """A YAML single-quoted list item, folded over lines of at most 120 characters."""
    quoted = "'%s'" % text.replace("'", "''")
    lines = textwrap.wrap(quoted, width=max(40, 120 - len(indent)), break_long_words=False, break_on_hyphens=False)
    return [indent + '- ' + lines[0]] + [indent + '  ' + line for line in lines[1:]]


def _yaml_scalar(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    return "'%s'" % str(value).replace("'", "''")


def _render_options(indent, names, with_defaults):
    lines = []
    for name in names:
        declared = BY_NAME[name].declared
        description = BY_NAME[name].documentation()
        sentences = list(description) if with_defaults else [_nested_references(text) for text in description]
        if not with_defaults and 'default' in declared:
            sentences.append('Default: C(%s), unless O(defaults) sets it.' % _yaml_scalar(declared['default']).strip("'"))
        lines.append(indent + '%s:' % name)
        lines.append(indent + '  description:')
        for sentence in sentences:
            lines.extend(_quoted(sentence, indent + '    '))
        lines.append(indent + '  type: %s' % declared['type'])
        if 'elements' in declared:
            lines.append(indent + '  elements: %s' % declared['elements'])
        if declared.get('required'):
            lines.append(indent + '  required: true')
        if with_defaults and 'default' in declared:
            lines.append(indent + '  default: %s' % _yaml_scalar(declared['default']))
        if 'choices' in declared:
            lines.append(indent + '  choices: [%s]' % ', '.join(declared['choices']))
    return lines


def _nested_references(text):
    """O(x) and RV(x) of oci_container's docs as oci_containers names them: O(containers[].x), RV(containers[].x)."""
    return re.sub(r'\b(O|RV)\(([a-z_]+)([=)])', r'\1(containers[].\2\3', text)


def render_doc_fragment():
    """The text of plugins/doc_fragments/container.py."""
    names = [option.name for option in OPTIONS]
    single = ['options:'] + _render_options('  ', names, True)
    listed = ['options:', '  containers:', '    description:']
    listed += _quoted('The containers to converge, each with the options of M(runcible.oci.oci_container). '
                      'An option an item leaves out comes from O(defaults), else from its default.', '      ')
    listed += ['    type: list', '    elements: dict', '    required: true', '    suboptions:']
    listed += _render_options('      ', names, False)
    listed += ['  defaults:', '    description:']
    listed += _quoted('Options that apply to every item of O(containers) that does not set them itself.', '      ')
    listed += ['    type: dict', '    default: {}', '    suboptions:']
    listed += _render_options('      ', names[1:], False)
    return FRAGMENT_HEAD + '\n'.join(single) + "\n'''\n\n    LIST = r'''\n" + '\n'.join(listed) + "\n'''\n"


FRAGMENT_HEAD = '''# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Generated by plugins/module_utils/converge/container_spec.py (render_doc_fragment): do not edit by hand.
# Regenerate: python -c 'from ansible_collections.runcible.oci.plugins.module_utils.converge import container_spec as c;
#             open("plugins/doc_fragments/container.py", "w").write(c.render_doc_fragment())'


class ModuleDocFragment(object):
    """oci_container's options (DOCUMENTATION) and oci_containers' list of them (LIST)."""

    DOCUMENTATION = r\'\'\'
'''
