"""Relay, then open: the two stages of taking in replicated entries (protocol level).

The relay stage (`ingest_many(defer=True)`) checks headers, signatures, chain,
times, body hash and guard tags, stores the entry with a "not yet opened"
marker and moves the frontier; the open stage (`open_stored`) decrypts,
parses, checks and indexes behind. Run on both store backends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from noticenet.protocol.ccf import actions
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import NotFound
from noticenet.protocol.ledger.audit import summarise, verify_ledger
from noticenet.protocol.ledger.intake import check_wires, open_wires
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import CCF_FEED
from noticenet.protocol.records.records import Firearm
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.keyspace import key

from .conftest import NOW, open_store
from .samples import document, notice, vehicle
from .test_ccf import MUELLER, action, ccf_act, copy

Make = Callable[..., tuple[Ledger, Publisher]]
DAY = 86_400_000


def published(make_ledger: Make) -> tuple[Ledger, Publisher, list[Entry]]:
    """FRA's ledger with a red notice, two documents and a vehicle (and its epochs)."""
    fra, pub = make_ledger("FRA")
    pub.publish("notice.red", notice(MUELLER), NOW)
    pub.publish("sltd", document(), NOW)
    pub.publish("sltd", document("X1", "FRA"), NOW)
    pub.publish("vehicle", vehicle(), NOW)
    return fra, pub, list(fra.feed("FRA"))


def relay(ledger: Ledger, entries: list[Entry]) -> list[object]:
    return list(ledger.ingest_many(entries, NOW, defer=True))


def index_tables(ledger: Ledger) -> list[tuple[bytes, bytes]]:
    return [kv for kv in ledger.store.iterate() if kv[0][:2] in (b"i/", b"r/", b"k/")]


def test_the_relay_stage_stores_and_moves_the_frontier_but_nothing_is_found(
    make_ledger: Make,
) -> None:
    fra, _, entries = published(make_ledger)
    deu, _ = make_ledger("DEU")
    results = relay(deu, entries)
    assert all(getattr(r, "outcome", None) is Outcome.STORED for r in results)
    assert deu.frontier()["FRA"] == fra.frontier()["FRA"]
    records = [e for e in entries if e.header.kind != "key_epoch"]
    assert all(deu.unopened(e.id) for e in records)
    assert not any(deu.unopened(e.id) for e in entries if e.header.kind == "key_epoch")
    assert deu.findable()["FRA"] == records[0].header.seq - 1
    assert deu.find_document("UTO", "L898902C3") == []
    assert deu.find_vin(vehicle().vin) == []
    assert deu.find_person("MUELLER", "Jurgen", "1970-01-02") == []
    assert deu.recent("sltd") == []
    for entry in records:
        with pytest.raises(NotFound, match="not opened yet"):
            deu.read(entry.id)
        with pytest.raises(NotFound):
            deu.read_held(entry.id)
    assert index_tables(deu) == []
    assert all(b"L898902C3" not in k and b"L898902C3" not in v for k, v in deu.store.iterate())
    assert verify_ledger(deu) == []
    assert summarise(deu)["unopened"] == len(records)


def test_the_open_stage_makes_them_found_as_the_one_step_path_would(make_ledger: Make) -> None:
    _, _, entries = published(make_ledger)
    deu, _ = make_ledger("DEU")
    usa_like, _ = make_ledger("DEU")  # the same member, one step
    relay(deu, entries)
    usa_like.ingest_many(entries, NOW)
    assert deu.state_digest() == usa_like.state_digest()  # replicated state: same at once
    opened = deu.open_waiting(NOW)
    assert [r.seq for r in opened] == [
        e.header.seq for e in entries if e.header.kind != "key_epoch"
    ]
    assert deu.waiting(10) == [] and deu.open_waiting(NOW) == []
    assert deu.findable() == {a: s for a, (s, _) in deu.frontier().items()}
    assert index_tables(deu) == index_tables(usa_like)
    assert list(deu.store.iterate(b"c/")) == []
    assert deu.read(entries[-1].id) == vehicle()
    assert deu.find_document("UTO", "L898902C3") != []
    assert verify_ledger(deu) == []


