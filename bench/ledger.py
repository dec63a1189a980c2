"""Ledger benchmarks: bulk ingest of verified entries, and border checks on a big store.

(a) ingest: one member (FRA) publishes N entries of mixed kinds (sltd,
    vehicle, firearm, notice.red; ~400-byte bodies) with its Publisher into
    a memory ledger; another member (DEU) ingests their wire bytes (decoding
    included) into a fresh LevelDB-backed ledger, 500 entries and one synced
    write per batch: once in one process (a 20k sample), and once as a node
    does it, with intake workers (one per core) checking batch k + 1 while
    the ledger writes batch k. Reported: entries/s and the ratio to raw
    Ed25519 verifies/s on one core (nacl, 64-byte signatures over messages
    of the same size) measured in the same run, before and after. Target
    ratio >= 0.45 (issue 20: everything done, each entry findable; the relay
    stage alone is measured against Hypercore in bench/replicate.py). A
    batch of one feed costs one verify per chained run (record-format
    section 10), so what bounds the rate is the rest of the
    per-entry work: decoding, decrypting, parsing, indexing and the write.

(b) border check: a LevelDB ledger (USA) holding TOTAL SLTD records, of
    which REAL went through the real path (published by FRA and DEU,
    replicated with `ingest_many`); the rest are filler written straight to
    the store with the same key layout and sizes (copies of real headers and
    bodies under fresh ids, each with its own document index key), because
    a million entries through the real path would take far longer than a
    benchmark should. Then p50/p99 of `find_document` + `read` over random
    real records, against a raw plyvel get of a random body in the same DB.
    Target: p99 within 10x the raw get.

Generation (not timed) runs on two worker processes; the publishers'
ledgers do not decrypt their own entries (no reader), which only saves time.
Published feeds are cached in the temp directory (keyed by the job and a
digest of crypto/, protocol/ and this file), so a second run skips them.

Cost: `--quick` takes about 30 s. The default sizes cost about 12 CPU
minutes on the 2-core dev machine (publishing 200k entries, two 100k ingests
at ~1-2 ms an entry, 900k filler records, compacting ~860 MiB); `--only`
runs one half. `--profile` adds cProfile tables of where the time goes.

    python bench/ledger.py [ENTRIES] [--quick] [--border-real N] [--border-total N]
                           [--lookups N] [--only ingest|border] [--profile] [--no-cache]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import hashlib
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cbor2
import nacl.signing
from rich.console import Console
from rich.table import Table

from noticenet.crypto.hashing import blake2b256
from noticenet.node.intake_pool import IntakePool
from noticenet.node.service import INBOX_FRAMES
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.devnet import make_devnet, member_keys
from noticenet.protocol.identifiers.mrz import compose_mrz
from noticenet.protocol.identifiers.vin import vin_check_digit
from noticenet.protocol.index.indexes import index_hash
from noticenet.protocol.ledger.intake import Intake
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import (
    ArrestWarrant,
    Firearm,
    Notice,
    Person,
    TravelDocument,
    Vehicle,
)
from noticenet.protocol.store.keyspace import header_key, key, position, seq_bytes
from noticenet.protocol.store.kvstore import KVStore, MemoryStore

NOW = 1_800_000_000_000
SEED = b"noticenet-devnet"  # make_devnet's default: member keys derive from it
BATCH = 500
IN_PROCESS_SAMPLE = 20_000  # the in-process comparison: enough for a steady rate
console = Console()


# -- records -----------------------------------------------------------------

SURNAMES = ("ERIKSSON", "DUPONT", "MUELLER", "ROSSI", "SILVA", "TANAKA", "SMITH", "NOWAK")
FORENAMES = ("ANNA MARIA", "JEAN PIERRE", "JUERGEN", "GIULIA", "JOAO", "HIROSHI", "JOHN")


def sltd(i: int, country: str) -> TravelDocument:
    """A stolen passport with a full TD3 MRZ (~340-byte sealed body)."""
    number = f"{country[0]}{i:08d}"
    surname, forename = SURNAMES[i % len(SURNAMES)], FORENAMES[i % len(FORENAMES)]
    born = f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    lines = compose_mrz(
        "TD3",
        document_code="P",
        issuing_state=country,
        document_number=number,
        nationality=country,
        date_of_birth=born[2:].replace("-", ""),
        sex="F" if i % 2 else "M",
        date_of_expiry="310101",
        surname=surname,
        given_names=forename,
    )
    return TravelDocument(
        document_number=number,
        document_type="P",
        issuing_country=country,
        status="stolen",
        holder_name=surname,
        holder_forename=forename,
        holder_date_of_birth=born,
        holder_nationality=country,
        date_of_expiry="2031-01-01",
        mrz=lines,
    )


def mixed(i: int, country: str) -> tuple[str, Any]:
    """(kind, record) cycling sltd, vehicle, firearm, notice.red; bodies of 300-400 bytes."""
    pad = "reported stolen from a parked car; owner informed; case file follows " * 4
    which = i % 4
    if which == 0:
        return "sltd", sltd(i, country)
    if which == 1:
        draft = f"VF1RJA00{i % 10}{i % 100_000_000:08d}"
        vin = draft[:8] + vin_check_digit(draft) + draft[9:]
        return "vehicle", Vehicle(
            vin=vin,
            make="Renault",
            model=f"Clio V; {pad[:190]}",  # at most 200 characters (records.MAX_NAME)
            year=2015 + i % 10,
            colour="grey",
            registration=f"AB-{i % 1000:03d}-CD",
            registration_country=country,
        )
    if which == 2:
        return "firearm", Firearm(
            make="Glock",
            serial=f"SN{i:010d}",
            model=f"17 Gen{i % 5 + 1}; {pad[:185]}",
            calibre="9x19mm",
            firearm_type="pistol",
        )
    subject = Person(
        name=SURNAMES[i % len(SURNAMES)],
        forename=FORENAMES[i % len(FORENAMES)],
        date_of_birth=f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        nationalities=(country,),
        sex="M",
    )
    warrant = ArrestWarrant(charge="Armed robbery", issuing_country=country)
    return "notice.red", Notice(subject, (warrant,), summary=pad[:150], reference=f"R{i}")


# -- generation (worker processes) -------------------------------------------


class PublishingLedger(Ledger):
    """A publisher's own ledger that does not decrypt what it stores (it needs the guard key)."""

    def __init__(self, store: KVStore, anchor: bytes, guard_key: bytes) -> None:
        super().__init__(store, anchor)
        self._network_guard_key = guard_key

    @property
    def guard_key(self) -> bytes | None:
        return self._network_guard_key


