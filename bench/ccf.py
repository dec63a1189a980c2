"""CCF benchmarks: a 3-of-5 signing ceremony, and enforcing CCF actions on a big ledger.

(a) ceremony: the revoke group's 3-of-5 FROST ceremony in one process, every
    step through its file bytes (propose, 3 commits, 3 shares, aggregate with
    its checks); median of N runs, with each step's median.
(c) key generation: the DKG ceremony of `ccf dkg` in one process, every
    step of every participant through its record bytes (round one, the
    consistency round, sealed round two, finish), for 3 of 5 and 5 of 9;
    and a refresh of a 3-of-5 group (every holder reshares its weighted share), bare and as
    the file ceremony runs it (signed records, consistency round, sealed sub-shares).
(b) enforcement: a LevelDB ledger (DEU, decrypting and indexing) holding
    ENTRIES records of FRA (sltd, vehicle, notice.red in turn), ingested with
    `ingest_many` in unsynced batches of 1000. Then, each ingested as a node
    would (one synced batch): a block of one entry, a revocation of one
    entry with its guard tags, a revocation of 100 entries, and the refusal
    of a re-entry (a guarded record published by USA); then `compact()`.

Each figure is also given as a multiple of one plain nacl Ed25519 verify.

    python bench/ccf.py [--entries N] [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing
from rich.console import Console
from rich.table import Table

from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.ccf import actions, ceremony
from noticenet.protocol.ccf.ceremony import Commitment, Nonces, Proposal, Share
from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.protocol.identifiers.vin import vin_check_digit
from noticenet.protocol.index.guard_tags import tags_for
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.ledger.validation import DAY_MS
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import CCFAction
from noticenet.protocol.records.kinds import spec
from noticenet.protocol.records.records import Notice, Person, TravelDocument, Vehicle
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.kvstore import KVStore, MemoryStore

NOW = 1_800_000_000_000
BATCH = 1000
console = Console()


# -- records ------------------------------------------------------------------


def record(i: int) -> tuple[str, Any]:
    """(kind, record) cycling sltd, vehicle, notice.red; every identifier distinct."""
    which = i % 3
    if which == 0:
        return "sltd", TravelDocument(
            document_number=f"F{i:08d}",
            document_type="P",
            issuing_country="FRA",
            status="stolen",
            holder_name="DUPONT",
            holder_forename="JEAN",
        )
    if which == 1:
        draft = f"VF1RJA00{i % 10}{i % 100_000_000:08d}"
        return "vehicle", Vehicle(
            vin=draft[:8] + vin_check_digit(draft) + draft[9:],
            make="Renault",
            model="Clio",
            year=2015 + i % 10,
        )
    born = f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    subject = Person(name=f"DUPONT{i:07d}", forename="JEAN", date_of_birth=born)
    return "notice.red", Notice(subject, summary="Wanted for prosecution", reference=f"R{i}")


# -- building the ledger ------------------------------------------------------


def reader_ledger(devnet: DevNet, member: str, store: KVStore) -> Ledger:
    keys = devnet.member(member).keys
    ledger = Ledger.of_member(store, devnet.governance.public_key, member, keys)
    ledger.ingest(devnet.genesis, NOW)
    return ledger


def fra_feed(devnet: DevNet, count: int) -> tuple[list[Entry], dict[bytes, Any]]:
    """FRA's feed of `count` records (epochs opened by the publisher, the rest sealed
    here) and each record by entry id."""
    ledger = reader_ledger(devnet, "FRA", MemoryStore())
    keys = devnet.member("FRA").keys
    publisher = Publisher(ledger, "FRA", keys)
    epochs: dict[str, EpochKeying] = {}
    records: dict[bytes, Any] = {}
    for i in range(3):
        kind, rec = record(i)
        entry = publisher.publish(kind, rec, NOW)
        records[entry.id] = rec
        assert entry.header.key is not None and entry.header.key.epoch is not None
        epoch_key = ledger.epoch_key(entry.header.key.epoch)
        assert epoch_key is not None
        epochs[kind] = EpochKeying(entry.header.key.epoch, epoch_key)
    guard_key = ledger.guard_key
    assert guard_key is not None
    entries = list(ledger.feed("FRA"))
    seq, prev = entries[-1].header.seq, entries[-1].id
    for i in range(3, count):
        kind, rec = record(i)
        expires = NOW + (spec(kind).retention_days or 1) * DAY_MS
        draft = Draft("FRA", seq + 1, prev, NOW, kind, rec, expires, tags_for(rec, guard_key))
        entry = seal_entry(draft, epochs[kind], keys.sign)
        entries.append(entry)
        records[entry.id] = rec
        seq, prev = seq + 1, entry.id
    return entries, records


def ingest_all(ledger: Ledger, entries: list[Entry]) -> None:
    for start in range(0, len(entries), BATCH):
        results = ledger.ingest_many(entries[start : start + BATCH], NOW, sync=False)
        bad = [r for r in results if isinstance(r, Exception) or r.outcome is not Outcome.STORED]
        if bad:
            raise SystemExit(f"ingest failed: {bad[0]}")


# -- the ceremony -------------------------------------------------------------


def run_ceremony(proposal: Proposal, group: ThresholdGroup, times: dict[str, list[float]]) -> Entry:
    """One 3-of-5 ceremony through bytes, timing each step."""
    signers = (1, 3, 5)
    t0 = time.perf_counter()
    rounds = {i: ceremony.commit(proposal, group.packages[i]) for i in signers}
    wire = {i: (n.to_bytes(), c.to_bytes()) for i, (n, c) in rounds.items()}
    t1 = time.perf_counter()
    commitments = [Commitment.from_bytes(c) for _, c in wire.values()]
    shares = [
        ceremony.sign_share(
            proposal, group.packages[i], Nonces.from_bytes(wire[i][0]), commitments
        ).to_bytes()
        for i in signers
    ]
    t2 = time.perf_counter()
    entry = ceremony.aggregate(
        proposal, commitments, [Share.from_bytes(s) for s in shares], group.public
    )
    t3 = time.perf_counter()
    for name, took in (
        ("commit x3", t1 - t0),
        ("sign x3", t2 - t1),
        ("aggregate", t3 - t2),
        ("ceremony", t3 - t0),
    ):
        times.setdefault(name, []).append(took)
    return entry


def bench_ceremony(devnet: DevNet, runs: int) -> dict[str, float]:
    roster = devnet.roster
    revoke = CCFAction("revoke", (b"\x01" * 32,), "article-3", "CCF/bench", (b"\x02" * 32,))
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        proposal = Proposal.from_bytes(
            ceremony.propose(None, NOW, revoke, roster.revoke).to_bytes()
        )
        run_ceremony(proposal, devnet.revoke, times)
    return {name: statistics.median(values) for name, values in times.items()}


# -- enforcement ---------------------------------------------------------------


def ccf_entry(ledger: Ledger, devnet: DevNet, action: CCFAction) -> Entry:
    """The signed entry for `action`, next on its feed in `ledger` (not timed)."""
    assert ledger.roster is not None
    group_key = ledger.roster.block if action.action == "block" else ledger.roster.revoke
    feed = ceremony.feed_for(action.action)
    proposal = ceremony.propose(ledger.head(feed), NOW, action, group_key)
    group = devnet.block if action.action == "block" else devnet.revoke
    return proposal.entry(group.sign(proposal.message))


def timed_ingest(ledger: Ledger, entry: Entry, expect: Outcome) -> float:
    began = time.perf_counter()
    result = ledger.ingest(entry, NOW, sync=True)
    took = time.perf_counter() - began
    if result.outcome is not expect:
        raise SystemExit(f"expected {expect}, got {result}")
    return took


def bench_enforcement(devnet: DevNet, count: int, runs: int, tmp: Path) -> dict[str, float]:
    began = time.perf_counter()
    entries, records = fra_feed(devnet, count)
    sealed = time.perf_counter() - began
    store = LevelDBStore(tmp / "deu")
    deu = reader_ledger(devnet, "DEU", store)
    began = time.perf_counter()
    ingest_all(deu, entries)
    out = {
        "seal (per entry)": sealed / count,
        "ingest_many (per entry)": (time.perf_counter() - began) / count,
    }
    guard_key = deu.guard_key
    assert guard_key is not None
    pick = iter(e for e in entries[::-1] if e.header.kind != "key_epoch")
    blocks, revokes = [], []
    for _ in range(runs):
        target = next(pick)
        blocks.append(
            timed_ingest(
                deu,
                ccf_entry(deu, devnet, CCFAction("block", (target.id,), "article-3", "CCF/bench")),
                Outcome.STORED,
            )
        )
    victims = []
    for _ in range(runs):
        target = next(pick)
        victims.append(target)
        guards = actions.guards_for_targets(deu, [target.id])
        action = CCFAction("revoke", (target.id,), "article-3", "CCF/bench", guards)
        revokes.append(timed_ingest(deu, ccf_entry(deu, devnet, action), Outcome.STORED))
    many = [next(pick).id for _ in range(100)]
    guards = actions.guards_for_targets(deu, many)
    action = CCFAction("revoke", tuple(many), "article-3", "CCF/bench", guards)
    out["block, 1 target"] = statistics.median(blocks)
    out["revoke, 1 target + guards"] = statistics.median(revokes)
    out["revoke, 100 targets + guards"] = timed_ingest(
        deu, ccf_entry(deu, devnet, action), Outcome.STORED
    )
    again = [records[v.id] for v in victims]
    out["refuse a re-entry (ingest)"] = bench_reentry(devnet, deu, again)
    began = time.perf_counter()
    store.compact()
    out["compact() after"] = time.perf_counter() - began
    store.close()
    return out


def bench_reentry(devnet: DevNet, deu: Ledger, again: list[Any]) -> float:
    """USA, which has not seen the revocations, re-publishes revoked records; DEU refuses."""
    usa = reader_ledger(devnet, "USA", MemoryStore())
    publisher = Publisher(usa, "USA", devnet.member("USA").keys)
    published = {publisher.publish(record_kind(rec), rec, NOW).id for rec in again}
    took = []
    for entry in usa.feed("USA"):
        began = time.perf_counter()
        result = deu.ingest(entry, NOW, sync=True)
        if entry.id in published:
            took.append(time.perf_counter() - began)
            if result.reason != "reentry-blocked":
                raise SystemExit(f"re-entry not refused: {result}")
    return statistics.median(took)


def record_kind(rec: Any) -> str:
    return {TravelDocument: "sltd", Vehicle: "vehicle", Notice: "notice.red"}[type(rec)]


# -- anchor and report ---------------------------------------------------------


def nacl_verify_time(rounds: int = 3000) -> float:
    signer = nacl.signing.SigningKey(blake2b256(b"bench-ccf"))
    message = bytes(300)
    signature = signer.sign(message).signature
    verify_key = signer.verify_key
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(rounds):
            verify_key.verify(message, signature)
        samples.append((time.perf_counter() - began) / rounds)
    return statistics.median(samples)


def report(title: str, figures: dict[str, float], anchor: float, caption: str = "") -> None:
    table = Table(title=title, caption=caption)
    table.add_column("what")
    table.add_column("time", justify="right")
    table.add_column("x nacl verify", justify="right")
    for name, seconds in figures.items():
        shown = f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"
        table.add_row(name, shown, f"{seconds / anchor:,.1f}")
    console.print(table)


def section(title: str, measure: Callable[[], dict[str, float]]) -> None:
    """Run `measure` between two anchor measurements, so its ratios share its machine load."""
    before = nacl_verify_time()
    figures = measure()
    anchor = (before + nacl_verify_time()) / 2
    load = os.getloadavg()[0]
    caption = f"one nacl verify: {anchor * 1e6:.1f} µs; load average {load:.1f}"
    report(title, figures, anchor, caption)


def bench_keygen(runs: int) -> dict[str, float]:
    """Median wall time of a whole DKG (all rounds, all participants) and of a refresh."""
    from noticenet.crypto.ceremony_identity import CeremonyKey
    from noticenet.crypto.reshare import reshare_in_process
    from noticenet.protocol.ccf.dkg_ceremony import Setup, run_in_process

    figures: dict[str, float] = {}
    for n, t in ((5, 3), (9, 5)):
        keys = {i: CeremonyKey.generate() for i in range(1, n + 1)}
        setup = Setup.new("revoke", t, [(f"c{i}", keys[i].public) for i in keys])
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            packages, public = run_in_process(setup, keys)
            times.append(time.perf_counter() - start)
        figures[f"DKG {t} of {n}, all rounds, all participants"] = statistics.median(times)
        if (n, t) == (5, 3):
            times, ceremony = [], []
            refresh = setup.refreshing(public, excluded=[5])
            staying = {i: keys[i] for i in refresh.ids}
            for _ in range(runs):
                start = time.perf_counter()
                reshare_in_process(packages, public)
                times.append(time.perf_counter() - start)
                start = time.perf_counter()
                run_in_process(refresh, staying, current=packages)
                ceremony.append(time.perf_counter() - start)
            figures["refresh 3 of 5 (same group key), all participants"] = statistics.median(times)
            figures["refresh ceremony 3 of 5, one retired: signed rounds, consistency, "
                    "sealed sub-shares, all participants"] = statistics.median(ceremony)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=21, help="ceremonies to take the median of")
    parser.add_argument("--quick", action="store_true", help="10k entries, 7 runs")
    args = parser.parse_args(argv)
    entries, runs = (10_000, 7) if args.quick else (args.entries, args.runs)
    devnet = make_devnet()
    section(f"3-of-5 FROST ceremony, median of {runs}", lambda: bench_ceremony(devnet, runs))
    keygen_runs = max(3, runs // 3)
    section(
        f"key generation and refresh, median of {keygen_runs}", lambda: bench_keygen(keygen_runs)
    )
    tmp = Path(tempfile.mkdtemp(prefix="nn-bench-ccf-"))
    try:
        section(
            f"CCF enforcement on a LevelDB ledger of {entries:,} entries",
            lambda: bench_enforcement(devnet, entries, max(3, runs // 3), tmp),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
