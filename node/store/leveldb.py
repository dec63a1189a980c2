"""The node's KVStore: LevelDB through plyvel, with compaction that really drops data.

Why `compact()` is more than `compact_range()`
----------------------------------------------
The CCF's deletions require deleted bytes to leave the disk. LevelDB 1.22
(under plyvel 1.5.1) does not guarantee that with a plain compaction:

1. A memtable flush writes *every* entry it holds, shadowed ones included:
   if a value and its later tombstone (or overwrite) were in the same
   memtable, the resulting table file keeps both.
2. A flushed table lands at level 0, 1 or 2, whichever is the shallowest
   without overlap. `CompactRange` only compacts levels above the deepest
   non-empty level (which it computes before flushing); files at that deepest
   level are rewritten only if a file above overlaps them.
3. plyvel's `compact_range()` without arguments passes two *empty* slices,
   not NULL, to LevelDB: it compacts only the key range ["", ""], i.e. it
   flushes the memtable and little else. Bounds must be given explicitly.

So in a small store `put(k, v); delete(k)` followed even by a full-range
compaction leaves `v` on disk for good, in a level-2 file nothing above ever
overlaps (the tests show this). `compact()` therefore:

- compacts until every table file sits on one level (all shallower levels
  are then empty and every shadowed entry between levels is gone);
- if that level is 2 or less, where flushed tables may sit, rewrites the two
  sentinel keys b"" and `_HIGH` (which bracket every user key: keys are
  1..MAX_KEY_BYTES long) and compacts again. The sentinels' flushed table
  spans the whole key range and lands just above the bottom level, so the
  compaction merges it with *every* bottom file, rewriting them without
  shadowed entries. From level 3 down, files only ever come from
  compactions, which already drop shadowed entries (this store takes no
  snapshots);
- closes the database, deletes LevelDB's info log (LOG, LOG.old: manual
  compactions log the user keys where they stop, deleted ones included) and
  reopens it. That also closes leftover iterators (whose pinned versions keep
  obsolete files alive), removes obsolete files, starts a fresh write-ahead
  log and writes a fresh MANIFEST, since the old one records the boundary
  keys of deleted tables.

Old `.log` files go as soon as their memtable is flushed, which every
`compact_range()` forces first.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import plyvel

from noticenet.protocol.errors import StoreError
from noticenet.protocol.store.kvstore import (
    MAX_KEY_BYTES,
    KeyRange,
    KVStore,
    Ops,
    WriteBatch,
    check_key,
)

_LOW = b""
"""Lower sentinel key: below every valid key."""

_HIGH = b"\xff" * (MAX_KEY_BYTES + 1)
"""Upper sentinel key: above every valid key (valid keys are at most MAX_KEY_BYTES)."""

_NUM_LEVELS = 7
"""LevelDB's config::kNumLevels."""

_MAX_FLUSH_LEVEL = 2
"""LevelDB's config::kMaxMemCompactLevel: deepest level a memtable flush lands on."""

_INFO_LOGS = ("LOG", "LOG.old")
"""LevelDB's human-readable info log files (not the write-ahead *.log)."""

_MAX_ROUNDS = 8
"""compact_range() calls allowed before giving up on settling files on one level."""


def _reason(exc: BaseException) -> str:
    """plyvel's error text (it carries bytes) as a readable string."""
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


def _open(path: str, create_if_missing: bool, paranoid: bool = False) -> Any:
    """Open the plyvel database at `path`, mapping every failure to StoreError."""
    try:
        # A bloom filter: most of an ingest's reads are misses (guards, statuses,
        # cancellations), and a miss then skips the table's data blocks.
        return plyvel.DB(
            path,
            create_if_missing=create_if_missing,
            bloom_filter_bits=10,
            paranoid_checks=paranoid or None,
        )
    except plyvel.IOError as exc:
        reason = _reason(exc)
        hint = " (is another process or store using this directory?)" if "lock" in reason else ""
        raise StoreError(f"cannot open LevelDB store at {path}: {reason}{hint}") from exc
    except plyvel.CorruptionError as exc:
        raise StoreError(f"LevelDB store at {path} is corrupt: {_reason(exc)}") from exc
    except (plyvel.Error, OSError) as exc:
        raise StoreError(f"cannot open LevelDB store at {path}: {_reason(exc)}") from exc


