"""Replication over the simulated network: same protocol code, virtual time, seeded."""

from __future__ import annotations

import pytest

from noticenet.protocol.ccf.bootstrap import threshold_entry
from noticenet.protocol.devnet import make_devnet
from noticenet.protocol.records.governance import CCF_FEED, THRESHOLD_FEEDS, CCFAction
from noticenet.protocol.replication.frames import Dont, Entries, decode_frame
from noticenet.protocol.replication.replicator import ReplicationConfig, Session
from noticenet.simulations.simnet import MSS, NetConfig, SimNetwork

from .samples import document, notice, person, vehicle

MEMBERS = [f"M{i:02d}" for i in range(20)]


@pytest.fixture(scope="module")
def devnet20():  # type: ignore[no-untyped-def]
    members = [(m, "member", f"Member {m}", ()) for m in MEMBERS]
    members.append(("CCF", "ccf", "CCF", ()))
    return make_devnet(b"sim-20", members=members)


def make_net(devnet20, seed: int = 7, latency: float = 20.0, **kw) -> SimNetwork:  # type: ignore[no-untyped-def]
    net = SimNetwork(
        devnet20, MEMBERS + ["CCF"], seed=seed, latency=latency, config=NetConfig(**kw)
    )
    net.random_graph(degree=4)
    net.run()
    return net


def diamond(devnet20, one_way: dict[frozenset[str], float], seed: int, **kw) -> SimNetwork:  # type: ignore[no-untyped-def]
    """M00 publishes; M03 hears of it through M01 or M02, over the given one-way latencies."""
    net = SimNetwork(
        devnet20,
        ["M00", "M01", "M02", "M03"],
        seed=seed,
        latency=lambda a, b: one_way[frozenset((a, b))],
        config=NetConfig(**kw),
    )
    for pair in one_way:
        net.link(*sorted(pair))
    net.run()
    return net


def arrival_delay(net: SimNetwork, at: str = "M03") -> int:
    """Publish a vehicle at M00, run until idle: ms until `at` held it."""
    began = net.now
    entry = net.publish("M00", "vehicle", vehicle())
    net.run()
    (t,) = [t for t, a, s in net.nodes[at].arrivals if (a, s) == ("M00", entry.header.seq)]
    return t - began


def test_every_entry_reaches_every_node_about_once(devnet20) -> None:  # type: ignore[no-untyped-def]
    net = make_net(devnet20)
    base = net.transmissions()
    published = 0
    for i, author in enumerate(MEMBERS):
        for j in range(3):
            net.publish(author, "sltd", document(f"D{i:02d}{j:04d}", "FRA"))
            published += 1
        net.run()
    # each member also published one key-epoch entry before its first record
    entries = published + len(MEMBERS)
    frontiers = net.frontiers()
    assert all(f == frontiers["M00"] for f in frontiers.values())
    deliveries = entries * (len(net.nodes) - 1)
    per_delivery = (net.transmissions() - base) / deliveries
    print(f"transmissions per delivered entry: {per_delivery:.3f}")
    assert per_delivery < 1.5
    digests = net.digests()
    assert len(set(digests.values())) == 1


def test_same_seed_same_run(devnet20) -> None:  # type: ignore[no-untyped-def]
    def run(seed: int) -> list[tuple[int, str, int]]:
        net = make_net(devnet20, seed=seed, loss=0.05)
        net.publish("M03", "vehicle", vehicle())
        net.run()
        return sorted(
            (t, n, s) for n, node in net.nodes.items() for t, a, s in node.arrivals if a == "M03"
        )

    assert run(11) == run(11)


def test_partition_then_heal_converges(devnet20) -> None:  # type: ignore[no-untyped-def]
    net = make_net(devnet20)
    left = set(MEMBERS[:10])
    right = set(MEMBERS[10:]) | {"CCF"}
    net.partition(left, right)
    net.publish("M01", "notice.red", notice(person("Durand", "Paul", "1980-02-03")))
    net.publish("M15", "sltd", document("P1234567", "DEU"))
    net.run(until_ms=net.now + 60_000)
    assert net.frontiers()["M02"].get("M15") is None
    net.heal()
    net.run()
    frontiers = net.frontiers()
    assert all(f == frontiers["M00"] for f in frontiers.values())
    assert len(set(net.digests().values())) == 1


