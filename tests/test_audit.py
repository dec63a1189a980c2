"""The verification pass: a clean ledger passes; each kind of damage is reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from noticenet.protocol.devnet import DevNet
from noticenet.protocol.ledger.audit import Problem, summarise, verify_ledger
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry, entry_id
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import Draft, seal_entry
from noticenet.protocol.store.keyspace import header_key, key

from .conftest import NOW
from .samples import document, firearm, notice, vehicle

Make = Callable[..., tuple[Ledger, Publisher]]


def populated(make_ledger: Make) -> tuple[Ledger, Publisher, list[Entry]]:
    """FRA's ledger with a few records of different kinds, one of them cancelled."""
    ledger, pub = make_ledger("FRA")
    entries = [
        pub.publish("sltd", document(), NOW),
        pub.publish("notice.red", notice(), NOW + 1),
        pub.publish("vehicle", vehicle(), NOW + 2),
        pub.publish("firearm", firearm(), NOW + 3),
        pub.publish("sltd", document("X1234567", "FRA"), NOW + 4),
    ]
    entries.append(pub.publish("cancel", Cancellation(target=entries[2].id), NOW + 5))
    return ledger, pub, entries


def whats(problems: list[Problem]) -> list[str]:
    return [p.what for p in problems]


def has(problems: list[Problem], text: str, eid: bytes | None = None) -> bool:
    return any(text in p.what and (eid is None or p.id == eid) for p in problems)


