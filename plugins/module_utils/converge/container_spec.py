# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_container's options, declared once, for oci_container and for every item of oci_containers.

Each option is one row: its name, its Ansible declaration (type, default,
choices) and its documentation. From the table come:

- `argument_spec()`, oci_container's argument spec;
- `item_spec()` and `defaults_spec()`, the suboptions of oci_containers'
  `containers` items and of its `defaults` (the same options without their
  defaults, so that "not given" can fall back to `defaults`, then to the
  option's own default: `resolve()`);
- `render_doc_fragment()`, the text of plugins/doc_fragments/container.py,
  whose DOCUMENTATION is oci_container's options and whose LIST is
  oci_containers' `containers` and `defaults` (a unit test keeps the file
  current, so the docs cannot drift from the spec).
"""

import re
import textwrap

STATES = ('present', 'created', 'running', 'paused', 'stopped', 'absent')

# (name, declaration, description sentences)
OPTIONS = (
    ('name', {'type': 'str', 'required': True}, ['The container ID (letters, digits, C(_+-.)).']),
    ('bundle', {'type': 'path'}, [
        'The bundle folder (a C(config.json) and a rootfs), as made by M(runcible.oci.oci_bundle). '
        'C(process.terminal) must be false.',
        'Needed when the container has to be created. Without it, an existing container is only brought to O(state) '
        '(stopped, started, paused, restarted, removed) with the bundle and the settings it was created with; its '
        'systemd unit is left as it is. A container that does not exist fails the task, naming O(bundle).']),
    ('bundle_options', {'type': 'dict'}, [
        'Make the bundle in the same task: the options of M(runcible.oci.oci_bundle) (O(runcible.oci.oci_bundle#module:image) '
        'or O(runcible.oci.oci_bundle#module:rootfs), O(runcible.oci.oci_bundle#module:rootfs_mode), '
        'O(runcible.oci.oci_bundle#module:process), O(runcible.oci.oci_bundle#module:resources), ...) except C(path) '
        'and C(state). The bundle is converged at O(bundle) exactly as M(runcible.oci.oci_bundle) would, then the container.',
        'Checked against M(runcible.oci.oci_bundle)\'s options; errors name the option under C(bundle_options).',
        'The action V(bundle) in RV(actions) says the bundle was (or would be) written. In check mode the container is '
        'compared with the C(config.json) the bundle would get. With diff mode, the bundle\'s C(config.json) diff comes '
        'first. Removing the container (V(absent)) leaves the bundle; remove it with M(runcible.oci.oci_bundle).']),
    ('state', {'type': 'str', 'default': 'running', 'choices': list(STATES)}, [
        'V(running) creates and starts the container if needed, and starts a created or stopped one.',
        'V(created) creates it without starting it; V(present) only makes sure it exists (created if absent).',
        'V(paused) runs it, frozen; V(stopped) stops it (stop signal, then SIGKILL after O(stop_timeout)) and keeps '
        'it, with its exit code; a missing container is created, not started.',
        'V(absent) stops and deletes it, and removes its supervisor.']),
    ('runtime', {'type': 'str', 'default': 'runcible'}, [
        'V(runcible) (the vendored runtime, called in-process), V(runc), V(crun), or the path of a runtime binary.']),
    ('runtime_root', {'type': 'path'}, [
        'The runtime\'s state folder (its C(--root)); the default is the runtime\'s own (V(/run/runcible) for runcible).']),
    ('restart_policy', {'type': 'str', 'default': 'no'}, [
        'What the supervisor does when the container\'s process exits: V(no), V(on-failure[:max]), V(always) or '
        'V(unless-stopped). V(on-failure:3) restarts at most 3 times.']),
    ('stop_signal', {'type': 'str'}, [
        'The signal that stops the container; default the image\'s StopSignal annotation, else SIGTERM.']),
    ('stop_timeout', {'type': 'int', 'default': 10}, ['Seconds between the stop signal and SIGKILL.']),
    ('restart', {'type': 'bool', 'default': False}, ['Stop and start the container again even when nothing changed.']),
    ('recreate', {'type': 'bool', 'default': False}, ['Delete and create the container again even when nothing changed.']),
    ('systemd_unit', {'type': 'bool', 'default': False}, [
        'Also write and enable the systemd unit C(/etc/systemd/system/runcible-<name>.service), which starts the '
        'container at boot without Ansible (as Podman\'s quadlet units do): it runs the container\'s supervisor from '
        'the copy of the runtime kept in C(/var/lib/runcible/lib/), with the settings kept in '
        'C(/var/lib/runcible/units/runcible-<name>.json). The unit is checked with C(systemd-analyze verify) when that '
        'is installed; a problem fails the task.',
        'V(false) removes a unit this collection wrote for the container, and so does O(state=absent).',
        'The bundle must still be there at boot: an overlay rootfs (C(rootfs_mode=overlay)) is mounted again only by '
        'M(runcible.oci.oci_bundle), so use a copy rootfs for containers that start without Ansible.']),
    ('log_path', {'type': 'path'}, ['The log file of the container\'s output; default V(/var/log/runcible/<name>.log).']),
    ('log_max_size', {'type': 'int', 'default': 10485760}, ['Size in bytes at which the log file is rotated.']),
    ('log_max_files', {'type': 'int', 'default': 3}, ['How many log files are kept (the current one included).']),
    ('log_lines', {'type': 'int', 'default': 20}, ['How many of the last log lines RV(logs) returns.']),
)

BY_NAME = {name: (declared, description) for name, declared, description in OPTIONS}


def argument_spec():
    """oci_container's argument spec."""
    return {name: dict(declared) for name, declared, _description in OPTIONS}


def _without_default(declared):
    return {key: value for key, value in declared.items() if key != 'default'}


def item_spec():
    """The suboptions of an item of oci_containers' `containers`: the options, none defaulted."""
    return {name: _without_default(declared) for name, declared, _description in OPTIONS}


def defaults_spec():
    """The suboptions of oci_containers' `defaults`: every option but `name`, none defaulted."""
    return {name: _without_default(declared) for name, declared, _description in OPTIONS if name != 'name'}


def resolve(item, defaults=None):
    """The full parameters of one container: the item's value, else `defaults`' value, else the option's default."""
    defaults = defaults or {}
    params = {}
    for name, declared, _description in OPTIONS:
        value = item.get(name)
        if value is None:
            value = defaults.get(name)
        if value is None:
            value = declared.get('default')
        params[name] = value
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
        declared, description = BY_NAME[name]
        sentences = list(description) if with_defaults else [_nested_references(text) for text in description]
        if not with_defaults and 'default' in declared:
            sentences.append('Default: C(%s), unless O(defaults) sets it.' % _yaml_scalar(declared['default']).strip("'"))
        lines.append(indent + '%s:' % name)
        lines.append(indent + '  description:')
        for sentence in sentences:
            lines.extend(_quoted(sentence, indent + '    '))
        lines.append(indent + '  type: %s' % declared['type'])
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
    names = [name for name, _declared, _description in OPTIONS]
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
