# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate a config.json: the project's JSON Schema, then the runtime's own rules.

`validate_config(config)` returns a list of (json_path, message) pairs, empty
when the config is good. Messages say what is wrong and how to fix it. The
schema is checked by the small validator below, which understands every
keyword schema.py uses, or on request by the jsonschema package; both give the
same paths and messages (the unit tests hold them to it). The validator below is
the default because importing jsonschema (Debian's pulls in attrs, pyrsistent and
urllib) cost an `oci_bundle` run more than all of its own work. Everything a
schema cannot express is the runtime's rule set (runtime/spec/config.py,
collecting every fault): a config oci_bundle accepts is one `create` accepts,
and the other way round.
"""

import json
import re

from ..runtime.errors import ConfigError
from ..runtime.spec import config as specconfig
from .schema import runtime_spec_schema

_SCHEMAS = {}
_JSON_TYPES = {
    'object': 'an object', 'array': 'a list', 'string': 'a string', 'integer': 'an integer',
    'boolean': 'true or false', 'number': 'a number', 'null': 'null',
}


def _schema(strict):
    if strict not in _SCHEMAS:
        _SCHEMAS[strict] = runtime_spec_schema(strict)
    return _SCHEMAS[strict]


def json_path(parts):
    """'process.rlimits[0].hard' from ('process', 'rlimits', 0, 'hard'): the runtime's field names."""
    return specconfig.field_name(parts)


