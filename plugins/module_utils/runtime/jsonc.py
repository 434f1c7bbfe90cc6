# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON through CPython's C codec, without importing the json package.

`import json` pulls in `re` and `enum`, several milliseconds that every
`runcible` command would pay before doing anything (start-up is measured
against runc in bench/lifecycle). The C scanner and encoder behind the json
package are used directly; on other interpreters, or to build an error
message for bad input, the json package is imported after all.
"""

try:
    import _json
except ImportError:  # pragma: no cover - non-CPython interpreters
    _json = None


class _DecoderContext:
    """The attributes _json.make_scanner reads from a JSONDecoder."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        return {'-Infinity': float('-inf'), 'Infinity': float('inf'), 'NaN': float('nan')}[name]


_WHITESPACE = ' \t\n\r'
_scanner = _json.make_scanner(_DecoderContext()) if _json is not None else None
_encoder = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ': ', ', ',
                              False, False, True) if _json is not None else None
_compact_encoder = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ':', ',',
                                      False, False, True) if _json is not None else None


def loads(text):
    """Parse a JSON document (str or bytes); ValueError with the position on bad input."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode('utf-8')
    if _scanner is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scanner(text, start)
        except (StopIteration, ValueError):
            value, end = None, -1
        if end >= 0 and not text[end:].strip(_WHITESPACE):
            return value
    import json
    return json.loads(text)


def dumps(value, indent=None, compact=False):
    """Serialise `value`; `indent` (a string or count) pretty-prints like json.dumps."""
    if indent is not None:
        if isinstance(indent, int):
            indent = ' ' * indent
        return ''.join(_indented(value, indent, 0))
    if _encoder is None:
        import json
        return json.dumps(value, separators=(',', ':') if compact else None)
    return ''.join((_compact_encoder if compact else _encoder)(value, 0))


def _indented(value, indent, level):
    if isinstance(value, dict) and value:
        inner = '\n' + indent * (level + 1)
        yield '{'
        first = True
        for key, item in value.items():
            yield (inner if first else ',' + inner) + dumps(str(key)) + ': '
            first = False
            yield from _indented(item, indent, level + 1)
        yield '\n' + indent * level + '}'
    elif isinstance(value, (list, tuple)) and value:
        inner = '\n' + indent * (level + 1)
        yield '['
        for index, item in enumerate(value):
            yield inner if index == 0 else ',' + inner
            yield from _indented(item, indent, level + 1)
        yield '\n' + indent * level + ']'
    else:
        yield dumps(value)
