"""Back-pressure, stalled sessions and own-feed recovery, sans-IO.

The replicators run joined in memory (`Wire` of test_byzantine): a full send
queue pauses a peer instead of ending its session, a stuck session is closed
without fault so the driver reopens it, and a node learns its own feed's head
from its peers before it publishes.
"""

from __future__ import annotations

import pytest
import trio

from noticenet.node.p2p.outbox import Outbox
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.replication.frames import Ack, Entries, Have, Hello, decode_frame
from noticenet.protocol.replication.own_feed import OwnFeed
from noticenet.protocol.replication.replicator import Close, ReplicationConfig, Send

from .samples import document
from .test_byzantine import NOW, Wire, heads, make_node

FRA, DEU, USA = "FRA", "DEU", "USA"


def pair(devnet: DevNet, config: ReplicationConfig | None = None) -> Wire:
    nodes = {m: make_node(devnet, m, config or ReplicationConfig()) for m in (FRA, DEU)}
    wire = Wire(nodes)
    wire.connect(FRA, DEU)
    wire.run()
    return wire


def publish(wire: Wire, member: str, count: int, start: int = 0) -> list[Send]:
    """`count` records published one by one, as an import does; the sends they cause."""
    node = wire.nodes[member]
    sends: list[Send] = []
    for i in range(start, start + count):
        node.publisher.publish("sltd", document(f"B{i:08d}", "FRA"), wire.now)
        sends += [a for a in wire.dispatch(member, node.replicator.published(wire.now))
                  if isinstance(a, Send)]
    return sends


def kinds(sends: list[Send], peer: str) -> list[str]:
    return [type(decode_frame(s.data)).__name__ for s in sends if s.peer == peer]


def test_a_congested_peer_gets_only_control_frames_then_everything_once_drained(
    devnet: DevNet,
) -> None:
    wire = pair(devnet)
    fra = wire.nodes[FRA].replicator
    publish(wire, FRA, 3)
    wire.run()
    assert heads(wire.nodes[DEU])[FRA] == heads(wire.nodes[FRA])[FRA]  # a key epoch and 3
    fra.congested(DEU)
    held = publish(wire, FRA, 500, start=3)
    assert kinds(held, DEU) == []  # neither entries nor announcements while congested
    wire.queue.clear()
    assert fra.sessions[DEU].paused
    # control frames still flow: an Ack for entries DEU sends is answered at once
    resumed = wire.dispatch(FRA, fra.writable(DEU, wire.now))
    frames = [decode_frame(a.data) for a in resumed if isinstance(a, Send)]
    assert all(isinstance(f, Entries | Have) for f in frames)
    assert sum(len(f.entries) for f in frames if isinstance(f, Entries)) > 100  # batched
    assert len(frames) < 20  # in big frames, not one per publish
    wire.run()
    assert heads(wire.nodes[DEU])[FRA] == heads(wire.nodes[FRA])[FRA] >= 503
    assert wire.closes == []


def test_writable_without_congestion_sends_nothing(devnet: DevNet) -> None:
    wire = pair(devnet)
    assert wire.nodes[FRA].replicator.writable(DEU, NOW) == []


def test_a_session_owing_acks_is_closed_without_fault_after_the_stall_time(
    devnet: DevNet,
) -> None:
    config = ReplicationConfig(stall_ms=5_000)
    fra = make_node(devnet, FRA, config)
    wire = Wire({FRA: fra})
    wire.dispatch(FRA, fra.replicator.connect(USA, NOW))
    wire.dispatch(FRA, fra.replicator.receive(USA, _hello(USA, {FRA: 0}), NOW))
    wire.dispatch(FRA, fra.replicator.receive(USA, _want(FRA, 1), NOW))
    publish(wire, FRA, 2)
    wire.run()
    assert any(isinstance(f, Entries) for f in wire.inbox[USA])  # sent, never acked
    assert wire.dispatch(FRA, fra.replicator.tick(NOW + 4_999)) == [] or not wire.closes
    actions = fra.replicator.tick(NOW + 5_000)
    closes = [a for a in actions if isinstance(a, Close)]
    assert closes == [Close(USA, "stalled", fault=False)]
    assert USA not in fra.replicator.sessions


def test_an_acking_peer_is_never_stalled(devnet: DevNet) -> None:
    config = ReplicationConfig(stall_ms=5_000)
    fra = make_node(devnet, FRA, config)
    wire = Wire({FRA: fra})
    wire.dispatch(FRA, fra.replicator.connect(USA, NOW))
    wire.dispatch(FRA, fra.replicator.receive(USA, _hello(USA, {FRA: 0}), NOW))
    wire.dispatch(FRA, fra.replicator.receive(USA, _want(FRA, 1), NOW))
    for step in range(1, 6):
        wire.now = NOW + step * 4_000
        publish(wire, FRA, 1, start=step)
        frames = [f for f in wire.inbox.pop(USA, []) if isinstance(f, Entries)]
        n = sum(len(f.entries) for f in frames)
        wire.dispatch(FRA, fra.replicator.receive(USA, _ack(n), wire.now))
        assert not [a for a in fra.replicator.tick(wire.now) if isinstance(a, Close)]


