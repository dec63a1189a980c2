"""Entries checked ahead (protocol/ledger/intake.py) store exactly what in-process ingest stores."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable

import pytest

from noticenet.crypto.errors import BadSignature
from noticenet.protocol.ccf.bootstrap import build_roster, threshold_entry
from noticenet.protocol.devnet import DevNet, group_spec
from noticenet.protocol.errors import CodecError, UnknownAuthor
from noticenet.protocol.ledger.intake import Intake, check_wires
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import GOVERNANCE_FEED
from noticenet.protocol.records.records import Cancellation, KeyEpoch

from .conftest import NOW
from .samples import diffusion, document, records

Make = Callable[..., tuple[Ledger, Publisher]]


def _feed(pub: Publisher) -> list[Entry]:
    """Every record kind, a diffusion to DEU only, and a cancellation, as FRA's feed."""
    for kind, record in records().items():
        pub.publish(kind, record, NOW)
    pub.publish("diffusion", diffusion(("DEU",)), NOW, recipients=("DEU",))
    doc = pub.publish("sltd", document("C01X00T47", "FRA"), NOW)
    pub.publish("cancel", Cancellation(target=doc.id), NOW)
    return list(pub.ledger.feed("FRA"))


def _ahead(ledger: Ledger, wires: list[bytes], batch: int) -> None:
    """Ingest as a node with workers does: each batch checked under a snapshot taken
    before the previous batch was written (so the first misses the epoch key)."""
    snap = ledger.snapshot(NOW)
    for i in range(0, len(wires), batch):
        checked = check_wires(wires[i : i + batch], snap)
        snap = ledger.snapshot(NOW)
        assert all(isinstance(c, Intake) and c.error is None for c in checked), checked
        results = ledger.ingest_many([c for c in checked if isinstance(c, Intake)], NOW)
        assert all(not isinstance(r, Exception) for r in results), results


@pytest.mark.parametrize("member", ["DEU", "USA", "EUROPOL"])
def test_checked_ahead_stores_what_ingest_stores(make_ledger: Make, member: str) -> None:
    fra, pub = make_ledger("FRA")
    feed = _feed(pub)
    wires = [e.to_wire() for e in feed]
    alone, _ = make_ledger(member)
    results = alone.ingest_many(feed, NOW)
    assert all(not isinstance(r, Exception) for r in results), results
    ahead, _ = make_ledger(member)
    _ahead(ahead, wires, batch=5)
    assert ahead.state_digest() == alone.state_digest()
    tables = (b"i/", b"r/", b"k/", b"x/", b"d/")
    for table in tables:
        assert list(ahead.store.iterate(table)) == list(alone.store.iterate(table)), table
    if member == "DEU":
        assert ahead.find_document("UTO", "L898902C3") == alone.find_document("UTO", "L898902C3")
        assert ahead.find_document("UTO", "L898902C3") != []
        assert ahead.find_document("FRA", "C01X00T47") == []  # cancelled with its index


