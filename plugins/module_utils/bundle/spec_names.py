# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How snake_case options name config.json fields: one table, derived from the schema.

The rule: every field of the runtime-spec is written in snake_case at the
same place in the same nesting, with `camel_to_snake` turning its name into
words (noNewPrivileges -> no_new_privileges, hostID -> host_id,
disableOOMKiller -> disable_oom_killer, throttleReadIOPSDevice ->
throttle_read_iops_device). The table is computed from schema.py, so every
field the schema knows has exactly one snake_case name and the docs
(docs/bundles.md) are rendered from the same table.

Keys of maps the spec leaves free (annotations, linux.sysctl,
linux.resources.unified, ...) and all values are kept as given. The spec's
own camelCase names are accepted too, so a fragment copied from a
config.json works unchanged.
"""

import re

from ..runtime.errors import ConfigError
from .schema import runtime_spec_schema

_SCHEMA = runtime_spec_schema(strict=False)


def camel_to_snake(name):
    """'noNewPrivileges' -> 'no_new_privileges', 'disableOOMKiller' -> 'disable_oom_killer'."""
    words = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    words = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', words)
    return words.lower()


def _resolve(schema):
    while '$ref' in schema:
        schema = _SCHEMA['definitions'][schema['$ref'].rsplit('/', 1)[-1]]
    return schema


def _shape(schema):
    schema = _resolve(schema)
    kind = schema.get('type')
    if kind == 'array':
        inner = _resolve(schema['items'])
        if inner.get('type') == 'object':
            return 'list of objects'
        return 'list of %ss' % inner.get('type', 'value')
    if kind == 'object' and 'properties' not in schema:
        return 'map'
    return kind or 'value'


_TABLE = []


def option_table():
    """[(snake_case option path, config.json path, shape)] for every field, in schema order.

    Walked once per process: a module run asks for it several times (argument spec,
    parameters, error paths), and the schema does not change.
    """
    if _TABLE:
        return list(_TABLE)

    def walk(schema, snake, camel):
        schema = _resolve(schema)
        if schema.get('type') == 'array':
            walk(schema['items'], snake + '[]', camel + '[]')
            return
        if schema.get('type') != 'object':
            return
        if 'properties' in schema:
            for name, sub in schema['properties'].items():
                snake_name = (snake + '.' if snake else '') + camel_to_snake(name)
                camel_name = (camel + '.' if camel else '') + name
                _TABLE.append((snake_name, camel_name, _shape(sub)))
                walk(sub, snake_name, camel_name)
        elif isinstance(schema.get('additionalProperties'), dict):
            _TABLE.append((snake + '.<key>', camel + '.<key>', _shape(schema['additionalProperties'])))
            walk(schema['additionalProperties'], snake + '.<key>', camel + '.<key>')

    walk(_SCHEMA, '', '')
    return list(_TABLE)


def render_markdown_table():
    """The option table as Markdown, for docs/bundles.md."""
    lines = ['| option (snake_case) | config.json field | type |', '| --- | --- | --- |']
    for snake, camel, shape in option_table():
        if snake == 'linux' or snake.startswith('linux.'):
            continue
        lines.append('| `%s` | `%s` | %s |' % (snake, camel, shape))
    lines.append('| `linux.*` (or the same key at the top level) | `linux.*` | see below |')
    for snake, camel, shape in option_table():
        if snake.startswith('linux.'):
            lines.append('| `%s` | `%s` | %s |' % (snake, camel, shape))
    return '\n'.join(lines) + '\n'


def _display(path):
    text = ''
    for part in path:
        text += '[%d]' % part if isinstance(part, int) else ('.' if text else '') + str(part)
    return text


def to_spec(value, schema=None, path=()):
    """`value` (snake_case options) with every known key renamed to the spec's camelCase.

    Raises ConfigError(path, ...) for a key the spec does not have at that
    place, with the nearest known name as the fix.
    """
    schema = _resolve(schema if schema is not None else _SCHEMA)
    kind = schema.get('type')
    if value is None:
        return None
    if kind == 'array' and isinstance(value, list):
        return [to_spec(item, schema['items'], path + (index,)) for index, item in enumerate(value)]
    if kind != 'object' or not isinstance(value, dict):
        return value
    properties = schema.get('properties')
    if properties is None:
        free = schema.get('additionalProperties')
        if isinstance(free, dict):
            return {key: to_spec(item, free, path + (key,)) for key, item in value.items()}
        return dict(value)
    by_snake = {camel_to_snake(name): name for name in properties}
    result = {}
    for key, item in value.items():
        name = by_snake.get(key) or (key if key in properties else None)
        if name is None:
            known = sorted(by_snake)
            import difflib  # pylint: disable=import-outside-toplevel  # only for a mistake: 1.5 ms of every run
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = 'did you mean %r?' % close[0] if close else 'known options here: %s' % ', '.join(known)
            raise ConfigError(_display(path + (key,)), 'unknown option: %s' % hint)
        if name in result:
            raise ConfigError(_display(path + (key,)), 'given twice, as %s and %s: keep one'
                              % (camel_to_snake(name), name))
        result[name] = to_spec(item, properties[name], path + (key,))
    return result


def linux_keys():
    """snake_case names of linux.* fields, which options may also give at the top level."""
    return {camel_to_snake(name): name for name in _resolve(_SCHEMA['properties']['linux'])['properties']}
