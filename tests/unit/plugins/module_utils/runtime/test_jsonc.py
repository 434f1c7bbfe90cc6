# -*- coding: utf-8 -*-
"""The C-codec JSON helper must agree with the json package everywhere we use it."""

import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.runtime import jsonc

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
