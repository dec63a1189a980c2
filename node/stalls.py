"""A trio instrument that logs every task step holding the event loop too long.

The node's API, replication and timers share one trio loop: a step that runs
for 100 ms delays every border check by as much. Each such step is one line,
`event=loop.stall task=<name> ms=<duration>`, so the cause of a slow answer is
in the log rather than guessed.
"""

from __future__ import annotations

import logging
import time

import trio

from noticenet.node import logs

logger = logging.getLogger("noticenet.node")
STALL_MS = 100.0


class StallLog(trio.abc.Instrument):
    """Logs task steps longer than `threshold_ms`; counts them in `stalls`."""

    def __init__(self, threshold_ms: float = STALL_MS) -> None:
        self.threshold = threshold_ms / 1000
        self.stalls = 0
        self._began = 0.0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._began = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        took = time.perf_counter() - self._began
        if took >= self.threshold:
            self.stalls += 1
            logs.event(logger, "loop.stall", task=task.name, ms=round(took * 1000, 1))
