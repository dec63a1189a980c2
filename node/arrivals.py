"""`entry.arrived` log lines: when each entry reached this node (for emulation runs).

With `log_arrivals = true` in node.toml, the node logs one line per entry it
gains (from a neighbour or its own publication) with the wall-clock time and
how long handling the frame took, so a run of real processes can be compared
with the simulator entry by entry. Off by default: a catch-up would log every
entry.
"""

from __future__ import annotations

import logging
import time

from noticenet.node import logs
from noticenet.protocol.replication.replicator import Replicator

logger = logging.getLogger("noticenet.node")
ARRIVED = "entry.arrived"


class ArrivalLog:
    """Compares the replicator's heads after each step with what was logged before."""

    def __init__(self, replicator: Replicator) -> None:
        self.replicator = replicator
        self._logged = replicator.heads()

    def gained(self, took_s: float) -> None:
        """One line per entry gained since the last call; `took_s`: handling the frame."""
        at_ms = round(time.time_ns() / 1e6, 3)
        took_ms = round(took_s * 1000, 3)
        heads = self.replicator.heads()
        for author, seq in sorted(heads.items()):
            for s in range(self._logged.get(author, 0) + 1, seq + 1):
                logs.event(logger, ARRIVED, author=author, seq=s, at_ms=at_ms, took_ms=took_ms)
        self._logged = heads
