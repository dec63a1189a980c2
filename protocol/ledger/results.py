"""What ingesting an entry gave: its outcome and reason, and the ledger's refusal counters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Outcome(enum.Enum):
    STORED = "stored"  # header and body stored
    DUPLICATE = "duplicate"  # already held; nothing changed (or a missing body attached)
    WITHHELD = "withheld"  # header stored, body refused (see `reason`)
    EVIDENCE = "evidence"  # a second entry for a position: kept as equivocation evidence


HELD = "held"
"""The reason of an entry stored but held by a similar guard (`IngestResult.reason`)."""


@dataclass(frozen=True)
class IngestResult:
    id: bytes
    author: str
    seq: int
    outcome: Outcome
    reason: str = ""


@dataclass
class LedgerStats:
    """Counters a node exports as metrics."""

    refusals: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1
