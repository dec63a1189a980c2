"""Entries end to end without a ledger: encode, sign, encrypt, decrypt, verify."""

from __future__ import annotations

from typing import Any

import pytest

from noticenet.crypto import sender_keys
from noticenet.crypto.errors import BadSignature, DecryptionFailed, NotARecipient
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import BodyMismatch, CodecError, ProtocolError, SchemaError
from noticenet.protocol.index.guard_tags import tags_for
from noticenet.protocol.ledger.validation import validate_entry
from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import (
    ChosenKeying,
    Draft,
    EpochKeying,
    open_body,
    seal_entry,
)

from .conftest import NOW
from .edits import DROP, Change, edited
from .samples import diffusion, records

DAY = 86_400_000


def _broadcast(devnet: DevNet, kind: str, record: Any) -> tuple[Entry, bytes]:
    fra = devnet.member("FRA")
    epoch_key = sender_keys.new_key()
    draft = Draft(
        "FRA", 2, b"\x01" * 32, NOW, kind, record, NOW + DAY, tags_for(record, devnet.guard_key)
    )
    return seal_entry(draft, EpochKeying(b"\x02" * 32, epoch_key), fra.keys.sign), epoch_key


@pytest.mark.parametrize("sig_len", [0, 1, 23, 24, 63, 64, 65, 255, 256])
def test_signed_header_and_wire_are_canonical_for_any_signature_length(
    devnet: DevNet, sig_len: int
) -> None:
    """The encoders write a 64-byte signature's field directly; any other length
    (refused later by the checks) still encodes as the canonical codec would."""
    entry, _ = _broadcast(devnet, "sltd", records()["sltd"])
    odd = Entry(entry.header, bytes(i % 251 for i in range(sig_len)), entry.body)
    header = decode(entry.header.encoded)
    assert odd.signed_header == encode({"header": header, "sig": odd.signature})
    assert odd.to_wire() == encode({"header": header, "sig": odd.signature, "body": odd.body})


@pytest.mark.parametrize("kind", sorted(records()))
def test_round_trip_every_kind(devnet: DevNet, kind: str) -> None:
    record = records()[kind]
    entry, epoch_key = _broadcast(devnet, kind, record)
    wire = entry.to_wire()
    back = decode_entry(wire)
    assert back == entry and back.to_wire() == wire
    validate_entry(back, devnet.roster, NOW)
    key = sender_keys.entry_key(epoch_key, "FRA", 2)
    assert open_body(back, key) == record
    assert back.header.guards == tags_for(record, devnet.guard_key)


def test_diffusion_recipients_read_and_others_cannot(devnet: DevNet) -> None:
    fra = devnet.member("FRA")
    chosen = {m: devnet.member(m).keys.public.encryption_key for m in ("DEU", "USA", "CCF", "FRA")}
    draft = Draft("FRA", 1, None, NOW, "diffusion", diffusion(), NOW + DAY)
    entry = seal_entry(draft, ChosenKeying(chosen), fra.keys.sign)
    validate_entry(entry, devnet.roster, NOW)
    assert entry.header.audience == ("CCF", "DEU", "FRA", "USA")
    for member in chosen:
        assert entry.header.key is not None and entry.header.key.wraps is not None
        secret = devnet.member(member).keys.encryption
        key = sender_keys.unwrap(entry.header.key.wraps[member], secret)
        assert open_body(entry, key) == diffusion()
    outsider = devnet.member("BRA").keys.encryption
    for wrapped in entry.header.key.wraps.values():
        with pytest.raises(NotARecipient):
            sender_keys.unwrap(wrapped, outsider)
    with pytest.raises(DecryptionFailed):
        open_body(entry, sender_keys.new_key())


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_every_flipped_bit_is_rejected(devnet: DevNet) -> None:
    """One flipped bit anywhere in header, signature or body is caught, typed."""
    entry, epoch_key = _broadcast(devnet, "notice.red", records()["notice.red"])
    key = sender_keys.entry_key(epoch_key, "FRA", 2)
    wire = entry.to_wire()
    for bit in range(len(wire) * 8):
        mutated = _flip(wire, bit)
        with pytest.raises((ProtocolError, BadSignature, DecryptionFailed)):
            parsed = decode_entry(mutated)
            validate_entry(parsed, devnet.roster, NOW)
            open_body(parsed, key)


