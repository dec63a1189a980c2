"""A damaged or missing store is found, refused and repaired (node/store/opening.py).

Real LevelDB stores under tmp_path, made by `create_localnet` (the only way,
with `init`, that a store comes to exist), filled through the ledger, then
damaged on disk the way disks and operators damage them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from noticenet.node.config import NodeConfig, load_config
from noticenet.node.demo.localnet import LocalNet, create_localnet
from noticenet.node.service import NodeService
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.node.store.opening import ledger_path, open_node_store, repair_store
from noticenet.protocol.errors import StoreDamaged, StoreError, StoreForeign, StoreMissing
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.integrity import quick_check
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import Cancellation

from .samples import document


@pytest.fixture
def net(tmp_path: Path) -> LocalNet:
    return create_localnet(tmp_path / "net", b"store-tests")


def config_of(net: LocalNet, member: str = "FRA") -> NodeConfig:
    return load_config(net.members[member].config)


def fill(net: LocalNet, count: int, compact: bool = False) -> list[Entry]:
    """`count` SLTD records in FRA's own feed (after its key epoch), and a few of DEU's.

    Each is its own write batch, as on a node. With `compact`, everything
    ends up in table files (.ldb); otherwise in the write-ahead log.
    """
    config = config_of(net)
    store, ledger = open_node_store(config, config.keys(""))
    from noticenet.protocol.ledger.publisher import Publisher

    fra = Publisher(ledger, "FRA", config.keys(""))
    deu = Publisher(ledger, "DEU", net.devnet.member("DEU").keys)
    now = int(time.time() * 1000) - 60_000
    entries = []
    for i in range(count):
        entries.append(fra.publish("sltd", document(f"F{i:07d}"), now + i))
        if i % 50 == 0:
            deu.publish("sltd", document(f"D{i:07d}"), now + i)
    if compact:
        store.compact()
    store.close()
    return entries


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def files(config: NodeConfig, pattern: str) -> list[Path]:
    return sorted(ledger_path(config.data_dir).glob(pattern), key=lambda p: p.stat().st_size)


def flip(path: Path, at: float, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(start + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def refused(config: NodeConfig, error: type[StoreError]) -> str:
    with pytest.raises(error) as caught:
        open_node_store(config, config.keys(""))
    line = one_line(caught.value)
    assert "noticenet repair -c" in line or error is StoreForeign
    return line


def reopened_clean(config: NodeConfig) -> tuple[int, bytes] | None:
    """Open the store as a node does; the full verification pass finds nothing; FRA's head."""
    store, ledger = open_node_store(config, config.keys(""))
    try:
        assert verify_ledger(ledger) == []
        return ledger.head("FRA")
    finally:
        store.close()


# -- refusals ---------------------------------------------------------------------


def test_a_created_store_opens_and_checks(net: LocalNet) -> None:
    fill(net, 20)
    config = config_of(net)
    store, ledger = open_node_store(config, config.keys(""))
    assert quick_check(ledger) == [] and ledger.head("FRA") is not None
    store.close()


def test_node_run_never_creates_a_store(net: LocalNet) -> None:
    config = config_of(net)
    shutil.rmtree(ledger_path(config.data_dir))
    line = refused(config, StoreMissing)
    assert "no store at" in line
    with pytest.raises(StoreMissing):
        NodeService(config, config.keys(""))
    assert not ledger_path(config.data_dir).exists()


def test_current_deleted_is_refused(net: LocalNet) -> None:
    fill(net, 5)
    config = config_of(net)
    os.remove(ledger_path(config.data_dir) / "CURRENT")
    line = refused(config, StoreDamaged)
    assert "CURRENT file is missing" in line
    assert not (ledger_path(config.data_dir) / "CURRENT").exists()  # no new empty store


def test_manifest_deleted_is_refused_then_repaired(net: LocalNet) -> None:
    entries = fill(net, 30)
    config = config_of(net)
    for manifest in files(config, "MANIFEST-*"):
        manifest.unlink()
    assert "MANIFEST" in refused(config, StoreDamaged)
    report = repair_store(config, config.keys(""))
    assert report.leveldb_repaired
    assert reopened_clean(config) == (entries[-1].header.seq, entries[-1].id)


def test_flipped_table_bytes_are_refused_and_repair_keeps_what_verifies(net: LocalNet) -> None:
    entries = fill(net, 400, compact=True)
    config = config_of(net)
    table = files(config, "*.ldb")[-1]
    flip(table, 0.5)
    refused(config, StoreDamaged)
    report = repair_store(config, config.keys(""))
    fra = next(f for f in report.feeds if f.author == "FRA")
    assert fra.cut and fra.kept < fra.held == entries[-1].header.seq
    head = reopened_clean(config)
    assert head is not None and head[0] == fra.kept
    with LevelDBStore(ledger_path(config.data_dir), create_if_missing=False) as store:
        # every entry up to the cut is the one published, and none after it is held
        for entry in entries:
            held = store.get(b"e/" + entry.id)
            assert (held is not None) == (entry.header.seq <= fra.kept)
    assert not files(config, "*.damaged")  # the old store is removed by default
    assert not ledger_path(config.data_dir).with_name("ledger.damaged").exists()


