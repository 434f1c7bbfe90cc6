# -*- coding: utf-8 -*-
"""The protocol-buffers encoding CRIU's RPC needs, against the format's own examples and round trips."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import messages, protobuf

SMALL = protobuf.Message('small', {
    'a': protobuf.Field(1, 'int32'),
    'b': protobuf.Field(2, 'string'),
    'c': protobuf.Field(3, 'uint32'),
    'flags': protobuf.Field(4, 'bool', repeated=True),
})


def test_examples_from_the_encoding_guide():
    # protobuf.dev/programming-guides/encoding: field 1 = 150 is 08 96 01; field 2 = "testing".
    assert protobuf.encode(SMALL, {'a': 150}) == bytes([0x08, 0x96, 0x01])
    assert protobuf.encode(SMALL, {'b': 'testing'}) == bytes([0x12, 0x07]) + b'testing'
    assert protobuf.decode(SMALL, bytes([0x08, 0x96, 0x01])) == {'a': 150}


def test_negative_int32_takes_ten_bytes_and_comes_back():
    data = protobuf.encode(SMALL, {'a': -1})
    assert data == bytes([0x08] + [0xff] * 9 + [0x01])
    assert protobuf.decode(SMALL, data) == {'a': -1}


def test_none_and_repeated_fields():
    data = protobuf.encode(SMALL, {'a': None, 'flags': [True, False, True]})
    assert protobuf.decode(SMALL, data) == {'flags': [True, False, True]}


def test_unknown_fields_of_every_wire_type_are_skipped():
    unknown = (protobuf.encode_varint(99 << 3 | 0) + protobuf.encode_varint(12345)
               + protobuf.encode_varint(98 << 3 | 2) + bytes([3]) + b'xyz'
               + protobuf.encode_varint(97 << 3 | 1) + bytes(8)
               + protobuf.encode_varint(96 << 3 | 5) + bytes(4))
    data = unknown + protobuf.encode(SMALL, {'b': 'kept'})
    assert protobuf.decode(SMALL, data) == {'b': 'kept'}


@pytest.mark.parametrize('data', [bytes([0x08]), bytes([0x12, 0x05]) + b'ab', bytes([0x08] + [0x80] * 11)])
def test_truncated_or_malformed_input_is_an_error(data):
    with pytest.raises(protobuf.DecodeError):
        protobuf.decode(SMALL, data)


def test_a_criu_request_round_trips():
    request = {'type': messages.RESTORE, 'opts': {
        'images_dir_fd': 5, 'log_level': 4, 'root': '/run/x/criu-root', 'rst_sibling': True,
        'manage_cgroups_mode': messages.CGROUP_MODES['soft'], 'empty_ns': 0x40000000,
        'ext_mnt': [{'key': '/data', 'val': '/srv/data'}, {'key': '/dev/null', 'val': '/dev/null'}],
        'inherit_fd': [{'key': 'pipe:[1234]', 'fd': 1}], 'cg_root': [{'path': '/c1'}, {'ctrl': 'memory', 'path': '/c1'}],
        'external': ['net[4026532000]:extRootNetNS']}}
    assert protobuf.decode(messages.REQUEST, protobuf.encode(messages.REQUEST, request)) == request


def test_a_notify_response_decodes():
    notify = protobuf.encode(messages.NOTIFY_MESSAGE, {'script': 'post-restore', 'pid': 4242})
    data = protobuf.encode(messages.RESPONSE, {'type': messages.NOTIFY, 'success': True}) + \
        bytes([0x2a, len(notify)]) + notify
    assert protobuf.decode(messages.RESPONSE, data) == {
        'type': messages.NOTIFY, 'success': True, 'notify': {'script': 'post-restore', 'pid': 4242}}


@given(a=st.integers(-2 ** 31, 2 ** 31 - 1), b=st.text(), c=st.integers(0, 2 ** 32 - 1))
def test_scalars_round_trip(a, b, c):
    values = {'a': a, 'b': b, 'c': c}
    assert protobuf.decode(SMALL, protobuf.encode(SMALL, values)) == values