def test_bodies_read_on_workers_are_used_while_the_roster_holds(make_ledger: Make) -> None:
    _, _, entries = published(make_ledger)
    ahead, _ = make_ledger("DEU")
    here, _ = make_ledger("DEU")
    for ledger in (ahead, here):
        checked = check_wires([e.to_wire() for e in entries], ledger.snapshot(NOW, False))
        assert all(
            getattr(c, "opened", 1) is None or c.entry.header.kind == "key_epoch"  # type: ignore[union-attr]
            for c in checked
        )
        ledger.ingest_many(checked, NOW, defer=True)  # type: ignore[arg-type]
    waiting = ahead.waiting(100)
    snap = ahead.snapshot(NOW)
    read = open_wires([e.to_wire() for e in waiting], snap)
    assert all(r is not None and r.readable and r.index_keys for r in read)
    ahead.open_stored(list(zip(waiting, read, strict=True)), NOW, snap.roster_id)
    here.open_waiting(NOW)
    assert index_tables(ahead) == index_tables(here)


def test_a_stale_reading_is_not_trusted(make_ledger: Make) -> None:
    """A reading made under another roster (its guard key may differ) is redone here."""
    _, _, entries = published(make_ledger)
    deu, _ = make_ledger("DEU")
    relay(deu, entries)
    waiting = deu.waiting(100)
    lies = [
        dataclasses.replace(r, index_keys=(b"\x01" * 32,))
        for r in open_wires([e.to_wire() for e in waiting], deu.snapshot(NOW))
        if r is not None
    ]
    deu.open_stored(list(zip(waiting, lies, strict=True)), NOW, roster_id=b"\x09" * 32)
    assert deu.find_document("UTO", "L898902C3") != []
    assert verify_ledger(deu) == []


def lying_firearm(fra: Ledger, pub: Publisher) -> Entry:
    """A firearm whose make has no identifier: only a modified node sends one."""
    pub.publish("firearm", Firearm(make="Glock", serial="X0"), NOW)
    seq, prev = fra.head("FRA") or (0, b"")
    epoch = [e for e in fra.feed("FRA") if e.header.kind == "key_epoch"][-1]
    keying = EpochKeying(epoch.id, fra.epoch_key(epoch.id) or b"")
    draft = Draft("FRA", seq + 1, prev, NOW, "firearm", Firearm(make="--", serial="X1"))
    return seal_entry(dataclasses.replace(draft, expires_at=NOW + DAY), keying, pub.keys.sign)


