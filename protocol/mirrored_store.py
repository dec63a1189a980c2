"""A store whose small, rarely written tables are also held in memory.

Most reads of an ingest ask whether the entry is under a CCF status, whether
one of its guard tags is guarded, whether a cancellation waited for it, and
whether its feed is frozen: four questions whose answer is almost always no.
On LevelDB a miss is not free: every table file whose key range covers the
key is probed (its bloom filter), and the files written during an ingest
cover every table, so each of those misses cost 5-10 us, about a sixth of
the ledger's own work per entry. Those tables hold only what CCF actions,
early cancellations and equivocations wrote, so they are small, and are
answered here from memory, on backends that declare `costly_misses`. Every
write goes through this store, which updates its copy after the batch
commits; a ledger must therefore be the only writer of the store it wraps
(a node has one ledger per store).
"""

from __future__ import annotations

from collections.abc import Iterator

from .errors import StoreError
from .kvstore import KVStore, Ops, WriteBatch, check_key

MIRRORED_TABLES = (b"c/", b"g/", b"s/", b"z/")
"""Early cancellations, guards, CCF statuses, frozen feeds (see keyspace)."""


def mirrored(store: KVStore) -> KVStore:
    """`store` as a ledger keeps it: mirrored where misses are costly, else as it is
    (in memory a miss costs less than the mirror's own bookkeeping)."""
    if not store.costly_misses or isinstance(store, MirroredStore):
        return store
    return MirroredStore(store)


class MirroredStore(KVStore):
    """`inner`, with the keys under `tables` (prefixes of one length) also in memory."""

    def __init__(self, inner: KVStore, tables: tuple[bytes, ...] = MIRRORED_TABLES) -> None:
        widths = {len(t) for t in tables}
        if len(widths) != 1:
            raise ValueError("mirrored tables are named by prefixes of one length")
        self.inner = inner
        self._width = widths.pop()
        self._tables = frozenset(tables)
        self._held: dict[bytes, bytes] = {k: v for t in tables for k, v in inner.iterate(t)}
        self._closed = False

    def get(self, key: bytes) -> bytes | None:
        if isinstance(key, bytes) and key[: self._width] in self._tables:
            if self._closed:
                raise StoreError("store is closed")
            return self._held.get(check_key(key))
        return self.inner.get(key)

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
        for k, v in ops.items():
            if k[: self._width] in self._tables:
                if v is None:
                    self._held.pop(k, None)
                else:
                    self._held[k] = v

    def compact(self) -> None:
        self.inner.compact()

    def close(self) -> None:
        self._closed = True
        self.inner.close()
