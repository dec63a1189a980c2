"""Border checks over HTTP against a real node process, and the in-process lookup they wrap.

Set-up (not timed): a local network's FRA node gets RECORDS stolen passports
(SLTD, full TD3 MRZ) written straight into its LevelDB through the real path
(Publisher for the key epoch, then sealed entries through `Ledger.ingest_many`,
which verifies, decrypts and indexes each one). Optionally `--total` grows the
store with filler records in the same key layout, written directly (copies of
real headers and bodies under fresh ids, each with its own document index
key), because a million entries through the real path take ~45 minutes on 2
cores. Only real records are looked up.

Measured, on the same store and the same random document numbers:
- in-process: `ledger.find_document` + `ledger.read`, one after the other;
- over HTTP: `GET /check/document` (border role) against `noticenet node run`
  on 127.0.0.1, from this process with httpx (keep-alive), at concurrency 1
  (latency) and at `--concurrency` (throughput); the node's CPU use is read
  from /proc.
Reported: requests/s, p50/p99 latency, and their ratios to the in-process lookup.

    python bench/api.py [--quick] [--records N] [--total N] [--seconds S] [--concurrency C]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from noticenet.crypto.hashing import blake2b256
from noticenet.node.api.users import Users
from noticenet.node.config import load_config
from noticenet.node.demo.cluster import NodeProc, poll
from noticenet.node.demo.localnet import MemberRow, create_localnet
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.identifiers.mrz import compose_mrz
from noticenet.protocol.identifiers.normalise import normalise_document_number
from noticenet.protocol.index.indexes import index_hash
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.ledger.validation import DAY_MS
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import TravelDocument
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.store.keyspace import key, position, seq_bytes

console = Console(width=None if sys.stdout.isatty() else 132)
MEMBERS: tuple[MemberRow, ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("CCF", "ccf", "Commission", ()),
)
BATCH = 1_000
SURNAMES = ("ERIKSSON", "DUPONT", "MUELLER", "ROSSI", "SILVA", "TANAKA", "SMITH", "NOWAK")


def passport(i: int) -> TravelDocument:
    number = f"F{i:08d}"
    born = f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    surname = SURNAMES[i % len(SURNAMES)]
    lines = compose_mrz(
        "TD3",
        document_code="P",
        issuing_state="FRA",
        document_number=number,
        nationality="FRA",
        date_of_birth=born[2:].replace("-", ""),
        sex="F" if i % 2 else "M",
        date_of_expiry="310101",
        surname=surname,
        given_names="ANNA MARIA",
    )
    return TravelDocument(
        document_number=number,
        document_type="P",
        issuing_country="FRA",
        status="stolen",
        holder_name=surname,
        holder_forename="ANNA MARIA",
        holder_date_of_birth=born,
        holder_nationality="FRA",
        date_of_expiry="2031-01-01",
        mrz=lines,
    )


# -- set-up ------------------------------------------------------------------------------


def preload(ledger: Ledger, publisher: Publisher, count: int, now: int) -> tuple[float, Entry]:
    """`count` SLTD records through the real ingest path; (records/s, the first entry)."""
    first = publisher.publish("sltd", passport(0), now)
    assert first.header.key is not None and first.header.key.epoch is not None
    epoch = first.header.key.epoch
    epoch_key = ledger.epoch_key(epoch)
    assert epoch_key is not None
    keying = EpochKeying(epoch, epoch_key)
    seq, prev = first.header.seq, first.id
    expires = now + 3650 * DAY_MS
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    began = time.perf_counter()
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("preloading SLTD through Ledger.ingest_many", total=count)
        batch: list[Entry] = []
        for i in range(1, count):
            record = passport(i)
            draft = Draft(
                "FRA", seq + 1, prev, now, "sltd", record, expires, publisher.guard_tags(record)
            )
            entry = seal_entry(draft, keying, publisher.keys.sign)
            seq, prev = seq + 1, entry.id
            batch.append(entry)
            if len(batch) == BATCH or i == count - 1:
                _ingest(ledger, batch, now)
                progress.advance(task, len(batch))
                batch = []
        progress.advance(task, 1)
    return count / (time.perf_counter() - began), first


def _ingest(ledger: Ledger, batch: list[Entry], now: int) -> None:
    for result in ledger.ingest_many(batch, now, sync=False):
        if isinstance(result, Exception) or result.outcome is not Outcome.STORED:
            raise SystemExit(f"preload refused an entry: {result!r}")


def fill(store: LevelDBStore, template: Entry, index_key: bytes, count: int) -> float:
    """`count` filler records in the real key layout (raw plyvel); records/s."""
    db = store._handle()  # set-up, not the path under test
    body = template.body or b""
    expiry = b"x/" + seq_bytes(template.header.expires_at or 0)
    kind = key(b"k", b"sltd", seq_bytes(template.header.issued_at)) + b"/"
    began = time.perf_counter()
    batch = db.write_batch()
    for n in range(count):
        fid = blake2b256(n.to_bytes(8, "big"), person=b"bench-filler")
        ikey = b"i/document/" + index_hash(index_key, "document", ("ZZZ", f"Z{n:08d}")) + b"/" + fid
        # No h/ row: copies of one signed header would fail the node's start-up check
        # (protocol/ledger/integrity.py); the filler only has to make the index tables big.
        batch.put(b"e/" + fid, position("FILLER", n + 1))
        batch.put(b"b/" + fid, body)
        batch.put(expiry + fid, b"")
        batch.put(ikey, b"")
        batch.put(b"r/" + fid, encode([ikey]))
        batch.put(kind + fid, b"")
        if n % 10_000 == 9_999:
            batch.write()
            batch = db.write_batch()
    batch.write()
    return count / max(1e-9, time.perf_counter() - began)


# -- measuring ---------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(ledger: Ledger, numbers: list[str]) -> list[float]:
    """Seconds per lookup: find_document + read, as a node answers a check."""
    samples = []
    for number in numbers:
        began = time.perf_counter()
        ids = ledger.find_document("FRA", number)
        ledger.read(ids[0])
        samples.append(time.perf_counter() - began)
    return samples


async def over_http(
    url: str, token: str, numbers: list[str], concurrency: int, seconds: float
) -> tuple[list[float], float]:
    """(seconds per request, wall seconds) for `concurrency` clients looping for `seconds`."""
    samples: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker(rng: random.Random, until: float, record: bool) -> None:
            while time.perf_counter() < until:
                number = rng.choice(numbers)
                began = time.perf_counter()
                response = await client.get(
                    "/check/document", params={"country": "FRA", "number": number}
                )
                if record:
                    samples.append(time.perf_counter() - began)
                if response.status_code != 200 or not response.json()["hit"]:
                    raise SystemExit(f"unexpected answer: {response.status_code}")

        for record, span in ((False, min(1.0, seconds / 5)), (True, seconds)):  # warm-up first
            until = time.perf_counter() + span
            began = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for i in range(concurrency):
                    nursery.start_soon(worker, random.Random(i), until, record)
    return samples, time.perf_counter() - began


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the run ---------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--records", type=int, default=None, help="SLTD through the real path")
    parser.add_argument("--total", type=int, default=None, help="store size incl. filler")
    parser.add_argument("--seconds", type=float, default=None, help="per HTTP measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=None, help="in-process lookups")
    args = parser.parse_args(argv)
    records = args.records or (3_000 if args.quick else 40_000)
    total = max(records, args.total or records)
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    lookups = args.lookups or (1_000 if args.quick else 5_000)
    root = Path(tempfile.mkdtemp(prefix="nn-bench-api-"))
    try:
        run(root, records, total, seconds, args.concurrency, lookups)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(
    root: Path, records: int, total: int, seconds: float, concurrency: int, lookups: int
) -> dict[str, Any]:
    net = create_localnet(root, b"bench-api", MEMBERS, neighbours=1)
    config = load_config(net.members["FRA"].config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    keys = config.keys("")
    now = int(time.time() * 1000)
    store = LevelDBStore(str(config.data_dir / "ledger"))
    ledger = Ledger.of_member(store, config.anchor, "FRA", keys)
    ledger.ingest(decode_entry(config.genesis.read_bytes()), now)
    ingest_rate, first = preload(ledger, Publisher(ledger, "FRA", keys), records, now)
    fill_rate = fill(store, first, keys.index_key, total - records) if total > records else 0.0
    rng = random.Random(7)
    numbers = [normalise_document_number(f"F{rng.randrange(records):08d}") for _ in range(lookups)]
    in_proc = in_process(ledger, numbers)
    store.close()

    token = Users(config.data_dir / "tokens.json").add("bench", "border")
    node = NodeProc(
        "FRA",
        net.members["FRA"].config,
        net.members["FRA"].api,
        (),
        {"border": token},
        net.members["FRA"].config.parent / "node.log",
    )
    node.start()
    assert node.proc is not None
    try:
        poll("the node's API", node.health, 60)
        results = {}
        for c in (1, concurrency):
            cpu0 = cpu_seconds(node.proc.pid)
            samples, wall = trio.run(over_http, node.url, token, numbers, c, seconds)
            cpu1 = cpu_seconds(node.proc.pid)
            busy = None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / wall
            results[c] = (samples, wall, busy)
    finally:
        node.proc.terminate()
        node.proc.wait(20)
    return report(records, total, ingest_rate, fill_rate, in_proc, results)


def report(
    records: int,
    total: int,
    ingest_rate: float,
    fill_rate: float,
    in_proc: list[float],
    results: dict[int, tuple[list[float], float, float | None]],
) -> dict[str, Any]:
    base_rate = len(in_proc) / sum(in_proc)
    base_p50, base_p99 = percentile(in_proc, 0.5), percentile(in_proc, 0.99)
    table = Table(
        title=f"border checks on {total:,} SLTD records ({records:,} through the "
        f"real path{'' if total == records else ', rest filler'})"
    )
    for col in ("path", "requests/s", "p50 ms", "p99 ms", "ratio rate", "ratio p50", "node CPU"):
        table.add_column(col, justify="right" if col != "path" else "left")
    table.add_row(
        "in-process find_document + read",
        f"{base_rate:,.0f}",
        f"{base_p50 * 1e3:.2f}",
        f"{base_p99 * 1e3:.2f}",
        "1",
        "1",
        "",
    )
    facts: dict[str, Any] = {
        "records": records,
        "total": total,
        "in_process_rate": base_rate,
        "in_process_p50_ms": base_p50 * 1e3,
    }
    for c, (samples, wall, busy) in results.items():
        rate = len(samples) / wall
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        table.add_row(
            f"HTTP GET /check/document, {c} client(s)",
            f"{rate:,.0f}",
            f"{p50 * 1e3:.2f}",
            f"{p99 * 1e3:.2f}",
            f"{rate / base_rate:.2f}",
            f"{p50 / base_p50:.1f}x",
            "-" if busy is None else f"{busy:.0%} of a core",
        )
        facts[f"http_c{c}"] = {
            "rate": rate,
            "p50_ms": p50 * 1e3,
            "p99_ms": p99 * 1e3,
            "ratio_rate": rate / base_rate,
            "node_cpu": busy,
        }
    console.print(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"machine: {os.cpu_count()} cores, 1-minute load average {load:.1f} at the end")
    console.print(
        f"set-up: real path {ingest_rate:,.0f} records/s (Ledger.ingest_many, "
        f"{BATCH} per batch)" + (f"; filler {fill_rate:,.0f} records/s" if fill_rate else "")
    )
    console.print(
        "ratio rate = HTTP requests/s over in-process lookups/s (same store, same "
        "numbers); the client runs in this process on the same cores as the node."
    )
    return facts


if __name__ == "__main__":
    main(sys.argv[1:])
