"""The open stage's side of the ledger: what waits to be opened, and opening it.

The relay stage stores an encrypted entry with a "not opened" marker (`c/`);
until the open stage has decrypted, parsed, checked and indexed it, the entry is
not found (docs/protocol.md 4.4.1). Mixed into the Ledger, which owns the store,
the in-memory queue of what waits and the per-entry steps used here.
"""

from __future__ import annotations

from noticenet.protocol.ledger.intake import Opened
from noticenet.protocol.ledger.results import IngestResult, Outcome
from noticenet.protocol.ledger.waiting import Waiting
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.store.keyspace import Txn, key, parse_position, position
from noticenet.protocol.store.kvstore import KVStore


class OpenStage:
    """What waits for the open stage, and the open stage itself (mixed into the Ledger)."""

    store: KVStore
    _waiting: Waiting
    _roster_id: bytes | None

    def entry_at(self, author: str, seq: int) -> Entry | None:
        raise NotImplementedError  # the Ledger's (Holdings)

    def frontier(self) -> dict[str, tuple[int, bytes]]:
        raise NotImplementedError  # the Ledger's (Holdings)

    def _open_stored(
        self, txn: Txn, entry: Entry, opened: Opened | None, now_ms: int
    ) -> str | None:
        raise NotImplementedError  # the Ledger's: read, apply, index one stored body

    def _withheld(self, txn: Txn, entry: Entry, reason: str, now_ms: int) -> IngestResult:
        raise NotImplementedError  # the Ledger's: tombstone a refused body

    def unopened(self, eid: bytes) -> bool:
        """True if `eid`'s body is held but not opened yet (not findable yet)."""
        where = self.store.get(key(b"e", eid))
        return where is not None and self.store.get(key(b"c", where)) is not None

    def waiting(self, limit: int) -> list[Entry]:
        """Up to `limit` entries waiting to be opened, in feed order per author (an entry
        whose body went meanwhile comes without it: `open_stored` skips it)."""
        out: list[Entry] = []
        for author, seq, entry in self._waiting.next(limit):
            found = entry or self.entry_at(author, seq)
            if found is None:  # no header there: nothing to open
                self._waiting.done(author, seq)
                continue
            out.append(found)
        return out

    def waiting_count(self) -> int:
        """How many entries wait for the open stage."""
        return len(self._waiting)

    def findable(self) -> dict[str, int]:
        """Per author, the seq up to which every entry held is opened (the open stage is
        done with it); entries after it wait in `c/` and are not found yet."""
        out = {}
        for author, (seq, _) in self.frontier().items():
            first = self._waiting.first(author)
            out[author] = seq if first is None else first - 1
        return out

    def _load_waiting(self) -> None:
        """The open stage's queue from the `c/` markers on disk (left by a stop or a kill)."""
        for k, _ in self.store.iterate(b"c/"):
            self._waiting.add(*parse_position(k[2:]))

    def open_stored(
        self,
        items: list[tuple[Entry, Opened | None]],
        now_ms: int,
        roster_id: bytes | None = None,
        sync: bool = False,
    ) -> list[IngestResult]:
        """The open stage over entries `waiting` returned, in one write.

        `opened`: the body read ahead (intake workers) under roster `roster_id`;
        trusted only while that roster holds, else (or None) read here. An entry
        no longer waiting (revoked, cancelled, expired or opened meanwhile) is
        skipped. A lost write leaves its markers, so it is simply done again.
        """
        txn = Txn(self.store)
        trusted = roster_id == self._roster_id
        results: list[IngestResult] = []
        for entry, opened in items:
            h, eid = entry.header, entry.id
            self._waiting.done(h.author, h.seq)
            marker = key(b"c", position(h.author, h.seq))
            if txn.get(marker) != eid:
                continue
            txn.delete(marker)
            if txn.get(key(b"b", eid)) is None:
                continue
            reason = self._open_stored(txn, entry, opened if trusted else None, now_ms)
            if reason is not None:
                results.append(self._withheld(txn, entry, reason, now_ms))
            else:
                results.append(IngestResult(eid, h.author, h.seq, Outcome.STORED))
        txn.commit(sync=sync)  # no feed moved: `appends` stays
        return results

    def open_waiting(self, now_ms: int, limit: int = 512) -> list[IngestResult]:
        """Open up to `limit` waiting entries in this process (`open_stored`)."""
        return self.open_stored([(e, None) for e in self.waiting(limit)], now_ms, self._roster_id)
