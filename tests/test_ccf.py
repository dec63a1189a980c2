"""CCF threshold actions: the signing ceremony, block, revoke, no re-entry, purge receipts."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from noticenet.crypto import frost
from noticenet.crypto.errors import BadSignature
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.ccf import actions, ceremony
from noticenet.protocol.ccf.bootstrap import threshold_entry
from noticenet.protocol.ccf.ceremony import BelowThreshold, Commitment, Nonces, Proposal, Share
from noticenet.protocol.ccf.receipts import purge_status
from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.protocol.errors import (
    BodyMismatch,
    NotAuthorised,
    NotFound,
    ReentryBlocked,
    SchemaError,
    UnknownAuthor,
)
from noticenet.protocol.index.guard_tags import similar_identifiers, tags_of
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import CCF_BLOCK_FEED, CCF_FEED, CCFAction, GroupKey
from noticenet.protocol.records.kinds import parse_body
from noticenet.protocol.records.records import Update
from noticenet.protocol.records.schema import to_map
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.keyspace import key
from noticenet.protocol.store.mirrored_store import MirroredStore

from .conftest import NOW
from .samples import document, firearm, notice, person, vehicle

Make = Callable[..., tuple[Ledger, Publisher]]
MUELLER = person("Müller", "Jürgen", "1970-01-02")
SPECIMEN_MRZ = [  # ICAO Doc 9303's specimen passport: the sample document
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


# --- helpers ---


def group_of(devnet: DevNet, feed: str) -> ThresholdGroup:
    return devnet.block if feed == CCF_BLOCK_FEED else devnet.revoke


def run_ceremony(
    proposal: Proposal, group: ThresholdGroup, signers: Sequence[int] | None = None
) -> Entry:
    """Every step through bytes, as commissioners exchanging files would."""
    chosen = list(signers or range(1, group.threshold + 1))
    rounds = {i: ceremony.commit(proposal, group.packages[i]) for i in chosen}
    commitments = [Commitment.from_bytes(c.to_bytes()) for _, c in rounds.values()]
    shares = [
        Share.from_bytes(
            ceremony.sign_share(
                proposal,
                group.packages[i],
                Nonces.from_bytes(rounds[i][0].to_bytes()),
                commitments,
            ).to_bytes()
        )
        for i in chosen
    ]
    return ceremony.aggregate(proposal, commitments, shares, group.public)


def group_key(ledger: Ledger, feed: str) -> GroupKey:
    roster = ledger.roster
    assert roster is not None
    return roster.block if feed == CCF_BLOCK_FEED else roster.revoke


def ccf_act(
    ledger: Ledger,
    devnet: DevNet,
    action: CCFAction,
    now: int = NOW,
    signers: Sequence[int] | None = None,
) -> Entry:
    """Run a ceremony for `action` on top of `ledger`'s feed and ingest the result there."""
    feed = ceremony.feed_for(action.action)
    proposal = ceremony.propose(ledger.head(feed), now, action, group_key(ledger, feed))
    entry = run_ceremony(Proposal.from_bytes(proposal.to_bytes()), group_of(devnet, feed), signers)
    assert ledger.ingest(entry, now).outcome is Outcome.STORED
    return entry


def action(name: str, targets: Iterable[bytes] = (), **kw: Any) -> CCFAction:
    return CCFAction(name, tuple(targets), "article-3", "CCF/2027/042", **kw)  # type: ignore[arg-type]


def copy(src: Ledger, dst: Ledger, authors: Iterable[str], now: int = NOW) -> list[Any]:
    results = []
    for author in authors:
        for entry in src.feed(author):
            results.append(dst.ingest(entry, now))
    return results


def snapshot(ledger: Ledger) -> list[tuple[bytes, bytes]]:
    return list(ledger.store.iterate())


KEPT = (b"e/", b"t/", b"s/", b"a/", b"d/")  # position, tombstone, CCF status, readmit, evidence


