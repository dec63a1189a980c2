"""The queue of frames waiting to be written to one neighbour, with watermarks.

A put never blocks and never fails: the replicator has already moved its
cursors when it hands over a frame, so dropping one would lose it. Instead the
queue reports when it is `full` (the driver then tells the replicator to hold
back entries and announcements) and when it has `drained` again (the driver
tells the replicator to resume). Only control frames (acks, subscriptions)
are queued while the replicator holds back, and those are few, so the queue
stays near its high watermark; `over_budget` is the per-peer memory budget
that only a peer which sends but never reads can reach.
"""

from __future__ import annotations

from collections import deque

import trio

HIGH_FRAMES = 64  # full at this many frames queued...
HIGH_BYTES = 4 * 1024 * 1024  # ...or this many bytes
LOW_FRAMES = 8  # drained at this many frames or fewer...
LOW_BYTES = 512 * 1024  # ...and this many bytes or fewer
BUDGET_BYTES = 32 * 1024 * 1024  # never more than this queued for one peer


class Outbox:
    """Frames for one peer, in order, with a writer task awaiting `get`."""

    def __init__(
        self,
        high_frames: int = HIGH_FRAMES,
        high_bytes: int = HIGH_BYTES,
        low_frames: int = LOW_FRAMES,
        low_bytes: int = LOW_BYTES,
        budget_bytes: int = BUDGET_BYTES,
    ) -> None:
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._ready = trio.Event()
        self._closed = False
        self.high = (high_frames, high_bytes)
        self.low = (low_frames, low_bytes)
        self.budget_bytes = budget_bytes

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def size(self) -> int:
        """Bytes queued."""
        return self._bytes

    @property
    def full(self) -> bool:
        return len(self._frames) >= self.high[0] or self._bytes >= self.high[1]

    @property
    def drained(self) -> bool:
        return len(self._frames) <= self.low[0] and self._bytes <= self.low[1]

    @property
    def over_budget(self) -> bool:
        return self._bytes > self.budget_bytes

    def put(self, data: bytes) -> None:
        """Queue one frame (never blocks; see `full` and `over_budget`)."""
        if self._closed:
            return
        self._frames.append(data)
        self._bytes += len(data)
        self._ready.set()

    async def get(self) -> bytes:
        """The next frame, waiting for one; trio.EndOfChannel once closed and empty."""
        while not self._frames:
            if self._closed:
                raise trio.EndOfChannel
            self._ready = trio.Event()
            await self._ready.wait()
        data = self._frames.popleft()
        self._bytes -= len(data)
        return data

    def close(self) -> None:
        """No more frames: the writer ends once the queue is empty."""
        self._closed = True
        self._ready.set()
