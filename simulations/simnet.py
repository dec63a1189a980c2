"""A simulated network: the real replication and ledger code between in-process
nodes, with latency, loss, bandwidth and partitions, in virtual time.

Events sit in one heap ordered by (time, sequence number), and every random
choice comes from one seeded generator, so the same seed gives the same run.
Links behave like TCP streams: frames arrive in order; a lost frame is
retransmitted (it arrives late, never not at all); a partition or a crash
closes the stream and drops what was in flight. Loss is charged per frame
(`loss_model="frame"`: a fixed retransmission delay) or per TCP segment
(`"tcp"`: repaired as SACK with RACK-TLP does, in round trips of the link).

Replication timers tick on a fixed grid (`tick_ms`), but only nodes whose
replicator has something to do (`Replicator.wants_tick`) are ticked: a tick
of a node that is not behind any neighbour is a no-op, and skipping it keeps
a 195-node network affordable.

With processing costs (`NetConfig.cpu`, simulations/cpu.py), a node's
processors take its neighbours' Entries frames in order, and the protocol
code runs when a frame's relay job ends; with all costs zero a frame is
handled the instant it arrives, as before.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from noticenet.crypto.errors import NoticenetError
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import ProtocolError
from noticenet.protocol.ledger.ledger import IngestResult, Ledger, Reader
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.replication.frames import Entries, Frame, decode_frame
from noticenet.protocol.replication.replicator import (
    Action,
    Close,
    Event,
    ReplicationConfig,
    Replicator,
    Send,
)
from noticenet.protocol.store.kvstore import MemoryStore

from .cpu import OPEN, RELAY, Cpu, CpuConfig, Job

Latency = Callable[[str, str], float]
Key = tuple[str, int]  # (author, seq)
FrameFilter = Callable[[str, bytes], bytes | None]  # (peer, frame) -> frame to send, or None


def _constant(ms: float) -> Latency:
    return lambda a, b: ms


@dataclass
class SimNode:
    """One member's node: its ledger, publisher and replicator."""

    name: str
    ledger: Ledger
    publisher: Publisher
    replicator: Replicator
    online: bool = True
    arrivals: list[tuple[int, str, int]] = field(default_factory=list)  # (time, author, seq)
    via: dict[tuple[str, int], str] = field(default_factory=dict)  # (author, seq) -> neighbour
    bytes_out: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    received: int = 0  # entries that arrived over the network (not published or injected here)
    uplink_free_at: float = 0.0
    bandwidth_bps: float | None = None  # overrides NetConfig.bandwidth_bps
    cpu: Cpu | None = None  # None: frames are handled the instant they arrive
    findable: list[tuple[int, str, int]] = field(default_factory=list)  # opened: (time, a, s)
    inbox: dict[str, deque[tuple[bytes, int]]] = field(default_factory=dict)  # peer -> frames


MSS = 1448  # TCP payload bytes per segment (1500-byte MTU, IPv4, timestamps)
LOSS_MODELS = ("frame", "tcp")