def keys_of(ledger: Ledger, eid: bytes) -> list[bytes]:
    """Every store key naming `eid` but those that stay: body, indexes, expiry slot, ..."""
    return [k for k, _ in ledger.store.iterate() if eid in k and not k.startswith(KEPT)]


# --- the ceremony ---


def test_every_three_of_five_signs_a_plain_ed25519_signature(devnet: DevNet) -> None:
    group = devnet.revoke
    proposal = ceremony.propose(
        None, NOW, action("revoke", [b"\x01" * 32]), GroupKey(group.public_key, 3, 5)
    )
    verify_key = nacl.signing.VerifyKey(group.public_key)
    for signers in itertools.combinations(range(1, 6), 3):
        entry = run_ceremony(proposal, group, signers)
        assert entry.header.signing_bytes() == proposal.message
        verify_key.verify(proposal.message, entry.signature)
        assert entry.header.author == CCF_FEED and entry.header.kind == "revoke"


def test_two_shares_make_no_revoke_signature(devnet: DevNet) -> None:
    group = devnet.revoke
    proposal = ceremony.propose(
        None, NOW, action("revoke", [b"\x01" * 32]), GroupKey(group.public_key, 3, 5)
    )
    rounds = {i: ceremony.commit(proposal, group.packages[i]) for i in (1, 2, 3)}
    two = [rounds[1][1], rounds[2][1]]
    with pytest.raises(BelowThreshold):
        ceremony.sign_share(proposal, group.packages[1], rounds[1][0], two)
    three = [c for _, c in rounds.values()]
    shares = [ceremony.sign_share(proposal, group.packages[i], rounds[i][0], three) for i in rounds]
    with pytest.raises(BelowThreshold):
        ceremony.aggregate(proposal, three, shares[:2], group.public)
    with pytest.raises(BelowThreshold):
        ceremony.aggregate(proposal, two, shares[:2], group.public)


# --- refusals: nothing changes ---


def test_block_key_cannot_revoke(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    doc = pub.publish("sltd", document(), NOW)
    before = snapshot(fra)
    revoke = action("revoke", [doc.id])
    in_ccf = threshold_entry(CCF_FEED, None, NOW, "revoke", revoke, devnet.block.sign)
    with pytest.raises(BadSignature):
        fra.ingest(in_ccf, NOW)
    in_block = threshold_entry(CCF_BLOCK_FEED, None, NOW, "revoke", revoke, devnet.block.sign)
    with pytest.raises(NotAuthorised):
        fra.ingest(in_block, NOW)
    assert snapshot(fra) == before
    assert fra.read(doc.id) == document()


def _sub_threshold(proposal: Proposal, group: ThresholdGroup) -> bytes:
    """Two signers forcing a signature (packages told the threshold is 2): not a signature."""
    packages = [dataclasses.replace(group.packages[i], threshold=2) for i in (1, 2)]
    rounds = [frost.commit(p) for p in packages]
    commitments = [c for _, c in rounds]
    shares = [
        frost.sign(p, n, proposal.message, commitments)
        for p, (n, _) in zip(packages, rounds, strict=True)
    ]
    return frost.combine_signature(commitments, proposal.message, group.public_key, shares)


def _bad_revocation(case: str, fra: Ledger, devnet: DevNet, target: bytes) -> Entry:
    revoke = action("revoke", [target])
    proposal = ceremony.propose(fra.head(CCF_FEED), NOW, revoke, group_key(fra, CCF_FEED))
    if case == "forged":
        return proposal.entry(devnet.member("FRA").keys.sign(proposal.message))
    if case == "wrong-key":
        return proposal.entry(devnet.governance.sign(proposal.message))
    if case == "sub-threshold":
        return proposal.entry(_sub_threshold(proposal, devnet.revoke))
    if case == "other-network":
        other = make_devnet(b"another network")
        return proposal.entry(other.revoke.sign(proposal.message))
    good = run_ceremony(proposal, devnet.revoke)
    if case == "tampered-body":
        swapped = to_map(action("revoke", [b"\x07" * 32]))
        return dataclasses.replace(good, body=encode(swapped))
    header = dataclasses.replace(good.header, issued_at=NOW - 1)
    return dataclasses.replace(good, header=header)  # tampered-header


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("forged", BadSignature),
        ("wrong-key", BadSignature),
        ("sub-threshold", BadSignature),
        ("other-network", BadSignature),
        ("tampered-body", BodyMismatch),
        ("tampered-header", BadSignature),
    ],
)
def test_bad_revocations_are_refused_and_change_nothing(
    make_ledger: Make, devnet: DevNet, case: str, error: type[Exception]
) -> None:
    fra, pub = make_ledger("FRA")
    doc = pub.publish("sltd", document(), NOW)
    before = snapshot(fra)
    bad = _bad_revocation(case, fra, devnet, doc.id)
    with pytest.raises(error):
        fra.ingest(bad, NOW)
    assert fra.ingest_many([bad], NOW)[0].__class__ is error
    assert snapshot(fra) == before
    assert fra.read(doc.id) == document() and fra.find_document("UTO", "L898902C3") == [doc.id]


