"""The read path's trusted decoding of what this node stored (headers, bodies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from noticenet.crypto import aead
from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import decode, decode_stored, encode
from noticenet.protocol.records.entry import decode_signed_header, decode_stored_header
from noticenet.protocol.records.kinds import parse_body, parse_stored_body
from noticenet.protocol.records.schema import from_stored, to_map
from noticenet.protocol.store.keyspace import Txn, key

from .conftest import NOW
from .samples import diffusion, document, records

Make = Callable[..., tuple[Ledger, Publisher]]


@pytest.mark.parametrize("kind", sorted(records()))
def test_stored_bodies_rebuild_the_same_records(kind: str) -> None:
    record = records()[kind]
    data = decode(encode(to_map(record)))
    rebuilt = parse_stored_body(kind, decode_stored(encode(to_map(record))))
    assert rebuilt == parse_body(kind, data) == record
    assert type(rebuilt) is type(record)


def test_from_stored_fills_left_out_defaults_as_to_map_writes_them() -> None:
    record = diffusion(("DEU",))
    data = to_map(record)
    del data["arrest_warrants"], data["summary"]  # fields with defaults may be left out
    rebuilt = from_stored(type(record), data)
    assert rebuilt == record
    assert data == to_map(rebuilt)


def test_stored_headers_decode_as_the_strict_decoder_does(make_ledger: Make) -> None:
    ledger, pub = make_ledger("FRA")
    pub.publish("sltd", document(), NOW)
    for entry in ledger.feed("FRA"):
        raw = entry.signed_header
        header, sig = decode_stored_header(raw)
        strict, strict_sig = decode_signed_header(raw)
        assert (header, sig) == (strict, strict_sig)
        assert header.encoded == strict.encoded
        assert header.aad() == strict.aad()
        assert header.to_map() == strict.to_map()


def test_a_header_without_guards_is_not_in_normal_form() -> None:
    """Left out, `guards` would be a second encoding (and id) of the header with
    `guards: []`: the strict decoder refuses it, so no store holds one; the normal
    form reads alike both ways."""
    fields: dict[str, Any] = {
        "v": 1,
        "author": "FRA",
        "seq": 1,
        "issued_at": NOW,
        "kind": "receipt",
        "audience": ["public"],
        "body_hash": bytes(32),
        "body_len": 0,
    }
    with pytest.raises(CodecError, match="guards left out"):
        decode_signed_header(encode({"header": fields, "sig": bytes(64)}))
    raw = encode({"header": {**fields, "guards": []}, "sig": bytes(64)})
    header, _ = decode_stored_header(raw)
    strict, _ = decode_signed_header(raw)
    assert header == strict and header.guards == ()
    assert header.to_map() == strict.to_map() == {**fields, "guards": []}
    assert header.aad() == strict.aad()


def test_a_damaged_stored_header_is_a_codec_error() -> None:
    for raw in (b"\xff\x00", encode({"sig": bytes(64)}), encode([1, 2])):
        with pytest.raises(CodecError):
            decode_stored_header(raw)


def test_a_body_stored_unread_is_checked_strictly_on_read(make_ledger: Make) -> None:
    """Without index keys the node never parsed the body: read must check it."""
    ledger, pub = make_ledger("FRA")
    entry = pub.publish("sltd", document(), NOW)
    bad = {**to_map(document()), "document_number": "lower-case"}
    body_key = ledger.epochs.key_for(Txn(ledger.store), entry)
    assert body_key is not None
    batch = ledger.store.batch()
    batch.put(key(b"b", entry.id), aead.seal(body_key, encode(bad), entry.header.aad()))
    batch.delete(key(b"r", entry.id))
    batch.commit()
    with pytest.raises(SchemaError):
        ledger.read(entry.id)
