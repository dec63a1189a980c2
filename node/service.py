"""The running node: ledger, replication and libp2p transport in one trio run.

`NodeService` owns the LevelDB store, the ledger, the publisher and the
replicator, and carries out the replicator's actions over the transport.
Every replication stream has a bounded outbox drained by its own writer
task; a neighbour whose outbox overflows is cut off rather than buffered
without bound. The replicator itself keeps no send queue (credit and
cursors), so a healthy neighbour never comes near the bound.
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
from noticenet.protocol.entry import Entry, decode_entry, entry_id
from noticenet.protocol.errors import LedgerError, ProtocolError
from noticenet.protocol.frames import Entries, Frame, decode_frame
from noticenet.protocol.ledger import Ledger
from noticenet.protocol.publisher import Publisher
from noticenet.protocol.replication import Action, Close, Event, Replicator, Send

from . import logs
from .arrivals import ArrivalLog
from .config import NodeConfig
from .errors import TransportError
from .intake_pool import Checked, IntakePool
from .leveldb_store import LevelDBStore
from .transport import FramedStream, Transport, keep_connected, peer_id_from_seed

logger = logging.getLogger("noticenet.node")
OUTBOX_FRAMES = 512
POOLED_FRAME_ENTRIES = 64  # smaller frames (live traffic) are checked here: no round trip
INBOX_FRAMES = 2  # frames read ahead of the one being written (checked meanwhile)


@dataclass(frozen=True)
class Inbound:
    """A frame as read: its bytes, its decoding (None if malformed), checks under way."""

    data: bytes
    frame: Frame | None
    checks: list[Future[Checked]] = field(default_factory=list)


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
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = LevelDBStore(str(config.data_dir / "ledger"))
        self.ledger = Ledger.of_member(self.store, config.anchor, config.member, keys)
        if self.ledger.roster is None:
            self.ledger.ingest(decode_entry(config.genesis.read_bytes()), self.clock())
        self.publisher = Publisher(self.ledger, config.member, keys)
        self.replicator = Replicator(self.ledger, config.member)
        self.intake: IntakePool | None = None  # worker processes while running
        self.arrivals = ArrivalLog(self.replicator) if config.log_arrivals else None
        self.peer_id = peer_id_from_seed(keys.libp2p_seed)
        self.transport: Transport | None = None
        self._outboxes: dict[str, trio.MemorySendChannel[bytes]] = {}
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
                task_status.started()
                await trio.sleep_forever()
        finally:
            self.transport = None
            if self.intake is not None:
                self.intake.close()
                self.intake = None
            self.store.close()
            logs.event(logger, "node.stopped", member=self.config.member)

    async def _dial_side(self, peer_id: str) -> None:
        """Of two connected peers, the one with the smaller peer id opens the stream."""
        assert self.transport is not None
        self._dialing.add(peer_id)
        while True:
            await self.transport.wait_connected(peer_id)
            if self.peer_id < peer_id:
                try:
                    stream = await self.transport.open_stream(peer_id)
                except TransportError as exc:
                    logs.event(logger, "stream.open_failed", peer=peer_id, error=type(exc).__name__)
                else:
                    await self._session(peer_id, stream)
            await self.transport.wait_disconnected(peer_id)

    async def _inbound(self, peer_id: str, stream: FramedStream) -> None:
        await self._session(peer_id, stream)

    async def _session(self, peer_id: str, stream: FramedStream) -> None:
        """Run the replication session with one neighbour over one stream."""
        member = self._peers().get(peer_id)
        if member is None or member in self._outboxes:
            await stream.abort()
            return
        send, receive = trio.open_memory_channel[bytes](OUTBOX_FRAMES)
        inbox_send, inbox = trio.open_memory_channel[Inbound](INBOX_FRAMES)
        self._outboxes[member] = send
        try:
            async with trio.open_nursery() as nursery:
                self._scopes[member] = nursery.cancel_scope
                nursery.start_soon(self._writer, member, stream, receive, nursery.cancel_scope)
                self._perform(self.replicator.connect(member, self.clock()))
                async with trio.open_nursery() as reading:
                    reading.start_soon(self._apply_frames, member, inbox)
                    await self._read_frames(member, stream, inbox_send)
                nursery.cancel_scope.cancel()
        finally:
            self._outboxes.pop(member, None)
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
                    await inbox.send(self._precheck(data))
            except TransportError as exc:
                logs.event(
                    logger,
                    "stream.error",
                    peer=member,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )

    def _precheck(self, data: bytes) -> Inbound:
        try:
            frame = decode_frame(data)
        except ProtocolError:
            return Inbound(data, None)  # the replicator closes the session and says why
        if self.intake is None or not isinstance(frame, Entries):
            return Inbound(data, frame)
        if len(frame.entries) < POOLED_FRAME_ENTRIES:
            return Inbound(data, frame)
        snapshot = self.ledger.snapshot(self.clock())
        return Inbound(data, frame, self.intake.submit(list(frame.entries), snapshot))

    async def _apply_frames(self, member: str, inbox: trio.MemoryReceiveChannel[Inbound]) -> None:
        """Hand frames to the replicator in arrival order, with their checks if made ahead."""
        async for item in inbox:
            if item.frame is None:
                self._perform(self.replicator.receive(member, item.data, self.clock()))
                continue
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
            self._perform(
                self.replicator.receive_frame(
                    member, item.frame, len(item.data), self.clock(), checked
                ),
                began,
            )

    async def _writer(
        self,
        member: str,
        stream: FramedStream,
        outbox: trio.MemoryReceiveChannel[bytes],
        session: trio.CancelScope,
    ) -> None:
        """Drain the outbox; a failed send ends this session only, never the node."""
        try:
            async for data in outbox:
                await stream.send(data)
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
                logs.event(logger, "peer.closed", peer=action.peer, reason=action.reason)
                scope = self._scopes.get(action.peer)
                if scope is not None:
                    scope.cancel()
            elif isinstance(action, Event):
                logs.event(logger, action.name, **action.fields)
                if action.name == "body.withheld" and action.fields.get("reason") == "revoked":
                    self._compact_due = True
        self._wake_ticker()

    def _enqueue(self, member: str, data: bytes) -> None:
        outbox = self._outboxes.get(member)
        if outbox is None:
            return
        try:
            outbox.send_nowait(data)
        except trio.WouldBlock:
            logs.event(logger, "peer.overflow", peer=member, frames=OUTBOX_FRAMES)
            scope = self._scopes.get(member)
            if scope is not None:
                scope.cancel()

    async def _follow_roster(self, nursery: trio.Nursery, gated: set[str]) -> None:
        """When a new roster arrives, admit its members and drop those it removed."""
        assert self.transport is not None
        while True:
            await trio.sleep(self.config.tick_ms / 1000)
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
        receipts = self.publisher.publish_receipts(now)
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
        return sorted(self._outboxes)