def generate(job: tuple[str, str, int, int, bytes, bytes, bytes]) -> list[bytes]:
    """Publish `count` records as `member` from index `start`; their wire bytes in feed order."""
    member, what, start, count, genesis, anchor, guard_key = job
    ledger = PublishingLedger(MemoryStore(), anchor, guard_key)
    ledger.ingest(decode_entry(genesis), NOW)
    publisher = Publisher(ledger, member, member_keys(SEED, member))
    for i in range(start, start + count):
        if what == "sltd":
            publisher.publish("sltd", sltd(i, member), NOW + i)
        else:
            kind, record = mixed(i, member)
            publisher.publish(kind, record, NOW + i)
    return [entry.to_wire() for entry in ledger.feed(member)]


CACHE = Path(tempfile.gettempdir()) / "noticenet-bench"


def _code_digest() -> str:
    """A digest of the code that shapes generated entries: a cached feed is reused only if equal."""
    import noticenet.crypto
    import noticenet.protocol

    h = hashlib.blake2b(digest_size=8)
    for package in (noticenet.crypto, noticenet.protocol):
        root = Path(package.__path__[0])
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def generate_cached(job: tuple[str, str, int, int, bytes, bytes, bytes, str]) -> list[bytes]:
    """`generate`, through a cache in the temp directory keyed by the job and the code.

    Member keys and the guard key derive from the devnet seed, so a feed made
    in an earlier run is valid on any devnet made with that seed.
    """
    member, what, start, count, *_rest, digest = job
    path = CACHE / f"{member}-{what}-{start}-{count}-{digest}.cbor"
    if path.exists():
        cached: list[bytes] = cbor2.loads(path.read_bytes())
        return cached
    wires = generate(job[:-1])  # type: ignore[arg-type]
    CACHE.mkdir(exist_ok=True)
    for stale in CACHE.glob("*.cbor"):
        if not stale.stem.endswith(digest):  # made by other code: never valid again
            stale.unlink(missing_ok=True)
    partial = path.with_suffix(f".{member}-{what}.partial")
    partial.write_bytes(cbor2.dumps(wires))
    partial.replace(path)
    return wires


