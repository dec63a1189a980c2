"""A purged body leaves the disk: no file in the LevelDB directory holds its bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import NotFound
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.store.keyspace import key

from .conftest import NOW
from .samples import document

SLICE = 64


def files_holding(directory: Path, needle: bytes) -> list[str]:
    """Names of every file under `directory` whose bytes contain `needle`."""
    found = []
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = Path(root, name)
            if needle in path.read_bytes():
                found.append(str(path.relative_to(directory)))
    return found


def open_fra(path: Path, devnet: DevNet) -> tuple[Ledger, Publisher]:
    spec = devnet.member("FRA")
    ledger = Ledger.of_member(LevelDBStore(path), devnet.governance.public_key, "FRA", spec.keys)
    if ledger.roster is None:
        ledger.ingest(devnet.genesis, NOW)
    return ledger, Publisher(ledger, "FRA", spec.keys)


def test_cancelled_body_leaves_every_file(tmp_path: Path, devnet: DevNet) -> None:
    path = tmp_path / "fra"
    ledger, pub = open_fra(path, devnet)
    doc = pub.publish("sltd", document(), NOW)
    body = ledger.store.get(key(b"b", doc.id))
    assert body is not None and body == doc.body
    assert len(body) >= 2 * SLICE
    needle = body[len(body) // 2 - SLICE // 2 :][:SLICE]  # from the middle: pure ciphertext
    ledger.store.close()

    # reopened: the memtable went to a table file; the bytes must be found on disk
    ledger, pub = open_fra(path, devnet)
    assert files_holding(path, needle), "the ciphertext never reached the disk: test is void"
    assert ledger.find_document("UTO", "L898902C3") == [doc.id]

    pub.publish("cancel", Cancellation(target=doc.id, reason="found"), NOW + 1)
    assert ledger.store.get(key(b"b", doc.id)) is None
    assert ledger.tombstone(doc.id) is not None
    ledger.store.compact()
    assert verify_ledger(ledger) == []
    ledger.store.close()

    assert files_holding(path, needle) == []
    ledger, _ = open_fra(path, devnet)
    try:
        assert ledger.find_document("UTO", "L898902C3") == []
        assert ledger.entry(doc.id, with_body=False) is not None  # the header stays
        with pytest.raises(NotFound):
            ledger.read(doc.id)
    finally:
        ledger.store.close()


def test_plaintext_identifiers_never_reach_the_disk(tmp_path: Path, devnet: DevNet) -> None:
    path = tmp_path / "fra"
    ledger, pub = open_fra(path, devnet)
    pub.publish("sltd", document("ZQ7788991", "FRA"), NOW)
    ledger.store.close()
    ledger, _ = open_fra(path, devnet)
    ledger.store.close()
    assert files_holding(path, b"ZQ7788991") == []