def test_a_peer_asked_for_entries_it_announced_and_silent_is_stalled(devnet: DevNet) -> None:
    config = ReplicationConfig(stall_ms=5_000, lag_ms=60_000)
    deu = make_node(devnet, DEU, config)
    wire = Wire({DEU: deu})
    wire.dispatch(DEU, deu.replicator.connect(USA, NOW))
    wire.dispatch(DEU, deu.replicator.receive(USA, _hello(USA, {FRA: 9}), NOW))
    assert deu.replicator.sessions[USA].wanted_at == NOW
    assert not [a for a in deu.replicator.tick(NOW + 4_999) if isinstance(a, Close)]
    closes = [a for a in deu.replicator.tick(NOW + 5_000) if isinstance(a, Close)]
    assert closes == [Close(USA, "stalled", fault=False)]


def _hello(member: str, frontier: dict[str, int]) -> bytes:
    from noticenet.protocol.replication.frames import encode_frame

    return encode_frame(Hello(member, frontier, 4096))


def _want(author: str, seq: int) -> bytes:
    from noticenet.protocol.replication.frames import Want, encode_frame

    return encode_frame(Want({author: seq}))


def _ack(n: int) -> bytes:
    from noticenet.protocol.replication.frames import encode_frame

    return encode_frame(Ack(n))


# -- own feed ------------------------------------------------------------------


def test_a_node_publishes_only_once_a_peer_told_it_its_feed_head() -> None:
    own = OwnFeed(started_ms=0, wait_ms=10_000)
    status = own.status(local=5, expected=3, now_ms=60_000)
    assert not status.ready and "waiting to hear" in status.reason
    own.observe("DEU", 5, 5)
    assert not own.status(5, 3, 1_000).ready  # one of three, before the wait is over
    assert own.status(5, 3, 10_000).ready  # one of three, after it
    assert own.status(5, 3, 10_001).ready  # and stays ready


def test_hearing_from_every_peer_needs_no_wait() -> None:
    own = OwnFeed(started_ms=0, wait_ms=10_000)
    for peer in ("DEU", "USA"):
        own.observe(peer, 0, 0)
    assert own.status(0, 2, 1).ready


def test_a_restored_store_waits_until_it_holds_what_peers_hold() -> None:
    own = OwnFeed(started_ms=0, wait_ms=0)
    assert own.observe("DEU", 120, 80)  # the first sign of a restored store
    assert not own.observe("USA", 120, 80)  # said once
    status = own.status(local=80, expected=1, now_ms=1)
    assert not status.ready and status.restored
    assert "up to 120" in status.reason
    assert own.status(local=120, expected=1, now_ms=2).ready


def test_a_ready_node_stops_if_a_peer_holds_more_of_its_feed() -> None:
    """Another copy of this member has been publishing: do not add to the fork."""
    own = OwnFeed(started_ms=0, wait_ms=0, alone=True)
    assert own.status(7, 3, 0).ready
    own.observe("DEU", 9, 7)
    assert not own.status(7, 3, 1).ready


def test_alone_publishes_without_peers() -> None:
    assert OwnFeed(started_ms=0, alone=True).status(0, 4, 0).ready


# -- the outbox ------------------------------------------------------------------


async def test_the_outbox_reports_full_and_drained_and_never_drops() -> None:
    box = Outbox(high_frames=4, high_bytes=1_000, low_frames=1, low_bytes=100, budget_bytes=5_000)
    for i in range(6):
        box.put(bytes([i]) * 10)
    assert box.full and not box.drained and not box.over_budget
    got = [await box.get() for _ in range(5)]
    assert [g[0] for g in got] == [0, 1, 2, 3, 4]
    assert box.drained and not box.full
    box.put(b"x" * 6_000)
    assert box.over_budget
    box.close()
    assert (await box.get())[0] == 5
    assert len(await box.get()) == 6_000
    with pytest.raises(trio.EndOfChannel):
        await box.get()


def test_a_frame_handed_over_in_parts_is_acked_once(devnet: DevNet) -> None:
    """A node writes a big frame in parts (the API is served between them); the sender
    still gets one ack for the frame, covering every entry, after the last part."""
    fra = make_node(devnet, FRA)
    for i in range(10):
        fra.publisher.publish("sltd", document(f"P{i:08d}", "FRA"), NOW)
    wires = [e.to_wire() for e in fra.ledger.feed(FRA)]
    deu = make_node(devnet, DEU)
    wire = Wire({DEU: deu})
    wire.dispatch(DEU, deu.replicator.connect(USA, NOW))
    wire.dispatch(DEU, deu.replicator.receive(USA, _hello(USA, {FRA: len(wires)}), NOW))
    assert deu.replicator.admit(USA, len(wires)) == []
    acks = []
    for start in range(0, len(wires), 4):
        part = Entries(tuple(wires[start : start + 4]))
        last = start + 4 >= len(wires)
        actions = deu.replicator.receive_frame(USA, part, 0, NOW, admitted=True, final=last)
        frames = [decode_frame(a.data) for a in actions if isinstance(a, Send)]
        acks += [f for f in frames if isinstance(f, Ack)]
    assert acks == [Ack(len(wires))]
    assert heads(deu)[FRA] == len(wires)
    assert deu.replicator.sessions[USA].taken == 0  # the credit came back whole
