"""Kill a publishing node at random moments: it loses nothing it acknowledged.

A child process (`crash_publisher.py`) publishes as FRA into a LevelDB store
and prints each entry id once its synced write returned. The test kills it
with SIGKILL after a random number of acknowledgements (so at a random point
of the next write), reopens the store here, and checks that every
acknowledged entry is there with its body, that the verification pass finds
nothing, and that publishing continues from the head.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import cbor2
import pytest

from noticenet.protocol.devnet import DevNet
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.records import TravelDocument
from noticenet.protocol.store.keyspace import key

from .crash_publisher import MEMBER, NOW, open_ledger

CHILD = Path(__file__).with_name("crash_publisher.py")
ROUNDS = 24
SEED = 20_260_801

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def read_acks(stream: IO[str], count: int | None) -> list[tuple[bytes, int]]:
    """Read `count` acknowledgement lines (None: until EOF); only complete lines count."""
    acks: list[tuple[bytes, int]] = []
    while count is None or len(acks) < count:
        line = stream.readline()
        if not line.endswith("\n"):
            break  # EOF, or a line cut off by the kill: not acknowledged
        eid, seq = line.split()
        acks.append((bytes.fromhex(eid), int(seq)))
    return acks


def run_and_kill(store: Path, setup: Path, wait_for: int) -> list[tuple[bytes, int]]:
    """Start the publisher, kill it after `wait_for` acknowledgements, return all it acked."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(store), str(setup)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        acks = read_acks(child.stdout, wait_for)
        child.send_signal(signal.SIGKILL)
        child.wait()
        acks += read_acks(child.stdout, None)  # lines flushed before the kill landed
        errors = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, errors
    return acks


def test_killed_publisher_keeps_every_acknowledged_entry(tmp_path: Path, devnet: DevNet) -> None:
    rng = random.Random(SEED)
    store = tmp_path / "fra"
    setup = tmp_path / "setup.cbor"
    setup.write_bytes(
        cbor2.dumps(
            {
                "genesis": devnet.genesis.to_wire(),
                "anchor": devnet.governance.public_key,
                "seed": b"noticenet-devnet",  # make_devnet's default network seed
            }
        )
    )
    settings = cbor2.loads(setup.read_bytes())
    acknowledged: dict[bytes, int] = {}
    for _ in range(ROUNDS):
        # 0: kill during start-up (opening the store, ingesting the genesis)
        for eid, seq in run_and_kill(store, setup, rng.choice([0, 1, 2, 3, 5, 8])):
            acknowledged[eid] = seq
        check_store(store, settings, acknowledged)

    assert len(acknowledged) >= ROUNDS
    ledger = open_ledger(str(store), settings)
    try:
        head = ledger.head(MEMBER)
        assert head is not None and head[0] >= max(acknowledged.values())
        pub = Publisher(ledger, MEMBER, devnet.member(MEMBER).keys)
        doc = TravelDocument(
            document_number="AFTER1", document_type="P", issuing_country="FRA", status="stolen"
        )
        entry = pub.publish("sltd", doc, NOW)
        assert entry.header.seq == head[0] + 1 and entry.header.prev == head[1]
        assert verify_ledger(ledger) == []
    finally:
        ledger.store.close()


def check_store(store: Path, settings: dict[str, bytes], acknowledged: dict[bytes, int]) -> None:
    ledger = open_ledger(str(store), settings, genesis=False)  # read only
    try:
        for eid, seq in acknowledged.items():
            entry = ledger.entry(eid)
            assert entry is not None, f"acknowledged entry #{seq} lost"
            assert entry.header.seq == seq
            assert ledger.store.get(key(b"b", eid)) is not None, f"body of #{seq} lost"
        if acknowledged:
            # at most the write in flight at the kill (a record, perhaps after a new
            # key epoch) went through unacknowledged
            head = ledger.head(MEMBER)
            assert head is not None and 0 <= head[0] - max(acknowledged.values()) <= 2
        assert verify_ledger(ledger) == []
    finally:
        ledger.store.close()