def test_clean_ledger_has_no_problems(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    assert verify_ledger(ledger) == []
    counts = summarise(ledger)
    total = 1 + entries[-1].header.seq  # genesis + FRA's feed
    assert counts["entries"] == total
    assert counts["tombstones"] == 1
    assert counts["bodies"] == total - 1
    assert counts["header_only"] == 0
    assert counts["evidence"] == 0
    assert counts["feeds"] == 2
    assert counts["problems"] == 0


def test_replicated_ledger_with_header_only_and_evidence(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub, entries = populated(make_ledger)
    deu, _ = make_ledger("DEU")
    for entry in fra.feed("FRA"):
        deu.ingest(entry.without_body() if entry.id == entries[3].id else entry, NOW)
    h = entries[-1].header
    fork = seal_entry(
        Draft("FRA", h.seq, h.prev, NOW + 9, "cancel", Cancellation(target=b"\x00" * 32)),
        None,
        devnet.member("FRA").keys.sign,
    )
    deu.ingest(fork, NOW)
    assert verify_ledger(deu) == []
    counts = summarise(deu)
    assert counts["header_only"] == 1
    assert counts["evidence"] == 1
    assert counts["tombstones"] == 1


def test_flipped_body_byte_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    eid = entries[0].id
    body = bytearray(ledger.store.get(key(b"b", eid)) or b"")
    body[len(body) // 2] ^= 0x01
    ledger.store.put(key(b"b", eid), bytes(body))
    problems = verify_ledger(ledger)
    assert has(problems, "body does not match", eid), whats(problems)
    assert len(problems) == 1


def test_missing_entry_map_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    eid = entries[1].id
    ledger.store.delete(key(b"e", eid))
    problems = verify_ledger(ledger)
    assert has(problems, "e/<id> does not map back", eid), whats(problems)
    assert {p.id for p in problems} == {eid}


def test_wrong_frontier_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    ledger.store.put(key(b"f", b"FRA"), encode([2, entries[0].id]))
    problems = verify_ledger(ledger)
    assert has(problems, "frontier f/FRA"), whats(problems)
    assert len(problems) == 1


def test_frontier_without_feed_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    ledger.store.put(key(b"f", b"DEU"), encode([1, entries[0].id]))
    assert has(verify_ledger(ledger), "frontier for a feed with no entries")


def test_body_beside_tombstone_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    cancelled = entries[2]
    assert ledger.tombstone(cancelled.id) is not None
    assert cancelled.body is not None
    ledger.store.put(key(b"b", cancelled.id), cancelled.body)
    problems = verify_ledger(ledger)
    assert has(problems, "both a body and a tombstone", cancelled.id), whats(problems)


def test_bad_signature_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    last = entries[-1]
    forged = Entry(last.header, bytes([last.signature[0] ^ 0x01]) + last.signature[1:])
    ledger.store.put(header_key("FRA", last.header.seq), forged.signed_header)
    problems = verify_ledger(ledger)
    assert has(problems, "signature does not verify", forged.id), whats(problems)


def test_gap_and_broken_chain_are_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    ledger.store.delete(header_key("FRA", entries[1].header.seq))
    problems = verify_ledger(ledger)
    assert has(problems, "gap in feed", entries[2].id), whats(problems)
    # the removed entry's e/ key now points nowhere
    assert has(problems, "points at a position without that entry", entries[1].id)


def test_undecodable_header_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    seq = entries[0].header.seq
    ledger.store.put(header_key("FRA", seq), b"\xff\x00garbage")
    problems = verify_ledger(ledger)
    assert has(problems, "signed header does not decode"), whats(problems)
    after = ledger.entry_at("FRA", seq + 1)
    assert after is not None
    assert has(problems, "prev is not the id of the previous entry", after.id)
    assert has(problems, "body of an entry whose header is not held", entries[0].id)


def test_orphan_indexes_and_expiry_slots_are_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    eid = entries[4].id
    ledger.store.delete(key(b"b", eid))  # body gone, but indexes and expiry slot left
    problems = verify_ledger(ledger)
    assert has(problems, "index keys listed (r/) for an entry without a body", eid), whats(problems)
    assert has(problems, "index key for an entry without a body", eid)
    assert has(problems, "expiry slot for a body that is not held", eid)


def test_missing_expiry_slot_is_reported(make_ledger: Make) -> None:
    ledger, _, entries = populated(make_ledger)
    h = entries[0].header
    assert h.expires_at is not None
    slot = key(b"x", h.expires_at.to_bytes(8, "big") + entries[0].id)
    assert ledger.store.get(slot) is not None
    ledger.store.delete(slot)
    problems = verify_ledger(ledger)
    assert has(problems, "has no x/ slot", entries[0].id), whats(problems)


def test_roster_chain_verifies_each_roster_against_the_one_before(
    make_ledger: Make, devnet: DevNet
) -> None:
    from noticenet.crypto.threshold import ThresholdGroup
    from noticenet.protocol.ccf.bootstrap import build_roster, threshold_entry
    from noticenet.protocol.devnet import group_spec
    from noticenet.protocol.records.governance import GOVERNANCE_FEED

    ledger, _ = make_ledger("FRA")
    rotated = ThresholdGroup.dealt(5, 3)

    def roster(version: int, governance: ThresholdGroup) -> object:
        return build_roster(
            version,
            devnet.members,
            group_spec(governance),
            group_spec(devnet.block),
            group_spec(devnet.revoke),
            devnet.guard_key,
        )

    # roster 2 hands governance to a new group (signed by the old one); roster 3 is
    # signed by the new group, as the roster current at that point requires
    second = threshold_entry(
        GOVERNANCE_FEED,
        ledger.head(GOVERNANCE_FEED),
        NOW + 1,
        "roster",
        roster(2, rotated),
        devnet.governance.sign,
    )
    ledger.ingest(second, NOW + 1)
    third = threshold_entry(
        GOVERNANCE_FEED,
        ledger.head(GOVERNANCE_FEED),
        NOW + 2,
        "roster",
        roster(3, rotated),
        rotated.sign,
    )
    ledger.ingest(third, NOW + 2)
    assert verify_ledger(ledger) == []

    # the same roster 3 signed by the retired key must be reported
    forged = threshold_entry(
        GOVERNANCE_FEED,
        (2, second.id),
        NOW + 2,
        "roster",
        roster(3, rotated),
        devnet.governance.sign,
    )
    ledger.store.put(header_key(GOVERNANCE_FEED, 3), forged.signed_header)
    problems = verify_ledger(ledger)
    assert has(problems, "signature does not verify", forged.id), whats(problems)


def _noncanonical(raw: bytes) -> bytes:
    """The same signed header with its seq written in a longer integer form: the
    bytes the signature covers are the canonical ones, so this is damage."""
    import cbor2

    doc = cbor2.loads(raw)
    head = cbor2.dumps(doc["header"]["seq"])
    assert len(head) == 1  # a small seq: one byte canonically
    longer = bytes([0x18, doc["header"]["seq"]])
    fields = encode(doc["header"])
    at = fields.index(encode("seq") + head) + len(encode("seq"))
    header = fields[:at] + longer + fields[at + 1 :]
    return raw[: raw.index(fields)] + header


def _damage_header_at_wrong_position(ledger: Ledger, entries: list[Entry]) -> bytes:
    """Copy entry 1's signed header over entry 2's position."""
    first, second = entries[0], entries[1]
    ledger.store.put(header_key("FRA", second.header.seq), first.signed_header)
    return first.id


def _damage_noncanonical(ledger: Ledger, entries: list[Entry]) -> bytes:
    raw = _noncanonical(entries[0].signed_header)
    ledger.store.put(header_key("FRA", entries[0].header.seq), raw)
    return entry_id(raw)


def _damage_tombstone(ledger: Ledger, entries: list[Entry]) -> bytes:
    cancelled = entries[2].id
    ledger.store.put(key(b"t", cancelled), b"\xff")
    return cancelled


def _damage_entry_map(ledger: Ledger, entries: list[Entry]) -> bytes:
    ledger.store.put(key(b"e", entries[1].id), b"no position")
    return entries[1].id


def _damage_index_list(ledger: Ledger, entries: list[Entry]) -> bytes:
    ledger.store.put(key(b"r", entries[0].id), b"\xff")
    return entries[0].id


def _damage_listed_index(ledger: Ledger, entries: list[Entry]) -> bytes:
    from noticenet.protocol.records.codec import decode

    listed = decode(ledger.store.get(key(b"r", entries[0].id)) or b"")
    ledger.store.delete(bytes(listed[0]))
    return entries[0].id


def _damage_never_indexed(ledger: Ledger, entries: list[Entry]) -> bytes:
    """As a body this node could read but stored unread (and so unindexed) would be."""
    from noticenet.protocol.index import indexes
    from noticenet.protocol.store.keyspace import Txn

    txn = Txn(ledger.store)
    indexes.remove(txn, entries[0].id)
    txn.commit()
    return entries[0].id


def _damage_expiry_key(ledger: Ledger, entries: list[Entry]) -> None:
    ledger.store.put(key(b"x", b"short"), b"")


def _damage_expiry_slot(ledger: Ledger, entries: list[Entry]) -> bytes:
    h = entries[0].header
    assert h.expires_at is not None
    ledger.store.delete(key(b"x", h.expires_at.to_bytes(8, "big") + entries[0].id))
    ledger.store.put(key(b"x", (h.expires_at + 1).to_bytes(8, "big") + entries[0].id), b"")
    return entries[0].id


def _damage_header_key(ledger: Ledger, entries: list[Entry]) -> None:
    ledger.store.put(key(b"h", b"FRA-without-seq"), entries[0].signed_header)


DAMAGE: dict[str, tuple[Callable[[Ledger, list[Entry]], bytes | None], str]] = {
    "a header stored at another position": (_damage_header_at_wrong_position, "header says FRA#"),
    "a non-canonical signed header": (
        _damage_noncanonical,
        "signed header does not decode: integer or length not in its shortest form",
    ),
    "a tombstone that does not decode": (_damage_tombstone, "tombstone does not decode"),
    "an entry map to no position": (_damage_entry_map, "e/<id> holds a malformed position"),
    "an index list that does not decode": (_damage_index_list, "r/<id> does not decode"),
    "a listed index key gone": (_damage_listed_index, "an index key listed in r/ is missing"),
    "a malformed expiry key": (_damage_expiry_key, "malformed expiry key"),
    "an expiry slot at another time": (
        _damage_expiry_slot,
        "expiry slot disagrees with the header's expires_at",
    ),
    "a malformed header key": (_damage_header_key, "malformed header key"),
    "a readable body never indexed": (_damage_never_indexed, "never indexed: not findable"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_each_kind_of_damage_is_reported(make_ledger: Make, damage: str) -> None:
    ledger, _, entries = populated(make_ledger)
    assert verify_ledger(ledger) == []
    do, says = DAMAGE[damage]
    eid = do(ledger, entries)
    problems = verify_ledger(ledger)
    assert has(problems, says, eid), whats(problems)