@dataclass(frozen=True)
class NetConfig:
    loss: float = 0.0  # "frame": probability a frame is retransmitted; "tcp": per segment
    retransmit_ms: float = 200.0  # "frame": extra delay of a retransmitted frame
    loss_model: str = "tcp"
    bandwidth_bps: float | None = None  # per-node uplink; None = unlimited
    tick_ms: int = 250  # replication timers
    reopen_ms: int = 250  # a session closed without fault (stalled) is reopened after this
    replication: ReplicationConfig = field(default_factory=ReplicationConfig)
    cpu: CpuConfig = field(default_factory=CpuConfig)  # all costs zero: no processing time


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
        self.latency: Latency = latency if callable(latency) else _constant(latency)
        self.now = start_ms
        self.start_ms = start_ms
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.cpu = self.config.cpu if self.config.cpu.active else None
        self._exact: float | None = None  # the exact time of what a processor finishes now
        self.nodes = {m: self._make_node(m) for m in members}
        self.links: set[frozenset[str]] = set()
        self.cut: set[frozenset[str]] = set()
        self._connected: set[frozenset[str]] = set()
        self._link_clock: dict[tuple[str, str], float] = {}
        self._epoch: dict[frozenset[str], int] = {}
        self.events: list[tuple[int, str, Event]] = []
        self.published: dict[bytes, tuple[int, str, int]] = {}  # id -> (time, author, seq)
        self._tick_scheduled = False
        self._ticking: set[str] = set()  # nodes whose replicator wants ticks
        self._wakes: dict[str, float] = {}  # node -> its earliest timer between ticks
        self.withholding: set[str] = set()  # adversaries: announce entries, never send them
        self.filters: dict[str, FrameFilter] = {}  # adversaries: rewrite or drop what they send
        self.on_entries: Callable[[SimNode], None] | None = None  # after entries reach a node
        self.frames_delivered = 0

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
        node = SimNode(member, ledger, Publisher(ledger, member, spec.keys), replicator)
        if self.cpu is not None:
            node.cpu = Cpu(self.cpu.cores, self.at)
        return node

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

    def neighbours(self, member: str) -> list[str]:
        return sorted(m for pair in self.links if member in pair for m in pair if m != member)

    def partition(self, *groups: set[str]) -> None:
        """Cut every link between different groups."""
        where = {m: i for i, g in enumerate(groups) for m in g}
        for pair in sorted(self.links, key=sorted):
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

    def connected(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self._connected

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
        before = node.replicator.heads().get(member, 0)
        entry = node.publisher.publish(kind, record, self.now, recipients)
        self._note_range(node, member, before, entry)
        self._dispatch(member, node.replicator.published(self.now))
        return entry

    def publish_many(self, member: str, items: list[tuple[str, Any, tuple[str, ...]]]) -> None:
        """A bulk import: several records appended before one round of replication."""
        node = self.nodes[member]
        for kind, record, recipients in items:
            before = node.replicator.heads().get(member, 0)
            entry = node.publisher.publish(kind, record, self.now, recipients)
            self._note_range(node, member, before, entry)
        self._dispatch(member, node.replicator.published(self.now))

    def inject(self, member: str, entries: list[Entry]) -> None:
        """Entries made elsewhere (CCF ceremony, roster) enter at `member`."""
        node = self.nodes[member]
        for entry in entries:
            node.ledger.ingest(entry, self.now)
            self._note_local(node, entry)
        self._dispatch(member, node.replicator.published(self.now))

    def append(self, member: str, entries: list[Entry]) -> list[IngestResult | NoticenetError]:
        """Entries stored by `member`'s own ledger as they are, then spread (adversaries)."""
        node = self.nodes[member]
        before = node.replicator.heads()
        results = node.ledger.ingest_many(entries, self.now)
        for entry in entries:
            self.published.setdefault(entry.id, (self.now, entry.header.author, entry.header.seq))
        actions = node.replicator.published(self.now)
        self._note_arrivals(node, before)
        self._dispatch(member, actions)
        return results

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

    def _note_range(self, node: SimNode, author: str, before: int, entry: Entry) -> None:
        """A publish may append a key-epoch entry before the record: note both."""
        for seq in range(before + 1, entry.header.seq):
            node.arrivals.append((self.now, author, seq))
            earlier = node.ledger.entry_at(author, seq, with_body=False)
            if earlier is not None:
                self.published[earlier.id] = (self.now, author, seq)
        self._note_local(node, entry)

    # -- event loop --------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, action))

    def run(self, until_ms: float | None = None, max_events: int = 10_000_000) -> None:
        """Process events until the queue is idle (ticks alone do not count) or `until_ms`."""
        queue = self._queue
        for _ in range(max_events):
            if not queue or (until_ms is not None and queue[0][0] > until_ms):
                break
            if until_ms is None and self._only_ticks():
                break
            when, _, action = heapq.heappop(queue)
            if when > self.now:
                self.now = math.ceil(when)  # whole ms, never before the event
            action()
        if until_ms is not None:
            self.now = max(self.now, math.ceil(until_ms))

    def _only_ticks(self) -> bool:
        return all(getattr(a, "__name__", "") == "_tick_all" for _, _, a in self._queue) and (
            self._converged()
        )

    def _converged(self) -> bool:
        """Every online node holds every head its online neighbours announce."""
        for node in self.nodes.values():
            if not node.online:
                continue
            ours = node.replicator.heads()
            for session in node.replicator.sessions.values():
                for author, seq in session.frontier.items():
                    if ours.get(author, 0) < seq:
                        return False
        return True

    def _want_tick(self, name: str) -> None:
        self._ticking.add(name)
        if not self._tick_scheduled:
            self._tick_scheduled = True
            tick = self.config.tick_ms
            self.at(self.start_ms + ((self.now - self.start_ms) // tick + 1) * tick, self._tick_all)

    def _tick_all(self) -> None:
        self._tick_scheduled = False
        for name in sorted(self._ticking):
            node = self.nodes[name]
            if node.online and node.replicator.wants_tick:
                self._dispatch(name, node.replicator.tick(self.now))
            if not (node.online and node.replicator.wants_tick):
                self._ticking.discard(name)
        if self._ticking and not self._tick_scheduled:
            self._tick_scheduled = True
            self.at(self.now + self.config.tick_ms, self._tick_all)

    def _dispatch(self, sender: str, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._send(sender, action.peer, action.data)
            elif isinstance(action, Close):
                pair = frozenset((sender, action.peer))
                self._disconnect(pair)
                if not action.fault:  # as the node's dialler does (docs/protocol.md 4.2.2)
                    self.at(self.now + self.config.reopen_ms, lambda p=pair: self._reconnect(p))
                self.events.append(
                    (
                        self.now,
                        sender,
                        Event("closed", {"peer": action.peer, "reason": action.reason}),
                    )
                )
            else:
                self.events.append((self.now, sender, action))
        replicator = self.nodes[sender].replicator
        if replicator.wants_tick:
            self._want_tick(sender)
        deadline = replicator.deadline
        if deadline is not None and deadline < self._wakes.get(sender, math.inf):
            self._wakes[sender] = deadline
            self.at(deadline, lambda: self._wake(sender, deadline))

    def _wake(self, name: str, when: float) -> None:
        """A replicator's own deadline (`Replicator.deadline`), finer than the tick grid."""
        if self._wakes.get(name) != when:
            return  # superseded by an earlier wake
        del self._wakes[name]
        if self.nodes[name].online:
            self._dispatch(name, self.nodes[name].replicator.tick(self.now))

    def _send(self, sender: str, peer: str, data: bytes) -> None:
        if sender in self.withholding and isinstance(decode_frame(data), Entries):
            return
        rewrite = self.filters.get(sender)
        if rewrite is not None:
            kept = rewrite(peer, data)
            if kept is None:
                return
            data = kept
        self.send_raw(sender, peer, data)

    def send_raw(self, sender: str, peer: str, data: bytes) -> None:
        """Put `data` on the link as `sender` wrote it (adversaries craft frames here)."""
        pair = frozenset((sender, peer))
        if pair not in self._connected:
            return
        node = self.nodes[sender]
        node.bytes_out += len(data)
        node.frames_out += 1
        start = float(self.now) if self._exact is None else self._exact
        bandwidth = node.bandwidth_bps or self.config.bandwidth_bps
        if bandwidth:
            start = max(start, node.uplink_free_at) + len(data) * 8 * 1000 / bandwidth
            node.uplink_free_at = start
        one_way = self.latency(sender, peer)
        arrive = start + one_way
        if self.config.loss:
            arrive += self._repair_ms(len(data), 2 * one_way)
        key = (sender, peer)
        arrive = max(arrive, self._link_clock.get(key, 0.0))
        self._link_clock[key] = arrive
        epoch = self._epoch[pair]
        self.at(arrive, lambda: self._deliver(sender, peer, data, epoch, arrive))

    def _repair_ms(self, size: int, rtt: float) -> float:
        """How late loss makes a frame of `size` bytes (one random draw per frame).

        "frame": lost with probability `loss`, `retransmit_ms` late. "tcp":
        each of its ceil(size / MSS) segments is lost with probability `loss`;
        the first lost one decides. A segment with others after it is
        declared lost when a later one is SACKed plus RACK's reorder window of
        a quarter round trip, and resent: 1.25 RTT late (RFC 8985, 6.2). The
        last segment has nothing after it: the tail loss probe resends it
        after 2 RTT (RFC 8985, 7.2). Losing the repair too (loss squared) is
        not modelled.
        """
        loss = self.config.loss
        draw = self.rng.random()
        if self.config.loss_model == "frame":
            return self.config.retransmit_ms if draw < loss else 0.0
        segments = max(1, -(-size // MSS))
        if draw >= 1.0 - (1.0 - loss) ** segments:
            return 0.0
        first_lost = int(math.log1p(-draw) / math.log1p(-loss))  # geometric: < segments
        return 2.0 * rtt if first_lost >= segments - 1 else 1.25 * rtt

    def _current(self, sender: str, peer: str, epoch: int) -> bool:
        """Is the stream that carried a frame of this `epoch` still open?"""
        pair = frozenset((sender, peer))
        return pair in self._connected and self._epoch.get(pair) == epoch

    def _deliver(self, sender: str, peer: str, data: bytes, epoch: int, at: float) -> None:
        if not self._current(sender, peer, epoch):
            return  # the stream closed while this frame was in flight
        node = self.nodes[peer]
        node.bytes_in += len(data)
        self.frames_delivered += 1
        if node.cpu is None:
            self._handle(sender, peer, data)
        else:
            node.inbox.setdefault(sender, deque()).append((data, epoch))
            if len(node.inbox[sender]) == 1:
                self._next_frame(node, sender, at)

    def _handle(
        self,
        sender: str,
        peer: str,
        data: bytes,
        frame: Frame | None = None,
        checked: list[Any] | None = None,
    ) -> list[Key]:
        """`peer`'s replicator takes a frame from `sender`; the entries it gained."""
        replicator = self.nodes[peer].replicator
        try:
            frame = decode_frame(data) if frame is None else frame
        except ProtocolError:
            self._dispatch(peer, replicator.receive(sender, data, self.now))  # it closes
            return []
        if not isinstance(frame, Entries):
            self._dispatch(peer, replicator.receive_frame(sender, frame, len(data), self.now))
            return []
        received = replicator.counters.entries_received
        before = replicator.heads()
        actions = replicator.receive_frame(sender, frame, len(data), self.now, checked)
        gained: list[Key] = []
        if replicator.counters.entries_received != received:
            gained = self._note_arrivals(self.nodes[peer], before, sender)
            self.nodes[peer].received += len(gained)
        self._dispatch(peer, actions)
        return gained

    def _note_arrivals(self, node: SimNode, before: dict[str, int], sender: str = "") -> list[Key]:
        """Note the entries `node` gained since `before` (from `sender`); returns them."""
        after = node.replicator.heads()
        gained: list[Key] = []
        for author, seq in sorted(after.items()):
            for s in range(before.get(author, 0) + 1, seq + 1):
                node.arrivals.append((self.now, author, s))
                if sender:
                    node.via[(author, s)] = sender
                gained.append((author, s))
        if self.on_entries is not None:
            self.on_entries(node)
        return gained

    # -- processing time (simulations/cpu.py) --------------------------------------

    def _next_frame(self, node: SimNode, sender: str, at: float) -> None:
        """Take `sender`'s frames in order: Entries frames through a processor, others at once.

        A node reads one neighbour's stream frame by frame, so a frame waits
        for the ones before it from the same neighbour; frames from different
        neighbours are processed in parallel, one per processor.
        """
        assert node.cpu is not None
        pipe = node.inbox[sender]
        while pipe:
            data, epoch = pipe[0]
            if not self._current(sender, node.name, epoch):
                pipe.popleft()
                continue
            try:
                frame: Frame | None = decode_frame(data)
            except ProtocolError:
                frame = None
            if isinstance(frame, Entries):
                node.cpu.submit(self._relay_job(node, sender, data, frame, epoch), RELAY, at)
                return
            pipe.popleft()
            self._exactly(at, lambda d=data, f=frame: self._handle(sender, node.name, d, f))  # type: ignore[misc]

    def _exactly(self, at: float, action: Callable[[], list[Key]]) -> list[Key]:
        """Run `action` as of the exact time `at`: what it sends leaves then, not at the next ms."""
        self._exact = at
        try:
            return action()
        finally:
            self._exact = None

    def _relay_job(
        self, node: SimNode, sender: str, data: bytes, frame: Entries, epoch: int
    ) -> Job:
        """The relay stage of an Entries frame: its cost, then the protocol code at its end."""
        assert self.cpu is not None
        cpu, checked = self.cpu, cast(list[Any], [])

        def cost() -> float:
            if not self._current(sender, node.name, epoch):
                return 0.0
            heads, fresh = node.replicator.heads(), 0
            for raw in frame.entries:
                try:
                    entry = decode_entry(raw)
                except NoticenetError as exc:
                    checked.append(exc)  # refused by the replicator as it would be
                    fresh += 1
                    continue
                checked.append(entry)
                fresh += entry.header.seq > heads.get(entry.header.author, 0)
            return cpu.relay_ms(fresh)

        def done(end: float) -> None:
            node.inbox[sender].popleft()
            if self._current(sender, node.name, epoch):
                gained = self._exactly(
                    end, lambda: self._handle(sender, node.name, data, frame, checked)
                )
                self._opened(node, gained, end)
            self._next_frame(node, sender, end)

        return Job(cost, done)

    def _opened(self, node: SimNode, gained: list[Key], end: float) -> None:
        """Entries stored by a relay job become findable: now, or after an open job behind."""
        cpu = self.cpu
        assert cpu is not None and node.cpu is not None
        if not gained:
            return
        if not cpu.opens_behind:
            node.findable.extend((self.now, a, s) for a, s in gained)
            return

        def done(_: float) -> None:
            node.findable.extend((self.now, a, s) for a, s in gained)

        node.cpu.submit(Job(lambda: cpu.open_ms(len(gained)), done), OPEN, end)

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
