"""A simulated network: the real replication and ledger code between in-process
nodes, with latency, loss, bandwidth and partitions, in virtual time.

Events sit in one heap ordered by (time, sequence number), and every random
choice comes from one seeded generator, so the same seed gives the same run.
Links behave like TCP streams: frames arrive in order; a lost frame is
retransmitted after a timeout (it arrives late, never not at all); a
partition or a crash closes the stream and drops what was in flight.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from noticenet.protocol.devnet import DevNet
from noticenet.protocol.entry import Entry
from noticenet.protocol.frames import Entries, decode_frame
from noticenet.protocol.kvstore import MemoryStore
from noticenet.protocol.ledger import Ledger, Reader
from noticenet.protocol.publisher import Publisher
from noticenet.protocol.replication import (
    Action,
    Close,
    Event,
    ReplicationConfig,
    Replicator,
    Send,
)

Latency = Callable[[str, str], float]


@dataclass
class SimNode:
    """One member's node: its ledger, publisher and replicator."""

    name: str
    ledger: Ledger
    publisher: Publisher
    replicator: Replicator
    online: bool = True
    arrivals: list[tuple[int, str, int]] = field(default_factory=list)  # (time, author, seq)
    bytes_out: int = 0
    bytes_in: int = 0
    uplink_free_at: float = 0.0


@dataclass(frozen=True)
class NetConfig:
    loss: float = 0.0  # probability a frame needs a retransmission
    retransmit_ms: float = 200.0  # extra delay of a retransmitted frame
    bandwidth_bps: float | None = None  # per-node uplink; None = unlimited
    tick_ms: int = 250  # replication timers
    replication: ReplicationConfig = field(default_factory=ReplicationConfig)


