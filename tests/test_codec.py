"""The deterministic CBOR codec: canonical output, strict input."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noticenet.protocol.errors import CodecError
from noticenet.protocol.records.codec import MAX_DEPTH, MAX_ITEM_BYTES, decode, encode

scalars = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
    st.binary(max_size=64),
    st.text(max_size=32),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.text(max_size=8), inner, max_size=6),
    ),
    max_leaves=30,
)


@given(values)
@settings(max_examples=300)
def test_round_trip(value: object) -> None:
    data = encode(value)
    assert decode(data) == value
    assert encode(decode(data)) == data


@given(st.binary(max_size=200))
@settings(max_examples=1000)
def test_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    try:
        value = decode(data)
    except CodecError:
        return
    assert encode(value) == data


@given(values, st.data())
@settings(max_examples=500)
def test_mutated_bytes_raise_only_codec_errors(value: object, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] = data.draw(st.integers(min_value=0, max_value=255))
    try:
        decoded = decode(bytes(raw))
    except CodecError:
        return
    assert encode(decoded) == bytes(raw)


@pytest.mark.parametrize(
    "hex_input, reason",
    [
        ("a2616101616102", "duplicate map key"),
        ("1817", "non-shortest integer"),
        ("9f01ff", "indefinite-length array"),
        ("c11a00000000", "tag"),
        ("f93c00", "float"),
        ("a1016161", "integer map key"),
        ("0101", "trailing bytes"),
        ("a2616201616101", "unsorted map keys"),
        ("5a00010000", "truncated byte string"),
        ("", "empty input"),
    ],
)
def test_rejects_non_canonical(hex_input: str, reason: str) -> None:
    with pytest.raises(CodecError):
        decode(bytes.fromhex(hex_input))


def test_rejects_deep_nesting() -> None:
    data = b"\x81" * (MAX_DEPTH + 5) + b"\x01"
    with pytest.raises(CodecError):
        decode(data)
    with pytest.raises(CodecError):
        decode(b"\x81" * 100_000 + b"\x01")


def test_rejects_oversized_input() -> None:
    data = encode(b"x" * 1000)
    with pytest.raises(CodecError):
        decode(data, max_bytes=500)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"x": 1.5}, "type float is not in the data model"),
        ({1, 2}, "type set is not in the data model"),
        ({1: "x"}, "map keys must be text strings"),
        ([2**64], "integer out of the 64-bit range"),
        ([-(2**64) - 1], "integer out of the 64-bit range"),
        ([[[[]]]], None),  # within the depth limit: encodes
        (b"x" * (MAX_ITEM_BYTES + 1), "limit"),
    ],
)
def test_encode_refuses_values_outside_the_model(value: object, says: str | None) -> None:
    """What the decoder would refuse is never written: publishing a record built
    from a user's JSON fails at the encoder, with a CodecError naming the rule."""
    if says is None:
        assert decode(encode(value)) == value
        return
    with pytest.raises(CodecError) as raised:
        encode(value)
    assert says in str(raised.value)


def test_encode_refuses_nesting_the_decoder_would_refuse() -> None:
    deep: list[object] = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(CodecError, match="nesting deeper than"):
        encode(deep)
    with pytest.raises(CodecError):
        decode(cbor2.dumps(deep))
    assert decode(encode(deep[0])) == deep[0]  # one level less: both sides take it


def test_known_encoding() -> None:
    assert encode({"b": 1, "a": [1, 2, b"x"]}).hex() == "a261618301024178616201"


@pytest.mark.parametrize("size", [3_000, 30_000, 300_000])
def test_remembered_scans_still_refuse_what_failed(size: int) -> None:
    """Small, large and unremembered inputs: a pass may be remembered, a failure never."""
    good = encode({"a": b"\x00" * size, "b": [1, 2, 3]})
    assert decode(good) == decode(good) == {"a": b"\x00" * size, "b": [1, 2, 3]}
    swapped = good.replace(b"\x61\x62", b"\x61\x30", 1)  # key "b" -> "0": out of order
    for _ in range(2):
        with pytest.raises(CodecError, match="canonical order"):
            decode(swapped)