def test_a_dishonest_body_is_relayed_then_found_out(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    odd = lying_firearm(fra, pub)
    entries = [*fra.feed("FRA"), odd]
    deu, _ = make_ledger("DEU")
    one_step, _ = make_ledger("DEU")
    result = relay(deu, entries)[-1]
    assert getattr(result, "outcome", None) is Outcome.STORED  # header checks pass
    assert deu.evidence() == {}
    with pytest.raises(NotFound):
        deu.read(odd.id)
    withheld = [r for r in deu.open_waiting(NOW) if r.outcome is Outcome.WITHHELD]
    assert [(r.id, r.reason) for r in withheld] == [(odd.id, "evidence")]
    assert deu.evidence() == {odd.id: "body is not a valid record: SchemaError"}
    assert deu.tombstone(odd.id)["reason"] == "evidence"  # type: ignore[index]
    assert deu.store.get(key(b"b", odd.id)) is None
    with pytest.raises(NotFound):
        deu.read(odd.id)
    one_step.ingest_many(entries, NOW)
    assert deu.state_digest() == one_step.state_digest()
    assert deu.evidence() == one_step.evidence()
    assert verify_ledger(deu) == []


def test_a_revocation_while_bodies_wait_purges_them_and_the_opener_skips_them(
    make_ledger: Make, devnet: DevNet
) -> None:
    fra, _, entries = published(make_ledger)
    target = entries[1]  # the red notice
    assert target.header.kind == "notice.red"
    deu, deu_pub = make_ledger("DEU")
    relay(deu, entries)
    waiting = deu.waiting(100)
    read = open_wires([e.to_wire() for e in waiting], deu.snapshot(NOW))  # workers busy...
    guards = actions.guards_for_targets(fra, [target.id])
    revoke = ccf_act(fra, devnet, action("revoke", [target.id], guards=guards))
    assert deu.ingest(revoke, NOW).outcome is Outcome.STORED  # ...when it arrives
    assert not deu.unopened(target.id)
    assert deu.store.get(key(b"b", target.id)) is None
    assert deu.tombstone(target.id)["reason"] == "revoked"  # type: ignore[index]
    deu.open_stored(list(zip(waiting, read, strict=True)), NOW, deu.snapshot(NOW).roster_id)
    assert [
        k
        for k, _ in deu.store.iterate()
        if target.id in k and k[:2] in (b"b/", b"i/", b"r/", b"c/", b"x/", b"k/")
    ] == []
    assert deu.find_person("MUELLER", "Jurgen", "1970-01-02") == []
    with pytest.raises(NotFound):
        deu.read(target.id)
    assert deu.read(entries[-1].id) == vehicle()
    receipts = deu_pub.publish_receipts(NOW + 1)
    assert [e.header.kind for e in receipts] == ["receipt"]
    assert deu.read(receipts[0].id).targets == (target.id,)
    assert verify_ledger(deu) == []


def test_a_re_entry_is_refused_by_its_header_in_the_relay_stage(
    make_ledger: Make, devnet: DevNet
) -> None:
    fra, pub, _ = published(make_ledger)
    ccf, _ = make_ledger("CCF")
    target = [e for e in fra.feed("FRA") if e.header.kind == "notice.red"][0]
    copy(fra, ccf, ["FRA"])
    guards = actions.guards_for_targets(ccf, [target.id])
    ccf_act(ccf, devnet, action("revoke", [target.id], guards=guards))
    again = pub.publish("notice.red", notice(MUELLER), NOW + 1)
    deu, _ = make_ledger("DEU")
    copy(ccf, deu, [CCF_FEED])
    results = {getattr(r, "id", None): r for r in relay(deu, list(fra.feed("FRA")))}
    assert results[again.id].reason == "reentry-blocked"  # type: ignore[union-attr]
    assert not deu.unopened(again.id) and deu.store.get(key(b"b", again.id)) is None
    assert verify_ledger(deu) == []


def test_a_store_closed_between_the_stages_opens_what_it_holds_when_reopened(
    tmp_path: Path, devnet: DevNet
) -> None:
    fra = Ledger.of_member(
        open_store("memory", tmp_path),
        devnet.governance.public_key,
        "FRA",
        devnet.member("FRA").keys,
    )
    fra.ingest(devnet.genesis, NOW)
    pub = Publisher(fra, "FRA", devnet.member("FRA").keys)
    pub.publish("sltd", document(), NOW)
    keys = devnet.member("DEU").keys
    store = open_store("leveldb", tmp_path / "deu")
    deu = Ledger.of_member(store, devnet.governance.public_key, "DEU", keys)
    deu.ingest(devnet.genesis, NOW)
    relay(deu, list(fra.feed("FRA")))
    store.close()
    store = open_store("leveldb", tmp_path / "deu")
    try:
        deu = Ledger.of_member(store, devnet.governance.public_key, "DEU", keys)
        head = fra.frontier()["FRA"][0]
        assert deu.find_document("UTO", "L898902C3") == []
        assert [e.header.seq for e in deu.waiting(10)] == [head]  # rebuilt from c/
        assert deu.findable()["FRA"] == head - 1
        deu.open_waiting(NOW)
        assert deu.findable()["FRA"] == head
        assert deu.find_document("UTO", "L898902C3") != []
        assert verify_ledger(deu) == []
    finally:
        store.close()


def test_the_audit_reports_a_marker_that_names_nothing(make_ledger: Make) -> None:
    _, _, entries = published(make_ledger)
    deu, _ = make_ledger("DEU")
    relay(deu, entries)
    deu.store.put(b"c/FRA\x00" + (99).to_bytes(8, "big"), b"\x05" * 32)
    problems = [p.what for p in verify_ledger(deu)]
    assert problems == ["c/ marker names no entry held at its position"]


def test_the_waiting_queue_keeps_feed_order_and_a_bounded_number_of_entries(
    make_ledger: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noticenet.protocol.ledger import waiting as waiting_module

    _, _, entries = published(make_ledger)
    monkeypatch.setattr(waiting_module, "KEEP", 2)
    queue = waiting_module.Waiting()
    for seq in (3, 1, 2):  # out of order: kept sorted
        queue.add("FRA", seq, entries[seq - 1])
    queue.add("DEU", 7)
    assert [(a, s) for a, s, _ in queue.next(10)] == [
        ("DEU", 7),
        ("FRA", 1),
        ("FRA", 2),
        ("FRA", 3),
    ]
    assert [e is not None for _, _, e in queue.next(10)] == [False, True, False, True]  # 2 kept
    assert queue.first("FRA") == 1 and len(queue) == 4
    queue.done("FRA", 2)  # not the front (a revoked entry the opener skipped)
    queue.done("FRA", 1)
    queue.done("DEU", 7)
    assert [(a, s) for a, s, _ in queue.next(10)] == [("FRA", 3)]
    assert queue.first("DEU") is None and len(queue) == 1