def test_flipped_body_bit_is_a_body_mismatch(devnet: DevNet) -> None:
    entry, _ = _broadcast(devnet, "sltd", records()["sltd"])
    assert entry.body is not None
    bad = Entry(entry.header, entry.signature, _flip(entry.body, 77))
    with pytest.raises(BodyMismatch):
        validate_entry(bad, devnet.roster, NOW)


def test_flipped_signature_bit_is_a_bad_signature(devnet: DevNet) -> None:
    entry, _ = _broadcast(devnet, "sltd", records()["sltd"])
    bad = Entry(entry.header, _flip(entry.signature, 5), entry.body)
    with pytest.raises(BadSignature):
        validate_entry(bad, devnet.roster, NOW)


def _aad_by_encoding(entry: Entry) -> bytes:
    """The AAD by its definition: the header map without body_hash and body_len."""
    from noticenet.protocol.records.codec import encode

    fields = entry.header.to_map()
    del fields["body_hash"], fields["body_len"]
    return encode(fields)


@pytest.mark.parametrize("kind", sorted(records()))
def test_spliced_aad_is_the_header_without_its_body_fields(devnet: DevNet, kind: str) -> None:
    entry, _ = _broadcast(devnet, kind, records()[kind])
    back = decode_entry(entry.to_wire())
    assert back.header.aad() == _aad_by_encoding(back)
    assert entry.header.aad() == _aad_by_encoding(entry)
    readers = {m: devnet.member(m).keys.public.encryption_key for m in ("DEU", "FRA", "CCF")}
    chosen = seal_entry(
        Draft("FRA", 7, b"\x03" * 32, NOW, "diffusion", diffusion(("DEU", "FRA")), NOW + DAY),
        ChosenKeying(readers),
        devnet.member("FRA").keys.sign,
    )
    assert decode_entry(chosen.to_wire()).header.aad() == _aad_by_encoding(chosen)


_ID = b"\x05" * 32
_GUARDS = [bytes([i]) * 32 for i in range(1, 34)]  # sorted, one more than allowed

