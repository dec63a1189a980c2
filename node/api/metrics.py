"""Node metrics in the Prometheus text exposition format (version 0.0.4).

Counts that need a scan of the store (bodies, tombstones) are taken by an
async walk that yields to the event loop every few thousand keys and are
cached for `STORE_SCAN_S`, so a scrape never stalls border checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import trio

from noticenet.node.service import NodeService
from noticenet.protocol.errors import StoreError

STORE_SCAN_S = 15.0
CHUNK = 5_000


@dataclass
class StoreCounts:
    bodies: int = 0
    tombstones: int = 0
    taken_at: float = field(default=-1e9)


class Metrics:
    """Renders one node's metrics; keeps the cached store counts between scrapes."""

    def __init__(self, service: NodeService) -> None:
        self.service = service
        self.counts = StoreCounts()
        self.started = time.monotonic()

    async def render(self) -> str:
        await self._refresh()
        lines: list[str] = []
        for name, kind, doc, samples in self._families():
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                lines.append(f"{name}{_labels(labels)} {value}")
        return "\n".join(lines) + "\n"

    async def _refresh(self) -> None:
        if time.monotonic() - self.counts.taken_at < STORE_SCAN_S:
            return
        try:
            bodies = await _count(self.service, b"b/")
            tombstones = await _count(self.service, b"t/")
        except StoreError:
            return  # a compaction closed the iterator: keep the previous counts
        self.counts = StoreCounts(bodies, tombstones, time.monotonic())

    def _families(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], Any]]]]:
        s, ledger = self.service, self.service.ledger
        frontier = ledger.frontier()
        counters = s.replicator.counters
        return [
            (
                "noticenet_entries",
                "gauge",
                "Entry headers held (all feeds).",
                [({}, sum(seq for seq, _ in frontier.values()))],
            ),
            ("noticenet_feeds", "gauge", "Feeds (authors) held.", [({}, len(frontier))]),
            (
                "noticenet_unopened_entries",
                "gauge",
                "Entries relayed (stored) but not opened yet: not findable yet.",
                [({}, ledger.waiting_count())],
            ),
            ("noticenet_bodies", "gauge", "Bodies held.", [({}, self.counts.bodies)]),
            (
                "noticenet_tombstones",
                "gauge",
                "Bodies deleted (tombstones).",
                [({}, self.counts.tombstones)],
            ),
            (
                "noticenet_refusals_total",
                "counter",
                "Entries or bodies refused, by reason.",
                refusal_rows(ledger.stats.refusals, counters.refused),
            ),
            (
                "noticenet_replication_lag_entries",
                "gauge",
                "Entries a neighbour announced that this node does not hold yet.",
                [({"peer": p}, lag) for p, lag in sorted(replication_lag(s).items())],
            ),
            (
                "noticenet_peers_connected",
                "gauge",
                "Neighbours with an open session.",
                [({}, len(s.connected()))],
            ),
            (
                "noticenet_sessions_total",
                "counter",
                "Replication sessions opened (`reopened`: again after one with the peer ended).",
                [({"kind": "opened"}, s.stats.opened), ({"kind": "reopened"}, s.stats.reopened)],
            ),
            (
                "noticenet_sessions_closed_total",
                "counter",
                "Replication sessions this node closed, by kind (fault: the peer broke the "
                "protocol; stalled: no progress for stall_s).",
                [({"kind": k}, n) for k, n in sorted(s.stats.closed.items())],
            ),
            (
                "noticenet_session_pauses_total",
                "counter",
                "Times a peer's send queue filled and sending entries to it paused.",
                [({}, s.stats.paused)],
            ),
            (
                "noticenet_stream_open_failures_total",
                "counter",
                "Replication streams that could not be opened on a live connection.",
                [({}, s.stats.open_failures)],
            ),
            (
                "noticenet_peer_bans_total",
                "counter",
                "Times a member was banned for repeated protocol faults.",
                [({}, s.stats.bans)],
            ),
            (
                "noticenet_own_feed_ready",
                "gauge",
                "1 when this node publishes (its peers told it its own feed's head), else 0.",
                [({}, int(s.own_feed_status().ready))],
            ),
            (
                "noticenet_replication_entries_sent_total",
                "counter",
                "Entries sent.",
                [({}, counters.entries_sent)],
            ),
            (
                "noticenet_replication_entries_received_total",
                "counter",
                "Entries received.",
                [({}, counters.entries_received)],
            ),
            (
                "noticenet_replication_duplicates_total",
                "counter",
                "Duplicate entries received.",
                [({}, counters.duplicates)],
            ),
            (
                "noticenet_replication_bytes_sent_total",
                "counter",
                "Bytes sent.",
                [({}, counters.bytes_sent)],
            ),
            (
                "noticenet_replication_bytes_received_total",
                "counter",
                "Bytes received.",
                [({}, counters.bytes_received)],
            ),
            (
                "noticenet_purge_receipts_outstanding",
                "gauge",
                "CCF revocations enforced here whose purge receipt is not yet published.",
                [({}, sum(1 for _ in ledger.store.iterate(b"o/")))],
            ),
            (
                "noticenet_equivocations",
                "gauge",
                "Equivocation evidence held.",
                [({}, len(ledger.equivocations()))],
            ),
            (
                "noticenet_uptime_seconds",
                "gauge",
                "Seconds since the API started.",
                [({}, round(time.monotonic() - self.started, 3))],
            ),
        ]


def replication_lag(service: NodeService) -> dict[str, int]:
    """Per neighbour: sum over feeds of (announced seq - held seq), where positive."""
    held = {a: seq for a, (seq, _) in service.ledger.frontier().items()}
    out = {}
    for peer, session in service.replicator.sessions.items():
        out[peer] = sum(max(0, seq - held.get(a, 0)) for a, seq in session.frontier.items())
    return out


def refusal_rows(
    ledger: dict[str, int], replication: dict[str, int]
) -> list[tuple[dict[str, str], Any]]:
    rows = [({"source": "ledger", "reason": r}, n) for r, n in sorted(ledger.items())]
    rows += [({"source": "replication", "reason": r}, n) for r, n in sorted(replication.items())]
    return rows


async def _count(service: NodeService, prefix: bytes) -> int:
    n = 0
    for _ in service.ledger.store.iterate(prefix):
        n += 1
        if n % CHUNK == 0:
            await trio.sleep(0)
    return n


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