# -- measuring ----------------------------------------------------------------


def raw_verify_rate(messages: list[bytes], seconds: float = 1.5) -> float:
    """Raw nacl Ed25519 verifies per second over `messages` (64-byte detached signatures)."""
    signer = nacl.signing.SigningKey(blake2b256(b"bench"))
    verifier = signer.verify_key
    signed = [(m, signer.sign(m).signature) for m in messages]
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for message, sig in signed:
            verifier.verify(message, sig)
        done += len(signed)
    return done / (time.perf_counter() - began)


def reader_ledger(devnet: Any, member: str, store: KVStore) -> Ledger:
    keys = devnet.member(member).keys
    ledger = Ledger.of_member(store, devnet.governance.public_key, member, keys)
    ledger.ingest(devnet.genesis, NOW)
    return ledger


def _stored(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, Exception) or result.outcome is not Outcome.STORED:
            raise SystemExit(f"ingest refused an entry: {result!r}")


def ingest_all(ledger: Ledger, entries: list[Entry]) -> float:
    """Ingest decoded entries in batches (one synced write each); seconds taken."""
    began = time.perf_counter()
    for i in range(0, len(entries), BATCH):
        _stored(ledger.ingest_many(entries[i : i + BATCH], NOW, sync=True))
    return time.perf_counter() - began


def ingest_wires(ledger: Ledger, wires: list[bytes], pool: IntakePool | None) -> float:
    """Ingest wire bytes as a node does (decode included); seconds taken.

    Without a pool everything runs here. With one, the workers check the next
    INBOX_FRAMES batches (decode, verify, decrypt, parse, index keys) while
    this process writes batch k, as `NodeService` does with the frames it
    reads ahead from a neighbour.
    """
    batches = [wires[i : i + BATCH] for i in range(0, len(wires), BATCH)]
    began = time.perf_counter()
    if pool is None:
        for batch in batches:
            _stored(ledger.ingest_many([decode_entry(w) for w in batch], NOW, sync=True))
        return time.perf_counter() - began
    ahead = collections.deque(
        pool.submit(batch, ledger.snapshot(NOW)) for batch in batches[:INBOX_FRAMES]
    )
    for k in range(len(batches)):
        checked = pool.gather(ahead.popleft())
        if k + INBOX_FRAMES < len(batches):
            ahead.append(pool.submit(batches[k + INBOX_FRAMES], ledger.snapshot(NOW)))
        refused = [c for c in checked if not isinstance(c, Intake)]
        if refused:
            raise SystemExit(f"a worker refused an entry: {refused[0]!r}")
        _stored(ledger.ingest_many([c for c in checked if isinstance(c, Intake)], NOW))
    return time.perf_counter() - began


