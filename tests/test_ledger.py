"""The ledger, run against both store backends (memory and LevelDB)."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import (
    ChainError,
    Expired,
    FeedFrozen,
    Gap,
    LedgerError,
    NotFound,
    SchemaError,
    UnknownAuthor,
)
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.intake import check_wires
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import Cancellation, Firearm, Update
from noticenet.protocol.records.schema import to_map
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.kvstore import MemoryStore
from noticenet.protocol.store.mirrored_store import MirroredStore

from .conftest import NOW
from .samples import diffusion, document, notice, person, records, vehicle

Make = Callable[..., tuple[Ledger, Publisher]]
DAY = 86_400_000


def copy_feed(src: Ledger, dst: Ledger, author: str, now: int = NOW) -> None:
    for entry in src.feed(author):
        dst.ingest(entry, now)


def test_publish_assigns_seq_and_chains(make_ledger: Make) -> None:
    ledger, pub = make_ledger("FRA")
    first = pub.publish("notice.red", notice(), NOW)
    second = pub.publish("sltd", document(), NOW + 1)
    third = pub.publish("sltd", document("X1", "FRA"), NOW + 2)
    # epoch(1) notice(2); SLTD is also read by Europol: a second epoch(3), sltd(4), sltd(5)
    assert (first.header.seq, second.header.seq, third.header.seq) == (2, 4, 5)
    assert first.header.key != second.header.key == third.header.key
    assert third.header.prev == second.id
    assert ledger.head("FRA") == (5, third.id)
    assert ledger.read(first.id) == notice()
    assert ledger.read(second.id) == document()


def test_every_kind_replicates_and_reads(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    published = {kind: pub.publish(kind, rec, NOW) for kind, rec in records().items()}
    copy_feed(fra, deu, "FRA")
    assert deu.frontier()["FRA"] == fra.frontier()["FRA"]
    for kind, entry in published.items():
        assert deu.read(entry.id) == records()[kind]


def test_partner_reads_only_scoped_kinds(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    europol, _ = make_ledger("EUROPOL")
    red = pub.publish("notice.red", notice(), NOW)
    doc = pub.publish("sltd", document(), NOW)
    copy_feed(fra, europol, "FRA")
    assert europol.read(doc.id) == document()
    from noticenet.crypto.errors import NotARecipient

    with pytest.raises(NotARecipient):
        europol.read(red.id)


def test_diffusion_reaches_only_its_audience(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    entry = pub.publish("diffusion", diffusion(("DEU",)), NOW, recipients=("DEU",))
    for member, readable in (("DEU", True), ("CCF", True), ("USA", False)):
        other, _ = make_ledger(member)
        copy_feed(fra, other, "FRA")
        if readable:
            assert other.read(entry.id) == diffusion(("DEU",))
        else:
            from noticenet.crypto.errors import NotARecipient

            with pytest.raises(NotARecipient):
                other.read(entry.id)


def test_gap_is_refused_and_names_what_to_fetch(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    for i in range(3):
        pub.publish("vehicle", vehicle(), NOW + i)
    entries = list(fra.feed("FRA"))
    with pytest.raises(Gap) as caught:
        deu.ingest(entries[2], NOW)
    assert caught.value.have == 0 and caught.value.author == "FRA"
    assert deu.head("FRA") is None
    for entry in entries:
        deu.ingest(entry, NOW)
    assert deu.head("FRA") == fra.head("FRA")


def test_replays_are_idempotent(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    pub.publish("sltd", document(), NOW)
    copy_feed(fra, deu, "FRA")
    before = list(deu.store.iterate())
    for entry in fra.feed("FRA"):
        assert deu.ingest(entry, NOW).outcome is Outcome.DUPLICATE
    assert list(deu.store.iterate()) == before


def test_equivocation_is_kept_as_evidence_and_freezes_feed(
    make_ledger: Make, devnet: DevNet
) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    entry = pub.publish("firearm", records()["firearm"], NOW)
    copy_feed(fra, deu, "FRA")
    h = entry.header
    fork = seal_entry(
        Draft("FRA", h.seq, h.prev, NOW + 5, "cancel", Cancellation(target=b"\x00" * 32)),
        None,
        devnet.member("FRA").keys.sign,
    )
    result = deu.ingest(fork, NOW)
    assert result.outcome is Outcome.EVIDENCE
    assert deu.equivocations() == [("FRA", h.seq, fork.signed_header)]
    assert deu.frozen_from("FRA") == h.seq
    assert deu.head("FRA") == (h.seq, entry.id)  # the first entry stays
    pub.publish("vehicle", vehicle(), NOW + 6)
    with pytest.raises(FeedFrozen):
        deu.ingest(list(fra.feed("FRA", h.seq + 1))[0], NOW)


def test_forged_chain_is_refused(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    pub.publish("vehicle", vehicle(), NOW)
    bad = seal_entry(
        Draft("FRA", 3, b"\x09" * 32, NOW, "cancel", Cancellation(target=b"\x00" * 32)),
        None,
        devnet.member("FRA").keys.sign,
    )
    with pytest.raises(ChainError):
        fra.ingest(bad, NOW)


def test_unknown_author_is_refused(make_ledger: Make) -> None:
    from noticenet.crypto.keys import MemberKeys

    fra, _ = make_ledger("FRA")
    stranger = MemberKeys(b"\x05" * 32)
    entry = seal_entry(
        Draft("XXX", 1, None, NOW, "cancel", Cancellation(target=b"\x00" * 32)), None, stranger.sign
    )
    with pytest.raises(UnknownAuthor):
        fra.ingest(entry, NOW)
    assert fra.head("XXX") is None


def test_cancellation_purges_body_and_indexes(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    doc = pub.publish("sltd", document(), NOW)
    copy_feed(fra, deu, "FRA")
    assert deu.find_document("UTO", "L898902C3") == [doc.id]
    pub.publish("cancel", Cancellation(target=doc.id, reason="found"), NOW + 1)
    copy_feed(fra, deu, "FRA")
    for ledger in (fra, deu):
        assert ledger.find_document("UTO", "L898902C3") == []
        assert ledger.tombstone(doc.id)["reason"] == "cancelled"
        with pytest.raises(NotFound):
            ledger.read(doc.id)
        assert not any(k.startswith(b"i/") for k, _ in ledger.store.iterate(b"i/"))


def test_cancellation_before_target_applies_on_arrival(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    doc = pub.publish("sltd", document(), NOW)
    cancel = pub.publish("cancel", Cancellation(target=doc.id), NOW + 1)
    entries = list(fra.feed("FRA"))
    for entry in entries[:-2]:
        deu.ingest(entry, NOW)
    # body arrives detached first: headers only, then the cancellation, then the body
    deu.ingest(entries[-2].without_body(), NOW)
    deu.ingest(cancel, NOW)
    assert deu.ingest(entries[-2], NOW).outcome is Outcome.DUPLICATE
    assert deu.find_document("UTO", "L898902C3") == []


def test_an_update_header_retires_its_target_even_without_its_body(make_ledger: Make) -> None:
    """The header names the target, so a node that never holds the body acts alike."""
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    doc = pub.publish("sltd", document(), NOW)
    new = {"kind": "sltd", "record": to_map(document("X1", "FRA"))}
    update = pub.publish("update", Update(target=doc.id, record=new), NOW + 1)
    assert update.header.target == doc.id
    for entry in list(fra.feed("FRA"))[:-1]:
        deu.ingest(entry, NOW)
    assert deu.ingest(update.without_body(), NOW).outcome is Outcome.STORED
    assert deu.tombstone(doc.id)["reason"] == "updated"
    assert deu.find_document("UTO", "L898902C3") == []


def test_a_body_naming_another_target_than_its_header_is_evidence(
    make_ledger: Make, devnet: DevNet
) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    doc = pub.publish("sltd", document(), NOW)
    other = pub.publish("vehicle", vehicle(), NOW)
    copy_feed(fra, deu, "FRA")
    sealed = seal_entry(
        Draft("FRA", other.header.seq + 1, other.id, NOW + 1, "cancel", Cancellation(doc.id)),
        None,
        devnet.member("FRA").keys.sign,
    )
    header = dataclasses.replace(sealed.header, target=other.id)  # says: the vehicle
    lying = Entry(header, devnet.member("FRA").keys.sign(header.signing_bytes()), sealed.body)
    result = deu.ingest(lying, NOW)
    assert (result.outcome, result.reason) == (Outcome.WITHHELD, "evidence")
    assert deu.evidence() == {lying.id: "the body's target differs from the header's"}
    assert deu.tombstone(other.id)["reason"] == "cancelled"  # what the author signed
    assert deu.find_document("UTO", "L898902C3") == [doc.id]


def test_a_record_whose_identifiers_do_not_normalise_is_evidence_on_every_path(
    make_ledger: Make, devnet: DevNet
) -> None:
    """A firearm make of punctuation passes the record's own checks but has no
    identifier. Only a modified node can send one (its publisher refuses it); the
    body is evidence, in process and on an intake worker alike, and the evidence
    quotes nothing from the body."""
    fra, pub = make_ledger("FRA")
    pub.publish("firearm", Firearm(make="Glock", serial="X0"), NOW)
    with pytest.raises(SchemaError):
        pub.publish("firearm", Firearm(make="--", serial="X1"), NOW)
    seq, prev = fra.head("FRA") or (0, b"")
    epoch = [e for e in fra.feed("FRA") if e.header.kind == "key_epoch"][-1]
    keying = EpochKeying(epoch.id, fra.epoch_key(epoch.id) or b"")
    draft = Draft("FRA", seq + 1, prev, NOW, "firearm", Firearm(make="--", serial="X1"))
    odd = seal_entry(dataclasses.replace(draft, expires_at=NOW + DAY), keying, pub.keys.sign)
    stores = []
    for ahead in (False, True):
        deu, _ = make_ledger("DEU")
        for entry in fra.feed("FRA"):
            deu.ingest(entry, NOW)
        item = check_wires([odd.to_wire()], deu.snapshot(NOW))[0] if ahead else odd
        result = deu.ingest_many([item], NOW)[0]  # type: ignore[list-item]
        assert not isinstance(result, Exception)
        assert (result.outcome, result.reason) == (Outcome.WITHHELD, "evidence")
        assert deu.evidence() == {odd.id: "body is not a valid record: SchemaError"}
        stores.append(deu.state_digest())
    assert stores[0] == stores[1]


def test_an_entry_refused_after_it_began_writing_leaves_nothing_in_the_batch(
    make_ledger: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever refuses an entry late (after its header, body and indexes went into
    the batch), the batch commits the entries before it and nothing of it."""
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    pub.publish("sltd", document(), NOW)
    pub.publish("vehicle", vehicle(), NOW)
    entries = list(fra.feed("FRA"))
    last = entries[-1]
    place = Ledger._place_body

    def failing(
        self: Ledger, txn: Any, entry: Entry, now_ms: int, opened: Any = None, defer: bool = False
    ) -> Any:
        result = place(self, txn, entry, now_ms, opened, defer)
        if entry.id == last.id:
            raise LedgerError("refused after writing")
        return result

    monkeypatch.setattr(Ledger, "_place_body", failing)
    results = deu.ingest_many(entries, NOW)
    assert isinstance(results[-1], LedgerError)
    assert deu.head("FRA") == (last.header.seq - 1, entries[-2].id)
    assert deu.entry(last.id) is None
    assert deu.find_vin(vehicle().vin) == []
    assert deu.find_document("UTO", "L898902C3") != []
    assert verify_ledger(deu) == []


