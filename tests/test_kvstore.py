"""The KVStore contract, run against both backends, and LevelDB's deletion on disk."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.errors import StoreError
from noticenet.protocol.store.keyspace import Txn
from noticenet.protocol.store.kvstore import MAX_KEY_BYTES, KVStore, MemoryStore, prefix_upper_bound
from noticenet.protocol.store.mirrored_store import MIRROR_CAPACITY, MirroredStore

# Tables the mirrored backends hold in memory: prefixes of keys the tests below use.
MIRRORED = (b"p/", b"s/", b"ab", b"a\xff", b"ke", b"ol", b"ne", b"\xff\xff")


@pytest.fixture(
    params=["memory", "leveldb", "mirrored-memory", "mirrored-leveldb", "mirrored-outgrown"]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    leveldb = "leveldb" in request.param
    backend: KVStore = LevelDBStore(tmp_path / "db") if leveldb else MemoryStore()
    if request.param.startswith("mirrored"):  # outgrown: each table leaves memory at its 2nd key
        capacity = 1 if "outgrown" in request.param else MIRROR_CAPACITY
        backend = MirroredStore(backend, MIRRORED, capacity)
    yield backend
    backend.close()


def fill(store: KVStore, keys: list[bytes]) -> None:
    batch = store.batch()
    for k in keys:
        batch.put(k, b"v:" + k)
    batch.commit()


def keys_of(pairs: Iterator[tuple[bytes, bytes]]) -> list[bytes]:
    return [k for k, _ in pairs]


EDGE_KEYS = [b"b", b"a\xff\xff", b"a", b"\xff", b"ab", b"a\x00", b"\xff\xff", b"a\xff", b"\x00"]


# --- basic operations -----------------------------------------------------------


def test_get_put_delete(store: KVStore) -> None:
    assert store.get(b"k") is None
    store.put(b"k", b"one")
    assert store.get(b"k") == b"one"
    store.put(b"k", b"two", sync=False)
    assert store.get(b"k") == b"two"
    store.put(b"empty", b"")
    assert store.get(b"empty") == b""
    store.delete(b"k")
    assert store.get(b"k") is None
    store.delete(b"never-there")  # deleting a missing key is fine
    assert keys_of(store.iterate()) == [b"empty"]


@pytest.mark.parametrize("bad", [b"", b"x" * (MAX_KEY_BYTES + 1), "text", 7, bytearray(b"k")])
def test_invalid_keys_are_refused(store: KVStore, bad: object) -> None:
    with pytest.raises(StoreError):
        store.get(bad)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.put(bad, b"v")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.batch().delete(bad)  # type: ignore[arg-type]


def test_invalid_values_and_bounds_are_refused(store: KVStore) -> None:
    with pytest.raises(StoreError):
        store.put(b"k", "text")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.iterate("a")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.iterate(b"a", start="a")  # type: ignore[arg-type]
    store.put(b"x" * MAX_KEY_BYTES, b"longest")
    assert store.get(b"x" * MAX_KEY_BYTES) == b"longest"


def test_closed_store_refuses_work(store: KVStore) -> None:
    store.put(b"k", b"v")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError):
        store.get(b"k")
    with pytest.raises(StoreError):
        store.put(b"k", b"v")


# --- ordering, prefixes, bounds -------------------------------------------------


def test_prefix_upper_bound() -> None:
    assert prefix_upper_bound(b"ab") == b"ac"
    assert prefix_upper_bound(b"a\xff") == b"b"
    assert prefix_upper_bound(b"\xff\xff") is None
    assert prefix_upper_bound(b"") is None


def test_iteration_is_bytewise_ordered_within_prefix(store: KVStore) -> None:
    fill(store, EDGE_KEYS)
    assert keys_of(store.iterate()) == sorted(EDGE_KEYS)
    assert keys_of(store.iterate(b"a")) == [b"a", b"a\x00", b"ab", b"a\xff", b"a\xff\xff"]
    assert keys_of(store.iterate(b"a\xff")) == [b"a\xff", b"a\xff\xff"]
    assert keys_of(store.iterate(b"\xff")) == [b"\xff", b"\xff\xff"]
    assert keys_of(store.iterate(b"c")) == []
    assert dict(store.iterate(b"ab")) == {b"ab": b"v:ab"}


def test_forward_start_is_an_inclusive_lower_bound(store: KVStore) -> None:
    fill(store, [b"p/1", b"p/3", b"p/5", b"q/1"])
    assert keys_of(store.iterate(b"p/", start=b"p/3")) == [b"p/3", b"p/5"]
    assert keys_of(store.iterate(b"p/", start=b"p/2")) == [b"p/3", b"p/5"]
    assert keys_of(store.iterate(b"p/", start=b"a")) == [b"p/1", b"p/3", b"p/5"]
    assert keys_of(store.iterate(b"p/", start=b"p/6")) == []
    assert keys_of(store.iterate(b"p/", start=b"z")) == []
    assert keys_of(store.iterate(start=b"p/5")) == [b"p/5", b"q/1"]


def test_reverse_start_is_an_inclusive_upper_bound(store: KVStore) -> None:
    fill(store, [b"o", b"p/1", b"p/3", b"p/5", b"q/1"])
    assert keys_of(store.iterate(b"p/", reverse=True)) == [b"p/5", b"p/3", b"p/1"]
    assert keys_of(store.iterate(b"p/", start=b"p/3", reverse=True)) == [b"p/3", b"p/1"]
    assert keys_of(store.iterate(b"p/", start=b"p/4", reverse=True)) == [b"p/3", b"p/1"]
    assert keys_of(store.iterate(b"p/", start=b"z", reverse=True)) == [b"p/5", b"p/3", b"p/1"]
    assert keys_of(store.iterate(b"p/", start=b"p/0", reverse=True)) == []
    assert keys_of(store.iterate(b"p/", start=b"a", reverse=True)) == []
    assert keys_of(store.iterate(start=b"p/1", reverse=True)) == [b"p/1", b"o"]
    assert keys_of(store.iterate(reverse=True)) == [b"q/1", b"p/5", b"p/3", b"p/1", b"o"]


def test_reverse_reaches_a_key_equal_to_the_lower_bound(store: KVStore) -> None:
    """plyvel 1.5.1 drops such a key from reverse iterators; the store must not."""
    fill(store, [b"a", b"m/roster", b"z"])
    assert keys_of(store.iterate(b"m/roster", reverse=True)) == [b"m/roster"]
    assert keys_of(store.iterate(b"m/", start=b"m/roster", reverse=True)) == [b"m/roster"]
    assert store.last(b"m/roster") == (b"m/roster", b"v:m/roster")
    assert store.last(b"a") == (b"a", b"v:a")


def test_last(store: KVStore) -> None:
    assert store.last() is None
    fill(store, EDGE_KEYS)
    assert store.last() == (b"\xff\xff", b"v:\xff\xff")
    assert store.last(b"a") == (b"a\xff\xff", b"v:a\xff\xff")
    assert store.last(b"a\xff") == (b"a\xff\xff", b"v:a\xff\xff")
    assert store.last(b"\x00") == (b"\x00", b"v:\x00")
    assert store.last(b"c") is None


def test_compaction_bookkeeping_never_shows(store: KVStore) -> None:
    """The LevelDB backend keeps sentinels at b"" and past MAX_KEY_BYTES; nobody sees them."""
    fill(store, [b"\x00", b"\xff" * MAX_KEY_BYTES])
    store.compact()
    assert keys_of(store.iterate()) == [b"\x00", b"\xff" * MAX_KEY_BYTES]
    assert keys_of(store.iterate(reverse=True)) == [b"\xff" * MAX_KEY_BYTES, b"\x00"]
    assert keys_of(store.iterate(b"\xff\xff", start=b"\xff" * 2000, reverse=True)) == [
        b"\xff" * MAX_KEY_BYTES
    ]
    assert store.last(b"\xff" * MAX_KEY_BYTES) == (b"\xff" * MAX_KEY_BYTES, b"v:" + b"\xff" * 1024)


# --- batches --------------------------------------------------------------------


def test_batch_is_invisible_until_commit(store: KVStore) -> None:
    store.put(b"old", b"1")
    batch = store.batch()
    batch.put(b"new", b"2")
    batch.delete(b"old")
    assert len(batch) == 2
    assert store.get(b"new") is None and store.get(b"old") == b"1"
    assert keys_of(store.iterate()) == [b"old"]
    batch.commit(sync=True)
    assert store.get(b"new") == b"2" and store.get(b"old") is None


def test_batch_abandoned_midway_leaves_nothing(store: KVStore) -> None:
    def ingest() -> None:
        with store.batch() as batch:
            batch.put(b"a", b"1")
            batch.delete(b"keep")
            raise RuntimeError("validation failed after the first writes")

    store.put(b"keep", b"k")
    with pytest.raises(RuntimeError):
        ingest()
    assert dict(store.iterate()) == {b"keep": b"k"}

    forgotten = store.batch()  # never committed: no trace either
    forgotten.put(b"b", b"2")
    del forgotten
    assert dict(store.iterate()) == {b"keep": b"k"}


def test_batch_last_operation_wins_and_commits_once(store: KVStore) -> None:
    with store.batch() as batch:  # a clean exit commits
        batch.put(b"k", b"1")
        batch.delete(b"k")
        batch.put(b"j", b"1")
        batch.put(b"j", b"2")
    assert dict(store.iterate()) == {b"j": b"2"}
    with pytest.raises(StoreError):
        batch.put(b"x", b"y")
    with pytest.raises(StoreError):
        batch.commit()
    discarded = store.batch()
    discarded.put(b"x", b"y")
    discarded.discard()
    with pytest.raises(StoreError):
        discarded.commit()
    assert store.get(b"x") is None


def test_batch_update_puts_deletes_and_checks_like_single_operations(store: KVStore) -> None:
    store.put(b"gone", b"0")
    batch = store.batch()
    batch.put(b"a", b"old")
    batch.update({b"a": b"1", b"b": b"", b"gone": None})
    for bad in ({"text": b"v"}, {b"k": "text"}, {b"": b"v"}):
        with pytest.raises(StoreError):
            batch.update(bad)  # type: ignore[arg-type]
    batch.commit()
    assert dict(store.iterate()) == {b"a": b"1", b"b": b""}
    with pytest.raises(StoreError):
        batch.update({b"c": b"1"})


def test_iterating_while_batches_commit_does_not_crash(store: KVStore) -> None:
    fill(store, [b"k%05d" % i for i in range(0, 2000, 2)])
    seen = []
    for n, (k, _) in enumerate(store.iterate(b"k")):
        seen.append(k)
        if n % 100 == 0:
            with store.batch() as batch:
                batch.delete(b"k%05d" % (2 * n + 400))
                batch.put(b"k%05d" % (2 * n + 401), b"new")
                batch.put(b"a", b"outside")
    assert seen == sorted(set(seen))
    assert seen[0] == b"k00000" and len(seen) >= 900


# --- model-based property test ------------------------------------------------------

small_keys = st.lists(st.sampled_from(b"\x00\x01a\xff"), min_size=1, max_size=3).map(bytes)
small_bounds = st.lists(st.sampled_from(b"\x00\x01a\xff"), max_size=3).map(bytes)
writes = st.tuples(small_keys, st.one_of(st.none(), st.binary(max_size=8)))
steps = st.tuples(
    st.lists(writes, min_size=1, max_size=6),
    st.booleans(),  # commit, or discard the batch
    st.integers(0, 5),  # 0: compact after the batch (compaction is slow-ish on LevelDB)
)


def model_iterate(
    model: dict[bytes, bytes], prefix: bytes, start: bytes | None, reverse: bool
) -> list[tuple[bytes, bytes]]:
    """The reference semantics of KVStore.iterate over a plain dict."""

    def inside(k: bytes) -> bool:
        if start is None:
            return True
        return k <= start if reverse else k >= start

    keys = sorted((k for k in model if k.startswith(prefix) and inside(k)), reverse=reverse)
    return [(k, model[k]) for k in keys]


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    script=st.lists(steps, max_size=12),
    queries=st.lists(st.tuples(small_bounds, st.none() | small_bounds, st.booleans()), max_size=6),
)
def test_store_behaves_like_a_dict(
    store: KVStore,
    script: list[tuple[list[tuple[bytes, bytes | None]], bool, int]],
    queries: list[tuple[bytes, bytes | None, bool]],
) -> None:
    model = dict(store.iterate())  # the store outlives examples: start from its state
    for ops, commit, compact in script:
        batch = store.batch()
        for k, v in ops:
            batch.delete(k) if v is None else batch.put(k, v)
        if commit:
            batch.commit(sync=False)
            for k, v in ops:
                model.pop(k, None) if v is None else model.__setitem__(k, v)
        else:
            batch.discard()
        assert all(store.get(k) == model.get(k) for k, _ in ops)
        if compact == 0:
            store.compact()
    assert list(store.iterate()) == model_iterate(model, b"", None, False)
    for prefix, start, reverse in queries:
        expected = model_iterate(model, prefix, start, reverse)
        assert list(store.iterate(prefix, start, reverse)) == expected
        newest = model_iterate(model, prefix, None, True)
        assert store.last(prefix) == (newest[0] if newest else None)


# --- LevelDB: persistence, open errors --------------------------------------------


def test_leveldb_data_survives_reopen(tmp_path: Path) -> None:
    with LevelDBStore(tmp_path / "db") as db:
        db.put(b"synced", b"1")
        with db.batch() as batch:
            batch.put(b"batched", b"2")
        db.put(b"unsynced", b"3", sync=False)
        db.delete(b"synced")
    with LevelDBStore(tmp_path / "db", create_if_missing=False) as db:
        assert dict(db.iterate()) == {b"batched": b"2", b"unsynced": b"3"}
        db.compact()
        assert dict(db.iterate()) == {b"batched": b"2", b"unsynced": b"3"}


def test_leveldb_open_errors_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        LevelDBStore(tmp_path / "missing", create_if_missing=False)
    with LevelDBStore(tmp_path / "db"):
        with pytest.raises(StoreError, match="lock"):
            LevelDBStore(tmp_path / "db")
    (tmp_path / "db" / "CURRENT").write_text("MANIFEST-999999\n")
    with pytest.raises(StoreError, match="corrupt"):
        LevelDBStore(tmp_path / "db")


# --- LevelDB: deleted bytes leave the disk --------------------------------------------


def files_holding(directory: Path, needle: bytes) -> list[str]:
    """Every file in the store directory (tables, logs, MANIFEST, ...) containing `needle`."""
    return sorted(
        name for name in os.listdir(directory) if needle in (directory / name).read_bytes()
    )


def add_filler(db: KVStore, rng: random.Random, megabytes: int) -> None:
    """Random 1 KiB values, enough to fill several 4 MiB memtables and reach table files."""
    for chunk in range(megabytes):
        with db.batch() as batch:
            for i in range(1024):
                batch.put(b"filler/%04d/%04d" % (chunk, i), rng.randbytes(1024))


def test_deleted_value_leaves_every_file(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    path = tmp_path / "db"
    secret_key = b"secret/" + rng.randbytes(24).hex().encode()
    secret = rng.randbytes(400)
    with LevelDBStore(path) as db:
        add_filler(db, rng, 3)
        db.put(secret_key, secret)
        add_filler(db, rng, 3)
    with LevelDBStore(path) as db:  # reopening moves the memtable into a table file
        assert files_holding(path, secret), "the value never reached the disk: test is void"
        assert any(name.endswith(".ldb") for name in files_holding(path, secret))
        db.delete(secret_key)
        db.compact()
        assert db.get(secret_key) is None
        assert db.get(b"filler/0002/0007") is not None
    assert files_holding(path, secret) == []
    assert files_holding(path, secret_key) == []


def test_value_and_tombstone_flushed_together_leave_the_disk(tmp_path: Path) -> None:
    """The case a plain full-range compact_range() misses: both in one bottom-level table."""
    rng = random.Random(7)
    path = tmp_path / "db"
    secret, overwritten = rng.randbytes(400), rng.randbytes(400)
    with LevelDBStore(path) as db:
        db.put(b"keep", b"k")
        db.put(b"gone", secret)
        db.put(b"over", overwritten)
        db.put(b"over", b"current")
        db.delete(b"gone")
        db._db.compact_range(start=b"", stop=b"\xff" * 2048)  # what LevelDB offers
        assert files_holding(path, secret) and files_holding(path, overwritten), (
            "LevelDB's own compaction dropped the bytes: the scenario no longer tests anything"
        )
        db.compact()
        assert dict(db.iterate()) == {b"keep": b"k", b"over": b"current"}
    assert files_holding(path, secret) == []
    assert files_holding(path, overwritten) == []


def test_compact_closes_open_iterators(tmp_path: Path) -> None:
    rng = random.Random(3)
    path = tmp_path / "db"
    secret = rng.randbytes(400)
    with LevelDBStore(path) as db:
        fill(db, [b"a", b"b", b"c"])
        db.put(b"s", secret)
    with LevelDBStore(path) as db:
        pinned = db.iterate()  # holds a version that pins the table with the secret
        assert next(pinned)[0] == b"a"
        db.delete(b"s")
        db.compact()
        with pytest.raises(StoreError, match="closed"):
            next(pinned)
        assert keys_of(db.iterate()) == [b"a", b"b", b"c"]
    assert files_holding(path, secret) == []


def test_random_workload_leaves_no_dead_value(tmp_path: Path) -> None:
    """Puts, overwrites, deletes, reopens and compactions; then no dead value on disk."""
    rng = random.Random(99)
    path = tmp_path / "db"
    live: dict[bytes, bytes] = {}
    dead: list[bytes] = []
    db = LevelDBStore(path)
    for step in range(600):
        with db.batch() as batch:
            for _ in range(rng.choice([1, 1, 1, 5])):
                k = b"k%03d" % rng.randrange(60)
                if k in live:
                    dead.append(live.pop(k))
                if rng.random() < 0.6:
                    live[k] = rng.randbytes(40)
                    batch.put(k, live[k])
                else:
                    batch.delete(k)
        if step in (150, 400):
            add_filler(db, rng, 5)
        if step in (200, 450):
            db.close()
            db = LevelDBStore(path)
        if step in (300, 500):
            db.compact()
    db.compact()
    assert dict(db.iterate(b"k")) == live
    db.close()
    blobs = [(path / name).read_bytes() for name in os.listdir(path)]
    assert [v for v in dead if any(v in b for b in blobs)] == []
    assert all(any(v in b for b in blobs) for v in live.values())


def test_a_txn_rolls_back_to_its_savepoint(store: KVStore) -> None:
    store.put(b"s/kept", b"stored")
    txn = Txn(store)
    txn.put(b"a/1", b"first")
    txn.savepoint()
    txn.put(b"a/1", b"second")
    txn.put(b"a/2", b"new")
    txn.delete(b"s/kept")
    assert (txn.get(b"a/1"), txn.get(b"a/2"), txn.get(b"s/kept")) == (b"second", b"new", None)
    txn.rollback()
    assert (txn.get(b"a/1"), txn.get(b"a/2"), txn.get(b"s/kept")) == (b"first", None, b"stored")
    txn.commit(sync=False)
    assert dict(store.iterate()) == {b"a/1": b"first", b"s/kept": b"stored"}