class SimNetwork:
    """Nodes, links and a virtual clock (milliseconds)."""

    def __init__(
        self,
        devnet: DevNet,
        members: list[str],
        seed: int,
        latency: Latency | float = 10.0,
        config: NetConfig | None = None,
        start_ms: int = 1_800_000_000_000,
    ) -> None:
        self.devnet = devnet
        self.rng = random.Random(seed)
        self.config = config or NetConfig()
        self.latency: Latency = latency if callable(latency) else (lambda a, b, x=latency: x)
        self.now = start_ms
        self.start_ms = start_ms
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.nodes = {m: self._make_node(m) for m in members}
        self.links: set[frozenset[str]] = set()
        self.cut: set[frozenset[str]] = set()
        self._connected: set[frozenset[str]] = set()
        self._link_clock: dict[tuple[str, str], float] = {}
        self._epoch: dict[frozenset[str], int] = {}
        self.events: list[tuple[int, str, Event]] = []
        self.published: dict[bytes, tuple[int, str, int]] = {}  # id -> (time, author, seq)
        self._tick_scheduled = False
        self.withholding: set[str] = set()  # adversaries: announce entries, never send them

    def _make_node(self, member: str) -> SimNode:
        spec = self.devnet.member(member)
        ledger = Ledger(
            MemoryStore(),
            anchor=self.devnet.governance.public_key,
            reader=Reader(member, spec.keys.encryption),
            index_key=spec.keys.index_key,
        )
        ledger.ingest(self.devnet.genesis, self.now)
        replicator = Replicator(ledger, member, self.config.replication)
        return SimNode(member, ledger, Publisher(ledger, member, spec.keys), replicator)

    # -- topology --------------------------------------------------------------

    def link(self, a: str, b: str) -> None:
        """A neighbour relation; connected now if both ends are up."""
        pair = frozenset((a, b))
        self.links.add(pair)
        self._reconnect(pair)

    def random_graph(self, degree: int) -> None:
        """Each node links to `degree` random others (a connected graph: a ring first)."""
        names = sorted(self.nodes)
        for i, a in enumerate(names):
            self.link(a, names[(i + 1) % len(names)])
        for a in names:
            others = [b for b in names if b != a]
            for b in self.rng.sample(others, max(0, degree - 2)):
                self.link(a, b)

    def partition(self, *groups: set[str]) -> None:
        """Cut every link between different groups."""
        where = {m: i for i, g in enumerate(groups) for m in g}
        for pair in list(self.links):
            a, b = sorted(pair)
            if where.get(a) != where.get(b):
                self.cut.add(pair)
                self._disconnect(pair)

    def heal(self) -> None:
        cut, self.cut = self.cut, set()
        for pair in sorted(cut, key=sorted):
            self._reconnect(pair)

    def set_online(self, member: str, online: bool) -> None:
        """Crash (or stop) a node, or bring it back; its ledger survives."""
        node = self.nodes[member]
        node.online = online
        for pair in sorted(self.links, key=sorted):
            if member in pair:
                self._reconnect(pair) if online else self._disconnect(pair)

    def _up(self, pair: frozenset[str]) -> bool:
        return (
            pair in self.links and pair not in self.cut and all(self.nodes[m].online for m in pair)
        )

    def _reconnect(self, pair: frozenset[str]) -> None:
        if pair in self._connected or not self._up(pair):
            return
        self._connected.add(pair)
        self._epoch[pair] = self._epoch.get(pair, 0) + 1
        a, b = sorted(pair)
        self._dispatch(a, self.nodes[a].replicator.connect(b, self.now))
        self._dispatch(b, self.nodes[b].replicator.connect(a, self.now))
        self._ensure_ticks()

    def _disconnect(self, pair: frozenset[str]) -> None:
        if pair not in self._connected:
            return
        self._connected.discard(pair)
        self._epoch[pair] = self._epoch.get(pair, 0) + 1
        for me in sorted(pair):
            (other,) = pair - {me}
            self._dispatch(me, self.nodes[me].replicator.disconnect(other))

    # -- workload --------------------------------------------------------------

    def publish(
        self, member: str, kind: str, record: Any, recipients: tuple[str, ...] = ()
    ) -> Entry:
        node = self.nodes[member]
        entry = node.publisher.publish(kind, record, self.now, recipients)
        self._note_local(node, entry)
        self._dispatch(member, node.replicator.published(self.now))
        return entry

    def inject(self, member: str, entries: list[Entry]) -> None:
        """Entries made elsewhere (CCF ceremony, roster) enter at `member`."""
        node = self.nodes[member]
        for entry in entries:
            node.ledger.ingest(entry, self.now)
            self._note_local(node, entry)
        self._dispatch(member, node.replicator.published(self.now))

    def maintenance(self) -> None:
        """Each online node appends purge receipts for the revocations it enforced."""
        for name, node in sorted(self.nodes.items()):
            if not node.online:
                continue
            entries = node.publisher.publish_receipts(self.now)
            for entry in entries:
                self._note_local(node, entry)
            if entries:
                self._dispatch(name, node.replicator.published(self.now))

    def _note_local(self, node: SimNode, entry: Entry) -> None:
        h = entry.header
        self.published[entry.id] = (self.now, h.author, h.seq)
        node.arrivals.append((self.now, h.author, h.seq))

    # -- event loop --------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, action))

    def run(self, until_ms: float | None = None, max_events: int = 10_000_000) -> None:
        """Process events until the queue is idle (ticks alone do not count) or `until_ms`."""
        for _ in range(max_events):
            if not self._queue or (until_ms is not None and self._queue[0][0] > until_ms):
                break
            if until_ms is None and self._only_ticks():
                break
            when, _, action = heapq.heappop(self._queue)
            self.now = max(self.now, int(when))
            action()
        if until_ms is not None:
            self.now = max(self.now, int(until_ms))

    def _only_ticks(self) -> bool:
        return all(getattr(a, "__name__", "") == "_tick_all" for _, _, a in self._queue) and (
            self._converged()
        )

    def _converged(self) -> bool:
        """Every online node holds every head its online neighbours announce."""
        for node in self.nodes.values():
            if not node.online:
                continue
            ours = node.ledger.frontier()
            for session in node.replicator.sessions.values():
                for author, seq in session.frontier.items():
                    if ours.get(author, (0, b""))[0] < seq:
                        return False
        return True

    def _ensure_ticks(self) -> None:
        if not self._tick_scheduled:
            self._tick_scheduled = True
            self.at(self.now + self.config.tick_ms, self._tick_all)

    def _tick_all(self) -> None:
        for name in sorted(self.nodes):
            if self.nodes[name].online:
                self._dispatch(name, self.nodes[name].replicator.tick(self.now))
        self.at(self.now + self.config.tick_ms, self._tick_all)

    def _dispatch(self, sender: str, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._send(sender, action.peer, action.data)
            elif isinstance(action, Close):
                self._disconnect(frozenset((sender, action.peer)))
                self.events.append(
                    (
                        self.now,
                        sender,
                        Event("closed", {"peer": action.peer, "reason": action.reason}),
                    )
                )
            else:
                self.events.append((self.now, sender, action))

    def _send(self, sender: str, peer: str, data: bytes) -> None:
        pair = frozenset((sender, peer))
        if pair not in self._connected:
            return
        if sender in self.withholding and isinstance(decode_frame(data), Entries):
            return
        node = self.nodes[sender]
        node.bytes_out += len(data)
        start = float(self.now)
        bandwidth = self.config.bandwidth_bps
        if bandwidth:
            start = max(start, node.uplink_free_at)
            node.uplink_free_at = start + len(data) * 8 * 1000 / bandwidth
            start = node.uplink_free_at
        arrive = start + self.latency(sender, peer)
        if self.config.loss and self.rng.random() < self.config.loss:
            arrive += self.config.retransmit_ms
        key = (sender, peer)
        arrive = max(arrive, self._link_clock.get(key, 0.0))
        self._link_clock[key] = arrive
        epoch = self._epoch[pair]
        self.at(arrive, lambda: self._deliver(sender, peer, data, epoch))

    def _deliver(self, sender: str, peer: str, data: bytes, epoch: int) -> None:
        pair = frozenset((sender, peer))
        if pair not in self._connected or self._epoch.get(pair) != epoch:
            return  # the stream closed while this frame was in flight
        node = self.nodes[peer]
        node.bytes_in += len(data)
        before = {a: s for a, (s, _) in node.ledger.frontier().items()}
        actions = node.replicator.receive(sender, data, self.now)
        after = node.ledger.frontier()
        for author, (seq, _) in sorted(after.items()):
            for s in range(before.get(author, 0) + 1, seq + 1):
                node.arrivals.append((self.now, author, s))
        self._dispatch(peer, actions)

    # -- observations ----------------------------------------------------------

    def frontiers(self) -> dict[str, dict[str, int]]:
        return {
            n: {a: s for a, (s, _) in node.ledger.frontier().items()}
            for n, node in self.nodes.items()
        }

    def digests(self) -> dict[str, bytes]:
        return {n: node.ledger.state_digest() for n, node in self.nodes.items()}

    def transmissions(self) -> int:
        return sum(n.replicator.counters.entries_sent for n in self.nodes.values())
