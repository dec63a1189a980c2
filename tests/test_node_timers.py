"""The node's replication ticker: every `tick_ms`, and at the replicator's deadline if sooner.

The simulator wakes a replicator exactly at its `deadline` (the missing-entry
timer); a real node must too, or its 250 ms ticker would turn a 100 ms
timer into 100-350 ms and the two would disagree. Runs on trio's MockClock
(autojump): virtual time, no waiting.
"""

from __future__ import annotations

import time
from pathlib import Path

import trio
import trio.testing

from noticenet.node.config import load_config
from noticenet.node.demo.localnet import create_localnet
from noticenet.node.service import NodeService
from noticenet.protocol.replication.replicator import Action


class Timers:
    """Stands in for the replicator's timer side: a settable deadline, and when tick ran."""

    def __init__(self) -> None:
        self.deadline: int | None = None
        self.ticks: list[int] = []
        self.sessions: dict[str, object] = {}  # none: the ticker's own-feed check reads it

    def tick(self, now_ms: int) -> list[Action]:
        self.ticks.append(now_ms)
        if self.deadline is not None and now_ms >= self.deadline:
            self.deadline = None
        return []


def test_the_ticker_runs_at_the_replicators_deadline(tmp_path: Path) -> None:
    net = create_localnet(tmp_path / "net")
    config = load_config(net.members["FRA"].config)
    assert config.tick_ms == 250
    clock = trio.testing.MockClock(autojump_threshold=0)

    start = time.time_ns() // 1_000_000  # the genesis entry must not be from the future

    def now_ms() -> int:
        return start + round(clock.current_time() * 1000)

    service = NodeService(config, config.keys(""), clock=now_ms)
    timers = Timers()
    service.replicator = timers  # type: ignore[assignment]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(service._ticker)
            await trio.sleep(0.3)
            timers.deadline = now_ms() + 40
            service._perform([])  # what a frame's handling ends with
            await trio.sleep(1.0)
            nursery.cancel_scope.cancel()

    try:
        trio.run(main, clock=clock)
    finally:
        service.store.close()
    # Ticks every 250 ms, one at the deadline (300 + 40), then every 250 ms from there.
    assert [t - start for t in timers.ticks] == [250, 340, 590, 840, 1090]
