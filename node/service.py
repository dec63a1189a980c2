"""The running node: ledger, replication and libp2p transport in one trio run.

`NodeService` owns the LevelDB store, the ledger, the publisher and the
replicator, and carries out the replicator's actions over the transport.

Every replication stream has an outbox drained by its own writer task. A
full outbox never ends a session: it tells the replicator to hold back
entries and announcements (`congested`) until the writer has drained it
(`writable`); the replicator keeps no queue of its own, only cursors. Every
session that ends, for whatever reason, is reopened with backoff while the
peer is connected; a peer that breaks the protocol again and again is
banned for a growing time. After a start, the node publishes only once its
peers have told it how far its own feed reached (`protocol/replication/own_feed.py`).

Replicated entries are relayed before they are opened: the replicator stores
and acknowledges them after the header checks (the relay stage), and the
opener task decrypts, parses and indexes them behind, on the intake workers
(the open stage; docs/protocol.md, "Relay, then open"). It also opens what a
node killed between the stages left marked, once restarted.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import trio

from noticenet.crypto.keys import MemberKeys
from noticenet.node import logs
from noticenet.node.arrivals import ArrivalLog
from noticenet.node.config import NodeConfig
from noticenet.node.errors import NotReady, TransportError
from noticenet.node.intake_pool import Checked, IntakePool
from noticenet.node.opener import Opener
from noticenet.node.p2p.outbox import Outbox
from noticenet.node.p2p.transport import (
    FramedStream,
    Transport,
    backoff_delay,
    keep_connected,
    peer_id_from_seed,
)
from noticenet.node.store.opening import open_node_store
from noticenet.protocol.errors import LedgerError, ProtocolError
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry, entry_id
from noticenet.protocol.replication.frames import Entries, Frame, decode_frame
from noticenet.protocol.replication.own_feed import OwnFeed, OwnFeedStatus
from noticenet.protocol.replication.replicator import (
    Action,
    Close,
    Event,
    ReplicationConfig,
    Replicator,
    Send,
)

logger = logging.getLogger("noticenet.node")
POOLED_FRAME_ENTRIES = 64  # smaller frames (live traffic) are checked here: no round trip
INBOX_FRAMES = 2  # frames read ahead of the one being written (checked meanwhile)
APPLY_PART = 64  # entries written per step: the API is answered between parts of a frame
REOPEN_BASE_S = 0.25  # a session that ended is reopened after this, doubling...
REOPEN_CAP_S = 10.0  # ...up to this
STABLE_SESSION_S = 30.0  # a session that lasted this long resets the backoff
OPEN_FAILURES = 3  # failed stream opens in a row before the connection is dropped
STRIKES_BEFORE_BAN = 2  # faulty sessions (`Close.fault`) before a member is banned
BAN_BASE_S = 5.0  # the first ban; each further strike doubles it...
BAN_CAP_S = 600.0  # ...up to this
STRIKE_MEMORY_S = 3600.0  # a member's strikes are forgotten after this long without one


@dataclass(frozen=True)
class Inbound:
    """A frame as read: its bytes, its decoding (None if malformed), checks under way.

    `admitted`: an Entries frame whose credit `Replicator.admit` has taken.
    """

    data: bytes
    frame: Frame | None
    checks: list[Future[Checked]] = field(default_factory=list)
    admitted: bool = False


@dataclass
class SessionStats:
    """What happened to replication sessions since the start (for /metrics and /health)."""

    opened: int = 0
    reopened: int = 0  # sessions opened again after one with the same peer ended
    closed: dict[str, int] = field(default_factory=dict)  # by kind: fault, stalled, ended
    paused: int = 0  # times an outbox filled and the replicator held back
    open_failures: int = 0
    bans: int = 0
    banned: dict[str, float] = field(default_factory=dict)  # member -> wall time the ban ends

    def close(self, kind: str) -> None:
        self.closed[kind] = self.closed.get(kind, 0) + 1


class StaleEntry(LedgerError):
    """A locally handed-in entry would fork a feed this node already holds further."""


def wall_ms() -> int:
    return int(time.time() * 1000)


class NodeService:
    """One member's node. Use `await service.run(task_status=...)` inside a nursery."""

    def __init__(
        self,
        config: NodeConfig,
        keys: MemberKeys,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.config = config
        self.keys = keys
        self.clock = clock
        self.store, self.ledger = open_node_store(config, keys)  # strict, checked; never creates
        self.publisher = Publisher(self.ledger, config.member, keys)
        self.replicator = Replicator(
            self.ledger,
            config.member,
            ReplicationConfig(
                stall_ms=int(config.stall_s * 1000), defer_opening=config.relay_first
            ),
        )
        self.own_feed = OwnFeed(self.clock(), int(config.own_feed_wait_s * 1000), config.alone)
        self.replicator.own_feed = self.own_feed  # peers' hellos tell it our feed's head
        self._own_state: tuple[bool, bool] = (False, False)  # (ready, restored) last logged
        self.stats = SessionStats()
        self._strikes: dict[str, tuple[int, float]] = {}  # member -> (strikes, last at)
        self._nursery: trio.Nursery | None = None
        self._progress = trio.Event()  # set whenever replication has done something
        self.intake: IntakePool | None = None  # worker processes while running
        self.opener = Opener(  # the open stage, behind the relay stage
            self.ledger,
            self.clock,
            lambda: self.intake,
            lambda: self._progress,
            self._frames_coming,
        )
        self.arrivals = ArrivalLog(self.replicator) if config.log_arrivals else None
        self.peer_id = peer_id_from_seed(keys.libp2p_seed)
        self.transport: Transport | None = None
        self._outboxes: dict[str, Outbox] = {}
        self._entries_frames: dict[str, int] = {}  # per session: Entries frames read, not yet
        # written (the opener's hint that more entries come)
        self._scopes: dict[str, trio.CancelScope] = {}
        self._tick_wait: trio.CancelScope | None = None  # the ticker's sleep, woken early
        self._compact_due = False
        self._dialing: set[str] = set()
        self.listen_addrs: list[str] = []

    # -- roster view -------------------------------------------------------

    def _peers(self) -> dict[str, str]:
        """peer id -> member id for every other member on the roster."""
        roster = self.ledger.roster
        if roster is None:
            return {}
        return {m.peer_id: m.id for m in roster.members if m.peer_id and m.id != self.config.member}

    def _peer_of(self, member: str) -> str | None:
        roster = self.ledger.roster
        found = roster.member(member) if roster else None
        return found.peer_id if found is not None and found.peer_id else None

    def _neighbours(self) -> list[tuple[str, str]]:
        roster = self.ledger.roster
        out = []
        for member_id in self.config.neighbours:
            member = roster.member(member_id) if roster else None
            if member is not None and member.peer_id and member.addrs:
                addr = self.config.dial.get(member_id, member.addrs[0])  # a proxy in fault tests
                out.append((member.peer_id, addr))
        return out

    # -- running -------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports started once listening."""
        peers = self._peers()
        transport = Transport(
            self.keys.libp2p_seed,
            allowlist=peers,
            on_stream=self._inbound,
            listen_addr=self.config.listen,
            link_delays=self.config.link_delays(peers),
        )
        if self.config.intake_workers != 0:
            self.intake = IntakePool(self.config.intake_workers)  # spawns on first use
        try:
            async with transport, trio.open_nursery() as nursery:
                self.transport = transport
                self._nursery = nursery
                self.listen_addrs = transport.listen_addrs
                logs.event(
                    logger,
                    "node.started",
                    member=self.config.member,
                    peer=self.peer_id,
                    listen=",".join(self.listen_addrs),
                )
                for peer_id in sorted(peers):
                    nursery.start_soon(self._dial_side, peer_id)
                nursery.start_soon(self._follow_roster, nursery, set(peers))
                nursery.start_soon(
                    keep_connected, transport, self._neighbours(), random.Random(self.peer_id)
                )
                nursery.start_soon(self._ticker)
                nursery.start_soon(self._maintenance)
                if self.config.open_entries:
                    nursery.start_soon(self.opener.run)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self.transport = None
            self._nursery = None
            if self.intake is not None:
                self.intake.close()
                self.intake = None
            self.store.close()
            logs.event(logger, "node.stopped", member=self.config.member)

    async def _dial_side(self, peer_id: str) -> None:
        """Of two connected peers, the one with the smaller peer id opens the stream,
        and opens it again, with backoff, whenever a session ends while connected."""
        transport = self.transport
        assert transport is not None
        self._dialing.add(peer_id)
        if self.peer_id > peer_id:
            return  # the other side opens; our `_inbound` serves it
        rng = random.Random(f"{self.peer_id}/{peer_id}")
        attempt = failures = sessions = 0
        while True:
            await transport.wait_connected(peer_id)
            began = trio.current_time()
            try:
                stream = await transport.open_stream(peer_id)
            except TransportError as exc:
                failures += 1
                self.stats.open_failures += 1
                logs.event(logger, "stream.open_failed", peer=peer_id, error=type(exc).__name__)
                if failures >= OPEN_FAILURES:  # a connection that carries no stream: redial
                    failures = 0
                    await transport.disconnect(peer_id)
            else:
                failures = 0
                sessions += 1
                if sessions > 1:
                    self.stats.reopened += 1
                await self._session(peer_id, stream)
            if trio.current_time() - began >= STABLE_SESSION_S:
                attempt = 0
            delay = backoff_delay(attempt, rng, REOPEN_BASE_S, REOPEN_CAP_S)
            attempt += 1
            logs.event(logger, "session.reopen_scheduled", peer=peer_id, delay_s=round(delay, 3))
            await trio.sleep(delay)

    async def _inbound(self, peer_id: str, stream: FramedStream) -> None:
        await self._session(peer_id, stream)

    async def _session(self, peer_id: str, stream: FramedStream) -> None:
        """Run the replication session with one neighbour over one stream."""
        member = self._peers().get(peer_id)
        if member is None or member in self._outboxes:
            await stream.abort()
            return
        outbox = Outbox()
        inbox_send, inbox = trio.open_memory_channel[Inbound](INBOX_FRAMES)
        self._outboxes[member] = outbox
        self._entries_frames[member] = 0
        self.stats.opened += 1
        try:
            async with trio.open_nursery() as nursery:
                self._scopes[member] = nursery.cancel_scope
                nursery.start_soon(self._writer, member, stream, outbox, nursery.cancel_scope)
                self._perform(self.replicator.connect(member, self.clock()))
                async with trio.open_nursery() as reading:
                    reading.start_soon(self._apply_frames, member, inbox)
                    await self._read_frames(member, stream, inbox_send)
                nursery.cancel_scope.cancel()
        finally:
            outbox.close()
            self._outboxes.pop(member, None)
            self._entries_frames.pop(member, None)
            self._scopes.pop(member, None)
            self._perform(self.replicator.disconnect(member))
            with trio.CancelScope(shield=True):
                await stream.close()

    async def _read_frames(
        self, member: str, stream: FramedStream, inbox: trio.MemorySendChannel[Inbound]
    ) -> None:
        """Read frames and start checking big Entries frames on the intake workers.

        The inbox holds INBOX_FRAMES, so the workers check the next frame while
        `_apply_frames` writes this one, and a fast sender is held back.
        """
        async with inbox:
            try:
                async for data in stream:
                    item = self._precheck(member, data)
                    if item is None:
                        return
                    if item.admitted:
                        self._entries_frames[member] += 1
                    await inbox.send(item)
            except TransportError as exc:
                logs.event(
                    logger,
                    "stream.error",
                    peer=member,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )

    def _precheck(self, member: str, data: bytes) -> Inbound | None:
        """Decode a frame as read; take an Entries frame's credit before any work on it
        (None: refused, the session is closing), and start checking big ones."""
        try:
            frame = decode_frame(data)
        except ProtocolError:
            return Inbound(data, None)  # the replicator closes the session and says why
        if not isinstance(frame, Entries):
            return Inbound(data, frame)
        refused = self.replicator.admit(member, len(frame.entries))
        if refused:
            self._perform(refused)
            return None
        if self.intake is None or len(frame.entries) < POOLED_FRAME_ENTRIES:
            return Inbound(data, frame, admitted=True)
        snapshot = self.ledger.snapshot(self.clock(), open_bodies=not self.config.relay_first)
        checks = self.intake.submit(list(frame.entries), snapshot)
        return Inbound(data, frame, checks, admitted=True)

    async def _apply_frames(self, member: str, inbox: trio.MemoryReceiveChannel[Inbound]) -> None:
        """Hand frames to the replicator in arrival order, with their checks if made ahead."""
        async for item in inbox:
            if item.frame is None:
                self._perform(self.replicator.receive(member, item.data, self.clock()))
                continue
            try:
                await self._checked_apply(member, item)
            finally:
                if item.admitted and member in self._entries_frames:
                    self._entries_frames[member] -= 1

    async def _checked_apply(self, member: str, item: Inbound) -> None:
        """Collect a frame's checks made ahead (if any), then hand it over."""
        began = time.perf_counter()
        checked = None
        if item.checks and self.intake is not None:
            try:
                checked = await self.intake.gather_async(item.checks)
            except BrokenProcessPool as exc:  # a worker died: check this frame here
                logs.event(
                    logger,
                    "intake.failed",
                    peer=member,
                    entries=len(item.frame.entries) if isinstance(item.frame, Entries) else 0,
                    error=type(exc).__name__,
                )
            else:
                logs.event(
                    logger,
                    "intake.pooled",
                    peer=member,
                    entries=len(checked),
                    workers=self.intake.workers,
                )
        await self._apply(member, item, checked, began)

    async def _apply(
        self, member: str, item: Inbound, checked: Checked | None, began: float
    ) -> None:
        """Hand one frame to the replicator; a big Entries frame in parts of APPLY_PART,
        letting other tasks (API requests) run between them."""
        frame = item.frame
        assert frame is not None
        if not isinstance(frame, Entries) or len(frame.entries) <= APPLY_PART:
            self._perform(
                self.replicator.receive_frame(
                    member, frame, len(item.data), self.clock(), checked, item.admitted
                ),
                began,
            )
            return
        count = len(frame.entries)
        for start in range(0, count, APPLY_PART):
            end = min(count, start + APPLY_PART)
            part = Entries(frame.entries[start:end])
            size = len(item.data) if start == 0 else 0
            done = None if checked is None else checked[start:end]
            actions = self.replicator.receive_frame(
                member, part, size, self.clock(), done, item.admitted, final=end == count
            )
            self._perform(actions, began)
            if end < count:
                await trio.sleep(0)
                began = time.perf_counter()

    def _frames_coming(self) -> bool:
        """Whether an Entries frame is being written or waits in an inbox."""
        return any(n > 0 for n in self._entries_frames.values())

    async def _writer(
        self,
        member: str,
        stream: FramedStream,
        outbox: Outbox,
        session: trio.CancelScope,
    ) -> None:
        """Drain the outbox, resuming the replicator when it has drained; a failed send
        ends this session only, never the node."""
        try:
            while True:
                try:
                    data = await outbox.get()
                except trio.EndOfChannel:
                    return
                await stream.send(data)
                if outbox.drained:
                    held = self.replicator.sessions.get(member)
                    if held is not None and held.paused:
                        self._perform(self.replicator.writable(member, self.clock()))
        except TransportError as exc:
            logs.event(
                logger, "stream.error", peer=member, error=type(exc).__name__, detail=str(exc)[:200]
            )
            session.cancel()

    def _perform(self, actions: list[Action], began: float | None = None) -> None:
        """Carry out the replicator's actions; `began`: when handling the frame started."""
        if self.arrivals is not None:
            self.arrivals.gained(0.0 if began is None else time.perf_counter() - began)
        for action in actions:
            if isinstance(action, Send):
                self._enqueue(action.peer, action.data)
            elif isinstance(action, Close):
                self._closed(action)
            elif isinstance(action, Event):
                logs.event(logger, action.name, **action.fields)
                if action.name == "body.withheld" and action.fields.get("reason") == "revoked":
                    self._compact_due = True
        self._wake_ticker()
        self._progress.set()
        self._progress = trio.Event()

    async def wait_replicated(self, seq: int, timeout_s: float) -> bool:
        """Whether a neighbour holds this node's own feed up to `seq` (it acknowledged the
        frame, or announced as much), waiting up to `timeout_s`. An acknowledgement that
        waits for this survives the loss of this node's disk, or its replacement by an
        older copy; a synced local write alone does not."""
        with trio.move_on_after(timeout_s):
            while self.replicator.own_replicated < seq and self._heard():
                await self._progress.wait()
        return self.replicator.own_replicated >= seq

    def _heard(self) -> bool:
        """Whether a neighbour is in session with us now (else no one can take our feed)."""
        return any(s.hello for s in self.replicator.sessions.values())

    def _closed(self, close: Close) -> None:
        """End a session the replicator closed; a fault counts against the peer."""
        kind = "fault" if close.fault else "stalled"
        logs.event(logger, "peer.closed", peer=close.peer, reason=close.reason, kind=kind)
        self.stats.close(kind)
        scope = self._scopes.get(close.peer)
        if scope is not None:
            scope.cancel()
        if close.fault:
            self._strike(close.peer)

    def _strike(self, member: str) -> None:
        """Count a faulty session; from STRIKES_BEFORE_BAN on, ban for a growing time."""
        now = time.monotonic()
        strikes, last = self._strikes.get(member, (0, now))
        strikes = 1 if now - last > STRIKE_MEMORY_S else strikes + 1
        self._strikes[member] = (strikes, now)
        peer_id = self._peer_of(member)
        if strikes < STRIKES_BEFORE_BAN or peer_id is None or self._nursery is None:
            return
        seconds = min(BAN_CAP_S, BAN_BASE_S * 2 ** (strikes - STRIKES_BEFORE_BAN))
        self.stats.bans += 1
        self.stats.banned[member] = time.time() + seconds
        logs.event(logger, "peer.banned", peer=member, strikes=strikes, seconds=seconds)
        if self.transport is not None:
            self._nursery.start_soon(self.transport.ban, peer_id, seconds)

    def _enqueue(self, member: str, data: bytes) -> None:
        """Queue a frame; a full outbox pauses the replicator's sends to that peer."""
        outbox = self._outboxes.get(member)
        if outbox is None:
            return
        outbox.put(data)
        if outbox.over_budget:
            # Only a peer that sends to us but never reads gets here (acks pile up).
            self._closed(Close(member, f"send queue over {outbox.budget_bytes} bytes", False))
            return
        session = self.replicator.sessions.get(member)
        if outbox.full and session is not None and not session.paused:
            self.replicator.congested(member)
            self.stats.paused += 1
            logs.event(logger, "peer.congested", peer=member, frames=len(outbox), bytes=outbox.size)

    async def _follow_roster(self, nursery: trio.Nursery, gated: set[str]) -> None:
        """When a new roster arrives, admit its members and drop those it removed."""
        assert self.transport is not None
        member = True
        while True:
            await trio.sleep(self.config.tick_ms / 1000)
            if member and not self.publisher.on_roster:  # it serves what it holds, no more
                logs.event(logger, "roster.removed", member=self.config.member)
            member = self.publisher.on_roster
            peers = set(self._peers())
            if peers == gated:
                continue
            await self.transport.set_allowlist(peers)
            self.transport.set_link_delays(self.config.link_delays(self._peers()))
            for peer_id in sorted(peers - self._dialing):
                nursery.start_soon(self._dial_side, peer_id)
            logs.event(
                logger, "roster.gate", admitted=len(peers - gated), removed=len(gated - peers)
            )
            gated = peers

    async def _ticker(self) -> None:
        """Run the replicator's timers every `tick_ms`, and at its `deadline` if sooner."""
        while True:
            with trio.move_on_after(self.config.tick_ms / 1000) as self._tick_wait:
                self._wake_ticker()
                await trio.sleep_forever()
            self._tick_wait = None
            self._perform(self.replicator.tick(self.clock()))
            self.own_feed_status()

    def _wake_ticker(self) -> None:
        """Bring the ticker's next run forward to the replicator's deadline."""
        due = self.replicator.deadline
        if due is None or self._tick_wait is None:
            return
        at = trio.current_time() + max(0, due - self.clock()) / 1000
        if at < self._tick_wait.deadline:
            self._tick_wait.deadline = at

    async def _maintenance(self) -> None:
        """Expiry, purge receipts, and compaction after revocations."""
        while True:
            await trio.sleep(self.config.maintenance_s)
            self.maintain()

    def maintain(self) -> None:
        now = self.clock()
        purged = self.ledger.purge_expired(now)
        ready = self.own_feed_status().ready  # receipts go in our own feed
        receipts = self.publisher.publish_receipts(now) if ready else []
        if receipts:
            self._compact_due = True
            self._perform(self.replicator.published(now))
        if purged or self._compact_due:
            self.store.compact()
            self._compact_due = False
            logs.event(logger, "store.compacted", expired=purged, receipts=len(receipts))

    # -- local use -------------------------------------------------------------

    def publish(
        self,
        kind: str,
        record: Any,
        recipients: tuple[str, ...] = (),
        extra: dict[bytes, bytes] | None = None,
    ) -> Entry:
        """Publish as this member (synced before it returns) and replicate.

        `extra`: node-local bookkeeping keys written in the same batch (imports).
        """
        self.require_publishable()
        now = self.clock()
        entry = self.publisher.publish(kind, record, now, recipients, extra=extra)
        self._perform(self.replicator.published(now))
        return entry

    def accept(self, entries: list[Entry]) -> list[object]:
        """Entries made elsewhere (a CCF ceremony's output, an import) enter here.

        An entry for a position this node already holds under another id is
        refused here rather than stored as equivocation evidence: handed in
        locally, it is a stale ceremony (the feed moved on since the proposal),
        and publishing it would freeze the commission's feed everywhere.
        """
        if any(e.header.author == self.config.member for e in entries):
            self.require_publishable()
        now = self.clock()
        for entry in entries:
            held = self.ledger.signed_header(entry.header.author, entry.header.seq)
            if held is not None and entry_id(held) != entry.id:
                raise StaleEntry(
                    f"{entry.header.author}#{entry.header.seq} is already taken by another "
                    "entry: the feed moved on since this was prepared; propose again"
                )
        results = self.ledger.ingest_many(entries, now)
        self._perform(self.replicator.published(now))
        if any(e.header.kind == "revoke" for e in entries):
            self.maintain()
        return list(results)

    def connected(self) -> list[str]:
        """Members with a replication session open now."""
        return sorted(self._outboxes)

    def linked(self) -> list[str]:
        """Members with a libp2p connection up (a session may be between two attempts)."""
        if self.transport is None:
            return []
        peers = self._peers()
        return sorted(peers[p] for p in self.transport.connected_peers() if p in peers)

    # -- own feed ----------------------------------------------------------------

    def own_feed_status(self) -> OwnFeedStatus:
        """May this node extend its own feed now (see protocol/replication/own_feed.py)?
        Logs changes."""
        head = self.ledger.head(self.config.member)
        local = 0 if head is None else head[0]
        status = self.own_feed.status(local, max(1, len(self._neighbours())), self.clock())
        state = (status.ready, status.restored)
        if state != self._own_state:
            logs.event(
                logger,
                "own_feed.ready" if status.ready else "own_feed.held",
                local=status.local,
                peers=status.peers,
                heard=status.heard,
            )
            self._own_state = state
        return status

    def require_publishable(self) -> None:
        """Raise NotReady (HTTP 503) while this node may not extend its own feed."""
        status = self.own_feed_status()
        if not status.ready:
            raise NotReady(f"not publishing yet: {status.reason}")
