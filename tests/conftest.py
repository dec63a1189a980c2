"""Shared fixtures: a dealt network and ledgers on both store backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.store.kvstore import KVStore, MemoryStore

NOW = 1_800_000_000_000
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def devnet() -> DevNet:
    return make_devnet()


def open_store(kind: str, path: Path) -> KVStore:
    if kind == "memory":
        return MemoryStore()
    from noticenet.node.store.leveldb import LevelDBStore

    return LevelDBStore(str(path))


@pytest.fixture(params=["memory", "leveldb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_ledger(
    backend: str, tmp_path: Path, devnet: DevNet
) -> Iterator[Callable[[str], tuple[Ledger, Publisher]]]:
    """A factory: member id -> (ledger holding the genesis roster, publisher)."""
    stores: list[KVStore] = []

    def make(member: str, genesis: bool = True) -> tuple[Ledger, Publisher]:
        spec = devnet.member(member)
        store = open_store(backend, tmp_path / f"{member}-{len(stores)}")
        stores.append(store)
        ledger = Ledger.of_member(store, devnet.governance.public_key, member, spec.keys)
        if genesis:
            ledger.ingest(devnet.genesis, NOW)
        return ledger, Publisher(ledger, member, spec.keys)

    yield make
    for store in stores:
        store.close()
