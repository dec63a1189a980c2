"""The entries stored unopened, in memory: the open stage's queue (sans-IO).

The durable record is the `c/` table (one marker per entry, deleted when it is
opened or its body goes); this queue mirrors it so the open stage and the
findable frontier need no scan of a table whose deleted keys pile up in
LevelDB until a compaction. It holds each waiting position per author in feed
order, and the first KEEP entries themselves, so the open stage need not read
back what the relay stage has just written. Rebuilt from `c/` when a ledger
opens (after a kill, say).
"""

from __future__ import annotations

from collections import deque

from noticenet.protocol.records.entry import Entry

KEEP = 8192  # entries kept in memory for the open stage; the rest are read back


class Waiting:
    """Per author, the seqs waiting to be opened (ascending), and some of the entries."""

    def __init__(self) -> None:
        self._feeds: dict[str, deque[int]] = {}
        self._entries: dict[tuple[str, int], Entry] = {}

    def __len__(self) -> int:
        return sum(len(q) for q in self._feeds.values())

    def add(self, author: str, seq: int, entry: Entry | None = None) -> None:
        """A position stored unopened (its entry, if at hand, kept while there is room)."""
        queue = self._feeds.setdefault(author, deque())
        if not queue or queue[-1] < seq:
            queue.append(seq)
        elif seq not in queue:  # out of order (rare): keep the queue sorted
            queue.append(seq)
            self._feeds[author] = deque(sorted(queue))
        if entry is not None and len(self._entries) < KEEP:
            self._entries[(author, seq)] = entry

    def first(self, author: str) -> int | None:
        """The lowest seq of `author` waiting, or None."""
        queue = self._feeds.get(author)
        return queue[0] if queue else None

    def next(self, limit: int) -> list[tuple[str, int, Entry | None]]:
        """Up to `limit` positions from the front of each feed, feeds in name order,
        with the entry where it is kept (None: read it from the store)."""
        out: list[tuple[str, int, Entry | None]] = []
        for author in sorted(self._feeds):
            for seq in self._feeds[author]:
                if len(out) >= limit:
                    return out
                out.append((author, seq, self._entries.get((author, seq))))
        return out

    def done(self, author: str, seq: int) -> None:
        """The open stage is done with this position (opened, or no longer waiting)."""
        self._entries.pop((author, seq), None)
        queue = self._feeds.get(author)
        if not queue:
            return
        if queue[0] == seq:
            queue.popleft()
        elif seq in queue:
            queue.remove(seq)
        if not queue:
            del self._feeds[author]
