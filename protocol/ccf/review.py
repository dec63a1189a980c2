"""The CCF's review queue: entries a similar guard holds, with the guard each met.

An entry whose header shares a similar-tier tag with a revocation (record-format
5.4) is stored but held: hidden from every answer on every node until the CCF
releases it (a `release` action) or revokes it. This lists them, read off a
ledger, for the commission to decide; it reads no body, so any node can answer it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from noticenet.protocol.errors import NotFound
from noticenet.protocol.records.governance import CCFAction

if TYPE_CHECKING:
    from noticenet.protocol.ledger.ledger import Ledger


@dataclass(frozen=True)
class Revocation:
    """A revocation behind a similar guard: its entry id and what it decided."""

    id: bytes
    reason: str
    decision: str
    targets: tuple[bytes, ...]


@dataclass(frozen=True)
class HeldEntry:
    """One held entry: its header's facts and, per similar tag it met, the revocations."""

    id: bytes
    author: str
    seq: int
    kind: str
    issued_at: int
    guards: tuple[tuple[bytes, tuple[Revocation, ...]], ...]


def review_queue(ledger: Ledger) -> list[HeldEntry]:
    """Every entry held on this node, oldest position first within each author."""
    queue = []
    for eid in ledger.held_ids():
        entry = ledger.entry(eid, with_body=False)
        if entry is None:  # not possible: a hold is written with its header
            continue
        h = entry.header
        guards = tuple(
            (tag, tuple(_revocation(ledger, rid) for rid in ledger.similar_guards(tag)))
            for tag in h.guards
            if ledger.similar_guards(tag)
        )
        queue.append(HeldEntry(eid, h.author, h.seq, h.kind, h.issued_at, guards))
    return sorted(queue, key=lambda e: (e.author, e.seq))


def _revocation(ledger: Ledger, rid: bytes) -> Revocation:
    try:
        action = ledger.read_held(rid)[1]
    except NotFound:
        return Revocation(rid, "", "", ())
    if not isinstance(action, CCFAction):
        return Revocation(rid, "", "", ())
    return Revocation(rid, action.reason, action.decision, action.targets)
