# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of the protocol-buffers wire format CRIU's RPC messages use (proto2).

A message is described by a `Message`: field name -> `Field(number, kind,
repeated, message)`, where kind is one of int32, uint32, bool, enum, string,
bytes, message. Messages are plain dicts on our side. Decoding skips fields
the schema does not know, so a newer CRIU may add fields freely.
"""

VARINT = 0
FIXED64 = 1
LENGTH = 2
FIXED32 = 5

_SCALAR_KINDS = ('int32', 'uint32', 'bool', 'enum')


class DecodeError(ValueError):
    """The bytes are not a valid encoding of the message."""


class Field:
    """One field of a message: its number, kind, and for kind 'message' its Message."""

    def __init__(self, number, kind, repeated=False, message=None):
        self.number = number
        self.kind = kind
        self.repeated = repeated
        self.message = message


class Message:
    """A message type: a name (for errors) and its fields by name."""

    def __init__(self, name, fields):
        self.name = name
        self.fields = fields
        self.by_number = {field.number: (key, field) for key, field in fields.items()}


def encode_varint(value):
    """Base-128 varint; negative numbers as 64-bit two's complement (10 bytes), as protobuf does."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7f
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data, offset):
    """(value, next offset) of the varint at `offset`."""
    value = 0
    shift = 0
    while True:
        if offset >= len(data):
            raise DecodeError('truncated varint')
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7f) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise DecodeError('varint longer than 64 bits')


def _key(number, wire_type):
    return encode_varint(number << 3 | wire_type)


def _encode_value(field, value):
    if field.kind in _SCALAR_KINDS:
        return _key(field.number, VARINT) + encode_varint(int(value))
    if field.kind == 'string':
        payload = value.encode('utf-8')
    elif field.kind == 'bytes':
        payload = bytes(value)
    else:
        payload = encode(field.message, value)
    return _key(field.number, LENGTH) + encode_varint(len(payload)) + payload


def encode(message, values):
    """The wire bytes of dict `values` as `message`; None values and empty lists are left out."""
    out = bytearray()
    for name, value in sorted(values.items(), key=lambda item: message.fields[item[0]].number):
        field = message.fields[name]
        if value is None:
            continue
        for item in (value if field.repeated else [value]):
            out += _encode_value(field, item)
    return bytes(out)


def _signed(value, kind):
    if kind == 'int32' and value >= 1 << 63:
        return value - (1 << 64)
    return value


def _read_field(data, offset, wire_type):
    """(raw value, next offset) of one field's payload."""
    if wire_type == VARINT:
        return decode_varint(data, offset)
    if wire_type == LENGTH:
        length, offset = decode_varint(data, offset)
        if offset + length > len(data):
            raise DecodeError('truncated length-delimited field')
        return data[offset:offset + length], offset + length
    if wire_type == FIXED64:
        return data[offset:offset + 8], offset + 8
    if wire_type == FIXED32:
        return data[offset:offset + 4], offset + 4
    raise DecodeError('unsupported wire type %d' % wire_type)


def decode(message, data):
    """A dict of the fields of `message` found in `data` (repeated fields as lists)."""
    values = {}
    offset = 0
    data = bytes(data)
    while offset < len(data):
        key, offset = decode_varint(data, offset)
        number, wire_type = key >> 3, key & 7
        raw, offset = _read_field(data, offset, wire_type)
        known = message.by_number.get(number)
        if known is None:
            continue
        name, field = known
        if field.kind in _SCALAR_KINDS:
            if wire_type != VARINT:
                raise DecodeError('%s.%s: expected a varint' % (message.name, name))
            value = bool(raw) if field.kind == 'bool' else _signed(raw, field.kind)
        elif wire_type != LENGTH:
            raise DecodeError('%s.%s: expected a length-delimited field' % (message.name, name))
        elif field.kind == 'string':
            value = raw.decode('utf-8', 'replace')
        elif field.kind == 'bytes':
            value = raw
        else:
            value = decode(field.message, raw)
        if field.repeated:
            values.setdefault(name, []).append(value)
        else:
            values[name] = value
    return values
