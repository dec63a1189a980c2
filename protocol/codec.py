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


_MIN_ARG = {24: 24, 25: 1 << 8, 26: 1 << 16, 27: 1 << 32}


class _Level:
    """One open array or map while scanning: items left, and the last map key seen."""

    __slots__ = ("left", "is_map", "last_key")

    def __init__(self, left: int, is_map: bool) -> None:
        self.left = left
        self.is_map = is_map
        self.last_key = b""


def _scan(data: bytes) -> None:
    """Check that `data` is exactly one canonical item of the data model, in one pass.

    Rejects what the model excludes (tags, floats and simple values other than
    false/true/null, indefinite lengths, non-text map keys), what is not
    canonical (non-shortest heads, map keys not in strictly increasing bytewise
    order, so duplicates too), nesting past MAX_DEPTH, lengths past the end and
    trailing bytes, in time linear in the input, before cbor2 builds anything.
    UTF-8 validity is left to cbor2.
    """
    pos, end = 0, len(data)
    levels = [_Level(1, False)]
    while levels:
        level = levels[-1]
        if level.left == 0:
            levels.pop()
            continue
        is_key = level.is_map and level.left % 2 == 0
        level.left -= 1
        start = pos
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
            if arg < _MIN_ARG[info]:
                raise CodecError("integer or length not in its shortest form")
        else:
            raise CodecError("indefinite lengths and reserved values are not allowed")
        if major == 6:
            raise CodecError("CBOR tags are not allowed")
        if major == 7 and not 20 <= info <= 22:
            raise CodecError("floats and simple values other than false/true/null are not allowed")
        if is_key and major != 3:
            raise CodecError("map keys must be text strings")
        if major in (2, 3):
            if arg > end - pos:
                raise CodecError("string runs past the end of the input")
            pos += arg
        elif major in (4, 5):
            count = arg * (2 if major == 5 else 1)
            if count > end - pos:
                raise CodecError("container claims more items than the input holds")
            if count and len(levels) > MAX_DEPTH:
                raise CodecError(f"nesting deeper than {MAX_DEPTH}")
            levels.append(_Level(count, major == 5))
        if is_key:
            key = data[start:pos]
            if key <= level.last_key:
                raise CodecError("map keys out of canonical order, or repeated")
            level.last_key = key
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
    except Exception as exc:  # cbor2 raises several types on garbage (e.g. bad UTF-8)
        raise CodecError(f"malformed CBOR: {type(exc).__name__}") from None
    return value