OWN_TIME: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("Ed25519 verify (libsodium)", lambda f, n: "crypto_sign_open" in n),
    (
        "CBOR encode (codec._check, cbor2.dumps)",
        lambda f, n: "dumps" in n or f.endswith("codec.py"),
    ),
    ("CBOR decode (cbor2.loads)", lambda f, n: "loads" in n),
    (
        "dataclass <-> map (schema.py, dataclasses)",
        lambda f, n: f.endswith(("schema.py", "dataclasses.py")),
    ),
    (
        "isinstance / hasattr / getattr",
        lambda f, n: n.endswith(("isinstance>", "hasattr>", "getattr>")),
    ),
    ("AEAD + BLAKE2b", lambda f, n: "aead" in n or "blake2b" in n or f.endswith("hashing.py")),
    (
        "LevelDB (plyvel, store)",
        lambda f, n: (
            "plyvel" in f or f.endswith("store/leveldb.py") or "write_batch" in n or "Batch" in n
        ),
    ),
    ("normalise, guard tags", lambda f, n: f.endswith(("normalise.py", "guard_tags.py"))),
    ("records, mrz, vin checks", lambda f, n: f.endswith(("records.py", "mrz.py", "vin.py"))),
    ("other noticenet code", lambda f, n: "/work/" in f or "noticenet" in f),
)

INGEST_STEPS: tuple[tuple[str, str, str], ...] = (
    ("Entry.signed_header (re-encodes the header; .id calls it)", "entry.py", "signed_header"),
    ("validate_entries (one verify per chained run)", "validation.py", "validate_entries"),
    ("  check_signatures", "validation.py", "check_signatures"),
    ("    libsodium verify", "~", "<built-in method _sodium.crypto_sign_open>"),
    ("_open (decrypt, parse, guard-tag check)", "ledger.py", "_open"),
    ("_apply (indexes)", "ledger.py", "_apply"),
    ("_withhold_reason (guards, cancels, expiry)", "ledger.py", "_withhold_reason"),
    ("Txn.commit (LevelDB write + fsync)", "keyspace.py", "commit"),
)


LOOKUP_STEPS: tuple[tuple[str, str, str], ...] = (
    ("find_document", "lookup.py", "find_document"),
    ("  indexes.lookup (keyed hash + prefix scan)", "indexes.py", "lookup"),
    ("read", "ledger.py", "read"),
    ("  Ledger.entry (gets + decode_stored_header)", "ledger.py", "entry"),
    ("    decode_stored_header (checked on ingest)", "entry.py", "decode_stored_header"),
    ("    decode_signed_header (strict parse: must not show)", "entry.py", "decode_signed_header"),
    ("  Ledger._indexed (was the body parsed on ingest? r/ get)", "ledger.py", "_indexed"),
    ("  open_body", "sealing.py", "open_body"),
    ("    Header.aad (encodes the header without body hash)", "entry.py", "aad"),
    ("    AEAD open (xchacha20poly1305)", "aead.py", "open_sealed"),
    ("    parse_stored_body (trusted: parsed on ingest)", "kinds.py", "parse_stored_body"),
    ("    parse_body (strict: must not show)", "kinds.py", "parse_body"),
    ("      MRZ re-check in TravelDocument (must not show)", "records.py", "_check_mrz_agrees"),
    ("Entry.signed_header (re-encodes the header)", "entry.py", "signed_header"),
    ("LevelDBStore.get", "store/leveldb.py", "get"),
    ("LevelDBStore.iterate + drain", "store/leveldb.py", "_drain"),
)


def profile_tables(
    profile: cProfile.Profile, what: str, steps: tuple[tuple[str, str, str], ...]
) -> list[Table]:
    """Own time by category, and cumulative time of the ledger's main steps."""
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1.0
    buckets: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in raw.items():
        label = next((c for c, match in OWN_TIME if match(filename, name)), "other")
        buckets[label] = buckets.get(label, 0.0) + own
    own_table = Table(title=f"where {what} time goes: own time (cProfile)")
    own_table.add_column("category")
    own_table.add_column("share", justify="right")
    for label, own in sorted(buckets.items(), key=lambda kv: -kv[1]):
        own_table.add_row(label, f"{100 * own / total:.1f}%")
    cum_table = Table(title=f"where {what} time goes: cumulative, overlapping (cProfile)")
    cum_table.add_column("step")
    cum_table.add_column("share", justify="right")
    for label, suffix, name in steps:
        cum = sum(v[3] for (f, _l, n), v in raw.items() if n == name and f.endswith(suffix))
        cum_table.add_row(label, f"{100 * cum / total:.1f}%")
    return [own_table, cum_table]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- (a) ingest ----------------------------------------------------------------

