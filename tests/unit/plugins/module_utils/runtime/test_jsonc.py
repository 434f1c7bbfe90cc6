# -*- coding: utf-8 -*-
"""The C-codec JSON helper must agree with the json package everywhere we use it."""

import glob
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.runtime import jsonc

MODULE_UTILS = os.path.dirname(os.path.dirname(os.path.abspath(jsonc.__file__)))

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20)


@given(values)
def test_round_trip_and_formatting_match_json(value):
    assert jsonc.loads(json.dumps(value)) == value
    assert jsonc.dumps(value) == json.dumps(value)
    assert jsonc.dumps(value, compact=True) == json.dumps(value, separators=(',', ':'))
    assert jsonc.dumps(value, indent=2) == json.dumps(value, indent=2)
    assert jsonc.dumps(value, indent='\t') == json.dumps(value, indent='\t')


@pytest.mark.parametrize('text', ['', '{', '{"a": 1} trailing', '[1,]', "{'a': 1}"])
def test_bad_documents_raise_value_error(text):
    with pytest.raises(ValueError):
        jsonc.loads(text)


def test_bytes_and_surrounding_whitespace():
    assert jsonc.loads(b' \n{"a": [1, 2.5, null]}\r\n') == {'a': [1, 2.5, None]}


def _interpreters():
    """This Python and every other CPython 3.9+ on the machine (Debian's, pyenv's): the C codec differs."""
    found = {sys.executable}
    candidates = ['/usr/bin/python3'] + glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3'))
    for path in candidates:
        version = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if os.path.exists(path) and (not version[:1].isdigit() or tuple(map(int, version.split('.')[:2])) >= (3, 9)):
            found.add(path)
    return sorted(found)


_BAD_DOCUMENTS = [
    ('{"ociVersion": "1.0.2", ', 'line 1 column 25'),  # truncated: the C scanner of 3.10/3.11.2 returned NULL
    ('{"a": 1 x', 'line 1 column 9'),
    ('{"a"', 'line 1 column 5'),
    ('[' * 100000, 'nested more than 200 levels deep: line 1 column 201'),
    ('{"a": ' * 300 + '1' + '}' * 300, 'nested more than 200 levels deep: line 1 column 1201'),
]


@pytest.mark.parametrize('python', _interpreters())
def test_bad_documents_give_a_position_on_every_interpreter(python):
    """Never SystemError or RecursionError: a ValueError naming where the document is wrong."""
    script = (
        'import sys\n'
        'from runtime import jsonc\n'
        'for text in sys.argv[1:]:\n'
        '    try:\n'
        '        jsonc.loads(text)\n'
        '    except ValueError as exc:\n'
        '        print(str(exc))\n'
        '    else:\n'
        '        print("parsed")\n')
    result = subprocess.run([python, '-c', script] + [text for text, _where in _BAD_DOCUMENTS], cwd=MODULE_UTILS,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(_BAD_DOCUMENTS)
    for line, (_text, where) in zip(lines, _BAD_DOCUMENTS):
        assert where in line


def test_nesting_just_under_the_limit_parses():
    assert jsonc.loads('[' * jsonc.MAX_DEPTH + ']' * jsonc.MAX_DEPTH) is not None


@pytest.mark.parametrize('value, clean', [
    ({'a': ['é', '😀', '\\u0000 written out']}, True),
    ({'a': 'x\x00'}, False),
    ({'k\x00': 1}, False),
    ({'a': ['\ud800']}, False),
])
def test_clean_text(value, clean):
    assert jsonc.clean_text(value) is clean


@pytest.mark.parametrize('text', [
    '[' + ', '.join(['[]'] * 500) + ']',                # many brackets, two levels
    '{"a": "' + '[' * 300 + '", "b": [[1]]}',            # brackets in a string
])
def test_many_brackets_but_shallow_parses(text):
    """More brackets than MAX_DEPTH only means the nesting is walked, not that the document is refused."""
    assert jsonc.loads(text) is not None


def test_deep_nesting_among_many_brackets_is_refused():
    text = '[' + ', '.join(['[]'] * 300) + ', ' + '[' * 250 + ']' * 250 + ']'
    with pytest.raises(ValueError, match='nested more than 200 levels deep'):
        jsonc.loads(text)
