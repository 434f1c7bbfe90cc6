# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_bundle's config.json options, declared once: generated from bundle/spec_names.py's table.

Every field of the runtime-spec becomes an option in snake_case at the
spec's nesting (process.no_new_privileges, resources.memory.limit, ...),
with the Ansible type the schema gives it. The fields under `linux` sit at
the top level (resources, namespaces, sysctl, ...), as the issue's
interface and the bundle library's options have them. A few fields take
the library's shorthands and so are `raw` (see RAW): process.user (a
mapping or "uid:gid"/"name"), process.env (a list or a mapping), namespaces
(names or mappings) and the memory sizes ("256m" or bytes).

`argument_spec()` is what the module declares; `render_doc_fragment()` is
the text of plugins/doc_fragments/bundle_spec.py (a unit test keeps the
file current), so the options, their types and their docs cannot drift
from the table the library converts them with.
"""

import re
import textwrap

from ..bundle.spec_names import option_table

# Spec fields the module does not offer: the runtime's version, the bundle's own
# rootfs path, and `linux` itself (its fields are top-level options).
EXCLUDED = ('oci_version', 'root.path', 'linux')
SIZE_HELP = 'Bytes, or a size with a binary unit: C(256m), C(1g), C(512k); C(-1) is unlimited.'
RAW = {
    'process.user': ['A mapping with C(uid), C(gid), C(umask) and C(additional_gids) (C(process.user) of config.json), '
                     'or a string resolved through the rootfs\'s C(/etc/passwd) and C(/etc/group) like an image\'s User: '
                     'C(101), C(101:201), C(app), C(app:staff).',
                     'Default: the image\'s User, else root.'],
    'process.env': ['C(NAME=value) strings, or a mapping C({NAME: value}) where a null value removes the variable.',
                    'Merged by name over runc\'s default environment and the image\'s C(Env).'],
    'namespaces': ['Namespace types (C(pid), C(network), C(ipc), C(uts), C(mount), C(user), C(cgroup), C(time)) or '
                   'mappings C({type, path}) to join an existing namespace.',
                   'Replaces the default list (pid, network, ipc, uts, mount).'],
    'resources.memory.limit': ['Memory limit. ' + SIZE_HELP],
    'resources.memory.reservation': ['Soft memory limit. ' + SIZE_HELP],
    'resources.memory.swap': ['Memory plus swap limit (as in the spec: not swap alone), at least C(limit). ' + SIZE_HELP],
    'resources.memory.kernel': ['Kernel memory limit (ignored by current kernels). ' + SIZE_HELP],
    'resources.memory.kernel_tcp': ['Kernel TCP buffer memory limit. ' + SIZE_HELP],
}
# Lists whose items (not the list itself) take a shorthand.
RAW_ITEMS = ('namespaces',)
# What the users of oci_bundle reach for first, in words; other options say which config.json field they set.
HELP = {
    'process': 'The container\'s process: C(process) of config.json.',
    'process.args': 'The command and its arguments. Default: the image\'s C(Entrypoint) and C(Cmd).',
    'process.cwd': 'Working directory, an absolute path in the container. Default: the image\'s C(WorkingDir), else C(/).',
    'process.rlimits': 'Resource limits, merged by C(type) over the default C(RLIMIT_NOFILE) 1024. A lone C(soft) or '
                       'C(hard) sets both; hard limits cannot exceed the host\'s.',
    'process.rlimits[].type': 'C(RLIMIT_NOFILE) or short, C(nofile).',
    'process.no_new_privileges': 'Set no_new_privs for the process (default C(true)).',
    'process.capabilities': 'Capability sets (C(CAP_NET_BIND_SERVICE), ...). Default: runc\'s three, C(CAP_AUDIT_WRITE), '
                            'C(CAP_KILL), C(CAP_NET_BIND_SERVICE).',
    'process.terminal': 'Give the process a terminal (default C(false): a service runs detached).',
    'root': 'The root filesystem: C(root) of config.json (its path is always the bundle\'s C(rootfs)).',
    'root.readonly': 'Mount the root filesystem read-only (default C(false)).',
    'hostname': 'Hostname in the container\'s UTS namespace (default C(runc)).',
    'mounts': 'Mounts, merged by C(destination) over runc\'s defaults and the image\'s volumes (a mount at C(/dev/shm) '
              'replaces the default one).',
    'mounts[].source': 'Host path for a bind mount (a mount with a source and no type is a bind mount), or the '
                       'filesystem\'s source.',
    'mounts[].options': 'Mount options (C(ro), C(nosuid), C(rbind), ...); a bind mount gets C(rbind) unless C(bind) is given.',
    'annotations': 'Annotations, added to the image\'s labels.',
    'resources': 'cgroup limits: C(linux.resources) of config.json.',
    'resources.pids.limit': 'Largest number of tasks in the container (C(-1) or C(0): no limit).',
    'sysctl': 'Kernel parameters of the container\'s namespaces (C(net.*) needs a network namespace).',
    'masked_paths': 'Paths hidden in the container; replaces runc\'s default list.',
    'readonly_paths': 'Paths made read-only in the container; replaces runc\'s default list.',
    'hooks': 'Hooks run by the runtime (C(create_runtime), C(poststart), ...).',
}
_TYPES = {
    'string': {'type': 'str'},
    'integer': {'type': 'int'},
    'boolean': {'type': 'bool'},
    'object': {'type': 'dict'},
    'map': {'type': 'dict'},
    'list of objects': {'type': 'list', 'elements': 'dict'},
    'list of strings': {'type': 'list', 'elements': 'str'},
    'list of integers': {'type': 'list', 'elements': 'int'},
}


def module_path(snake):
    """The option path of a table row ('linux.resources.memory.limit' -> 'resources.memory.limit'), or None."""
    if snake in EXCLUDED or any(snake.startswith(prefix + '.') for prefix in EXCLUDED if prefix != 'linux'):
        return None
    if snake.startswith('linux.'):
        return snake[len('linux.'):]
    return snake


_ROWS = []


def option_rows():
    """[(option path, config.json field, shape)] of every offered option, parents before children.

    Children of free maps (`<key>`) and of raw options are left out: their
    values are passed through as given and checked by the library. Made once
    per process, like option_table: a module run asks twice (spec, parameters).
    """
    if not _ROWS:
        _ROWS.extend(_make_rows())
    return list(_ROWS)


def _make_rows():
    rows = []
    for snake, camel, shape in option_table():
        path = module_path(snake)
        if path is None or '<key>' in path:
            continue
        plain = path.replace('[]', '')
        if any(plain.startswith(raw + '.') for raw in RAW):
            continue
        rows.append((path, camel, shape))
    return rows


def _declaration(path, shape):
    if path in RAW:
        # A list whose items take a shorthand keeps being a list; anything else takes more than one form.
        return {'type': 'list', 'elements': 'raw'} if path in RAW_ITEMS else {'type': 'raw'}
    declared = dict(_TYPES[shape])
    if shape in ('object', 'list of objects'):
        declared['options'] = {}
    return declared


def _place(tree, path):
    """The options dict that holds the last component of `path`, and that component."""
    parts = path.replace('[]', '').split('.')
    here = tree
    for part in parts[:-1]:
        here = here[part]['options']
    return here, parts[-1]


def argument_spec():
    """The config.json options of oci_bundle as an Ansible argument spec."""
    spec = {}
    for path, _camel, shape in option_rows():
        holder, name = _place(spec, path)
        holder[name] = _declaration(path, shape)
    return spec


def module_argument_spec():
    """oci_bundle's whole argument spec: where the rootfs comes from, then one option per runtime-spec field."""
    from ..image.formats import FORMATS
    from ..image.store import DEFAULT_STORE
    spec = dict(
        path=dict(type='path', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        image=dict(type='str'),
        rootfs=dict(type='path'),
        rootfs_format=dict(type='str', choices=list(FORMATS)),
        store=dict(type='path', default=DEFAULT_STORE),
        rootfs_mode=dict(type='str', choices=['copy', 'overlay'], default='copy'),
        layer_cache=dict(type='path'),
        image_volumes=dict(type='str', choices=['bind', 'tmpfs', 'ignore'], default='bind'),
        config=dict(type='dict'),
    )
    spec.update(argument_spec())
    return spec


# oci_bundle's rule: a bundle to make needs a source.
REQUIRED_IF = [('state', 'present', ('image', 'rootfs'), True)]


def option_path(json_path):
    """The option that sets config.json field `json_path`: 'linux.resources.memory.swap' -> 'resources.memory.swap'.

    Indices and the keys of free maps are kept ('mounts[2].destination',
    'sysctl.net.ipv4.ip_forward'); a path the table does not know is returned as it is.
    """
    tokens = re.findall(r'\[\d+\]|[^.\[\]]+', json_path or '')
    by_camel = {camel: snake for snake, camel, _shape in option_table()}
    for cut in range(len(tokens), 0, -1):
        head = tokens[:cut]
        camel = ''.join('[]' if token.startswith('[') else ('.' if index else '') + token for index, token in enumerate(head))
        snake = by_camel.get(camel)
        if snake is None:
            continue
        indices = iter(token for token in head if token.startswith('['))
        path = re.sub(r'\[\]', lambda _match: next(indices), snake)
        path += ''.join(token if token.startswith('[') else '.' + token for token in tokens[cut:])
        return path[len('linux.'):] if path.startswith('linux.') else path
    return json_path


def params_to_options(params):
    """The library's options (generate_config) from the module's parameters: the offered sections, None pruned.

    Ansible fills every suboption that was not given with None; the library
    reads None as "not given" too, but pruning keeps lists of mounts or
    rlimits to what the user wrote.
    """
    spec = argument_spec()
    options = {}
    for name, declared in spec.items():
        value = params.get(name)
        if value is not None:
            options[name] = _pruned(value, declared)
    return options


def _pruned(value, declared):
    suboptions = declared.get('options')
    if suboptions is None:
        return value
    if isinstance(value, list):
        return [_pruned(item, {'options': suboptions}) for item in value]
    if isinstance(value, dict):
        return {key: _pruned(item, suboptions.get(key, {})) for key, item in value.items() if item is not None}
    return value


# -- documentation --------------------------------------------------------------

def _description(path, camel):
    field = 'C(%s)' % camel
    if path in RAW:
        return RAW[path] + ['Sets %s of config.json.' % field]
    if path in HELP:
        return [HELP[path], 'Sets %s of config.json.' % field]
    return ['Sets %s of config.json.' % field]


def _quoted_lines(text, indent):
    """A YAML single-quoted list item, folded over lines of at most 120 characters (YAML joins them with spaces)."""
    quoted = "'%s'" % text.replace("'", "''")
    lines = textwrap.wrap(quoted, width=max(40, 120 - len(indent)), break_long_words=False, break_on_hyphens=False)
    return [indent + '- ' + lines[0]] + [indent + '  ' + line for line in lines[1:]]


def render_doc_fragment():
    """The text of plugins/doc_fragments/bundle_spec.py: every option of argument_spec(), documented."""
    lines = []
    depth = {}
    spec = argument_spec()
    for path, camel, shape in option_rows():
        level = path.replace('[]', '').count('.')
        indent = '  ' * (1 + 2 * level)
        holder, name = _place(spec, path)
        declared = holder[name]
        if level == 0:
            lines.append('  %s:' % name)
        else:
            parent = path.replace('[]', '').rsplit('.', 1)[0]
            if depth.get(parent) != 'opened':
                lines.append('  ' * (2 * level) + 'suboptions:')
                depth[parent] = 'opened'
            lines.append(indent + '%s:' % name)
        lines.append(indent + '  description:')
        for sentence in _description(path, camel):
            lines.extend(_quoted_lines(sentence, indent + '    '))
        lines.append(indent + '  type: %s' % declared['type'])
        if 'elements' in declared:
            lines.append(indent + '  elements: %s' % declared['elements'])
    body = '\n'.join(lines)
    return (FRAGMENT_HEAD + body + '\n' + "'''\n")


FRAGMENT_HEAD = '''# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Generated by plugins/module_utils/converge/bundle_options.py (render_doc_fragment) from the
# runtime-spec table in plugins/module_utils/bundle/spec_names.py: do not edit by hand.
# Regenerate: python -c 'from ansible_collections.runcible.oci.plugins.module_utils.converge import bundle_options as b;
#             open("plugins/doc_fragments/bundle_spec.py", "w").write(b.render_doc_fragment())'


class ModuleDocFragment(object):
    """The config.json options of oci_bundle, one per runtime-spec field, in snake_case."""

    DOCUMENTATION = r\'\'\'
options:
'''
