# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How options and raw `config` combine with the generated config.json.

Options (already renamed to camelCase) merge into the config field by field:
objects merge key by key, a None value means "not given", and lists are
replaced, except three lists merged by their natural key:

| list            | merged by     | effect                                               |
| --------------- | ------------- | ---------------------------------------------------- |
| process.env     | variable name | a name given replaces the image's or default value;  |
|                 |               | new names are appended; `NAME: null` (dict form)     |
|                 |               | removes it                                           |
| mounts          | destination   | a mount at the same destination replaces the default |
|                 |               | or image one in place; others are appended           |
| process.rlimits | type          | RLIMIT_NOFILE given replaces the default one         |

The raw `config` dict is merged last, with `deep_merge`: objects merge,
lists and values replace, and None deletes the key.
"""

import copy

KEYED_LISTS = {
    ('process', 'env'): lambda item: item.partition('=')[0] if isinstance(item, str) else None,
    ('mounts',): lambda item: item.get('destination') if isinstance(item, dict) else None,
    ('process', 'rlimits'): lambda item: item.get('type') if isinstance(item, dict) else None,
}
REMOVED = object()


def merge_keyed(base, updates, key):
    """`base` with items of `updates` replacing the ones of the same key in place, the rest appended.

    An update that is a (key, REMOVED) pair removes the item with that key.
    """
    result = list(base)
    for update in updates:
        if isinstance(update, tuple) and len(update) == 2 and update[1] is REMOVED:
            result = [item for item in result if key(item) != update[0]]
            continue
        wanted = key(update)
        for index, item in enumerate(result):
            if wanted is not None and key(item) == wanted:
                result[index] = copy.deepcopy(update)
                break
        else:
            result.append(copy.deepcopy(update))
    return result


def merge_options(base, options, path=()):
    """Merge camelCase `options` into dict `base` in place (None = not given); return base."""
    for key, value in options.items():
        if value is None:
            continue
        here = path + (key,)
        current = base.get(key)
        if here in KEYED_LISTS and isinstance(value, list) and isinstance(current, list):
            base[key] = merge_keyed(current, [_without_none(item) for item in value], KEYED_LISTS[here])
        elif isinstance(value, dict) and isinstance(current, dict):
            merge_options(current, value, here)
        else:
            base[key] = _without_none(value)
    return base


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def deep_merge(base, raw):
    """Merge raw config `raw` into dict `base` in place: objects merge, lists replace, None deletes."""
    for key, value in raw.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
