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
from typing import Any

import trio

from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.entry import Entry, decode_entry, entry_id
from noticenet.protocol.errors import LedgerError
from noticenet.protocol.ledger import Ledger
from noticenet.protocol.publisher import Publisher
from noticenet.protocol.replication import Action, Close, Event, Replicator, Send

from . import logs
from .config import NodeConfig
from .errors import TransportError
from .leveldb_store import LevelDBStore
from .transport import FramedStream, Transport, keep_connected, peer_id_from_seed

logger = logging.getLogger("noticenet.node")
OUTBOX_FRAMES = 512


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
        self.peer_id = peer_id_from_seed(keys.libp2p_seed)
        self.transport: Transport | None = None
        self._outboxes: dict[str, trio.MemorySendChannel[bytes]] = {}
        self._scopes: dict[str, trio.CancelScope] = {}
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
                out.append((member.peer_id, member.addrs[0]))
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
        )
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
        self._outboxes[member] = send
        try:
            async with trio.open_nursery() as nursery:
                self._scopes[member] = nursery.cancel_scope
                nursery.start_soon(self._writer, member, stream, receive, nursery.cancel_scope)
                self._perform(self.replicator.connect(member, self.clock()))
                try:
                    async for data in stream:
                        self._perform(self.replicator.receive(member, data, self.clock()))
                except TransportError as exc:
                    logs.event(
                        logger,
                        "stream.error",
                        peer=member,
                        error=type(exc).__name__,
                        detail=str(exc)[:200],
                    )
                nursery.cancel_scope.cancel()
        finally:
            self._outboxes.pop(member, None)
            self._scopes.pop(member, None)
            self._perform(self.replicator.disconnect(member))
            with trio.CancelScope(shield=True):
                await stream.close()

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

    def _perform(self, actions: list[Action]) -> None:
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
            for peer_id in sorted(peers - self._dialing):
                nursery.start_soon(self._dial_side, peer_id)
            logs.event(
                logger, "roster.gate", admitted=len(peers - gated), removed=len(gated - peers)
            )
            gated = peers

    async def _ticker(self) -> None:
        while True:
            await trio.sleep(self.config.tick_ms / 1000)
            self._perform(self.replicator.tick(self.clock()))

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