def test_update_replaces_the_record(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    old = pub.publish("sltd", document(), NOW)
    new_doc = document()
    new = pub.publish(
        "update", Update(target=old.id, record={"kind": "sltd", "record": to_map(new_doc)}), NOW
    )
    assert fra.tombstone(old.id)["reason"] == "updated"
    assert fra.find_document("UTO", "L898902C3") == [new.id]


def test_expiry_purges_bodies_and_indexes(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    short = pub.publish("sltd", document(), NOW, expires_at=NOW + DAY)
    long = pub.publish("sltd", document("X1234567", "FRA"), NOW, expires_at=NOW + 30 * DAY)
    assert fra.purge_expired(NOW + DAY - 1) == 0
    assert fra.purge_expired(NOW + DAY) == 1
    assert fra.tombstone(short.id)["reason"] == "expired"
    assert fra.find_document("UTO", "L898902C3") == []
    assert fra.find_document("FRA", "X1234567") == [long.id]
    assert fra.entry(short.id) is not None  # the header stays


def test_publishing_a_record_expired_already_is_refused_and_writes_nothing(
    make_ledger: Make,
) -> None:
    fra, pub = make_ledger("FRA")
    pub.publish("sltd", document("X1234567", "FRA"), NOW)
    before = fra.state_digest(), fra.frontier()
    for expires_at in (NOW, NOW - DAY):
        with pytest.raises(Expired, match="expired already"):
            pub.publish("sltd", document(), NOW, expires_at=expires_at)
    assert (fra.state_digest(), fra.frontier()) == before
    assert pub.publish("sltd", document(), NOW, expires_at=NOW + 1).header.expires_at == NOW + 1


def test_expired_entries_arrive_without_body(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    doc = pub.publish("sltd", document(), NOW, expires_at=NOW + DAY)
    copy_feed(fra, deu, "FRA", now=NOW + 2 * DAY)
    assert deu.tombstone(doc.id)["reason"] == "expired"


def test_person_search_is_tolerant(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    subject = person("Müller", "Jürgen", "1970-01-02")
    entry = pub.publish("notice.red", notice(subject), NOW)
    assert fra.find_person("MUELLER", "jurgen", "1970-01-02") == [entry.id]
    assert entry.id in fra.find_person("muller", "Jürgen")


def test_dna_match_reports_loci(make_ledger: Make) -> None:
    from .samples import dna

    fra, pub = make_ledger("FRA")
    entry = pub.publish("dna", dna(), NOW)
    matches = fra.dna_match(dna())
    assert [m[0] for m in matches] == [entry.id]
    report = matches[0][1]
    assert len(report.compared) == 10 and len(report.matching) == 10
    assert report.verdict == "match"


def test_new_ledger_needs_roster_first(make_ledger: Make) -> None:
    fra, pub = make_ledger("FRA")
    entry = pub.publish("vehicle", vehicle(), NOW)
    empty, _ = make_ledger("DEU", genesis=False)
    with pytest.raises(UnknownAuthor):
        empty.ingest(list(fra.feed("FRA"))[0], NOW)
    assert isinstance(entry, Entry)


class CountingStore(MemoryStore):
    """A memory store that counts the reads that reach it, by table (and says its
    misses are costly, as LevelDB does)."""

    costly_misses = True

    def __init__(self) -> None:
        super().__init__()
        self.reads: collections.Counter[bytes] = collections.Counter()

    def get(self, key: bytes) -> bytes | None:
        self.reads[key[:2]] += 1
        return super().get(key)


def test_the_rare_tables_are_answered_from_memory(make_ledger: Make, devnet: DevNet) -> None:
    """Every ingest asks about guards, CCF statuses and frozen feeds, which almost
    never hold anything; the ledger answers from memory
    (on LevelDB each of those misses cost 5-10 us), and stays in step with its store."""
    fra, pub = make_ledger("FRA")
    backend = CountingStore()
    spec = devnet.member("DEU")
    deu = Ledger.of_member(backend, devnet.governance.public_key, "DEU", spec.keys)
    deu.ingest(devnet.genesis, NOW)
    entry = pub.publish("notice.red", notice(), NOW)
    pub.publish("sltd", document(), NOW + 1)
    assert entry.header.guards  # so the guard table is asked about
    copy_feed(fra, deu, "FRA")
    assert backend.reads[b"f/"] > 0  # the counter sees reads that do reach the store
    assert [backend.reads[t] for t in (b"g/", b"s/", b"z/")] == [0, 0, 0]
    fork = seal_entry(
        Draft("FRA", 2, entry.id, NOW + 5, "cancel", Cancellation(target=b"\x00" * 32)),
        None,
        devnet.member("FRA").keys.sign,
    )
    assert deu.ingest(fork, NOW).outcome is Outcome.EVIDENCE  # writes the frozen-feed table
    reopened = Ledger.of_member(backend, devnet.governance.public_key, "DEU", spec.keys)
    assert deu.frozen_from("FRA") == reopened.frozen_from("FRA") == 2
    assert deu.state_digest() == reopened.state_digest()


def test_a_table_that_outgrows_memory_is_read_from_the_store() -> None:
    """Memory stays bounded: past its capacity a table is read from the inner store
    again (answers unchanged), and a reopened store holds it again if it fits."""
    backend = CountingStore()
    mirror = MirroredStore(backend, capacity=2)
    for n in range(3):
        mirror.put(b"g/" + bytes([n]), b"guarded")
        assert (b"g/" in mirror.in_memory) == (n < 2)
    assert mirror.in_memory == {b"s/", b"z/", b"y/", b"l/"}  # the other tables stay
    assert [mirror.get(b"g/" + bytes([n])) for n in range(4)] == [b"guarded"] * 3 + [None]
    assert backend.reads[b"g/"] == 4  # asked of the store now
    mirror.delete(b"g/\x00")
    assert mirror.get(b"g/\x00") is None and b"g/" not in mirror.in_memory
    reopened = MirroredStore(backend)  # capacity 100,000: back in memory
    assert b"g/" in reopened.in_memory
    assert [reopened.get(b"g/" + bytes([n])) for n in range(3)] == [None, b"guarded", b"guarded"]
    assert backend.reads[b"g/"] == 5


def test_a_cancel_of_an_entry_not_its_own_changes_nothing(make_ledger: Make) -> None:
    """A modified node can sign a cancel or an update naming another member's entry,
    or an entry that does not exist. The entry is stored (it is in its author's
    chain) and counted; the other member's record stays, in either arrival order."""
    fra, fra_pub = make_ledger("FRA")
    deu, deu_pub = make_ledger("DEU")
    doc = fra_pub.publish("sltd", document(), NOW)
    copy_feed(fra, deu, "FRA")
    deu_pub.publish("cancel", Cancellation(target=doc.id), NOW + 1)
    deu_pub.publish("cancel", Cancellation(target=b"\x07" * 32), NOW + 2)
    digests = []
    for first, then in (("FRA", "DEU"), ("DEU", "FRA")):
        usa, _ = make_ledger("USA")
        copy_feed(fra if first == "FRA" else deu, usa, first)
        copy_feed(fra if then == "FRA" else deu, usa, then)
        assert usa.read(doc.id) == document()
        assert usa.find_document(document().issuing_country, document().document_number) != []
        expected = {"foreign-cancel": 1, "unknown-target": 1} if first == "FRA" else {
            "unknown-target": 2  # FRA's record is not held yet either
        }
        assert usa.stats.refusals == expected
        assert usa.frontier()["DEU"][0] == deu.frontier()["DEU"][0]
        digests.append(usa.state_digest())
    assert digests[0] == digests[1] == deu.state_digest()