def test_offline_node_catches_up_governance_first(devnet20) -> None:  # type: ignore[no-untyped-def]
    net = make_net(devnet20)
    net.set_online("M07", False)
    target = net.publish("M02", "notice.red", notice())
    for i in range(30):
        net.publish(MEMBERS[i % 6], "vehicle", vehicle())
    action = CCFAction("revoke", (target.id,), "article-3", "CCF/2026/17")
    revoke = threshold_entry(CCF_FEED, None, net.now, "revoke", action, devnet20.revoke.sign)
    net.inject("CCF", [revoke])
    net.run(until_ms=net.now + 120_000)  # two virtual minutes offline
    node = net.nodes["M07"]
    cutoff = len(node.arrivals)
    net.set_online("M07", True)
    net.run()
    arrived = node.arrivals[cutoff:]
    kinds = ["gov" if a in THRESHOLD_FEEDS else "member" for _, a, _ in arrived]
    assert "gov" in kinds and kinds.index("member") > max(
        i for i, k in enumerate(kinds) if k == "gov"
    )
    assert node.ledger.tombstone(target.id)["reason"] == "revoked"
    assert node.ledger.frontier() == net.nodes["M00"].ledger.frontier()


def test_withholding_source_is_replaced(devnet20) -> None:  # type: ignore[no-untyped-def]
    """A neighbour that announces entries but never sends them costs only a lag timeout."""
    net = make_net(devnet20, replication=ReplicationConfig(lag_ms=1_000))
    net.withholding.add("M05")
    for _ in range(5):
        net.publish("M05", "vehicle", vehicle())  # M05 announces its own feed, sends nothing
        net.publish("M04", "vehicle", vehicle())
    net.run(until_ms=net.now + 30_000)
    honest = {n: f for n, f in net.frontiers().items() if n != "M05"}
    assert all(f.get("M04") == honest["M04"]["M04"] for f in honest.values())
    switches = [e for _, _, e in net.events if e.name == "source.switch"]
    assert switches


def test_relay_sends_to_the_nearest_neighbour_first(devnet20) -> None:  # type: ignore[no-untyped-def]
    """Acks measure each link's round trip; a bulk push leaves for the nearest end first."""
    one_way = {"M01": 5.0, "M02": 80.0, "M03": 40.0}  # from the hub M00

    def latency(a: str, b: str) -> float:
        return one_way[b if a == "M00" else a]

    net = SimNetwork(
        devnet20,
        ["M00", *one_way],
        seed=3,
        latency=latency,
        config=NetConfig(bandwidth_bps=2_000_000),  # a 30-entry frame takes ~60 ms to send
    )
    for spoke in one_way:
        net.link("M00", spoke)
    net.run()
    net.publish("M00", "vehicle", vehicle())  # a first push: every spoke acks, giving its RTT
    net.run()
    sessions = net.nodes["M00"].replicator.sessions
    rtts = {peer: s.rtt_ms for peer, s in sessions.items()}
    for peer, rtt in rtts.items():
        assert rtt is not None and 2 * one_way[peer] <= rtt < 2 * one_way[peer] + 20, rtts
    start = net.now
    net.publish_many("M00", [("sltd", document(f"B{i:07d}", "FRA"), ()) for i in range(30)])
    net.run()
    last_seq = net.nodes["M00"].replicator.heads()["M00"]
    left = {}  # when each spoke's copy left the hub: arrival minus propagation
    for spoke in one_way:
        (t,) = [t for t, a, s in net.nodes[spoke].arrivals if (a, s) == ("M00", last_seq)]
        left[spoke] = t - one_way[spoke]
    assert start < left["M01"] < left["M03"] < left["M02"], left


def test_round_trip_estimate_keeps_the_shortest_sample() -> None:
    session = Session("M01")
    session.acked(100)  # an Ack with nothing in flight is no sample
    assert session.rtt_ms is None
    session.in_flight.extend([0, 10, 20])
    for now in (50, 25, 90):  # samples 50, 15, 70
        session.acked(now)
    assert session.rtt_ms == 15 and not session.in_flight


def test_a_source_picked_on_reconnection_yields_to_the_first_announcer(devnet20) -> None:  # type: ignore[no-untyped-def]
    """After a reconnection the first hello serves every feed; fresh news re-routes it.

    M00 publishes. M03 reaches it through M01 in 10 ms, or through M02 in
    101 ms; M02's hello arrives first when M03 comes back.
    """
    one_way = {
        frozenset(("M00", "M01")): 5.0,
        frozenset(("M00", "M02")): 100.0,
        frozenset(("M01", "M03")): 5.0,
        frozenset(("M02", "M03")): 1.0,
    }
    net = diamond(devnet20, one_way, seed=5)
    x = net.nodes["M03"]
    arrival_delay(net)  # subscriptions follow the first announcements: M03 takes M00 from M01
    assert arrival_delay(net) == 10
    net.set_online("M03", False)
    net.publish("M00", "vehicle", vehicle())
    net.run()
    net.set_online("M03", True)
    net.run()
    assert x.replicator.source["M00"] == "M02"  # its hello came first: provisional
    assert "M00" not in x.replicator.settled
    assert arrival_delay(net) <= 20  # M01 announced it first: M03 moved and asked M01
    assert x.replicator.source["M00"] == "M01" and "M00" in x.replicator.settled
    assert arrival_delay(net) == 10
    assert net.frontiers()["M03"] == net.frontiers()["M00"]


