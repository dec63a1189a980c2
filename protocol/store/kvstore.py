"""The ordered key-value store the ledger is written on, and an in-memory backend.

The ledger logic (append, chain checks, bodies, tombstones, guards, indexes) is
written once against `KVStore`; a node runs it on LevelDB
(`noticenet.node.store.leveldb.LevelDBStore`), tests and simulations on
`MemoryStore`. Both backends give the same semantics:

- keys and values are `bytes`; keys are ordered bytewise;
- a key is 1 to `MAX_KEY_BYTES` bytes long. The empty key and longer keys are
  reserved: the LevelDB backend keeps sentinel keys there that let `compact()`
  rewrite every table file (see that module);
- all writes go through a `WriteBatch`, which is all-or-nothing: nothing is
  visible until `commit()`, and a batch abandoned before commit (for example
  because the caller raised) leaves no trace;
- `iterate()` is lazy and ordered. It need not be a snapshot, but writes that
  commit while an iterator is open never make it fail;
- `compact()` makes deleted and overwritten data leave the disk.

Every failure, including a malformed key, raises `StoreError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from itertools import islice
from types import TracebackType
from typing import Self

from sortedcontainers import SortedDict

from noticenet.protocol.errors import StoreError

MAX_KEY_BYTES = 1024
"""Longest key a store accepts; longer keys are reserved for backend sentinels."""

Ops = dict[bytes, bytes | None]
"""Pending writes of a batch: key -> new value, or None to delete the key."""


def check_key(key: object) -> bytes:
    """Return `key` if it is a valid key (bytes, 1..MAX_KEY_BYTES long), else raise."""
    if not isinstance(key, bytes):
        raise StoreError(f"keys must be bytes, not {type(key).__name__}")
    if not 1 <= len(key) <= MAX_KEY_BYTES:
        raise StoreError(f"key length {len(key)} is outside 1..{MAX_KEY_BYTES}")
    return key


def check_value(value: object) -> bytes:
    """Return `value` if it is bytes, else raise; values may be empty."""
    if not isinstance(value, bytes):
        raise StoreError(f"values must be bytes, not {type(value).__name__}")
    return value


def check_bound(name: str, bound: object) -> bytes:
    """Return a prefix or start bound if it is bytes, else raise."""
    if not isinstance(bound, bytes):
        raise StoreError(f"{name} must be bytes, not {type(bound).__name__}")
    return bound


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no such key).

    Strips trailing 0xff bytes and increments the last remaining one, so
    b"ab" -> b"ac" and b"a\\xff" -> b"b"; b"" and all-0xff prefixes have no bound.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


class KeyRange:
    """The keys `iterate()` visits, as a half-open or closed interval.

    Forward iteration visits [lower, upper); reverse iteration visits keys
    from `upper` down to `lower`, with `upper` included iff `upper_inclusive`.
    `upper` None means unbounded. Both backends derive their bounds from here
    so they cannot disagree.
    """

    __slots__ = ("lower", "upper", "upper_inclusive")

    def __init__(self, prefix: bytes, start: bytes | None, reverse: bool) -> None:
        check_bound("prefix", prefix)
        if start is not None:
            check_bound("start", start)
        # Valid keys are non-empty, so b"\x00" is the least key worth visiting.
        self.lower = max(prefix, b"\x00")
        self.upper = prefix_upper_bound(prefix)
        self.upper_inclusive = False
        if start is None:
            return
        if not reverse:
            self.lower = max(self.lower, start)
        elif self.upper is None or start < self.upper:
            self.upper = start
            self.upper_inclusive = True

    def is_empty(self) -> bool:
        """True if no key can fall in the range."""
        if self.upper is None:
            return False
        if self.upper_inclusive:
            return self.upper < self.lower
        return self.upper <= self.lower


class WriteBatch:
    """An all-or-nothing group of puts and deletes, applied by `commit()`.

    Operations are buffered here (the last operation on a key wins) and
    handed to the store in one piece on commit, so nothing is visible before
    and a batch that is never committed leaves nothing behind. Used as a
    context manager, the batch is discarded if the block raises and committed
    (synced) if the block ends normally without having committed it.
    """

    def __init__(self, apply: Callable[[Ops, bool], None]) -> None:
        self._apply = apply
        self._ops: Ops = {}
        self._done = False

    def put(self, key: bytes, value: bytes) -> None:
        """Set `key` to `value` when the batch commits."""
        self._check_open()
        self._ops[check_key(key)] = check_value(value)

    def update(self, ops: Ops) -> None:
        """Many puts (bytes values) and deletes (None) at once, checked as `put` checks."""
        self._check_open()
        if not all(  # check_key and check_value in one pass, without a call per operation
            isinstance(k, bytes)
            and 0 < len(k) <= MAX_KEY_BYTES
            and (v is None or isinstance(v, bytes))
            for k, v in ops.items()
        ):
            for k, v in ops.items():  # find the first bad one, and say what is wrong
                check_key(k)
                if v is not None:
                    check_value(v)
        self._ops.update(ops)

    def delete(self, key: bytes) -> None:
        """Remove `key` (if present) when the batch commits."""
        self._check_open()
        self._ops[check_key(key)] = None

    def commit(self, sync: bool = True) -> None:
        """Apply every operation atomically; with `sync`, durable on return.

        A batch commits at most once; further use raises StoreError.
        """
        self._check_open()
        self._done = True
        ops, self._ops = self._ops, {}
        if ops:
            self._apply(ops, sync)

    def discard(self) -> None:
        """Drop every pending operation; the batch cannot be used afterwards."""
        self._done = True
        self._ops = {}

    def __len__(self) -> int:
        return len(self._ops)

    def _check_open(self) -> None:
        if self._done:
            raise StoreError("write batch already committed or discarded")

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
        elif not self._done:
            self.commit(sync=True)


class KVStore(ABC):
    """An ordered byte-key store with atomic write batches; see the module docstring."""

    costly_misses: bool = False
    """True where looking up an absent key costs real work (LevelDB probes every
    table file whose key range covers it); the ledger then keeps its small,
    mostly empty tables in memory too (`mirrored_store.py`)."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""

    @abstractmethod
    def iterate(
        self, prefix: bytes = b"", start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) for keys starting with `prefix`, in key order.

        Forward, `start` is an inclusive lower bound; with `reverse`, keys come
        in descending order and `start` is an inclusive upper bound.
        """

    @abstractmethod
    def batch(self) -> WriteBatch:
        """A new, empty write batch for this store."""

    @abstractmethod
    def _apply(self, ops: Ops, sync: bool) -> None:
        """Apply operations a `WriteBatch` of this store has checked, atomically."""

    @abstractmethod
    def compact(self) -> None:
        """Compact the whole key range so deleted and overwritten values leave the disk."""

    @abstractmethod
    def close(self) -> None:
        """Release the store; idempotent. Further use raises StoreError."""

    def last(self, prefix: bytes = b"") -> tuple[bytes, bytes] | None:
        """The pair with the greatest key starting with `prefix`, or None."""
        return next(self.iterate(prefix, reverse=True), None)

    def put(self, key: bytes, value: bytes, sync: bool = True) -> None:
        """Set one key, as a one-operation batch."""
        batch = self.batch()
        batch.put(key, value)
        batch.commit(sync)

    def delete(self, key: bytes, sync: bool = True) -> None:
        """Delete one key, as a one-operation batch."""
        batch = self.batch()
        batch.delete(key)
        batch.commit(sync)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_CHUNK = 256
"""Pairs MemoryStore.iterate copies per step: bounded work, safe under writes."""


class MemoryStore(KVStore):
    """A KVStore held in a SortedDict, for tests and simulations.

    Iterators copy the store a chunk at a time and re-seek after each chunk,
    so writes committed meanwhile never break them (they may or may not be
    seen, as with any non-snapshot iterator). `compact()` has nothing to do:
    deleted values are gone from memory once the batch commits.
    """

    def __init__(self) -> None:
        self._data: SortedDict = SortedDict()
        self._closed = False

    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""
        self._check_open()
        value: bytes | None = self._data.get(check_key(key))
        return value

    def iterate(
        self, prefix: bytes = b"", start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) for keys starting with `prefix`, in key order."""
        self._check_open()
        return self._walk(KeyRange(prefix, start, reverse), reverse)

    def _walk(self, bounds: KeyRange, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
        """Generate the pairs in `bounds` chunk by chunk, re-seeking each time."""
        lower, upper = bounds.lower, bounds.upper
        low_inc, up_inc = True, bounds.upper_inclusive
        while True:
            self._check_open()
            keys = list(
                islice(
                    self._data.irange(lower, upper, inclusive=(low_inc, up_inc), reverse=reverse),
                    _CHUNK,
                )
            )
            for key in keys:
                value = self._data.get(key)
                if value is not None:
                    yield key, value
            if len(keys) < _CHUNK:
                return
            if reverse:
                upper, up_inc = keys[-1], False
            else:
                lower, low_inc = keys[-1], False

    def batch(self) -> WriteBatch:
        """A new, empty write batch for this store."""
        self._check_open()
        return WriteBatch(self._apply)

    def _apply(self, ops: Ops, sync: bool) -> None:
        """Apply a committed batch; one Python step, so all-or-nothing."""
        self._check_open()
        for key, value in ops.items():
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value

    def compact(self) -> None:
        """Nothing to do: deleted values are already gone from memory."""
        self._check_open()

    def close(self) -> None:
        """Drop the data; idempotent. Open iterators raise StoreError when resumed."""
        self._closed = True
        self._data = SortedDict()

    def __len__(self) -> int:
        return len(self._data)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
