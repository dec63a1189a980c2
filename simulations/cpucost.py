"""Measure the simulator's CPU costs with the protocol code: relay and open, per entry.

    python -m noticenet.simulations.cpucost [--entries 2000] [--repeat 3]

One member (FRA) publishes a mix of the interpol workload's records (three
SLTD documents for each red notice, vehicle and firearm: bulk imports are
most of the deliveries) with its Publisher; another member's ledger ingests
their wire bytes (decoding included) into LevelDB with one synced write per
batch, as a node stores an Entries frame:

- **relay**: a ledger that is not a reader (it holds the network's guard key
  but no member key): decode, chain, one signature check per chained run,
  guard tags, durable store. What a node must do before it acknowledges and
  forwards (issue 20's relay path).
- **full**: DEU's own ledger (a reader): the same plus decrypt, parse, tag
  honesty and index. `open` is full minus relay.

Per entry is measured with batches of 500 (the synced write amortised); the
per-frame cost (`frame_us`, mostly the synced write) is what batches of 16
(about an 8 KiB push frame) cost beyond that. Each figure is the median of
`repeat` runs on fresh stores. Raw Ed25519 verifies (libsodium) of the same
run are printed beside them, as the benches' anchor.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

from noticenet.crypto.hashing import blake2b256
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import decode_entry
from noticenet.protocol.store.kvstore import KVStore, MemoryStore

from . import recordgen

NOW = 1_800_000_000_000
KINDS = ("sltd", "sltd", "sltd", "notice.red", "sltd", "sltd", "sltd", "vehicle", "firearm")
BIG, SMALL = 500, 16


@dataclass(frozen=True)
class Costs:
    """Measured CPU microseconds: per entry (relay, open) and per stored frame."""

    relay_us: float
    open_us: float
    frame_us: float
    verify_us: float  # one raw Ed25519 verify, for comparison
    entries: int


class RelayLedger(Ledger):
    """A ledger that checks and stores but opens nothing: the network's guard key, no reader."""

    def __init__(self, store: KVStore, anchor: bytes, guard_key: bytes) -> None:
        super().__init__(store, anchor)
        self._network_guard_key = guard_key

    @property
    def guard_key(self) -> bytes | None:
        return self._network_guard_key


def _devnet() -> DevNet:
    rows = [("FRA", "member", "France", ()), ("DEU", "member", "Germany", ())]
    return make_devnet(b"cpucost", members=rows)  # type: ignore[arg-type]


def publish(devnet: DevNet, count: int) -> list[bytes]:
    """`count` records published by FRA; the wire bytes of its whole feed, in order."""
    keys = devnet.member("FRA").keys
    ledger = Ledger.of_member(MemoryStore(), devnet.governance.public_key, "FRA", keys)
    ledger.ingest(devnet.genesis, NOW)
    publisher = Publisher(ledger, "FRA", keys)
    rng = random.Random("cpucost")
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        publisher.publish(kind, recordgen.record(rng, kind, "FRA", "FRA"), NOW + i)
    return [entry.to_wire() for entry in ledger.feed("FRA")]


def ingest_seconds(ledger: Ledger, wires: list[bytes], batch: int) -> float:
    """Decode and ingest `wires` in batches, one synced write each; seconds taken."""
    began = time.perf_counter()
    for i in range(0, len(wires), batch):
        results = ledger.ingest_many([decode_entry(w) for w in wires[i : i + batch]], NOW)
        for result in results:
            if isinstance(result, Exception) or result.outcome is not Outcome.STORED:
                raise SystemExit(f"ingest refused an entry: {result!r}")
    return time.perf_counter() - began


def _per_entry_us(devnet: DevNet, wires: list[bytes], full: bool, batch: int) -> float:
    with tempfile.TemporaryDirectory(prefix="cpucost-") as tmp:
        store = LevelDBStore(Path(tmp) / "db")
        try:
            if full:
                keys = devnet.member("DEU").keys
                ledger = Ledger.of_member(store, devnet.governance.public_key, "DEU", keys)
            else:
                ledger = RelayLedger(store, devnet.governance.public_key, devnet.guard_key)
            ledger.ingest(devnet.genesis, NOW)
            return ingest_seconds(ledger, wires, batch) / len(wires) * 1e6
        finally:
            store.close()


def verify_us(seconds: float = 1.0) -> float:
    """Microseconds per raw libsodium Ed25519 verify of a 400-byte message."""
    signer = nacl.signing.SigningKey(blake2b256(b"cpucost"))
    message = bytes(400)
    signature = signer.sign(message).signature
    verifier = signer.verify_key
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for _ in range(200):
            verifier.verify(message, signature)
        done += 200
    return (time.perf_counter() - began) / done * 1e6


def measure(entries: int = 2000, repeat: int = 3) -> Costs:
    """Median of `repeat` measurements of each figure (see the module docstring)."""
    devnet = _devnet()
    wires = publish(devnet, entries)

    def median(full: bool, batch: int) -> float:
        return statistics.median(_per_entry_us(devnet, wires, full, batch) for _ in range(repeat))

    relay, relay_small, full = median(False, BIG), median(False, SMALL), median(True, BIG)
    return Costs(
        relay_us=round(relay, 1),
        open_us=round(full - relay, 1),
        frame_us=round(max(0.0, relay_small - relay) * SMALL, 1),
        verify_us=round(verify_us(), 1),
        entries=len(wires),
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    c = measure(args.entries, args.repeat)
    print(
        f"entries {c.entries}  relay_us {c.relay_us}  open_us {c.open_us}  "
        f"frame_us {c.frame_us}  (raw Ed25519 verify {c.verify_us} us; "
        f"relay / verify {c.relay_us / c.verify_us:.2f}, "
        f"relay+open / verify {(c.relay_us + c.open_us) / c.verify_us:.2f})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