def test_a_replayed_revocation_changes_nothing(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    doc = pub.publish("sltd", document(), NOW)
    entry = ccf_act(fra, devnet, action("revoke", [doc.id]))
    before = snapshot(fra)
    assert fra.ingest(entry, NOW + 1).outcome is Outcome.DUPLICATE
    assert fra.ingest(entry.without_body(), NOW + 1).outcome is Outcome.DUPLICATE
    assert snapshot(fra) == before


# --- block and unblock ---


def test_block_hides_everywhere_and_unblock_restores(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    records = {
        "notice.red": notice(MUELLER),
        "sltd": document(),
        "vehicle": vehicle(),
        "firearm": firearm(),
    }
    entries = {kind: pub.publish(kind, rec, NOW) for kind, rec in records.items()}
    copy(fra, deu, ["FRA"])

    def lookups(ledger: Ledger) -> list[list[bytes]]:
        return [
            ledger.find_person("MUELLER", "Jurgen", "1970-01-02"),
            ledger.find_person("Muller", "Jürgen"),
            ledger.find_person("müller"),
            ledger.find_document("UTO", "L898902C3"),
            ledger.find_mrz(SPECIMEN_MRZ),
            ledger.find_vin("1M8GDM9AXKP042788"),
            ledger.find_firearm("Glock", "AB-123456"),
            *(ledger.recent(kind) for kind in records),
        ]

    visible = lookups(fra)
    assert all(visible) and lookups(deu) == visible
    targets = [e.id for e in entries.values()]
    block = ccf_act(fra, devnet, action("block", targets), signers=(2, 5))
    assert deu.ingest(block, NOW).outcome is Outcome.STORED
    for ledger in (fra, deu):
        assert all(found == [] for found in lookups(ledger))
        for eid in targets:
            assert ledger.ccf_status(eid) == {
                "state": "blocked",
                "by": block.id,
                "at": block.header.issued_at,
            }
            with pytest.raises(NotFound):
                ledger.read(eid)
            assert ledger.read_held(eid)[0].id == eid  # the CCF's case file still sees it
        assert [ledger.read_held(e.id)[1] for e in entries.values()] == list(records.values())
    unblock = ccf_act(fra, devnet, action("unblock", targets))
    deu.ingest(unblock, NOW)
    for ledger in (fra, deu):
        assert lookups(ledger) == visible
        for kind, entry in entries.items():
            assert ledger.read(entry.id) == records[kind]


# --- revoke ---


def test_revoke_deletes_body_and_indexes_in_one_batch(
    make_ledger: Make, devnet: DevNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    target = pub.publish("notice.red", notice(MUELLER), NOW)
    kept = pub.publish("sltd", document(), NOW)
    copy(fra, deu, ["FRA"])
    assert deu.store.get(key(b"b", target.id)) is not None and len(keys_of(deu, target.id)) > 2
    revoke = ccf_act(fra, devnet, action("revoke", [target.id]))
    batches: list[int] = []
    real = deu.store.batch
    monkeypatch.setattr(deu.store, "batch", lambda: batches.append(1) or real())
    assert deu.ingest(revoke, NOW).outcome is Outcome.STORED
    assert batches == [1]
    for ledger in (fra, deu):
        assert keys_of(ledger, target.id) == []  # body, r/ list and every i/ index entry
        assert ledger.tombstone(target.id)["reason"] == "revoked"
        assert ledger.tombstone(target.id)["by"] == revoke.id
        assert ledger.signed_header("FRA", target.header.seq) == target.signed_header
        assert ledger.ccf_status(target.id) == {
            "state": "revoked",
            "by": revoke.id,
            "at": revoke.header.issued_at,
        }
        assert ledger.find_person("MUELLER", "Jurgen", "1970-01-02") == []
        with pytest.raises(NotFound):
            ledger.read(target.id)
        assert ledger.read(kept.id) == document()
        assert verify_ledger(ledger) == []


def test_revocation_before_its_target_withholds_it(make_ledger: Make, devnet: DevNet) -> None:
    fra, pub = make_ledger("FRA")
    ccf, _ = make_ledger("CCF")
    deu, _ = make_ledger("DEU")
    target = pub.publish("notice.red", notice(MUELLER), NOW)
    copy(fra, ccf, ["FRA"])
    guards = actions.guards_for_targets(ccf, [target.id])
    ccf_act(ccf, devnet, action("revoke", [target.id], guards=guards))
    copy(ccf, deu, [CCF_FEED])  # the revocation first, then its target
    results = {r.id: r for r in copy(fra, deu, ["FRA"])}
    assert results[target.id].outcome is Outcome.WITHHELD
    assert results[target.id].reason == "revoked"
    assert deu.store.get(key(b"b", target.id)) is None
    assert keys_of(deu, target.id) == []
    assert deu.find_person("Müller", "Jürgen", "1970-01-02") == []
    assert verify_ledger(deu) == []


# --- no re-entry ---

SAME_PERSON = [
    ("MUELLER", "JURGEN", "1970-01-02"),
    ("Muller", "Jurgen", "1970-01-02"),
    ("Мюллер", "Юрген", "1970-01-02"),
    ("Jürgen", "Müller", "1970-01-02"),  # fields swapped
]
SAME_THINGS = [
    ("sltd", dataclasses.replace(document(), status="lost", holder_name="MUELLER")),
    ("vehicle", vehicle("1m8gdm9axkp042788")),
]


def variants() -> list[tuple[str, Any]]:
    people = [("notice.red", notice(person(n, f, d))) for n, f, d in SAME_PERSON]
    return people + SAME_THINGS + [("notice.blue", notice(MUELLER))]


def revoke_with_guards(make_ledger: Make, devnet: DevNet) -> dict[str, Any]:
    """FRA publishes a person, a document and a vehicle; the CCF blocks, then revokes them."""
    fra, pub = make_ledger("FRA")
    ccf, _ = make_ledger("CCF")
    targets = [
        pub.publish("notice.red", notice(MUELLER), NOW),
        pub.publish("sltd", document(), NOW),
        pub.publish("vehicle", vehicle(), NOW),
    ]
    ids = [t.id for t in targets]
    backup = list(fra.feed("FRA"))
    copy(fra, ccf, ["FRA"])
    block = ccf_act(ccf, devnet, action("block", ids), signers=(1, 4))  # first, while pending
    guards = actions.guards_for_targets(ccf, ids)  # the CCF still reads what it blocked
    # every same-tier guard key of the three (a person has several, record-format 5.2);
    # the headers also carry their similar-tier keys (5.4), which a revocation holds
    headers = {g for t in targets for g in t.header.guards}
    assert set(guards) < headers
    records = (notice(MUELLER), document(), vehicle())
    similar = {t for r in records for t in tags_of(similar_identifiers(r), devnet.guard_key)}
    assert guards == tuple(sorted(headers - similar))
    assert len(guards) >= 3
    revoke = ccf_act(ccf, devnet, action("revoke", ids, guards=guards))
    fra.ingest(block, NOW)
    fra.ingest(revoke, NOW)
    return {"fra": fra, "pub": pub, "ccf": ccf, "ids": ids, "backup": backup, "revoke": revoke}


def test_reentry_is_refused_on_local_publish(make_ledger: Make, devnet: DevNet) -> None:
    net = revoke_with_guards(make_ledger, devnet)
    deu, deu_pub = make_ledger("DEU")
    copy(net["ccf"], deu, [CCF_FEED])
    for publisher in (net["pub"], deu_pub):
        before = snapshot(publisher.ledger)
        for kind, record in variants():
            with pytest.raises(ReentryBlocked):
                publisher.publish(kind, record, NOW + 1)
        assert snapshot(publisher.ledger) == before
    deu_pub.publish("notice.red", notice(person("Müller", "Jürgen", "1971-01-02")), NOW)


def test_reentry_is_withheld_on_ingest(make_ledger: Make, devnet: DevNet) -> None:
    net = revoke_with_guards(make_ledger, devnet)
    usa, usa_pub = make_ledger("USA")  # has not seen the revocation
    published = [usa_pub.publish(kind, rec, NOW + 1) for kind, rec in variants()]
    fra: Ledger = net["fra"]
    results = {r.id: r for r in copy(usa, fra, ["USA"], NOW + 1)}
    for entry in published:
        assert results[entry.id].outcome is Outcome.WITHHELD
        assert results[entry.id].reason == "reentry-blocked"
        assert fra.store.get(key(b"b", entry.id)) is None
        assert keys_of(fra, entry.id) == []
    assert fra.find_person("Мюллер", "Юрген", "1970-01-02") == []


def test_restore_from_backup_brings_nothing_back(make_ledger: Make, devnet: DevNet) -> None:
    net = revoke_with_guards(make_ledger, devnet)
    fresh, _ = make_ledger("FRA")
    copy(net["ccf"], fresh, [CCF_FEED])
    results = {e.id: fresh.ingest(e, NOW + 1) for e in net["backup"]}
    for eid in net["ids"]:
        assert results[eid].outcome is Outcome.WITHHELD and results[eid].reason == "revoked"
        assert fresh.store.get(key(b"b", eid)) is None and keys_of(fresh, eid) == []
        with pytest.raises(NotFound):
            fresh.read(eid)
    assert fresh.find_document("UTO", "L898902C3") == [] and fresh.find_vin(vehicle().vin) == []
    assert verify_ledger(fresh) == []


def test_readmit_lets_exactly_one_entry_in(make_ledger: Make, devnet: DevNet) -> None:
    net = revoke_with_guards(make_ledger, devnet)
    fra, pub, ccf = net["fra"], net["pub"], net["ccf"]
    new_case = notice(person("MUELLER", "Jürgen", "1970-01-02"))
    with pytest.raises(ReentryBlocked):
        pub.prepare("notice.red", new_case, NOW + 1)
    prepared = pub.prepare("notice.red", new_case, NOW + 1, readmit=True)
    admitted = prepared[-1].id
    readmit = ccf_act(ccf, devnet, action("readmit", admit=admitted), now=NOW + 1)
    fra.ingest(readmit, NOW + 1)
    pub.commit(prepared, NOW + 1)
    assert fra.read(admitted) == new_case
    assert fra.find_person("Müller", "Jürgen", "1970-01-02") == [admitted]
    with pytest.raises(ReentryBlocked):
        pub.publish("notice.red", new_case, NOW + 2)
    deu, deu_pub = make_ledger("DEU")
    copy(ccf, deu, [CCF_FEED])
    copy(fra, deu, ["FRA"], NOW + 2)
    assert deu.read(admitted) == new_case
    with pytest.raises(ReentryBlocked):
        deu_pub.publish("notice.red", new_case, NOW + 2)
    usa, usa_pub = make_ledger("USA")
    again = usa_pub.publish("notice.red", new_case, NOW + 2)
    results = {r.id: r for r in copy(usa, deu, ["USA"], NOW + 2)}
    assert results[again.id].reason == "reentry-blocked"


# --- tag honesty ---


@pytest.mark.parametrize("lie", ["wrong-tags", "no-tags"])
def test_dishonest_guard_tags_are_evidence(make_ledger: Make, devnet: DevNet, lie: str) -> None:
    fra, pub = make_ledger("FRA")
    deu, _ = make_ledger("DEU")
    honest = pub.publish("vehicle", vehicle(), NOW)
    assert honest.header.key is not None and honest.header.key.epoch is not None
    epoch_id = honest.header.key.epoch
    epoch_key = fra.epoch_key(epoch_id)
    assert epoch_key is not None
    wrong = pub.guard_tags(document("X1234567", "FRA")) if lie == "wrong-tags" else ()
    draft = Draft(
        "FRA",
        honest.header.seq + 1,
        honest.id,
        NOW,
        "vehicle",
        vehicle(),
        NOW + 86_400_000,
        wrong,
    )
    liar = seal_entry(draft, EpochKeying(epoch_id, epoch_key), devnet.member("FRA").keys.sign)
    copy(fra, deu, ["FRA"])
    result = deu.ingest(liar, NOW)
    assert (result.outcome, result.reason) == (Outcome.WITHHELD, "evidence")
    assert liar.id in deu.evidence()
    assert deu.store.get(key(b"b", liar.id)) is None
    assert deu.find_vin(vehicle().vin) == [honest.id]


# --- purge receipts ---


def test_purge_receipts_show_who_has_deleted(make_ledger: Make, devnet: DevNet) -> None:
    fra, fra_pub = make_ledger("FRA")
    target = fra_pub.publish("sltd", document(), NOW)
    nodes = {"FRA": (fra, fra_pub)}
    for member in ("DEU", "USA"):
        nodes[member] = make_ledger(member)
        copy(fra, nodes[member][0], ["FRA"])
    revoke = ccf_act(fra, devnet, action("revoke", [target.id]))
    for member, (ledger, publisher) in nodes.items():
        if member != "FRA":
            ledger.ingest(revoke, NOW)
        receipts = publisher.publish_receipts(NOW + 1)
        assert [e.header.kind for e in receipts] == ["receipt"]
        assert publisher.publish_receipts(NOW + 2) == []
    ccf, _ = make_ledger("CCF")
    everyone = ["BRA", "CCF", "DEU", "EUROPOL", "FRA", "JPN", "USA"]
    assert purge_status(ccf, revoke.id) == ([], everyone)
    copy(fra, ccf, [CCF_FEED])
    for member, (ledger, _) in nodes.items():
        copy(ledger, ccf, [member])
    purged, outstanding = purge_status(ccf, revoke.id)
    assert purged == ["DEU", "FRA", "USA"]
    assert outstanding == ["BRA", "CCF", "EUROPOL", "JPN"]


def test_a_member_off_the_roster_keeps_its_receipts_and_publishes_nothing(
    make_ledger: Make, devnet: DevNet
) -> None:
    """A roster that removes BRA after it enforced a revocation: its receipt waits (in
    case it is admitted again) and the maintenance that publishes receipts does not fail."""
    from noticenet.protocol.ccf.bootstrap import build_roster
    from noticenet.protocol.devnet import group_spec
    from noticenet.protocol.records.governance import GOVERNANCE_FEED

    fra, fra_pub = make_ledger("FRA")
    target = fra_pub.publish("sltd", document(), NOW)
    bra, bra_pub = make_ledger("BRA")
    copy(fra, bra, ["FRA"])
    revoke = ccf_act(fra, devnet, action("revoke", [target.id]))
    bra.ingest(revoke, NOW)
    keep = [m for m in devnet.members if m.id != "BRA"]
    specs = (group_spec(devnet.governance), group_spec(devnet.block), group_spec(devnet.revoke))
    roster = build_roster(2, keep, *specs, devnet.guard_key)
    change = threshold_entry(
        GOVERNANCE_FEED, (1, devnet.genesis.id), NOW + 1, "roster", roster, devnet.governance.sign
    )
    assert bra.ingest(change, NOW + 1).outcome is Outcome.STORED
    assert not bra_pub.on_roster and fra_pub.on_roster
    assert bra_pub.publish_receipts(NOW + 2) == []
    assert [k[2:] for k, _ in bra.store.iterate(b"o/")] == [revoke.id]
    with pytest.raises(UnknownAuthor):
        bra_pub.publish("sltd", document("B7654321", "BRA"), NOW + 2)
    assert bra.head("BRA") is None


# --- the bytes leave the disk ---


def files_holding(directory: Path, needle: bytes) -> list[str]:
    found = []
    for root, _dirs, names in os.walk(directory):
        for name in names:
            if needle in Path(root, name).read_bytes():
                found.append(name)
    return found


def test_revoked_body_leaves_the_leveldb_files(
    make_ledger: Make, devnet: DevNet, backend: str
) -> None:
    if backend != "leveldb":
        pytest.skip("the on-disk check is for LevelDB")
    fra, pub = make_ledger("FRA")
    target = pub.publish("notice.red", notice(MUELLER), NOW)
    assert target.body is not None
    assert isinstance(fra.store, MirroredStore)  # the ledger's view of its backend
    assert isinstance(fra.store.inner, LevelDBStore)
    path = Path(fra.store.inner.path)
    fra.store.close()
    assert files_holding(path, target.body) != []  # the ciphertext really is on disk
    spec = devnet.member("FRA")
    with LevelDBStore(path) as store:
        reopened = Ledger.of_member(store, devnet.governance.public_key, "FRA", spec.keys)
        assert reopened.read(target.id) == notice(MUELLER)
        ccf_act(reopened, devnet, action("revoke", [target.id]))
        store.compact()
        assert files_holding(path, target.body) == []
        assert reopened.signed_header("FRA", target.header.seq) == target.signed_header
        assert verify_ledger(reopened) == []


def test_block_and_unblock_converge_in_either_order(make_ledger, devnet) -> None:  # type: ignore[no-untyped-def]
    """Block and unblock travel in different feeds; the later decision wins either way."""
    from noticenet.protocol.ccf.bootstrap import threshold_entry
    from noticenet.protocol.records.governance import CCF_BLOCK_FEED, CCF_FEED, CCFAction

    from .conftest import NOW
    from .samples import document

    fra, pub = make_ledger("FRA")
    target = pub.publish("sltd", document(), NOW)
    block = threshold_entry(
        CCF_BLOCK_FEED,
        None,
        NOW + 10,
        "block",
        CCFAction("block", (target.id,), "inaccurate", "B/1"),
        devnet.block.sign,
    )
    unblock = threshold_entry(
        CCF_FEED,
        None,
        NOW + 20,
        "unblock",
        CCFAction("unblock", (target.id,), "inaccurate", "U/1"),
        devnet.revoke.sign,
    )
    for order in ((block, unblock), (unblock, block)):
        other, _ = make_ledger("DEU")
        for entry in fra.feed("FRA"):
            other.ingest(entry, NOW + 30)
        for entry in order:
            other.ingest(entry, NOW + 30)
        assert not other.hidden(target.id), order[0].header.kind
        assert other.read(target.id) == document()
    late = threshold_entry(
        CCF_BLOCK_FEED,
        (1, block.id),
        NOW + 40,
        "block",
        CCFAction("block", (target.id,), "inaccurate", "B/2"),
        devnet.block.sign,
    )
    other.ingest(late, NOW + 50)
    assert other.hidden(target.id)


def test_an_update_that_reenters_converges_in_either_order(
    make_ledger: Make, devnet: DevNet
) -> None:
    """An update re-entering a revoked person supersedes its target on every node.

    USA, unaware of the revocation, replaces a notice with one on the revoked
    person. A node that takes the update before the revocation, and one that
    takes the revocation first (and so withholds the update's body), must end
    alike: the header names the target, so both retire it.
    """
    net = revoke_with_guards(make_ledger, devnet)
    usa, usa_pub = make_ledger("USA")
    old = usa_pub.publish("notice.red", notice(person("Smith", "John", "1980-05-06")), NOW + 1)
    new = {"kind": "notice.red", "record": to_map(notice(MUELLER))}
    update = usa_pub.publish("update", Update(target=old.id, record=new), NOW + 2)
    assert update.header.target == old.id
    governance = ["FRA", CCF_BLOCK_FEED, CCF_FEED]
    first, second = make_ledger("DEU"), make_ledger("DEU")
    copy(net["ccf"], first[0], governance, NOW + 3)  # the revocation first
    copy(usa, first[0], ["USA"], NOW + 3)
    copy(usa, second[0], ["USA"], NOW + 3)  # the update first
    copy(net["ccf"], second[0], governance, NOW + 3)
    for ledger in (first[0], second[0]):
        assert ledger.store.get(key(b"b", old.id)) is None
        assert ledger.store.get(key(b"b", update.id)) is None
        assert ledger.find_person("Müller", "Jürgen", "1970-01-02") == []
    assert first[0].state_digest() == second[0].state_digest()


_T = b"\x07" * 32
ACTION_RULES: dict[str, tuple[dict[str, Any], str]] = {
    "an unknown reason": ({"reason": "because"}, "reason must be one of"),
    "a short target": ({"targets": [_T[:31]]}, "targets and guards are 32-byte hashes"),
    "a short guard": ({"guards": [_T[:31]]}, "targets and guards are 32-byte hashes"),
    "no target": ({"targets": []}, "a revoke needs at least one target"),
    "an admitted entry on a revoke": ({"admit": _T}, "only a readmit names an admitted entry"),
    "a readmit without its entry": (
        {"action": "readmit"},
        "a readmit names the admitted entry id",
    ),
}


@pytest.mark.parametrize("rule", sorted(ACTION_RULES))
def test_a_ccf_action_breaking_a_rule_is_not_a_record(rule: str) -> None:
    """A CCF body is threshold-signed, yet still checked as a record: a proposal that
    breaks a rule cannot be made, and a body that does is refused as such."""
    changes, says = ACTION_RULES[rule]
    fields = to_map(CCFAction("revoke", (_T,), "article-3", "CCF/2026/0042", (_T,)))
    assert parse_body("revoke", fields) == CCFAction(
        "revoke", (_T,), "article-3", "CCF/2026/0042", (_T,)
    )
    fields.update(changes)
    with pytest.raises(SchemaError) as raised:
        parse_body("revoke", fields)
    assert says in str(raised.value)


ROSTER_RULES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a repeated member": (
        lambda r: r["members"].append(r["members"][0]),
        "roster member ids repeat",
    ),
    "one key for block and revoke": (
        lambda r: r.update(block=r["revoke"]),
        "the block and revoke keys must differ",
    ),
    "the guard key wrapped for a stranger": (
        lambda r: r["guard_key_wraps"].update(XXX=bytes(80)),
        "guard key wrapped for non-members ['XXX']",
    ),
    "a short member key": (
        lambda r: r["members"][0].update(signing_key=bytes(31)),
        "keys are 32 bytes",
    ),
    "a partner without scope": (
        lambda r: next(m for m in r["members"] if m["role"] == "partner").update(scopes=[]),
        "partner EUROPOL needs at least one scope",
    ),
    "a short group key": (
        lambda r: r["revoke"].update(public_key=bytes(31)),
        "a group key is 32 bytes",
    ),
    "a threshold above the group": (
        lambda r: r["revoke"].update(threshold=r["revoke"]["size"] + 1),
        "1 <= threshold <= size",
    ),
}


@pytest.mark.parametrize("rule", sorted(ROSTER_RULES))
def test_a_roster_breaking_a_rule_is_not_a_record(devnet: DevNet, rule: str) -> None:
    change, says = ROSTER_RULES[rule]
    fields = to_map(devnet.roster)
    assert parse_body("roster", deepcopy(fields)) == devnet.roster
    change(fields)
    with pytest.raises(SchemaError) as raised:
        parse_body("roster", fields)
    assert says in str(raised.value)
