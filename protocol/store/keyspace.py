"""The ledger's key layout in the ordered key-value store, and a write transaction.

Every key starts with a one-letter table name and a slash. Index keys hold
keyed hashes of identifiers, never the identifiers, so no record plaintext
reaches the disk outside the encrypted bodies.

| key | value |
|---|---|
| `h/<author>\\0<seq:8>` | signed header |
| `e/<id>` | `<author>\\0<seq:8>` (entry id -> feed position) |
| `f/<author>` | frontier: `[seq, id]` |
| `b/<id>` | body (ciphertext, or plaintext CBOR for public kinds) |
| `t/<id>` | tombstone: why and when the body went |
| `x/<expires_at:8><id>` | expiry queue of held bodies |
| `c/<author>\\0<seq:8>` | id of an entry relayed but not yet opened (body held, not indexed) |
| `i/<index>/<hash>/<id>` | index entry; `r/<id>` lists an entry's index keys |
| `q/<author>\\0<seq:8><id>` | equivocation evidence (the second signed header) |
| `z/<author>` | the seq from which the feed is frozen |
| `s/<target id>` | CCF status of a target (blocked / revoked, by, at), kept early |
| `u/<target id>` | issue time of the latest unblock (an earlier block loses) |
| `g/<tag>` | guard: the action ids that guard this tag |
| `w/<tag><id>` | an entry held whose header carries guard tag `tag` |
| `a/<id>` | readmission of entry id by a CCF action |
| `y/<tag>` | similar guard: the revocation ids that hold this tag |
| `l/<id>` | entry held by a similar guard until the CCF decides (empty value) |
| `v/<id>` | release of a held entry: the CCF action id |
| `d/<id>` | evidence against an author (dishonest tags, undecodable body) |
| `p/<action id>/<member>` | purge receipt id |
| `m/roster` | id of the current roster entry |

The small tables `g/`, `s/`, `z/`, `y/` and `l/` are also held in memory by the
ledger (`mirrored_store.py`): every ingest asks them, and almost always misses.
"""

from __future__ import annotations

import struct

from noticenet.protocol.store.kvstore import KVStore, WriteBatch


def seq_bytes(seq: int) -> bytes:
    return struct.pack(">Q", seq)


def header_key(author: str, seq: int) -> bytes:
    return b"h/" + author.encode() + b"\x00" + seq_bytes(seq)


def feed_prefix(author: str) -> bytes:
    return b"h/" + author.encode() + b"\x00"


def position(author: str, seq: int) -> bytes:
    return author.encode() + b"\x00" + seq_bytes(seq)


def parse_position(value: bytes) -> tuple[str, int]:
    author, _, seq = value.partition(b"\x00")
    return author.decode(), int(struct.unpack(">Q", seq)[0])


def key(table: bytes, *parts: bytes) -> bytes:
    """`table/part1/part2...` for tables whose parts are fixed-size or last."""
    return table + b"/" + b"/".join(parts)


_ABSENT = object()  # a key with no pending write (see `Txn.rollback`)


class Txn:
    """Buffered writes over a store, readable before commit, applied as one batch.

    Ingesting several entries in one batch needs each to see the ones before
    it (the feed head moves); the store's batch alone does not show that.
    """

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.pending: dict[bytes, bytes | None] = {}
        self.committed: set[bytes] = set()
        self._undo: list[tuple[bytes, bytes | None | object]] | None = None

    def get(self, k: bytes) -> bytes | None:
        if k in self.pending:
            return self.pending[k]
        return self.store.get(k)

    def put(self, k: bytes, v: bytes) -> None:
        if self._undo is not None:
            self._undo.append((k, self.pending.get(k, _ABSENT)))
        self.pending[k] = v

    def delete(self, k: bytes) -> None:
        if self._undo is not None:
            self._undo.append((k, self.pending.get(k, _ABSENT)))
        self.pending[k] = None

    def savepoint(self) -> None:
        """Start remembering writes, so `rollback` can undo them (one entry of a batch)."""
        self._undo = []

    def rollback(self) -> None:
        """Undo every write since the last `savepoint`: a refused entry leaves none."""
        for k, before in reversed(self._undo or []):
            if before is _ABSENT:
                self.pending.pop(k, None)
            else:
                self.pending[k] = before  # type: ignore[assignment]
        self._undo = []

    def commit(self, sync: bool = True) -> None:
        if not self.pending:
            return
        batch: WriteBatch = self.store.batch()
        batch.update(self.pending)
        batch.commit(sync=sync)
        self.committed = set(self.pending)
        self.pending = {}