def test_a_worker_answer_carries_no_record_without_effects(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    feed = _feed(pub)
    deu, _ = make_ledger("DEU")
    checked = check_wires([e.to_wire() for e in feed], deu.snapshot(NOW))
    by_kind: dict[str, Intake] = {}
    for c in checked:  # the first of each kind (FRA's own cancelled sltd has no body)
        if isinstance(c, Intake):
            by_kind.setdefault(c.entry.header.kind, c)
    assert by_kind["sltd"].opened is not None and by_kind["sltd"].opened.readable
    assert by_kind["sltd"].opened.record is None and by_kind["sltd"].opened.index_keys
    cancel = by_kind["cancel"].opened  # its effect comes from its header's target
    assert cancel is not None and cancel.readable and cancel.record is None
    assert isinstance(by_kind["key_epoch"].opened.record, KeyEpoch)  # type: ignore[union-attr]
    back = pickle.loads(pickle.dumps(checked))
    assert [c.entry.id for c in back] == [c.entry.id for c in checked]
    assert [c.opened for c in back] == [c.opened for c in checked]


def test_refusals_match_in_process_ingest(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    good = pub.publish("sltd", document(), NOW)
    forged = Entry(good.header, bytes(64), good.body)
    deu, _ = make_ledger("DEU")
    snap = deu.snapshot(NOW)
    checked = check_wires([b"\xa3not cbor", forged.to_wire(), good.to_wire()], snap)
    assert isinstance(checked[0], CodecError)
    assert isinstance(checked[1], Intake) and isinstance(checked[1].error, BadSignature)
    epoch = next(deu_e for deu_e in fra.feed("FRA") if deu_e.header.kind == "key_epoch")
    deu.ingest(epoch, NOW)
    results = deu.ingest_many([c for c in checked if isinstance(c, Intake)], NOW)
    assert isinstance(results[0], BadSignature)
    assert not isinstance(results[1], Exception) and results[1].outcome is Outcome.STORED
    # a replay of a held entry is a duplicate, whatever its intake says
    again = dataclasses.replace(checked[2], error=BadSignature("stale answer"))  # type: ignore[arg-type]
    assert deu.ingest(again, NOW).outcome is Outcome.DUPLICATE


def test_a_snapshot_from_before_a_roster_change_is_not_trusted(
    make_ledger: Make, devnet: DevNet
) -> None:
    """Checked under the genesis roster, BRA's entry looks valid; the batch first
    installs a roster without BRA, so the ledger checks it again and refuses it."""
    bra, pub = make_ledger("BRA")
    entry = pub.publish("sltd", document("B1234567", "BRA"), NOW)
    keep = [m for m in devnet.members if m.id != "BRA"]
    specs = (group_spec(devnet.governance), group_spec(devnet.block), group_spec(devnet.revoke))
    roster = build_roster(2, keep, *specs, devnet.guard_key)
    change = threshold_entry(
        GOVERNANCE_FEED, (1, devnet.genesis.id), NOW + 1, "roster", roster, devnet.governance.sign
    )
    deu, _ = make_ledger("DEU")
    wires = [change.to_wire(), *(e.to_wire() for e in bra.feed("BRA"))]
    checked = check_wires(wires, deu.snapshot(NOW + 1))
    assert all(isinstance(c, Intake) and c.error is None for c in checked)
    results = deu.ingest_many([c for c in checked if isinstance(c, Intake)], NOW + 1)
    assert not isinstance(results[0], Exception) and results[0].outcome is Outcome.STORED
    assert all(isinstance(r, UnknownAuthor) for r in results[1:])
    assert deu.locate(entry.id) is None


def test_a_snapshot_from_the_future_is_not_trusted(make_ledger: Make) -> None:
    """An intake made at a later time than the ingest is checked again (times matter)."""
    fra, pub = make_ledger("FRA")
    late = pub.publish("sltd", document(), NOW + 3_600_000)
    deu, _ = make_ledger("DEU")
    wires = [e.to_wire() for e in fra.feed("FRA")]
    checked = check_wires(wires, deu.snapshot(NOW + 3_600_000))
    results = deu.ingest_many([c for c in checked if isinstance(c, Intake)], NOW)
    refused = [r for r in results if isinstance(r, Exception)]
    assert refused and "future" in str(refused[-1])
    assert deu.locate(late.id) is None



def test_an_epoch_taken_in_through_an_intake_serves_the_next_snapshot(make_ledger: Make) -> None:
    """The ledger learns our key of an epoch it stores from an intake, so the next
    batches' bodies are opened by the workers, not again in the ledger's process."""
    fra, pub = make_ledger("FRA")
    for i in range(3):
        pub.publish("sltd", document(f"E{i:07d}", "FRA"), NOW)
    feed = [e.to_wire() for e in fra.feed("FRA")]
    assert decode_kind(feed[0]) == "key_epoch"
    deu, _ = make_ledger("DEU")
    first = check_wires(feed[:1], deu.snapshot(NOW))
    deu.ingest_many([c for c in first if isinstance(c, Intake)], NOW)
    later = check_wires(feed[1:], deu.snapshot(NOW))
    assert all(isinstance(c, Intake) and c.opened is not None for c in later)
    assert all(c.opened.readable for c in later if isinstance(c, Intake) and c.opened)


def decode_kind(wire: bytes) -> str:
    from noticenet.protocol.records.entry import decode_entry

    return decode_entry(wire).header.kind


def test_a_non_reader_looks_at_each_epoch_once(
    make_ledger: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EUROPOL (a partner scoped to some kinds) is not wrapped into FRA's notice epoch:
    it learns that once, and the workers' snapshot says so, instead of every entry
    sending the ledger back to parse the epoch's body."""
    import noticenet.protocol.ledger.epoch_keys as epoch_keys_module

    fra, pub = make_ledger("FRA")
    for i in range(4):
        pub.publish("notice.red", records()["notice.red"], NOW + i)
    europol, _ = make_ledger("EUROPOL")
    calls: list[bytes] = []
    real = epoch_keys_module.unwrap_epoch

    def counting(body: bytes, reader: str, secret: object) -> bytes | None:
        calls.append(body)
        return real(body, reader, secret)  # type: ignore[arg-type]

    monkeypatch.setattr(epoch_keys_module, "unwrap_epoch", counting)
    for entry in fra.feed("FRA"):
        europol.ingest(entry, NOW + 10)
    epoch = next(e.id for e in fra.feed("FRA") if e.header.kind == "key_epoch")
    assert europol.epoch_key(epoch) is None and europol.snapshot(NOW).epoch_keys[epoch] is None
    assert len(calls) <= 1
    wires = [e.to_wire() for e in fra.feed("FRA")]
    checked = check_wires(wires, europol.snapshot(NOW + 10))
    notices = [c for c in checked if isinstance(c, Intake) and c.entry.header.kind != "key_epoch"]
    assert notices and all(c.opened is not None and not c.opened.readable for c in notices)