def test_a_damaged_write_ahead_log_is_refused_and_repair_cuts_the_feed(net: LocalNet) -> None:
    entries = fill(net, 300)
    config = config_of(net)
    (log,) = files(config, "*.log")[-1:]
    flip(log, 0.5)
    assert "Corruption" in refused(config, StoreDamaged)
    report = repair_store(config, config.keys(""))
    fra = next(f for f in report.feeds if f.author == "FRA")
    assert 0 < fra.kept < entries[-1].header.seq and fra.cut
    # the frontier says what verifies: replication asks its peers for everything above it
    kept = entries[fra.kept - entries[0].header.seq]
    assert reopened_clean(config) == (kept.header.seq, kept.id)


def test_a_gap_left_by_a_skipped_log_block_is_found_on_start(net: LocalNet) -> None:
    """What an old node did with a damaged log: LevelDB skipped the bad block silently
    and the frontier still named the head, so the gap was never fetched back."""
    entries = fill(net, 300)
    config = config_of(net)
    flip(files(config, "*.log")[-1], 0.4)
    LevelDBStore(ledger_path(config.data_dir), create_if_missing=False).close()  # lenient
    line = refused(config, StoreDamaged)
    assert "gap in feed" in line
    repair_store(config, config.keys(""))
    head = reopened_clean(config)
    assert head is not None and head[0] < entries[-1].header.seq


def test_a_truncated_log_leaves_a_verified_prefix(net: LocalNet) -> None:
    """A torn tail is what a crash leaves: LevelDB keeps the whole batches before it."""
    entries = fill(net, 300)
    config = config_of(net)
    log = files(config, "*.log")[-1]
    os.truncate(log, log.stat().st_size // 2)
    head = reopened_clean(config)
    assert head is not None and head[0] < entries[-1].header.seq
    assert head == (entries[head[0] - entries[0].header.seq].header.seq, head[1])


def test_another_members_store_is_refused(net: LocalNet) -> None:
    config = config_of(net)
    shutil.rmtree(ledger_path(config.data_dir))
    shutil.copytree(ledger_path(config_of(net, "DEU").data_dir), ledger_path(config.data_dir))
    line = refused(config, StoreForeign)
    assert "DEU" in line
    with pytest.raises(StoreForeign):
        repair_store(config, config.keys(""))


def test_another_networks_store_is_refused(net: LocalNet) -> None:
    config = config_of(net)
    other = replace(config, anchor=bytes(32))
    assert "another network" in refused(other, StoreForeign)


# -- repair -----------------------------------------------------------------------


def test_repair_of_a_missing_store_creates_a_usable_one(net: LocalNet) -> None:
    fill(net, 10)
    config = config_of(net)
    shutil.rmtree(ledger_path(config.data_dir))
    report = repair_store(config, config.keys(""))
    assert report.created
    store, ledger = open_node_store(config, config.keys(""))
    assert ledger.roster is not None and ledger.head("FRA") is None  # peers send the rest
    store.close()


def test_repair_keeps_tombstones_header_only_entries_and_the_node_runs(net: LocalNet) -> None:
    entries = fill(net, 12)
    config = config_of(net)
    store, ledger = open_node_store(config, config.keys(""))
    from noticenet.protocol.ledger.publisher import Publisher

    now = int(time.time() * 1000)
    Publisher(ledger, "FRA", config.keys("")).publish(
        "cancel", Cancellation(target=entries[3].id), now
    )
    usa = Publisher(ledger, "USA", net.devnet.member("USA").keys)
    bare = usa.prepare("sltd", document("U0000001"), now)
    for entry in bare:  # the USA epoch entry with its body, the record as a bare header
        ledger.ingest(entry if entry is bare[0] else replace(entry, body=None), now)
    before = {k: v for k, v in ledger.store.iterate(b"t/")}
    digest = ledger.state_digest() if hasattr(ledger, "state_digest") else None
    store.close()
    report = repair_store(config, config.keys(""), keep_old=True)
    assert report.kept_aside is not None and report.kept_aside.exists()
    assert all(not f.cut for f in report.feeds)
    store, ledger = open_node_store(config, config.keys(""))
    try:
        assert {k: v for k, v in ledger.store.iterate(b"t/")} == before
        assert ledger.store.get(b"b/" + bare[-1].id) is None
        assert ledger.store.get(b"e/" + bare[-1].id) is not None
        if digest is not None:
            assert ledger.state_digest() == digest
        assert verify_ledger(ledger) == []
    finally:
        store.close()
    NodeService(config, config.keys("")).store.close()  # a node starts on it


def test_node_run_on_a_damaged_store_prints_one_line(net: LocalNet) -> None:
    config = config_of(net)
    os.remove(ledger_path(config.data_dir) / "CURRENT")
    env = {**os.environ, "NOTICENET_PASSPHRASE": ""}
    done = subprocess.run(
        [sys.executable, "-c", "from noticenet.node.cli.main import main; main()"]
        + ["node", "run", "-c", str(net.members["FRA"].config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "StoreDamaged" in lines[0]
    assert f"noticenet repair -c {net.members['FRA'].config}" in lines[0]
    repaired = subprocess.run(
        [sys.executable, "-c", "from noticenet.node.cli.main import main; main()"]
        + ["repair", "-c", str(net.members["FRA"].config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert repaired.returncode == 0, repaired.stderr
    assert "#GOV: kept 1, dropped 0" in repaired.stdout
    assert reopened_clean(config) is None