def test_tcp_loss_model_charges_segments_and_repairs_in_round_trips(devnet20) -> None:  # type: ignore[no-untyped-def]
    net = make_net(devnet20, seed=2, loss=0.01, loss_model="tcp")
    rtt = 100.0
    big = [net._repair_ms(20 * MSS, rtt) for _ in range(20_000)]  # 20 segments
    small = [net._repair_ms(300, rtt) for _ in range(20_000)]  # 1 segment
    assert set(big) == {0.0, 1.25 * rtt, 2.0 * rtt} and set(small) == {0.0, 2.0 * rtt}
    late = [d for d in big if d]
    assert abs(len(late) / len(big) - (1 - 0.99**20)) < 0.01  # about 18%
    tail = late.count(2.0 * rtt) / len(late)  # the last segment lost first: ~4.5%
    assert 0.02 < tail < 0.08
    assert abs(small.count(2.0 * rtt) / len(small) - 0.01) < 0.003
    frame = make_net(devnet20, seed=2, loss=0.01, retransmit_ms=200.0, loss_model="frame")
    assert {frame._repair_ms(20 * MSS, rtt) for _ in range(2_000)} == {0.0, 200.0}


def test_fresh_entries_go_down_the_trees_in_small_frames_catch_up_in_big_ones(devnet20) -> None:  # type: ignore[no-untyped-def]
    """Small pushes let relays forward a bulk import's first documents at once."""
    config = NetConfig(replication=ReplicationConfig(push_bytes=4096))
    net = SimNetwork(devnet20, ["M00", "M01", "M02"], seed=4, latency=10.0, config=config)
    net.link("M00", "M01")
    net.link("M00", "M02")
    net.run()
    net.publish("M00", "vehicle", vehicle())  # subscriptions to M00's feed exist from here
    net.run()
    sent: list[tuple[str, int, int]] = []  # (peer, entries, frame bytes)

    def record(peer: str, data: bytes) -> bytes:
        frame = decode_frame(data)
        if isinstance(frame, Entries):
            sent.append((peer, len(frame.entries), len(data)))
        return data

    net.filters["M00"] = record
    bulk = [("sltd", document(f"S{i:07d}", "FRA"), ()) for i in range(30)]
    net.publish_many("M00", bulk)
    net.run()
    assert [p for p, _, _ in sent][:4] == ["M01", "M02", "M01", "M02"]  # in turns
    for peer in ("M01", "M02"):
        frames = [(n, size) for p, n, size in sent if p == peer]
        assert sum(n for n, _ in frames) == 30 and len(frames) >= 4
        assert all(size <= 4096 + 64 for _, size in frames)  # entries plus the frame's head
    sent.clear()
    net.set_online("M02", False)
    net.publish_many("M00", [("sltd", document(f"T{i:07d}", "FRA"), ()) for i in range(30)])
    net.run()
    sent.clear()
    net.set_online("M02", True)  # catch-up: M02 asks, M00 answers in one big frame
    net.run()
    assert [(p, n) for p, n, _ in sent] == [("M02", 30)] and sent[0][2] > 4096
    assert net.frontiers()["M02"] == net.frontiers()["M00"]


def test_an_entry_the_source_does_not_bring_is_taken_from_its_announcer(devnet20) -> None:  # type: ignore[no-untyped-def]
    """`fetch_ms` after a neighbour announces an entry our source has not sent, we move."""
    one_way = {
        frozenset(("M00", "M01")): 5.0,
        frozenset(("M00", "M02")): 100.0,
        frozenset(("M01", "M03")): 5.0,
        frozenset(("M02", "M03")): 1.0,
    }
    replication = ReplicationConfig(fetch_ms=100, lag_ms=60_000)
    net = diamond(devnet20, one_way, seed=6, replication=replication)
    x = net.nodes["M03"]
    for _ in range(2):
        net.publish("M00", "vehicle", vehicle())
        net.run()
    assert x.replicator.source["M00"] == "M01"  # the 10 ms path
    net.withholding.add("M01")  # from now on M01 sends M03 nothing but announcements
    began = net.now
    entry = net.publish("M00", "vehicle", vehicle())
    net.run()
    def arrival(node: str) -> int:
        arrived = net.nodes[node].arrivals
        (t,) = [t for t, a, s in arrived if (a, s) == ("M00", entry.header.seq)]
        return t

    # M02 announces it as soon as it has it; 100 ms later M03 asks M02, 1 ms each way
    assert arrival("M03") == arrival("M02") + 1 + 100 + 2 < began + 1_000
    assert x.replicator.source["M00"] == "M02"
    moves = [e for t, n, e in net.events if n == "M03" and e.name == "source.switch"]
    assert moves[-1].fields == {"feed": "M00", "to": "M02", "overdue": entry.header.seq}


