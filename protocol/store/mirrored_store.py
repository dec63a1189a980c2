"""A store whose small, rarely written tables are also held in memory.

Most reads of an ingest ask whether the entry is under a CCF status, whether
one of its guard tags is guarded, and whether its feed is frozen: questions
whose answer is almost always no. On LevelDB a miss is not free: every table
file whose key range covers the key is probed (its bloom filter), and the
files written during an ingest cover every table, so each of those misses
cost 5-10 us, about a sixth of the ledger's own work per entry. Those tables
hold only what CCF actions and equivocations wrote, so they are small, and
are answered here from memory, on backends that declare `costly_misses`.
Every write goes through this store, which updates its copy after the batch
commits; a ledger must therefore be the only writer of the store it wraps
(a node has one ledger per store).

A table holds at most `MIRROR_CAPACITY` keys in memory; past that it is read
from the inner store again, so memory stays bounded however many actions the
CCF takes over the years.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from noticenet.protocol.errors import StoreError
from noticenet.protocol.store.kvstore import KVStore, Ops, WriteBatch, check_key

MIRRORED_TABLES = (b"g/", b"s/", b"z/", b"y/", b"l/")
"""Guards, CCF statuses, frozen feeds, similar guards, held entries (see keyspace)."""

MIRROR_CAPACITY = 100_000
"""Keys one table may hold in memory (15-20 MB of CCF statuses or guards)."""


def mirrored(store: KVStore) -> KVStore:
    """`store` as a ledger keeps it: mirrored where misses are costly, else as it is
    (in memory a miss costs less than the mirror's own bookkeeping)."""
    if not store.costly_misses or isinstance(store, MirroredStore):
        return store
    return MirroredStore(store)


class MirroredStore(KVStore):
    """`inner`, with the keys under `tables` (prefixes of one length) also in memory,
    each table while it holds at most `capacity` keys."""

    def __init__(
        self,
        inner: KVStore,
        tables: tuple[bytes, ...] = MIRRORED_TABLES,
        capacity: int = MIRROR_CAPACITY,
    ) -> None:
        widths = {len(t) for t in tables}
        if len(widths) != 1:
            raise ValueError("mirrored tables are named by prefixes of one length")
        self.inner = inner
        self._width = widths.pop()
        self._capacity = capacity
        self._held: dict[bytes, dict[bytes, bytes]] = {}
        for table in tables:
            copy = dict(islice(inner.iterate(table), capacity + 1))
            if len(copy) <= capacity:
                self._held[table] = copy
        self._closed = False

    @property
    def in_memory(self) -> frozenset[bytes]:
        """The tables answered from memory (the others outgrew `capacity`)."""
        return frozenset(self._held)

    def get(self, key: bytes) -> bytes | None:
        held = self._held.get(key[: self._width]) if isinstance(key, bytes) else None
        if held is None:
            return self.inner.get(key)
        if self._closed:
            raise StoreError("store is closed")
        return held.get(check_key(key))

    def iterate(
        self, prefix: bytes = b"", start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self.inner.iterate(prefix, start, reverse)

    def batch(self) -> WriteBatch:
        return WriteBatch(self._apply)

    def _apply(self, ops: Ops, sync: bool) -> None:
        """Commit to the inner store, then (only if that succeeded) update the copy.

        `ops` were checked by this store's batch: they go to the inner store's
        write as they are, not through a second batch that would check them again.
        """
        self.inner._apply(ops, sync)
        width, tables = self._width, self._held
        for k, v in ops.items():
            held = tables.get(k[:width])
            if held is None:
                continue
            if v is None:
                held.pop(k, None)
            else:
                held[k] = v
                if len(held) > self._capacity:  # outgrown: read from the inner store
                    del tables[k[:width]]

    def compact(self) -> None:
        self.inner.compact()

    def close(self) -> None:
        self._closed = True
        self.inner.close()
