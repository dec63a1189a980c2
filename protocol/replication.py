"""The replication state machine (sans-IO): frames in, frames and ledger writes out.

Peers exchange frontiers, then each node subscribes to every feed it lacks
from *one* neighbour (its eager source for that feed) and only notes the
announcements of the others: an epidemic broadcast tree per feed, so an
entry crosses each link about once. If the eager source lags behind what
another neighbour announces for longer than `lag_ms`, the node switches.

Flow control is credit-based: a receiver grants `credit` entries in its
Hello and returns credit with Ack after ingesting. A sender keeps no queue:
per subscriber it holds one cursor per feed and reads the ledger when credit
allows, so a slow neighbour costs a few integers. Governance feeds (roster,
CCF) always go first.

The driver (libp2p node or simulator) calls `connect`, `receive`, `tick`
and `published`, and carries out the returned `Send` and `Close` actions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from noticenet.crypto.errors import NoticenetError

from .entry import decode_entry
from .errors import FeedFrozen, Gap, ProtocolError, UnknownAuthor
from .frames import (
    MAX_FRAME_BYTES,
    Ack,
    Dont,
    Entries,
    Frame,
    Have,
    Hello,
    Want,
    decode_frame,
    encode_frame,
)
from .governance import THRESHOLD_FEEDS
from .ledger import IngestResult, Ledger, Outcome


@dataclass(frozen=True)
class Send:
    peer: str
    data: bytes


@dataclass(frozen=True)
class Close:
    peer: str
    reason: str


@dataclass(frozen=True)
class Event:
    """Something worth one structured log line."""

    name: str
    fields: dict[str, object]


Action = Send | Close | Event


@dataclass(frozen=True)
class ReplicationConfig:
    credit: int = 2048  # entries a peer may send us before we ack
    batch_entries: int = 256  # entries per Entries frame at most
    batch_bytes: int = 1024 * 1024  # and bytes per Entries frame at most
    lag_ms: int = 2_000  # switch eager source after this much lag
    max_bad: int = 32  # invalid entries tolerated from a peer before closing


def priority(author: str) -> tuple[int, str]:
    """Governance feeds first, then members in a fixed order."""
    return (0 if author in THRESHOLD_FEEDS else 1, author)


@dataclass
class Session:
    """What we know about one connected neighbour."""

    peer: str
    hello: bool = False
    credit: int = 0  # entries we may still send them
    frontier: dict[str, int] = field(default_factory=dict)  # what they announced
    cursors: dict[str, int] = field(default_factory=dict)  # feeds they subscribed to: next seq
    unacked: int = 0  # entries they sent us that we have not acked
    bad: int = 0


@dataclass
class Counters:
    entries_sent: int = 0
    entries_received: int = 0
    duplicates: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    refused: dict[str, int] = field(default_factory=dict)


class Replicator:
    """One node's replication across all its neighbours."""

    def __init__(self, ledger: Ledger, me: str, config: ReplicationConfig | None = None) -> None:
        self.ledger = ledger
        self.me = me
        self.config = config or ReplicationConfig()
        self.sessions: dict[str, Session] = {}
        self.source: dict[str, str] = {}  # author -> neighbour we subscribed to
        self.progress: dict[str, int] = {}  # author -> last time the feed advanced or was asked
        self.counters = Counters()

    # -- driver interface ----------------------------------------------------

    def connect(self, peer: str, now_ms: int) -> list[Action]:
        """A stream to `peer` is open: greet it."""
        self.sessions[peer] = Session(peer)
        hello = Hello(self.me, self._frontier(), self.config.credit)
        return [self._send(peer, hello), Event("peer.connected", {"peer": peer})]

    def disconnect(self, peer: str) -> list[Action]:
        """The stream to `peer` is gone: forget it and resubscribe elsewhere on next tick."""
        self.sessions.pop(peer, None)
        for author in [a for a, p in self.source.items() if p == peer]:
            del self.source[author]
        return [Event("peer.disconnected", {"peer": peer})]

    def receive(self, peer: str, data: bytes, now_ms: int) -> list[Action]:
        """One frame from `peer`; malformed frames close the session."""
        session = self.sessions.get(peer)
        if session is None:
            return [Close(peer, "no session")]
        self.counters.bytes_received += len(data)
        try:
            frame = decode_frame(data)
        except ProtocolError as exc:
            return self._close(peer, f"malformed frame: {exc}")
        if not session.hello and not isinstance(frame, Hello):
            return self._close(peer, "first frame must be hello")
        return self._handle(session, frame, now_ms)

    def published(self, now_ms: int) -> list[Action]:
        """Local entries were appended: push to subscribers, announce to the rest."""
        return self._spread(self._frontier(), now_ms)

    def tick(self, now_ms: int) -> list[Action]:
        """Timers: resubscribe feeds whose eager source lags or is gone."""
        actions: list[Action] = []
        ours = self._frontier()
        wanted: dict[str, dict[str, int]] = {}
        for author in sorted(self._announced(), key=priority):
            have = ours.get(author, 0)
            best = self._best_peer(author, have)
            if best is None:
                continue
            current = self.source.get(author)
            stale = now_ms - self.progress.get(author, -(10**12)) >= self.config.lag_ms
            if current is None or (current != best and stale):
                if current is not None and current in self.sessions:
                    actions.append(self._send(current, Dont((author,))))
                self.source[author] = best
                self.progress[author] = now_ms
                wanted.setdefault(best, {})[author] = have + 1
                actions.append(Event("source.switch", {"feed": author, "to": best}))
        for peer, feeds in wanted.items():
            actions.append(self._send(peer, Want(feeds)))
        return actions

    # -- frames ------------------------------------------------------------

    def _handle(self, session: Session, frame: Frame, now_ms: int) -> list[Action]:
        if isinstance(frame, Hello):
            return self._on_hello(session, frame, now_ms)
        if isinstance(frame, Have):
            session.frontier.update(frame.frontier)
            return self._subscribe(session, frame.frontier, now_ms)
        if isinstance(frame, Want):
            for author, seq in frame.feeds.items():
                session.cursors[author] = max(1, seq)
            return self._pump(session)
        if isinstance(frame, Dont):
            for author in frame.authors:
                session.cursors.pop(author, None)
            return []
        if isinstance(frame, Ack):
            session.credit = min(session.credit + max(0, frame.n), self.config.credit * 4)
            return self._pump(session)
        return self._on_entries(session, frame, now_ms)

    def _on_hello(self, session: Session, hello: Hello, now_ms: int) -> list[Action]:
        if session.hello:
            return self._close(session.peer, "second hello")
        session.hello = True
        session.credit = max(0, min(hello.credit, 65_536))
        session.frontier = dict(hello.frontier)
        return self._subscribe(session, hello.frontier, now_ms)

    def _subscribe(self, session: Session, announced: dict[str, int], now_ms: int) -> list[Action]:
        """Subscribe to feeds this neighbour is ahead on and nobody serves us yet."""
        ours = self._frontier()
        feeds = {}
        for author in sorted(announced, key=priority):
            if announced[author] > ours.get(author, 0) and author not in self.source:
                self.source[author] = session.peer
                self.progress[author] = now_ms
                feeds[author] = ours.get(author, 0) + 1
        return [self._send(session.peer, Want(feeds))] if feeds else []

    def _on_entries(self, session: Session, frame: Entries, now_ms: int) -> list[Action]:
        session.unacked += len(frame.entries)
        entries = []
        for raw in frame.entries:
            try:
                entries.append(decode_entry(raw))
            except ProtocolError as exc:
                session.bad += 1
                self._refuse(type(exc).__name__)
        before = self._frontier()
        results = self.ledger.ingest_many(entries, now_ms) if entries else []
        actions: list[Action] = []
        regaps: dict[str, int] = {}
        for result in results:
            actions.extend(self._account(session, result, regaps))
        self.counters.entries_received += len(frame.entries)
        actions.append(self._send(session.peer, Ack(session.unacked)))
        session.unacked = 0
        if regaps:
            actions.append(self._send(session.peer, Want(regaps)))
        if session.bad > self.config.max_bad:
            return actions + self._close(session.peer, f"{session.bad} invalid entries")
        after = self._frontier()
        for author, seq in after.items():
            if before.get(author, 0) != seq:
                self.progress[author] = now_ms
        return actions + self._spread(after, now_ms, before)

    def _account(
        self, session: Session, result: IngestResult | NoticenetError, regaps: dict[str, int]
    ) -> list[Action]:
        if isinstance(result, IngestResult):
            if result.outcome is Outcome.DUPLICATE:
                self.counters.duplicates += 1
            elif result.outcome is Outcome.EVIDENCE:
                return [Event("equivocation", {"feed": result.author, "seq": result.seq})]
            elif result.outcome is Outcome.WITHHELD:
                return [
                    Event(
                        "body.withheld",
                        {"feed": result.author, "seq": result.seq, "reason": result.reason},
                    )
                ]
            return []
        self._refuse(type(result).__name__)
        if isinstance(result, Gap):
            regaps[result.author] = result.have + 1
            return []
        if not isinstance(result, FeedFrozen | UnknownAuthor):
            session.bad += 1
        return [Event("entry.refused", {"peer": session.peer, "reason": type(result).__name__})]

    # -- sending -----------------------------------------------------------

    def _spread(
        self, after: dict[str, int], now_ms: int, before: dict[str, int] | None = None
    ) -> list[Action]:
        """Push new entries to subscribers; announce new heads lazily to everyone else."""
        changed = {a: s for a, s in after.items() if before is None or before.get(a, 0) != s}
        if not changed:
            return []
        actions: list[Action] = []
        for session in self.sessions.values():
            if not session.hello:
                continue
            lazy = {
                a: s
                for a, s in changed.items()
                if a not in session.cursors and session.frontier.get(a, 0) < s
            }
            if lazy:
                actions.append(self._send(session.peer, Have(lazy)))
            actions.extend(self._pump(session))
        return actions

    def _pump(self, session: Session) -> list[Action]:
        """Send subscribed entries to `session` while it has credit, in batched frames."""
        actions: list[Action] = []
        batch: list[bytes] = []
        size = 0
        for author in sorted(session.cursors, key=priority):
            for entry in self.ledger.feed(author, session.cursors[author]):
                if session.credit <= 0:
                    break
                wire = entry.to_wire()
                if batch and (
                    len(batch) >= self.config.batch_entries
                    or size + len(wire) > self.config.batch_bytes
                ):
                    actions.append(self._send_entries(session, batch))
                    batch, size = [], 0
                batch.append(wire)
                size += len(wire)
                session.credit -= 1
                session.cursors[author] = entry.header.seq + 1
                session.frontier[author] = max(session.frontier.get(author, 0), entry.header.seq)
        if batch:
            actions.append(self._send_entries(session, batch))
        return actions

    def _send_entries(self, session: Session, batch: list[bytes]) -> Send:
        self.counters.entries_sent += len(batch)
        return self._send(session.peer, Entries(tuple(batch)))

    def _send(self, peer: str, frame: Frame) -> Send:
        data = encode_frame(frame)
        assert len(data) <= MAX_FRAME_BYTES
        self.counters.frames_sent += 1
        self.counters.bytes_sent += len(data)
        return Send(peer, data)

    def _close(self, peer: str, reason: str) -> list[Action]:
        self._refuse("session-closed")
        return [Close(peer, reason), *self.disconnect(peer)]

    def _refuse(self, reason: str) -> None:
        self.counters.refused[reason] = self.counters.refused.get(reason, 0) + 1

    # -- state ---------------------------------------------------------------

    def _frontier(self) -> dict[str, int]:
        return {a: seq for a, (seq, _) in self.ledger.frontier().items()}

    def _announced(self) -> Iterable[str]:
        return {a for s in self.sessions.values() for a in s.frontier}

    def _best_peer(self, author: str, have: int) -> str | None:
        best, seq = None, have
        for peer in sorted(self.sessions):
            announced = self.sessions[peer].frontier.get(author, 0)
            if announced > seq:
                best, seq = peer, announced
        return best