# (entry to start from, change to its header map, what the SchemaError says)
HEADER_RULES: dict[str, tuple[str, Change, str]] = {
    "another version": ("sltd", edited(v=2), "unknown header version 2"),
    "seq 0": ("sltd", edited(seq=0, prev=DROP), "seq starts at 1"),
    "no prev after seq 1": ("sltd", edited(prev=DROP), "prev is null exactly for seq 1"),
    "a short prev": ("sltd", edited(prev=_ID[:31]), "prev is a 32-byte entry id"),
    "a short body hash": ("sltd", edited(body_hash=_ID[:31]), "body hash is 32 bytes"),
    "an oversized body": ("sltd", edited(body_len=2**20 + 1), "body length within limits"),
    "expiry at issue": ("sltd", edited(expires_at=NOW), "expires_at must be after issued_at"),
    "33 guard tags": ("sltd", edited(guards=_GUARDS), "at most 32 guard tags of 32 bytes"),
    "a short guard tag": ("sltd", edited(guards=[_ID[:31]]), "at most 32 guard tags of 32 bytes"),
    "unsorted guard tags": ("sltd", edited(guards=_GUARDS[1::-1]), "sorted and unique"),
    "a repeated guard tag": ("sltd", edited(guards=[_ID, _ID]), "sorted and unique"),
    "a target on a record": ("sltd", edited(target=_ID), "no other kind does"),
    "a cancel without target": ("cancel", edited(target=DROP), "names its target in the header"),
    "a short target": ("cancel", edited(target=_ID[:31]), "target is a 32-byte entry id"),
    "a key on a public entry": ("cancel", edited(key={"epoch": _ID}), "public and carries no key"),
    "a public entry to all": ("cancel", edited(audience=["all"]), "public and carries no key"),
    "a broadcast without key": ("sltd", edited(key=DROP), "needs a key reference"),
    "a broadcast to one member": ("sltd", edited(audience=["DEU"]), "goes to all"),
    "a broadcast without epoch": (
        "sltd",
        edited(key={"wraps": {"DEU": bytes(80)}}),
        "under a sender-key epoch",
    ),
    "a diffusion to nobody": (
        "diffusion",
        edited(audience=[], key={"wraps": {}}),
        "names its recipients and wraps a key for each",
    ),
    "a diffusion under an epoch": (
        "diffusion",
        edited(key={"epoch": _ID}),
        "names its recipients and wraps a key for each",
    ),
    "a malformed recipient": ("diffusion", edited(audience=["CCF", "de", "FRA"]), "recipient"),
    "unsorted recipients": (
        "diffusion",
        edited(audience=["DEU", "CCF", "FRA"]),
        "sorted and unique",
    ),
    "a recipient without a wrap": (
        "diffusion",
        lambda fields: fields["key"]["wraps"].pop("DEU"),
        "wrapped for exactly the recipients",
    ),
    "a short wrap": (
        "diffusion",
        lambda fields: fields["key"]["wraps"].update(DEU=bytes(79)),
        "80-byte sealed box",
    ),
}


@pytest.fixture(scope="module")
def starting_entries(devnet: DevNet) -> dict[str, Entry]:
    sltd, _ = _broadcast(devnet, "sltd", records()["sltd"])
    readers = {m: devnet.member(m).keys.public.encryption_key for m in ("CCF", "DEU", "FRA")}
    chosen = seal_entry(
        Draft("FRA", 1, None, NOW, "diffusion", diffusion(("DEU",)), NOW + DAY),
        ChosenKeying(readers),
        devnet.member("FRA").keys.sign,
    )
    cancel = seal_entry(
        Draft("FRA", 3, b"\x01" * 32, NOW, "cancel", Cancellation(target=_ID)),
        None,
        devnet.member("FRA").keys.sign,
    )
    return {"sltd": sltd, "diffusion": chosen, "cancel": cancel}


@pytest.mark.parametrize("rule", sorted(HEADER_RULES))
def test_a_header_breaking_a_rule_is_refused_on_decoding(
    starting_entries: dict[str, Entry], rule: str
) -> None:
    """Each structural rule of a header (record-format section 3) refuses the wire
    entry with a SchemaError that says which rule, before any signature check."""
    start, change, says = HEADER_RULES[rule]
    entry = starting_entries[start]
    assert decode_entry(entry.to_wire()) == entry  # the starting point is valid
    fields = entry.header.to_map()
    change(fields)
    wire = encode({"sig": entry.signature, "body": entry.body, "header": fields})
    with pytest.raises(SchemaError) as raised:
        decode_entry(wire)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (edited(guards=DROP), "guards left out"),  # its default, (), is written out
        (edited(expires_at=None), "null fields written out"),  # null is left out
        (lambda f: f["key"].update(wraps=None), "null fields written out"),
    ],
)
def test_a_header_has_one_encoding(
    starting_entries: dict[str, Entry], change: Change, says: str
) -> None:
    """Only the normal form is taken (record-format 2.4): signatures and entry ids
    are over the bytes as carried, so a second encoding of the same header would
    be a second entry id for it."""
    entry = starting_entries["sltd"]
    fields = entry.header.to_map()
    assert "guards" in fields
    change(fields)
    wire = encode({"sig": entry.signature, "body": entry.body, "header": fields})
    with pytest.raises(CodecError) as raised:
        decode_entry(wire)
    assert says in str(raised.value)