TARGET_RATIO = 0.45  # issue 20: everything done (findable), same-run raw verify


def bench_ingest(devnet: Any, wires: list[bytes], workdir: Path, profile: bool) -> None:
    entries = [decode_entry(w) for w in wires]
    kinds: dict[str, int] = {}
    for e in entries:
        kinds[e.header.kind] = kinds.get(e.header.kind, 0) + 1
    body = statistics.mean(len(e.body or b"") for e in entries if e.header.kind != "key_epoch")
    messages = [e.header.signing_bytes() for e in entries[:200]]
    sample = wires[: min(len(wires), IN_PROCESS_SAMPLE)]

    verify_before = raw_verify_rate(messages)
    alone = reader_ledger(devnet, "DEU", LevelDBStore(workdir / "deu-alone"))
    alone_rate = len(sample) / ingest_wires(alone, sample, None)
    alone.store.close()
    with IntakePool() as pool:
        pool.warm()  # start the workers: not timed
        ledger = reader_ledger(devnet, "DEU", LevelDBStore(workdir / "deu"))
        rate = len(wires) / ingest_wires(ledger, wires, pool)
        workers = pool.workers
    if ledger.frontier()["FRA"][0] != len(wires):
        raise SystemExit("the pooled ingest did not store the whole feed")
    ledger.store.close()
    verify_after = raw_verify_rate(messages)
    verify = (verify_before + verify_after) / 2

    table = Table(title=f"(a) ingest of {len(wires):,} entries from wire bytes into LevelDB (DEU)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("kinds", ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    table.add_row("mean body bytes (records)", f"{body:.0f}")
    table.add_row("batch / sync", f"{BATCH} entries, one synced write")
    table.add_row(
        "raw Ed25519 verify, one core (before / after)",
        f"{verify_before:,.0f} / {verify_after:,.0f} /s",
    )
    table.add_row(
        f"in one process ({len(sample):,} entries)",
        f"{alone_rate:,.0f} entries/s  (ratio {alone_rate / verify:.3f})",
    )
    table.add_row(
        f"with {workers} intake workers (all {len(wires):,})",
        f"{rate:,.0f} entries/s  ({1e6 / rate:.0f} us each)",
    )
    ratio = rate / verify
    mark = "[green]meets[/]" if ratio >= TARGET_RATIO else "[red]below[/]"
    table.add_row(
        "ratio findable ingest / raw verify", f"{ratio:.3f}  ({mark} target {TARGET_RATIO})"
    )
    console.print(table)

    if profile:
        sample_entries = entries[: min(len(entries), 10_000)]
        other = reader_ledger(devnet, "USA", LevelDBStore(workdir / "usa-profile"))
        prof = cProfile.Profile()
        prof.enable()
        ingest_all(other, sample_entries)
        prof.disable()
        other.store.close()
        label = f"in-process ingest ({len(sample_entries):,} entries)"
        for table in profile_tables(prof, label, INGEST_STEPS):
            console.print(table)


# -- (b) border check ------------------------------------------------------------


def fill(db: Any, templates: list[Entry], index_key: bytes, count: int) -> None:
    """`count` SLTD-shaped records under fresh ids, in the real key layout (raw plyvel)."""
    feed = "FILLER"
    # (signed header, body, expiry slot prefix, kind-index prefix) per template, computed once
    shapes = [
        (
            t.signed_header,
            t.body or b"",
            b"x/" + seq_bytes(t.header.expires_at or 0),
            key(b"k", b"sltd", seq_bytes(t.header.issued_at)) + b"/",
        )
        for t in templates[:1000]
    ]
    batch = db.write_batch()
    for n in range(count):
        signed, body, expiry, kind = shapes[n % len(shapes)]
        fid = blake2b256(n.to_bytes(8, "big"), person=b"bench-filler")
        ikey = b"i/document/" + index_hash(index_key, "document", ("ZZZ", f"Z{n:08d}")) + b"/" + fid
        seq = n + 1
        batch.put(header_key(feed, seq), signed)
        batch.put(b"e/" + fid, position(feed, seq))
        batch.put(b"b/" + fid, body)
        batch.put(expiry + fid, b"")
        batch.put(ikey, b"")
        batch.put(b"r/" + fid, encode([ikey]))
        batch.put(kind + fid, b"")
        if n % 10_000 == 9_999:
            batch.write()
            batch = db.write_batch()
    batch.write()


def bench_border(
    devnet: Any, wires: list[bytes], total: int, lookups: int, workdir: Path, profile: bool
) -> None:
    entries = [decode_entry(w) for w in wires]
    records = [e for e in entries if e.header.kind == "sltd"]
    # what the officer types: generate() numbered each member's records 0, 1, 2...
    typed: dict[bytes, tuple[str, str]] = {}
    counters: dict[str, int] = {}
    for e in records:
        i = counters.get(e.header.author, 0)
        counters[e.header.author] = i + 1
        typed[e.id] = (e.header.author, sltd(i, e.header.author).document_number)
    store = LevelDBStore(workdir / "usa")
    ledger = reader_ledger(devnet, "USA", store)
    seconds = ingest_all(ledger, entries)
    filler = max(0, total - len(records))
    began = time.perf_counter()
    db = store._handle()  # raw plyvel: the filler is set-up, not the path under test
    fill(db, records, devnet.member("USA").keys.index_key, filler)
    fill_s = time.perf_counter() - began
    began = time.perf_counter()
    store.compact()
    compact_s = time.perf_counter() - began
    size = sum(p.stat().st_size for p in (workdir / "usa").iterdir())

    rng = random.Random(7)
    ids = list(typed)  # Entry.id re-encodes the header: never inside a timed region
    db = store._handle()  # compact() reopened the database: the raw handle for the baseline
    raw_us: list[float] = []
    find_us: list[float] = []
    read_us: list[float] = []
    both_us: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(lookups):
        target, other = rng.choice(ids), rng.choice(ids)
        country, number = typed[target]
        raw_key = key(b"b", other)
        t0 = clock()
        db.get(raw_key)
        t1 = clock()
        found = ledger.find_document(country, number)
        t2 = clock()
        record = ledger.read(found[0])
        t3 = clock()
        if found != [target] or record.document_number != number:
            raise SystemExit(f"border check found {found!r} for {country} {number}")
        raw_us.append((t1 - t0) / 1e3)
        find_us.append((t2 - t1) / 1e3)
        read_us.append((t3 - t2) / 1e3)
        both_us.append((t3 - t1) / 1e3)
    miss_us = []
    for n in range(min(lookups, 2000)):
        t0 = clock()
        assert ledger.find_document("FRA", f"Q{n:08d}") == []
        miss_us.append((clock() - t0) / 1e3)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for eid in ids[:2000]:
            ledger.read(ledger.find_document(*typed[eid])[0])
        prof.disable()
        for table in profile_tables(prof, "border check (find + read)", LOOKUP_STEPS):
            console.print(table)
    store.close()

    table = Table(title=f"(b) border check: {len(records) + filler:,} SLTD records in LevelDB")
    table.add_column("measure")
    table.add_column("p50 us", justify="right")
    table.add_column("p90 us", justify="right")
    table.add_column("p99 us", justify="right")
    table.add_column("p99 / raw p99", justify="right")
    raw99 = percentile(raw_us, 0.99)
    rows = (
        ("raw plyvel get (random body)", raw_us),
        ("find_document", find_us),
        ("read (decrypt + parse)", read_us),
        ("find_document + read", both_us),
        ("find_document, no such document", miss_us),
    )
    for label, samples in rows:
        p99 = percentile(samples, 0.99)
        table.add_row(
            label,
            f"{percentile(samples, 0.5):.1f}",
            f"{percentile(samples, 0.9):.1f}",
            f"{p99:.1f}",
            f"{p99 / raw99:.1f}x",
        )
    console.print(table)
    ratio = percentile(both_us, 0.99) / raw99
    mark = "[green]meets[/]" if ratio <= 10 else "[red]misses[/]"
    facts = Table(title="border check set-up")
    facts.add_column("measure")
    facts.add_column("value", justify="right")
    facts.add_row("records via the real path (publish + ingest_many)", f"{len(records):,}")
    facts.add_row("  their ingest", f"{len(entries) / seconds:,.0f} entries/s")
    facts.add_row("filler records (same layout, written directly)", f"{filler:,}")
    facts.add_row("  filler write", f"{filler / fill_s if fill_s else 0:,.0f} records/s")
    facts.add_row("compact()", f"{compact_s:.1f} s")
    facts.add_row("store size on disk", f"{size / 2**20:,.0f} MiB")
    facts.add_row("lookups (random real records)", f"{lookups:,}")
    facts.add_row("p99 (find + read) / p99 raw get", f"{ratio:.1f}x ({mark} target 10x)")
    p50_ratio = percentile(both_us, 0.5) / percentile(raw_us, 0.5)
    facts.add_row("p50 (find + read) / p50 raw get", f"{p50_ratio:.1f}x")
    console.print(facts)


# -- main --------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("entries", nargs="?", type=int, default=None, help="(a) entries")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--border-real", type=int, default=None)
    parser.add_argument("--border-total", type=int, default=None)
    parser.add_argument("--lookups", type=int, default=None)
    parser.add_argument("--only", choices=("ingest", "border"), default=None)
    parser.add_argument("--profile", action="store_true", help="profile ingest and lookups")
    parser.add_argument("--no-cache", action="store_true", help="publish afresh, cache nothing")
    args = parser.parse_args(argv)
    quick = args.quick
    entries = args.entries or (5_000 if quick else 100_000)
    real = args.border_real or (5_000 if quick else 100_000)
    total = args.border_total or (20_000 if quick else 1_000_000)
    lookups = args.lookups or (2_000 if quick else 10_000)
    do_ingest = args.only in (None, "ingest")
    do_border = args.only in (None, "border")

    devnet = make_devnet()
    common = (devnet.genesis.to_wire(), devnet.governance.public_key, devnet.guard_key)
    digest = "nocache" if args.no_cache else _code_digest()
    jobs: list[tuple[str, str, int, int, bytes, bytes, bytes]] = []
    if do_ingest:
        jobs.append(("FRA", "mixed", 0, entries, *common))
    if do_border:
        half = real // 2
        jobs += [("FRA", "sltd", 0, half, *common), ("DEU", "sltd", 0, real - half, *common)]
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        if args.no_cache:
            feeds = list(pool.map(generate, jobs))
        else:
            feeds = list(pool.map(generate_cached, [(*job, digest) for job in jobs]))
    console.print(
        f"{sum(len(f) for f in feeds):,} entries published with Publisher in "
        f"{time.perf_counter() - began:.0f} s (2 processes; not timed below"
        f"{'' if args.no_cache else f'; cached in {CACHE}'})"
    )
    workdir = Path(tempfile.mkdtemp(prefix="nn-bench-"))
    try:
        if do_ingest:
            bench_ingest(devnet, feeds.pop(0), workdir, args.profile)
        if do_border:
            bench_border(devnet, feeds[0] + feeds[1], total, lookups, workdir, args.profile)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