class LevelDBStore(KVStore):
    """A KVStore in a LevelDB directory; see the module docstring for compaction.

    Every call takes one lock, so a batch never interleaves with a
    compaction's sentinel rewrite and no reader meets the database while
    `compact()` reopens it: other threads wait for a compaction to finish.
    Open iterators read on outside the lock (LevelDB is thread-safe).
    """

    costly_misses = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        create_if_missing: bool = True,
        paranoid: bool = False,
    ) -> None:
        """`paranoid` (nodes): LevelDB's paranoid checks on open (a damaged write-ahead
        log or MANIFEST refuses to open instead of being skipped) and checksums
        verified on every block read, so damaged table bytes raise instead of
        being served."""
        self.path = os.fspath(path)
        self.paranoid = paranoid
        self._lock = threading.RLock()
        self._db: Any = _open(self.path, create_if_missing, paranoid)

    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""
        check_key(key)
        try:
            with self._lock:
                value: bytes | None = self._handle().get(key, verify_checksums=self.paranoid)
        except (plyvel.Error, RuntimeError) as exc:
            raise StoreError(f"LevelDB get failed: {_reason(exc)}") from exc
        return value

    def iterate(
        self, prefix: bytes = b"", start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) for keys starting with `prefix`, in key order.

        Reads from LevelDB's implicit snapshot taken when the iterator opens.
        `compact()` and `close()` close open iterators: resuming one then
        raises StoreError.
        """
        bounds = KeyRange(prefix, start, reverse)
        if bounds.is_empty():
            return iter(())
        # The sentinels bracket every valid key; clamp so they never show.
        upper, upper_inclusive = bounds.upper, bounds.upper_inclusive
        if upper is None or upper >= _HIGH:
            upper, upper_inclusive = _HIGH, False
        # plyvel 1.5.1 bug: a reverse iterator whose highest key in range equals
        # its inclusive `start` yields nothing. So reverse iterators get no
        # lower bound from plyvel; _drain stops below `lower` itself.
        try:
            with self._lock:
                raw = self._handle().iterator(
                    start=None if reverse else bounds.lower,
                    stop=upper,
                    include_start=True,
                    include_stop=upper_inclusive,
                    reverse=reverse,
                    verify_checksums=self.paranoid,
                )
        except (plyvel.Error, RuntimeError) as exc:
            raise StoreError(f"LevelDB iterator failed: {_reason(exc)}") from exc
        return self._drain(raw, bounds.lower if reverse else None)

    @staticmethod
    def _drain(raw: Any, floor: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """Yield from a plyvel iterator until a key falls below `floor`.

        Closes the plyvel iterator at the end and maps its errors to StoreError.
        """
        try:
            while True:
                try:
                    key, value = next(raw)
                except StopIteration:
                    return
                except (plyvel.Error, RuntimeError) as exc:
                    raise StoreError(
                        f"LevelDB iterator failed (closed by compact() or close()?): {_reason(exc)}"
                    ) from exc
                if floor is not None and key < floor:
                    return
                yield key, value
        finally:
            raw.close()

    def batch(self) -> WriteBatch:
        """A new, empty write batch for this store."""
        self._handle()
        return WriteBatch(self._apply)

    def _apply(self, ops: Ops, sync: bool) -> None:
        """Write a committed batch as one atomic LevelDB write."""
        with self._lock:
            db = self._handle()
            try:
                with db.write_batch(transaction=True, sync=sync) as wb:
                    for key, value in ops.items():
                        if value is None:
                            wb.delete(key)
                        else:
                            wb.put(key, value)
            except (plyvel.Error, RuntimeError) as exc:
                raise StoreError(f"LevelDB write failed: {_reason(exc)}") from exc

    def compact(self) -> None:
        """Compact everything so deleted and overwritten bytes leave the disk.

        Costs a rewrite of the whole store; see the module docstring for why
        each step is needed.
        """
        with self._lock:
            try:
                self._settle_on_one_level()
                bottom = self._deepest_level()
                if 0 <= bottom <= _MAX_FLUSH_LEVEL:
                    self._touch_sentinels()
                    self._settle_on_one_level()
            except (plyvel.Error, RuntimeError) as exc:
                raise StoreError(f"LevelDB compaction failed: {_reason(exc)}") from exc
            self._reopen()

    def _settle_on_one_level(self) -> None:
        """compact_range() until all table files sit on a single level."""
        db = self._handle()
        for _ in range(_MAX_ROUNDS):
            # Explicit bounds: plyvel's bare compact_range() passes empty
            # slices, not NULL, so LevelDB would compact only the key b"".
            db.compact_range(start=_LOW, stop=_HIGH)
            if sum(1 for count in self._files_per_level() if count) <= 1:
                return
        raise StoreError("LevelDB compaction did not settle; are other writers active?")

    def _touch_sentinels(self) -> None:
        """Rewrite both sentinel keys so the next flush spans the whole key range."""
        with self._handle().write_batch(transaction=True, sync=True) as wb:
            wb.put(_LOW, b"")
            wb.put(_HIGH, b"")

    def _files_per_level(self) -> list[int]:
        """Number of table files on each LevelDB level."""
        db = self._handle()
        counts = []
        for level in range(_NUM_LEVELS):
            prop = db.get_property(f"leveldb.num-files-at-level{level}".encode())
            counts.append(int(prop) if prop is not None else 0)
        return counts

    def _deepest_level(self) -> int:
        """The deepest level holding a table file, or -1 if there are none."""
        counts = self._files_per_level()
        return max((level for level, count in enumerate(counts) if count), default=-1)

    def _reopen(self) -> None:
        """Close and reopen the database: closes iterators, fresh log, MANIFEST and info log.

        LevelDB's info log (LOG, and LOG.old after a reopen) records where each
        manual compaction step stops, i.e. user keys, deleted ones included. It
        is diagnostic only, so it goes while the database is closed.
        """
        db = self._handle()
        self._db = None
        db.close()
        for name in _INFO_LOGS:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.path, name))
        self._db = _open(self.path, create_if_missing=False, paranoid=self.paranoid)

    def scan(self) -> int:
        """Read every key and value once with block checksums verified; the key count.

        Raises StoreError on the first damaged block. Bypasses the block cache.
        """
        with self._lock:
            raw = self._handle().iterator(verify_checksums=True, fill_cache=False)
        count = 0
        try:
            for _ in raw:
                count += 1
        except (plyvel.Error, RuntimeError) as exc:
            raise StoreError(f"LevelDB store at {self.path} is corrupt: {_reason(exc)}") from exc
        finally:
            raw.close()
        return count

    def close(self) -> None:
        """Close the database and its iterators; idempotent."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _handle(self) -> Any:
        """The open plyvel database, or StoreError if the store is closed."""
        db = self._db
        if db is None:
            raise StoreError(f"LevelDB store at {self.path} is closed")
        return db
