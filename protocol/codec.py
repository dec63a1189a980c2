"""Deterministic CBOR (RFC 8949 section 4.2.1, core deterministic encoding).

noticenet's data model is deliberately small: unsigned and negative integers,
byte strings, text strings, arrays, maps with text-string keys, booleans and
null. No floats, no tags, no indefinite lengths. Encoding is canonical, so the
same value always gives the same bytes; decoding is strict: it accepts only
bytes that are exactly the canonical encoding of an allowed value, so every
hash and signature is over one possible byte string.
"""

from __future__ import annotations

from typing import Any

import cbor2

from .errors import CodecError

MAX_ITEM_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16

_SCALARS = (int, bytes, str, bool, type(None))


def _check(value: Any, depth: int) -> None:
    """Raise CodecError unless `value` stays inside the data model."""
    if depth > MAX_DEPTH:
        raise CodecError(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, _SCALARS):
        if isinstance(value, int) and not isinstance(value, bool):
            if not -(2**64) <= value < 2**64:
                raise CodecError("integer out of the 64-bit range")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CodecError("map keys must be text strings")
            _check(item, depth + 1)
        return
    raise CodecError(f"type {type(value).__name__} is not in the data model")


def encode(value: Any) -> bytes:
    """Encode `value` canonically; raise CodecError for values outside the model."""
    _check(value, 0)
    data: bytes = cbor2.dumps(value, canonical=True)
    if len(data) > MAX_ITEM_BYTES:
        raise CodecError(f"encoded item is {len(data)} bytes, limit {MAX_ITEM_BYTES}")
    return data


def _scan(data: bytes) -> None:
    """Walk the item heads once before cbor2 sees the bytes.

    Rejects what the data model excludes (tags, floats and simple values other
    than false/true/null, indefinite lengths), nesting past MAX_DEPTH, lengths
    past the end and trailing bytes, in time linear in the input. cbor2 would
    otherwise expand tags such as shared references, which costs far more
    than the input's size.
    """
    pos, end = 0, len(data)
    remaining = [1]  # items still to read at each open nesting level
    while remaining:
        if remaining[-1] == 0:
            remaining.pop()
            continue
        remaining[-1] -= 1
        if pos >= end:
            raise CodecError("truncated input")
        head = data[pos]
        major, info = head >> 5, head & 31
        pos += 1
        if info < 24:
            arg = info
        elif info < 28:
            size = 1 << (info - 24)
            if pos + size > end:
                raise CodecError("truncated input")
            arg = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        else:
            raise CodecError("indefinite lengths and reserved values are not allowed")
        if major == 6:
            raise CodecError("CBOR tags are not allowed")
        if major == 7 and not 20 <= info <= 22:
            raise CodecError("floats and simple values other than false/true/null are not allowed")
        if major in (2, 3):
            if arg > end - pos:
                raise CodecError("string runs past the end of the input")
            pos += arg
        elif major in (4, 5):
            count = arg * (2 if major == 5 else 1)
            if count > end - pos:
                raise CodecError("container claims more items than the input holds")
            remaining.append(count)
            if count and len(remaining) > MAX_DEPTH + 1:
                raise CodecError(f"nesting deeper than {MAX_DEPTH}")
    if pos != end:
        raise CodecError("trailing bytes after the item")


def decode(data: bytes, max_bytes: int = MAX_ITEM_BYTES) -> Any:
    """Decode one canonical item; raise CodecError for anything else.

    Rejected: inputs over `max_bytes`, trailing bytes, floats, tags,
    indefinite lengths, duplicate or unsorted map keys, non-shortest integer
    or length encodings, nesting deeper than MAX_DEPTH.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError("input must be bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise CodecError(f"input is {len(data)} bytes, limit {max_bytes}")
    if not data:
        raise CodecError("empty input")
    _scan(data)
    try:
        value = cbor2.loads(
            data,
            max_depth=MAX_DEPTH + 1,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        )
    except CodecError:
        raise
    except Exception as exc:  # cbor2 raises several types on garbage
        raise CodecError(f"malformed CBOR: {type(exc).__name__}") from None
    _check(value, 0)
    try:
        again = cbor2.dumps(value, canonical=True)
    except Exception as exc:
        raise CodecError(f"undecodable value: {type(exc).__name__}") from None
    if again != data:
        raise CodecError("not the canonical encoding (or trailing bytes)")
    return value
