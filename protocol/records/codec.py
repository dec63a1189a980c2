"""Deterministic CBOR (RFC 8949 section 4.2.1, core deterministic encoding).

noticenet's data model is deliberately small: unsigned and negative integers,
byte strings, text strings, arrays, maps with text-string keys, booleans and
null. No floats, no tags, no indefinite lengths. Encoding is canonical, so the
same value always gives the same bytes; decoding is strict: it accepts only
bytes that are exactly the canonical encoding of an allowed value, so every
hash and signature is over one possible byte string.
"""

from __future__ import annotations

import functools
from typing import Any

import cbor2

from noticenet.protocol.errors import CodecError

MAX_ITEM_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16
MEMO_MAX_BYTES = 4096  # inputs up to this size have their scan remembered
MEMO_ITEMS = 4096  # how many (at most 16 MiB held)
MEMO_LARGE_MAX_BYTES = 64 * 1024  # larger inputs (key-epoch bodies, rosters), up to this
MEMO_LARGE_ITEMS = 256  # how many of those (at most 16 MiB held)

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


def _scan(data: bytes) -> None:
    """Check that `data` is exactly one canonical item of the data model.

    Rejects what the model excludes (tags, floats and simple values other than
    false/true/null, indefinite lengths, non-text map keys), what is not
    canonical (non-shortest heads, map keys not in strictly increasing bytewise
    order, so duplicates too), nesting past MAX_DEPTH, lengths past the end and
    trailing bytes, in time linear in the input, before cbor2 builds anything.
    UTF-8 validity is left to cbor2. Recursion is bounded by MAX_DEPTH.
    """
    if _item(data, 0, len(data), 0) != len(data):
        raise CodecError("trailing bytes after the item")


def _scan_passes(data: bytes) -> bool:
    """`_scan` as a value to remember: True, or CodecError (never remembered)."""
    _scan(data)
    return True


# `_scan`, remembered for inputs that passed it. A pure function of the bytes,
# so a repeat needs only a hash and a compare: a node sees an entry again as a
# duplicate, and a simulation's nodes each decode the same entries. Large
# inputs (up to MEMO_LARGE_MAX_BYTES) get a smaller memo of their own: every
# member opens every key-epoch body, which wraps the epoch key for every
# member (about 20 KB for 196).
_scan_small = functools.lru_cache(maxsize=MEMO_ITEMS)(_scan_passes)
_scan_large = functools.lru_cache(maxsize=MEMO_LARGE_ITEMS)(_scan_passes)


_WHOLE = bytes(
    1 if h < 0x18 or 0x20 <= h < 0x38 or h in (0xF4, 0xF5, 0xF6)  # ints -24..23, false/true/null
    else 1 + (h & 31) if 0x40 <= h < 0x58 or 0x60 <= h < 0x78  # strings of 0-23 bytes
    else 0
    for h in range(256)
)
"""For each head byte, the size of the item it starts if the head alone fixes it
(and it is canonical): 1 for a one-byte item, 1 + n for a string of n < 24 bytes;
0 for the rest. Containers look their keys and items up before they call `_item`
(inline: a call is what it saves): 3.5% fewer instructions per entry on a worker."""


def _item(data: bytes, pos: int, end: int, depth: int) -> int:
    """Check one item starting at `pos` (inside `depth` containers); where it ends."""
    if pos >= end:
        raise CodecError("truncated input")
    head = data[pos]
    major, arg = head >> 5, head & 31
    pos += 1
    if arg >= 24:
        if arg >= 28:
            raise CodecError("indefinite lengths and reserved values are not allowed")
        info = arg
        after = pos + (1 << (info - 24))
        if after > end:
            raise CodecError("truncated input")
        arg = int.from_bytes(data[pos:after], "big")
        pos = after
        if arg < _MIN_ARG[info]:
            raise CodecError("integer or length not in its shortest form")
        if major == 7:
            raise CodecError("floats and simple values other than false/true/null are not allowed")
    if major < 2:
        return pos
    if major < 4:
        if arg > end - pos:
            raise CodecError("string runs past the end of the input")
        return pos + arg
    if major == 4:
        if arg > end - pos:
            raise CodecError("container claims more items than the input holds")
        if arg and depth >= MAX_DEPTH:
            raise CodecError(f"nesting deeper than {MAX_DEPTH}")
        for _ in range(arg):
            size = _WHOLE[data[pos]] if pos < end else 0
            if size and pos + size <= end:
                pos += size
            else:
                pos = _item(data, pos, end, depth + 1)
        return pos
    if major == 5:
        if 2 * arg > end - pos:
            raise CodecError("container claims more items than the input holds")
        if arg and depth >= MAX_DEPTH:
            raise CodecError(f"nesting deeper than {MAX_DEPTH}")
        last = b""
        for _ in range(arg):
            start = pos
            if pos >= end:
                raise CodecError("truncated input")
            head = data[pos]
            if head >> 5 != 3:
                raise CodecError("map keys must be text strings")
            size = _WHOLE[head]  # a key of 0-23 bytes
            if size and pos + size <= end:
                pos += size
            else:
                pos = _item(data, pos, end, depth + 1)
            key = data[start:pos]
            if key <= last:
                raise CodecError("map keys out of canonical order, or repeated")
            last = key
            size = _WHOLE[data[pos]] if pos < end else 0
            if size and pos + size <= end:
                pos += size
            else:
                pos = _item(data, pos, end, depth + 1)
        return pos
    if major == 6:
        raise CodecError("CBOR tags are not allowed")
    if not 20 <= arg <= 22:
        raise CodecError("floats and simple values other than false/true/null are not allowed")
    return pos


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
    if len(data) <= MEMO_MAX_BYTES:
        _scan_small(data)
    elif len(data) <= MEMO_LARGE_MAX_BYTES:
        _scan_large(data)
    else:
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


def encode_known(value: Any) -> bytes:
    """Encode a value the caller built from ints, bytes and lists (bookkeeping keys).

    `encode` without the data-model walk, which costs more than the encoding
    on the ingest path. Only for values whose types the caller fixes in code.
    """
    data: bytes = cbor2.dumps(value, canonical=True)
    return data


def decode_stored(data: bytes) -> Any:
    """Decode an item this node stored after `decode` accepted it (or `encode` made it).

    No canonical scan: the bytes were scanned on the way in, and on a read the
    pure-Python scan costs several times the decode. Never for bytes from the
    network. Bytes that are not CBOR at all (a damaged store) still raise
    CodecError.
    """
    try:
        return cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types on garbage
        raise CodecError(f"stored item is not CBOR: {type(exc).__name__}") from None
