"""Child process of the crash test: publish as FRA into a LevelDB store until killed.

Usage: `python crash_publisher.py STORE_DIR SETUP_FILE [MAX_ENTRIES]`.

SETUP_FILE is a CBOR map written by the parent: `genesis` (the genesis
entry's wire bytes), `anchor` (the governance public key) and `seed` (the
devnet seed member keys derive from). The parent deals the network once and
passes it here, since dealing draws random group keys.

Each publication returns only after its synced write; the child then prints
`<entry id hex> <seq>` and flushes, so every printed line is acknowledged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cbor2

from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.devnet import member_keys
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import decode_entry
from noticenet.protocol.records.records import Firearm, TravelDocument

MEMBER = "FRA"
NOW = 1_800_000_000_000


def open_ledger(store_dir: str, setup: dict[str, Any], genesis: bool = True) -> Ledger:
    """FRA's ledger on LevelDB in `store_dir`; with `genesis`, ingest it if the store is new."""
    keys = member_keys(setup["seed"], MEMBER)
    ledger = Ledger.of_member(LevelDBStore(store_dir), setup["anchor"], MEMBER, keys)
    if genesis and ledger.roster is None:
        ledger.ingest(decode_entry(setup["genesis"]), NOW, sync=True)
    return ledger


def record(n: int) -> tuple[str, Any]:
    """A small record, alternating kinds."""
    if n % 3 == 2:
        return "firearm", Firearm(make="Glock", serial=f"CR{n:08d}")
    return "sltd", TravelDocument(
        document_number=f"C{n:08d}", document_type="P", issuing_country="FRA", status="stolen"
    )


def main(argv: list[str]) -> None:
    store_dir, setup_file = argv[1], argv[2]
    limit = int(argv[3]) if len(argv) > 3 else 100_000
    setup = cbor2.loads(Path(setup_file).read_bytes())
    ledger = open_ledger(store_dir, setup)
    publisher = Publisher(ledger, MEMBER, member_keys(setup["seed"], MEMBER))
    head = ledger.head(MEMBER)
    start = 0 if head is None else head[0]
    for n in range(start, start + limit):
        kind, rec = record(n)
        entry = publisher.publish(kind, rec, NOW + n)
        sys.stdout.write(f"{entry.id.hex()} {entry.header.seq}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