def _type_name(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'array'
    if isinstance(value, dict):
        return 'object'
    return type(value).__name__


def _is_type(value, kind):
    if kind == 'integer':
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == 'number':
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return _type_name(value) == kind


def _show(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + '...'


# -- messages (shared by both validators) -------------------------------------


def _type_message(value, kind):
    message = 'must be %s, not %s %s' % (_JSON_TYPES.get(kind, kind), _type_name(value), _show(value))
    if kind == 'integer' and isinstance(value, str) and value.strip().lstrip('-').isdigit():
        message += ': write the number without quotes'
    elif kind == 'integer' and isinstance(value, str):
        message += ': give a plain number of bytes or units (e.g. 268435456 for 256 MiB)'
    elif kind == 'boolean' and isinstance(value, str):
        message += ': write true or false without quotes'
    elif kind == 'array' and isinstance(value, str):
        message += ': make it a list, e.g. [%s]' % _show(value)
    return message


def _unknown_message(key, known):
    import difflib  # pylint: disable=import-outside-toplevel  # only for a mistake: 1.5 ms of every run
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    hint = 'did you mean %r?' % close[0] if close else 'known keys here: %s' % ', '.join(sorted(known))
    return 'unknown key %r: %s' % (key, hint)


def _range_message(value, low, high):
    if low is not None and value < low:
        return 'must be at least %d, not %d' % (low, value)
    return 'must be at most %d, not %d' % (high, value)


def _pattern_message(value, schema):
    what = schema.get('description')
    if what:
        return '%s does not look like %s' % (_show(value), what)
    return '%s does not match %s' % (_show(value), schema['pattern'])


# -- the project's own validator ----------------------------------------------


class _Validator:
    """Draft-04 validation of the keywords schema.py uses, collecting (path, message)."""

    def __init__(self, root):
        self.root = root
        self.errors = []

    def _resolve(self, schema):
        while '$ref' in schema:
            name = schema['$ref'].rsplit('/', 1)[-1]
            schema = self.root['definitions'][name]
        return schema

    def check(self, value, schema, path):
        schema = self._resolve(schema)
        kind = schema.get('type')
        if kind and not _is_type(value, kind):
            self.errors.append((path, _type_message(value, kind)))
            return
        if 'enum' in schema and value not in schema['enum']:
            self.errors.append((path, 'must be one of %s, not %s' % (', '.join(_show(v) for v in schema['enum']),
                                                                     _show(value))))
        if isinstance(value, str):
            if 'minLength' in schema and len(value) < schema['minLength']:
                self.errors.append((path, 'must not be empty'))
            if 'pattern' in schema and not re.search(schema['pattern'], value):
                self.errors.append((path, _pattern_message(value, schema)))
        if _is_type(value, 'integer'):
            low, high = schema.get('minimum'), schema.get('maximum')
            if (low is not None and value < low) or (high is not None and value > high):
                self.errors.append((path, _range_message(value, low, high)))
        if isinstance(value, list):
            if 'minItems' in schema and len(value) < schema['minItems']:
                self.errors.append((path, 'needs at least %d item(s)' % schema['minItems']))
            if 'items' in schema:
                for index, item in enumerate(value):
                    self.check(item, schema['items'], path + (index,))
        if isinstance(value, dict):
            self._object(value, schema, path)

    def _object(self, value, schema, path):
        for name in schema.get('required', ()):
            if name not in value:
                self.errors.append((path + (name,), 'is required'))
        properties = schema.get('properties', {})
        extra = schema.get('additionalProperties', True)
        for key in sorted(value, key=str):
            if key in properties:
                self.check(value[key], properties[key], path + (key,))
            elif extra is False:
                self.errors.append((path + (key,), _unknown_message(key, properties)))
            elif isinstance(extra, dict):
                self.check(value[key], extra, path + (key,))


def _own_schema_errors(config, schema):
    validator = _Validator(schema)
    validator.check(config, schema, ())
    return validator.errors


# -- jsonschema, when installed -----------------------------------------------


def _jsonschema_errors(config, schema, jsonschema):
    validator = jsonschema.Draft4Validator(schema)
    raw = list(validator.iter_errors(config))
    # Like our validator, say only "wrong type" where the type is wrong.
    mistyped = {tuple(error.absolute_path) for error in raw if error.validator == 'type'}
    found = []
    for error in raw:
        path = tuple(error.absolute_path)
        kind = error.validator
        sub = error.schema
        if kind != 'type' and path in mistyped:
            continue
        if kind == 'type':
            found.append((path, _type_message(error.instance, sub['type'])))
        elif kind == 'required':
            for name in sub['required']:
                if name not in error.instance:
                    found.append((path + (name,), 'is required'))
        elif kind == 'additionalProperties':
            known = sub.get('properties', {})
            for key in error.instance:
                if key not in known:
                    found.append((path + (key,), _unknown_message(key, known)))
        elif kind in ('minimum', 'maximum'):
            found.append((path, _range_message(error.instance, sub.get('minimum'), sub.get('maximum'))))
        elif kind == 'enum':
            found.append((path, 'must be one of %s, not %s' % (', '.join(_show(v) for v in sub['enum']),
                                                               _show(error.instance))))
        elif kind == 'pattern':
            found.append((path, _pattern_message(error.instance, sub)))
        elif kind == 'minLength':
            found.append((path, 'must not be empty'))
        elif kind == 'minItems':
            found.append((path, 'needs at least %d item(s)' % sub['minItems']))
        else:
            found.append((path, error.message))
    return found


def _import_jsonschema():
    try:
        import jsonschema
    except ImportError:
        return None
    return jsonschema if hasattr(jsonschema, 'Draft4Validator') else None


# -- the public interface -----------------------------------------------------


def schema_errors(config, strict=True, use_jsonschema=False):
    """[(path tuple, message)] from the schema alone (by the jsonschema package if `use_jsonschema`)."""
    schema = _schema(strict)
    jsonschema = _import_jsonschema() if use_jsonschema else None
    if use_jsonschema and jsonschema is None:
        raise ImportError('the jsonschema package is not installed')
    if jsonschema is not None:
        found = _jsonschema_errors(config, schema, jsonschema)
    else:
        found = _own_schema_errors(config, schema)
    return sorted(set(found), key=lambda item: (json_path(item[0]), item[1]))


def validate_config(config, strict=True, use_jsonschema=False):
    """[(json_path, message)] of everything wrong with `config`; empty when it is valid.

    The schema comes first; the runtime's rules (specconfig.problems) then
    speak for the parts the schema found well-formed. `strict` rejects keys
    the runtime-spec does not define. `use_jsonschema` checks the schema with
    the jsonschema package (ImportError when it is not installed) instead of
    the validator here.
    """
    found = [(json_path(path), message) for path, message in
             schema_errors(config, strict=strict, use_jsonschema=use_jsonschema)]
    bad = [path for path, _unused in found]
    if isinstance(config, dict):
        found.extend(item for item in specconfig.problems(config) if not any(_within(item[0], path) for path in bad))
    return found


def _within(field, path):
    """`field` is `path` or a field inside it."""
    return path == '$' or field == path or field.startswith((path + '.', path + '['))


def check_config(config, strict=True):
    """Raise ConfigError listing every problem (the first one's path as the field), or return `config`."""
    problems = validate_config(config, strict=strict)
    if problems:
        if len(problems) == 1:
            raise ConfigError(problems[0][0], problems[0][1])
        raise ConfigError(problems[0][0], '%s (and %d more problems: %s)' % (
            problems[0][1], len(problems) - 1, '; '.join('%s: %s' % item for item in problems[1:])))
    return config
