"""The open stage's driver: opens, checks and indexes what the relay stage stored.

The relay stage (the replicator) stores replicated entries with a "not opened"
marker, acknowledges and forwards them; this task opens them behind, in feed
order (docs/protocol.md 4.4.1), on the intake workers when a batch is big enough,
and at start opens what a node killed between the stages left marked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

import trio

from noticenet.node import logs
from noticenet.node.intake_pool import IntakePool
from noticenet.protocol.ledger.intake import Opened
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.records.entry import Entry

logger = logging.getLogger("noticenet.node")

OPEN_BATCH = 512  # entries opened per step of the open stage
OPEN_GATHER_S = 0.25  # while frames keep coming, wait up to this long for a full batch
POOLED_OPEN_ENTRIES = 64  # fewer waiting entries than this are opened here: no round trip


class Opener:
    """Opens waiting entries whenever there are any.

    `progress()` is the event the node sets when replication has done something;
    `frames_coming()` says whether an Entries frame is being written or waits (a
    catch-up), during which batches are gathered full for the workers."""

    def __init__(
        self,
        ledger: Ledger,
        clock: Callable[[], int],
        intake: Callable[[], IntakePool | None],
        progress: Callable[[], trio.Event],
        frames_coming: Callable[[], bool],
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.intake = intake
        self.progress = progress
        self.frames_coming = frames_coming

    async def run(self) -> None:
        """Open batches forever: a live entry at once, here; while frames keep coming,
        full batches for the workers, gathered for up to OPEN_GATHER_S."""
        gathering: float | None = None
        while True:
            entries = self.ledger.waiting(OPEN_BATCH)
            if not entries:
                gathering = None
                await self.progress().wait()
                continue
            if len(entries) < OPEN_BATCH and self.frames_coming():
                gathering = trio.current_time() if gathering is None else gathering
                if trio.current_time() - gathering < OPEN_GATHER_S:
                    await self.progress().wait()
                    continue
            gathering = None
            await self.open(entries)
            await trio.sleep(0)  # the API and the relay stage go between batches

    async def open(self, entries: list[Entry]) -> None:
        """Open one batch: read on the intake workers if big enough, then write."""
        snap = self.ledger.snapshot(self.clock())
        read: list[Opened | None] = [None] * len(entries)
        intake = self.intake()
        if intake is not None and len(entries) >= POOLED_OPEN_ENTRIES:
            try:
                futures = intake.submit_open([e.to_wire() for e in entries], snap)
                read = await intake.gather_async(futures)
            except BrokenProcessPool as exc:  # a worker died: read this batch here
                logs.event(logger, "open.failed", entries=len(entries), error=type(exc).__name__)
        items = list(zip(entries, read, strict=True))
        results = self.ledger.open_stored(items, self.clock(), snap.roster_id)
        for result in results:
            if result.outcome is Outcome.WITHHELD:
                logs.event(
                    logger,
                    "body.withheld",
                    feed=result.author,
                    seq=result.seq,
                    reason=result.reason,
                )
        logs.event(logger, "open.batch", entries=len(entries), opened=len(results))
