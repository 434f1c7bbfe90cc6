# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON through CPython's C codec, without importing the json package.

`import json` pulls in `re` and `enum`, several milliseconds that every
`runcible` command would pay before doing anything (start-up is measured
against runc in bench/lifecycle). The C scanner and encoder behind the json
package are used directly; on other interpreters, or to build an error
message for bad input, the json package is imported after all.

Every document is refused beyond MAX_DEPTH levels of nesting: Python code
that walks a value (validation, the encoder, copy) recurses once per level,
and a document only a little deeper than the interpreter's recursion limit
would parse and then fail somewhere later with a RecursionError.
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
MAX_DEPTH = 200
_scanner = _json.make_scanner(_DecoderContext()) if _json is not None else None
_encoder = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ': ', ', ',
                              False, False, True) if _json is not None else None
_compact_encoder = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ':', ',',
                                      False, False, True) if _json is not None else None
_unicode_encoder = _json.make_encoder(None, None, _json.encode_basestring, None, ':', ',',
                                      False, False, True) if _json is not None else None


def loads(text):
    """Parse a JSON document (str or bytes); ValueError with the position on bad input."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode('utf-8')
    if _scanner is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scanner(text, start)
        except (StopIteration, ValueError, RecursionError, SystemError):
            # SystemError: the C scanner of CPython 3.10 and 3.11 (up to
            # 3.11.4) builds its error from json.decoder, and when that module
            # was never imported it returns NULL without an exception. The
            # json package below gives the real message and position.
            value, end = None, -1
        if end >= 0 and not text[end:].strip(_WHITESPACE):
            _check_depth(value, text)
            return value
    import json
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(_too_deep(text))
    _check_depth(value, text)
    return value


def _check_depth(value, text):
    """ValueError when `value` nests containers more than MAX_DEPTH deep (walked without recursion)."""
    if text.count('[') + text.count('{') <= MAX_DEPTH:
        # Each level opens a bracket: a document with no more brackets (in strings too) than that is not too deep.
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    raise ValueError(_too_deep(text))
                stack.append((child, depth + 1))


def _too_deep(text):
    """The error for a document nested beyond MAX_DEPTH, with where it first gets that deep."""
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in '[{':
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count('\n', 0, index) + 1
                column = index - text.rfind('\n', 0, index)
                return 'nested more than %d levels deep: line %d column %d (char %d)' % (MAX_DEPTH, line, column,
                                                                                         index)
        elif char in ']}':
            depth -= 1
    return 'nested more than %d levels deep' % MAX_DEPTH


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


def clean_text(value):
    """No string in `value` (keys included) holds a NUL byte or a lone surrogate; one pass of the C encoder."""
    if _unicode_encoder is None:
        import json
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = ''.join(_unicode_encoder(value, 0))
    index = text.find('\\u0000')
    while index >= 0:
        # A NUL is escaped as \u0000; a backslash and "u0000" as \\u0000.
        before = text[:index]
        if (len(before) - len(before.rstrip('\\'))) % 2 == 0:
            return False
        index = text.find('\\u0000', index + 1)
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


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
