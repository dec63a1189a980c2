"""The replication state machine (sans-IO): frames in, frames and ledger writes out.

Peers exchange frontiers, then each node subscribes to every feed it lacks
from *one* neighbour (its eager source for that feed) and only notes the
announcements of the others: an epidemic broadcast tree per feed, so an
entry crosses each link about once. Which neighbour is a feed's source, and
when that changes, is the policy in `trees.Sources`.

Flow control is credit-based: a receiver grants `credit` entries in its
Hello and returns credit with Ack after ingesting. A sender keeps no queue:
per subscriber it holds one cursor per feed and reads the ledger when credit
allows, so a slow neighbour costs a few integers. Governance feeds (roster,
CCF) always go first.

Back-pressure, never disconnection: when the driver's queue of frames to a
peer is full it calls `congested`, and until it calls `writable` the
replicator sends that peer only control frames (acks, subscriptions), which
are few; the entries and announcements it held back are read from the
ledger when the queue drains. A receiver checks a frame's entries against
the credit it granted (`admit`) before doing any work on them. A session that
owes us acks or asked-for entries for `stall_ms` is closed without fault, so
the driver opens a new one; a session closed for a fault is the peer's doing.

The driver (libp2p node or simulator) calls `connect`, `receive`, `tick`
and `published`, and carries out the returned `Send` and `Close` actions.
The replicator caches the ledger's frontier and rereads it whenever the
ledger has committed an ingest it did not make itself; a driver that writes
to the ledger calls `published` afterwards to spread what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

from noticenet.crypto.errors import BadSignature, NoticenetError
from noticenet.protocol.errors import FeedFrozen, Gap, ProtocolError, UnknownAuthor
from noticenet.protocol.ledger.intake import Intake
from noticenet.protocol.ledger.ledger import IngestResult, Ledger, Outcome
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.governance import THRESHOLD_FEEDS
from noticenet.protocol.replication.feed_wire import wire_feed
from noticenet.protocol.replication.frames import (
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
from noticenet.protocol.replication.own_feed import OwnFeed
from noticenet.protocol.replication.session import (
    Action,
    Close,
    Counters,
    Event,
    ReplicationConfig,
    Send,
    Session,
    nearest_first,
    priority,
)
from noticenet.protocol.replication.trees import Sources

__all__ = ["Action", "Close", "Event", "ReplicationConfig", "Replicator", "Send", "Session"]

UNVOUCHED_ASKS = 3
"""How often one session may end a frame on a feed's next entry whose own signature
is bad before that counts against it (see `Replicator._awaits_voucher`)."""


def _entry_of(item: Entry | Intake) -> Entry:
    return item.entry if isinstance(item, Intake) else item


class Replicator:
    """One node's replication across all its neighbours."""

    def __init__(self, ledger: Ledger, me: str, config: ReplicationConfig | None = None) -> None:
        self.ledger = ledger
        self.me = me
        self.config = config or ReplicationConfig()
        self.sessions: dict[str, Session] = {}
        self.sources = Sources(self.sessions, self.config, self._frontier, self._send, self._known)
        self.source = self.sources.source  # author -> neighbour we subscribed to
        self.settled = self.sources.settled  # feeds whose source is settled
        self.progress = self.sources.progress  # author -> last time the feed advanced or was asked
        self.counters = Counters()
        self._heads: dict[str, int] | None = None  # cached frontier; None: read the ledger
        self._heads_at = -1  # the ledger's `appends` the cache reflects
        self._members: tuple[object, frozenset[str]] = (None, frozenset())  # roster -> ids
        self._now = 0  # the time of the driver's latest call: when a `want` was sent
        self.own_feed: OwnFeed | None = None  # set by a node that gates its publishing on it
        self.own_replicated = 0  # the highest seq of our own feed a neighbour acknowledged

    # -- driver interface ----------------------------------------------------

    def connect(self, peer: str, now_ms: int) -> list[Action]:
        """A stream to `peer` is open: greet it."""
        self._now = now_ms
        self.sessions[peer] = Session(peer)
        hello = Hello(self.me, self._frontier(), self.config.credit)
        return [self._send(peer, hello), Event("peer.connected", {"peer": peer})]

    def disconnect(self, peer: str) -> list[Action]:
        """The stream to `peer` is gone: forget it and resubscribe elsewhere on next tick."""
        self.sessions.pop(peer, None)
        self.sources.disconnect(peer)
        return [Event("peer.disconnected", {"peer": peer})]

    def receive(self, peer: str, data: bytes, now_ms: int) -> list[Action]:
        """One frame from `peer`; malformed frames close the session."""
        try:
            frame = decode_frame(data)
        except ProtocolError as exc:
            if peer in self.sessions:
                self.counters.bytes_received += len(data)
            return self._close(peer, f"malformed frame: {exc}")
        return self.receive_frame(peer, frame, len(data), now_ms)

    def receive_frame(
        self,
        peer: str,
        frame: Frame,
        size: int,
        now_ms: int,
        checked: list[Intake | NoticenetError] | None = None,
        admitted: bool = False,
        final: bool = True,
    ) -> list[Action]:
        """A frame of `size` bytes the driver decoded itself (see `receive`).

        For an Entries frame, `checked` may give `intake.check_wires` of its
        entries, done ahead (a node does it on worker processes), and
        `admitted` says the driver already had `admit` take the frame's credit.
        A driver may hand over a big Entries frame in consecutive parts, each
        with `final=False` but the last: the frame is acknowledged once, after
        its last part, as the sender expects.
        """
        self._now = now_ms
        session = self.sessions.get(peer)
        if session is None:
            return [Close(peer, "no session")]
        self.counters.bytes_received += size
        if not session.hello and not isinstance(frame, Hello):
            return self._close(peer, "first frame must be hello")
        if isinstance(frame, Entries):
            if not admitted:
                refused = self.admit(peer, len(frame.entries))
                if refused:
                    return refused
            return self._on_entries(session, frame, now_ms, checked, final)
        return self._handle(session, frame, now_ms)

    def admit(self, peer: str, entries: int) -> list[Action]:
        """Take the credit of an Entries frame of `entries` before any work is done on it.

        A peer may have at most the `credit` we granted in flight; a frame
        beyond it closes the session (a fault) and costs nothing more. Returns
        the actions of a refusal, or [] when the frame may be checked and
        handed to `receive_frame(..., admitted=True)`.
        """
        session = self.sessions.get(peer)
        if session is None:
            return [Close(peer, "no session")]
        if not session.hello:
            return self._close(peer, "first frame must be hello")
        if session.taken + entries > self.config.credit:
            self._refuse("OverCredit")
            left = self.config.credit - session.taken
            return self._close(peer, f"{entries} entries exceed the credit left ({left})")
        session.taken += entries
        return []

    def congested(self, peer: str) -> None:
        """The driver's queue to `peer` is full: hold back entries and announcements."""
        session = self.sessions.get(peer)
        if session is not None:
            session.paused = True

    def writable(self, peer: str, now_ms: int) -> list[Action]:
        """The queue to `peer` has drained: announce and send what was held back."""
        self._now = now_ms
        session = self.sessions.get(peer)
        if session is None or not session.paused:
            return []
        session.paused = False
        actions: list[Action] = []
        if session.hello:
            lazy = self._lazy(session, self._frontier())
            if lazy:
                actions.append(self._send(peer, Have(lazy)))
        return actions + self._pump(session, now_ms)

    def published(self, now_ms: int) -> list[Action]:
        """Local entries were appended: push to subscribers, announce to the rest."""
        self._now = now_ms
        return self._spread(self._frontier(), now_ms)

    def heads(self) -> dict[str, int]:
        """The latest seq held per author (a copy of the cached frontier)."""
        return dict(self._frontier())

    @property
    def deadline(self) -> int | None:
        """When `tick` next has a fetch to make (ms), for drivers with finer timers."""
        return self.sources.deadline

    @property
    def wants_tick(self) -> bool:
        """False when `tick` would do nothing: no neighbour announced a feed ahead of us."""
        return self.sources.wants_tick

    def tick(self, now_ms: int) -> list[Action]:
        """Timers: fetch overdue entries; resubscribe feeds whose eager source lags or is gone;
        close sessions that stalled (see `stalled`)."""
        self._now = now_ms
        actions = self.sources.tick(now_ms)
        for peer in self.stalled(now_ms):
            actions += self._close(peer, "stalled", fault=False)
        return actions

    def stalled(self, now_ms: int) -> list[str]:
        """Peers that owe us an ack, or entries we asked for, since `stall_ms` or longer.

        Such a session is stuck somewhere below us (a stream that stopped
        moving, a peer that lost its state): a new session starts it afresh.
        """
        limit = self.config.stall_ms
        out = []
        for peer, session in self.sessions.items():
            owed = [t for t in (session.wanted_at,) if t is not None]
            if session.in_flight:
                owed.append(session.in_flight[0])
            if owed and now_ms - min(owed) >= limit:
                out.append(peer)
        return out

    # -- frames ------------------------------------------------------------

    def _handle(self, session: Session, frame: Frame, now_ms: int) -> list[Action]:
        if isinstance(frame, Hello):
            return self._on_hello(session, frame, now_ms)
        if isinstance(frame, Have):
            news = self.sources.news(session, frame.frontier)
            session.frontier.update(frame.frontier)
            actions = self._own_head(session, frame.frontier)
            if len(session.frontier) > self.config.max_feeds:
                return self._close(session.peer, "announced too many feeds")
            actions += self.sources.adopt(session, news, now_ms)
            actions += self.sources.subscribe(session, frame.frontier, now_ms, news)
            self.sources.note_missing(session, frame.frontier, now_ms)
            return actions
        if isinstance(frame, Want):
            for author, seq in frame.feeds.items():
                if self._known(author):
                    session.cursors[author] = max(1, seq)
            return self._pump(session, now_ms)
        if isinstance(frame, Dont):
            for author in frame.authors:
                session.cursors.pop(author, None)
            return []
        if isinstance(frame, Ack):
            session.credit = min(session.credit + max(0, frame.n), self.config.credit * 4)
            session.acked(now_ms)
            self.own_replicated = max(self.own_replicated, session.own_acked)
            return self._pump(session, now_ms)
        return []  # Entries frames go to _on_entries (see receive_frame)

    def _on_hello(self, session: Session, hello: Hello, now_ms: int) -> list[Action]:
        if session.hello:
            return self._close(session.peer, "second hello")
        if hello.member != session.peer:
            return self._close(session.peer, f"hello names {hello.member[:64]!r}, not the peer")
        if len(hello.frontier) > self.config.max_feeds:
            return self._close(session.peer, "announced too many feeds")
        session.hello = True
        session.credit = max(0, min(hello.credit, 65_536))
        session.frontier = dict(hello.frontier)
        return self._own_head(session, hello.frontier) + self.sources.subscribe(
            session, hello.frontier, now_ms
        )

    def _own_head(self, session: Session, announced: dict[str, int]) -> list[Action]:
        """Note what a peer holds of our feed (Hello, and any Have): it counts as
        replicated, and the own-feed gate hears of it."""
        head = announced.get(self.me, session.frontier.get(self.me, 0))
        local = self._frontier().get(self.me, 0)
        self.own_replicated = max(self.own_replicated, min(head, local))
        if self.own_feed is not None and self.own_feed.observe(session.peer, head, local):
            fields: dict[str, object] = {"peer": session.peer, "local": local, "peers": head}
            return [Event("store.behind_peers", fields)]
        return []

    def _on_entries(
        self,
        session: Session,
        frame: Entries,
        now_ms: int,
        checked: list[Intake | NoticenetError] | None = None,
        final: bool = True,
    ) -> list[Action]:
        session.wanted_at = None
        if checked is not None and len(checked) != len(frame.entries):
            raise ValueError("checked entries do not match the frame")
        session.unacked += len(frame.entries)
        actions: list[Action] = []
        entries: list[Entry | Intake] = []
        for i, raw in enumerate(frame.entries):
            try:
                item = decode_entry(raw) if checked is None else checked[i]
                if isinstance(item, NoticenetError):
                    raise item
                entries.append(item)
            except NoticenetError as exc:
                session.bad += 1
                actions.extend(self._refused(session, None, exc))
        before = dict(self._frontier())
        roster = self.ledger.roster
        defer = self.config.defer_opening
        # Every part is synced, not only the last one the ack follows: a store that
        # switches to a new log between parts (LevelDB, a memtable full) does not sync
        # the old one, so an OS crash could lose an earlier part of an acknowledged frame.
        results = self.ledger.ingest_many(entries, now_ms, defer=defer) if entries else []
        self._advance(results)
        regaps: dict[str, int] = {}
        last = {_entry_of(item).header.author: i for i, item in enumerate(entries)}
        for i, (item, result) in enumerate(zip(entries, results, strict=True)):
            entry = _entry_of(item)
            at_end = last[entry.header.author] == i
            actions.extend(self._account(session, entry, result, regaps, at_end))
        self.counters.entries_received += len(frame.entries)
        if final:
            actions.append(self._send(session.peer, Ack(session.unacked)))
            session.taken = max(0, session.taken - session.unacked)
            session.unacked = 0
        if session.bad > self.config.max_bad:
            return actions + self._close(session.peer, f"{session.bad} invalid entries")
        after = self._frontier()
        authors = {e.header.author for e in map(_entry_of, entries)}
        actions += self.sources.received(session, authors, before, after, now_ms)
        if regaps:
            regaps = {a: after.get(a, 0) + 1 for a in regaps}
            actions.append(Event("feed.gap", {"peer": session.peer, "want": regaps}))
            actions.append(self._send(session.peer, Want(regaps)))
        if self.ledger.roster is not roster:  # new members: their feeds may be announced already
            for other in list(self.sessions.values()):
                actions.extend(self.sources.subscribe(other, other.frontier, now_ms))
        self.sources.advanced(before, after, now_ms)
        return actions + self._spread(after, now_ms, before)

    def _account(
        self,
        session: Session,
        entry: Entry,
        result: IngestResult | NoticenetError,
        regaps: dict[str, int],
        at_end: bool,
    ) -> list[Action]:
        """What an entry's outcome calls for; `at_end`: last of its feed in the frame."""
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
        if isinstance(result, Gap):
            self._refuse("Gap")
            regaps[result.author] = result.have + 1
            return []
        if isinstance(result, BadSignature) and at_end and self._awaits_voucher(session, entry):
            self._refuse("Unvouched")
            regaps[entry.header.author] = entry.header.seq
            return [Event("entry.unvouched", self._where(session, entry))]
        if not isinstance(result, FeedFrozen | UnknownAuthor):
            session.bad += 1
        return self._refused(session, entry, result)

    def _awaits_voucher(self, session: Session, entry: Entry) -> bool:
        """Whether a bad own signature on a feed's next entry, last of its feed in the
        frame, may yet be vouched for by its successor (record-format section 10).

        Only its author can make such an entry, and an honest relay that took it on
        the chain can end a frame on it. It is asked for again (with its successor
        this time) instead of being counted against the peer, at most
        UNVOUCHED_ASKS times per position and session, so junk still closes a session.
        """
        h = entry.header
        head = self.ledger.head(h.author)
        if ((0, None) if head is None else head) != (h.seq - 1, h.prev):
            return False
        at = (h.author, h.seq)
        asked = session.unvouched.get(at, 0)
        if asked >= UNVOUCHED_ASKS:
            return False
        session.unvouched[at] = asked + 1
        return True

    @staticmethod
    def _where(session: Session, entry: Entry) -> dict[str, object]:
        return {"peer": session.peer, "feed": entry.header.author, "seq": entry.header.seq}

    def _refused(self, session: Session, entry: Entry | None, exc: Exception) -> list[Action]:
        """Count a refused entry; one event each until the peer passes `max_bad`."""
        self._refuse(type(exc).__name__)
        if session.bad > self.config.max_bad + 1:
            return []  # the session is about to close; its Close says how many
        fields: dict[str, object] = (
            {"peer": session.peer} if entry is None else self._where(session, entry)
        )
        fields["reason"] = type(exc).__name__
        fields["detail"] = str(exc)[:160]
        return [Event("entry.refused", fields)]

    # -- sending -----------------------------------------------------------

    def _spread(
        self, after: dict[str, int], now_ms: int, before: dict[str, int] | None = None
    ) -> list[Action]:
        """Push new entries to subscribers; announce new heads lazily to everyone else.

        Subscribers get one frame each in turn, round after round, so a batch
        (a bulk import) reaches every subscriber's first frame early and each
        can relay it while the rest is still on the way.
        """
        changed = {a: s for a, s in after.items() if before is None or before.get(a, 0) != s}
        if not changed:
            return []
        actions: list[Action] = []
        turn: list[Session] = []
        for session in self.sessions.values():
            if not session.hello or session.paused:
                continue  # a paused session hears of it all when it drains (`writable`)
            lazy = self._lazy(session, changed)
            if lazy:
                actions.append(self._send(session.peer, Have(lazy)))
            turn.append(session)
        turn.sort(key=nearest_first)
        while turn:
            more = []
            for session in turn:
                frames, left = self._pump_frames(session, now_ms, 1, self.config.push_bytes)
                actions.extend(frames)
                if left:
                    more.append(session)
            turn = more
        return actions

    @staticmethod
    def _lazy(session: Session, heads: dict[str, int]) -> dict[str, int]:
        """The heads to announce to `session`: feeds it does not subscribe to and lacks."""
        return {
            a: s
            for a, s in heads.items()
            if a not in session.cursors and session.frontier.get(a, 0) < s
        }

    def _pump(self, session: Session, now_ms: int) -> list[Action]:
        """Send subscribed entries to `session` while it has credit, in batched frames."""
        return self._pump_frames(session, now_ms)[0]

    def _pump_frames(
        self, session: Session, now_ms: int, limit: int = 0, max_bytes: int = 0
    ) -> tuple[list[Action], bool]:
        """`_pump`, stopping after `limit` frames if > 0; and whether it stopped there.

        Frames hold at most `max_bytes` of entries if given, else `batch_bytes`.
        """
        max_bytes = min(max_bytes or self.config.batch_bytes, self.config.batch_bytes)
        actions: list[Action] = []
        if session.paused:
            return actions, False
        batch: list[bytes] = []
        size = 0
        own = 0  # the top seq of our own feed in the batch
        ours = self._frontier()
        due = [a for a, seq in session.cursors.items() if seq <= ours.get(a, 0)]
        for author in sorted(due, key=priority):
            if session.credit <= 0:
                break
            for seq, wire in wire_feed(self.ledger, author, session.cursors[author]):
                if session.credit <= 0:
                    break
                if batch and (
                    len(batch) >= self.config.batch_entries or size + len(wire) > max_bytes
                ):
                    actions.append(self._send_entries(session, batch, now_ms, own))
                    batch, size, own = [], 0, 0
                    if len(actions) == limit:
                        return actions, True
                batch.append(wire)
                size += len(wire)
                if author == self.me:
                    own = seq
                session.credit -= 1
                session.cursors[author] = seq + 1
                session.frontier[author] = max(session.frontier.get(author, 0), seq)
        if batch:
            actions.append(self._send_entries(session, batch, now_ms, own))
        return actions, False

    def _send_entries(self, session: Session, batch: list[bytes], now_ms: int, own: int) -> Send:
        self.counters.entries_sent += len(batch)
        session.in_flight.append(now_ms)
        session.own_in_flight.append(own)
        return self._send(session.peer, Entries(tuple(batch)))

    def _send(self, peer: str, frame: Frame) -> Send:
        if isinstance(frame, Want):
            session = self.sessions.get(peer)
            if session is not None and session.wanted_at is None:
                session.wanted_at = self._now
        data = encode_frame(frame)
        assert len(data) <= MAX_FRAME_BYTES
        self.counters.frames_sent += 1
        self.counters.bytes_sent += len(data)
        return Send(peer, data)

    def _close(self, peer: str, reason: str, fault: bool = True) -> list[Action]:
        self._refuse("session-closed" if fault else "session-stalled")
        return [Close(peer, reason, fault), *self.disconnect(peer)]

    def _refuse(self, reason: str) -> None:
        self.counters.refused[reason] = self.counters.refused.get(reason, 0) + 1

    # -- state ---------------------------------------------------------------

    def _frontier(self) -> dict[str, int]:
        """The latest seq held per author (cached; callers must not modify it)."""
        if self._heads is None or self._heads_at != self.ledger.appends:
            self._heads = {a: seq for a, (seq, _) in self.ledger.frontier().items()}
            self._heads_at = self.ledger.appends
        return self._heads

    def _advance(self, results: Iterable[IngestResult | NoticenetError]) -> None:
        """Move the cached frontier past what an ingest stored (reread it after errors).

        The cache was fresh just before the ingest (`_on_entries` read it), so
        the ledger's newer `appends` is this ingest alone: no need to reread.
        """
        heads = self._heads
        if heads is None:
            return
        for result in results:
            if not isinstance(result, IngestResult):
                self._heads = None  # a refused entry may still have written: reread
                return
            if result.outcome in (Outcome.STORED, Outcome.WITHHELD):
                heads[result.author] = max(heads.get(result.author, 0), result.seq)
        self._heads_at = self.ledger.appends  # our own ingest, accounted for above

    def _known(self, author: str) -> bool:
        """A feed of the roster we hold (others wait until a roster names them)."""
        roster = self.ledger.roster
        if author in THRESHOLD_FEEDS:
            return True
        if roster is None:
            return False
        if self._members[0] is not roster:
            self._members = (roster, frozenset(m.id for m in roster.members))
        return author in self._members[1]