def test_a_new_subscription_keeps_its_feed_while_its_source_answers(devnet20) -> None:  # type: ignore[no-untyped-def]
    """The missing-entry timer does not run down a source's first round trip.

    M00 publishes; M03 hears of it through M01 (75 + 50 ms) or M02
    (60 + 120 ms). No one subscribes before the feed's first entry, so it
    crosses each hop as announce, want, entries. M01 announces it to M03
    at 275 ms and its entries arrive at 375; M02's announcement comes at
    300. A timer counted from M02's announcement (50 ms) would move the feed
    to M02, and the next entry would come the slow way, at 180 ms. M03 knows
    the 100 ms round trip to M01 from M03's own first entry, which M01 took
    from it and acked.
    """
    one_way = {
        frozenset(("M00", "M01")): 75.0,
        frozenset(("M01", "M03")): 50.0,
        frozenset(("M00", "M02")): 60.0,
        frozenset(("M02", "M03")): 120.0,
    }
    net = diamond(devnet20, one_way, seed=8, replication=ReplicationConfig(fetch_ms=50))
    x = net.nodes["M03"]
    net.publish("M03", "vehicle", vehicle())
    net.run()
    assert x.replicator.sessions["M01"].rtt_ms == 100
    assert arrival_delay(net) == 375
    assert x.replicator.source["M00"] == "M01"
    assert arrival_delay(net) == 125
    assert arrival_delay(net) == 125
    assert not [e for t, n, e in net.events if n == "M03" and e.name == "source.switch"]


def test_a_moved_feed_keeps_its_old_source_until_the_new_one_delivers(devnet20) -> None:  # type: ignore[no-untyped-def]
    """Make before break: `dont` goes to the old source once the new one has delivered.

    M03 takes M00's feed from M01 (10 + 10 ms; via M02 it is 10 + 30). For
    one entry the link M01 -> M03 stalls (300 ms, as a lost segment would):
    M02's announcement at 40 ms makes the entry overdue at 90, the feed moves
    to M02, whose entries come a round trip later, at 150. Until then M01
    stays subscribed: its pushes, perhaps already on their way, still count.
    """
    one_way = {
        ("M00", "M01"): 10.0,
        ("M01", "M03"): 10.0,
        ("M00", "M02"): 10.0,
        ("M02", "M03"): 30.0,
    }
    one_way.update({(b, a): ms for (a, b), ms in one_way.items()})
    net = SimNetwork(
        devnet20, ["M00", "M01", "M02", "M03"], seed=8,
        latency=lambda a, b: one_way[(a, b)],
        config=NetConfig(replication=ReplicationConfig(fetch_ms=50)),
    )
    for a, b in [("M00", "M01"), ("M01", "M03"), ("M00", "M02"), ("M02", "M03")]:
        net.link(a, b)
    net.run()
    x = net.nodes["M03"]
    assert arrival_delay(net) == 60  # a feed's first entry: announce, want, entries per hop
    assert arrival_delay(net) == 20 and x.replicator.source["M00"] == "M01"
    sent: list[tuple[int, str, str, object]] = []
    send = net.send_raw
    net.send_raw = lambda s, p, d: (sent.append((net.now, s, p, decode_frame(d))), send(s, p, d))  # type: ignore[method-assign]
    one_way[("M01", "M03")] = 300.0
    began = net.now
    assert arrival_delay(net) == 150  # from M02, a round trip after the move at 90
    one_way[("M01", "M03")] = 10.0
    moved = [t - began for t, n, e in net.events if n == "M03" and e.name == "source.switch"]
    assert moved == [90] and x.replicator.source["M00"] == "M02"
    donts = [(t - began, p) for t, s, p, f in sent if s == "M03" and isinstance(f, Dont)]
    assert donts == [(150, "M01")]  # not at 90, when the feed moved
