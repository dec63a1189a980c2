"""The emulation check: the transport's delay line, link delays in node.toml, and
one small scenario run both in the simulator and as real node processes.

The delay-line tests run on trio's MockClock (autojump): virtual time, no
real sleeps. The real-process test starts 6 node processes on 127.0.0.1;
its waits poll HTTP under deadlines (`node/demo/cluster.py`).
"""

from __future__ import annotations

import heapq
from pathlib import Path

import pytest
import trio
import trio.testing

from noticenet.node.config import ConfigError, load_config
from noticenet.node.demo.localnet import create_localnet
from noticenet.node.p2p.framing import HEADER
from noticenet.node.p2p.transport import (
    DelayedFramedStream,
    FrameTooLarge,
    Transport,
    TransportError,
)
from noticenet.simulations.emulation import (
    EmulationSpec,
    Observed,
    build_world,
    compare,
    link_delays_ms,
    make_plan,
    run_real,
    run_simulated,
    topology,
)

DELAY = 0.040


class RecordingStream:
    """A ByteStream that records (virtual time, payload) of every frame written."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.written: list[tuple[float, bytes]] = []
        self.closed = False
        self.reset_called = False
        self.fail_after = fail_after

    async def read(self, n: int) -> bytes:
        return b""

    async def write(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.written) >= self.fail_after:
            raise TransportError("link down")
        self.written.append((trio.current_time(), data[HEADER.size :]))

    async def close(self) -> None:
        self.closed = True

    async def reset(self) -> None:
        self.reset_called = True


def run_virtual(test: object) -> None:
    """Run an async test function in virtual time (jumps whenever every task waits)."""
    trio.run(test, clock=trio.testing.MockClock(autojump_threshold=0))  # type: ignore[arg-type]


# -- the delay line -------------------------------------------------------------------


def test_delay_line_keeps_order_and_delays_each_frame_by_its_own_delay() -> None:
    raw = RecordingStream()
    sent: list[tuple[float, bytes]] = []

    async def main() -> None:
        stream = DelayedFramedStream(raw, peer_id="peer", delay=DELAY)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.pump)
            # A burst, then frames spaced closer than the delay, then a gap.
            for gap in (0, 0, 0, 0.005, 0.010, 0.001, 0.100, 0):
                await trio.sleep(gap)
                payload = f"frame-{len(sent)}".encode()
                sent.append((trio.current_time(), payload))
                await stream.send(payload)
            await stream.close()

    run_virtual(main)
    assert [p for _, p in raw.written] == [p for _, p in sent]  # order kept, nothing lost
    for (t_sent, _), (t_written, _) in zip(sent, raw.written, strict=True):
        assert t_written >= t_sent + DELAY  # never early
        assert t_written == pytest.approx(t_sent + DELAY, abs=1e-9)  # delays do not pile up
    assert raw.closed


def test_delay_line_holds_up_no_other_link() -> None:
    slow, fast = RecordingStream(), RecordingStream()

    async def main() -> None:
        far = DelayedFramedStream(slow, peer_id="far", delay=0.5)
        near = DelayedFramedStream(fast, peer_id="near", delay=0.01)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(far.pump)
            nursery.start_soon(near.pump)
            await far.send(b"to the far peer")
            await near.send(b"to the near peer")
            await far.close()
            await near.close()

    run_virtual(main)
    assert fast.written[0][0] == pytest.approx(0.01)
    assert slow.written[0][0] == pytest.approx(0.5)


def test_delay_line_refuses_oversized_frames_and_fails_after_a_broken_write() -> None:
    raw = RecordingStream(fail_after=1)

    async def main() -> None:
        stream = DelayedFramedStream(raw, peer_id="peer", delay=DELAY, max_frame=16)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.pump)
            with pytest.raises(FrameTooLarge):
                await stream.send(b"x" * 17)
            await stream.send(b"one")
            await stream.send(b"two")  # its write fails in the pump
            await trio.sleep(2 * DELAY)
            with pytest.raises(TransportError):
                await stream.send(b"three")
            await stream.close()

    run_virtual(main)
    assert [p for _, p in raw.written] == [b"one"]
    assert raw.reset_called  # a broken send side resets on close


def test_abort_drops_frames_in_flight() -> None:
    raw = RecordingStream()

    async def main() -> None:
        stream = DelayedFramedStream(raw, peer_id="peer", delay=DELAY)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.pump)
            await stream.send(b"never leaves")
            await stream.abort()

    run_virtual(main)
    assert raw.written == [] and raw.reset_called


def test_close_does_not_wait_for_a_pump_that_was_cancelled() -> None:
    raw = RecordingStream()
    closed_at: list[float] = []

    async def main() -> None:
        stream = DelayedFramedStream(raw, peer_id="peer", delay=DELAY)
        async with trio.open_nursery() as nursery:
            pumps = trio.CancelScope()

            async def pump() -> None:
                with pumps:
                    await stream.pump()

            nursery.start_soon(pump)
            await stream.send(b"in flight")
            pumps.cancel()  # e.g. the transport shutting down first
            await stream.close()
            closed_at.append(trio.current_time())

    run_virtual(main)
    assert closed_at == [0.0] and raw.written == [] and raw.closed


def test_link_delays_are_validated() -> None:
    with pytest.raises(ValueError):
        DelayedFramedStream(RecordingStream(), peer_id="p", delay=-1.0)
    with pytest.raises(ValueError):
        Transport(b"\x01" * 32, link_delays={"p": float("nan")})
    transport = Transport(b"\x01" * 32, link_delays={"p": 0.25})
    assert transport.link_delays == {"p": 0.25}


# -- configuration ----------------------------------------------------------------------


def test_localnet_writes_topology_and_link_delays_into_node_toml(tmp_path: Path) -> None:
    rows = (("AAA", "member", "A", ()), ("BBB", "member", "B", ()), ("CCF", "ccf", "C", ()))
    net = create_localnet(
        tmp_path,
        members=rows,  # type: ignore[arg-type]
        topology={"AAA": ["BBB", "CCF"]},
        link_delay_ms={"AAA": {"BBB": 40.5, "CCF": 12.0}, "BBB": {"AAA": 40.5}},
    )
    a = load_config(net.members["AAA"].config)
    b = load_config(net.members["BBB"].config)
    assert a.neighbours == ("BBB", "CCF") and b.neighbours == ()
    assert a.link_delay_ms == {"BBB": 40.5, "CCF": 12.0} and "link_delay_ms" not in a.extra
    peers = {m.peer_id: m.id for m in net.members.values()}
    bbb, ccf = net.members["BBB"].peer_id, net.members["CCF"].peer_id
    assert a.link_delays(peers) == {bbb: 0.0405, ccf: 0.012}
    assert load_config(net.members["CCF"].config).link_delay_ms == {}


@pytest.mark.parametrize("table", ["DEU = -1.0", 'DEU = "40"', "DEU = nan", "DEU = true"])
def test_bad_link_delays_are_config_errors(tmp_path: Path, table: str) -> None:
    net = create_localnet(tmp_path, members=(("AAA", "member", "A", ()),))  # type: ignore[arg-type]
    config = net.members["AAA"].config
    config.write_text(config.read_text() + f"\n[link_delay_ms]\n{table}\n")
    with pytest.raises(ConfigError):
        load_config(config)


# -- simulator against real nodes ---------------------------------------------------------

SPEC = EmulationSpec(countries=("USA", "BRA", "JPN", "ZAF", "AUS"), degree=3, nearest=1, records=30)


def shortest_paths(links: dict[str, dict[str, float]], source: str) -> dict[str, float]:
    """One-way latency of the fastest path over the delayed links (Dijkstra)."""
    best = {source: 0.0}
    queue = [(0.0, source)]
    while queue:
        d, node = heapq.heappop(queue)
        if d > best[node]:
            continue
        for nxt, ms in links[node].items():
            if d + ms < best.get(nxt, float("inf")):
                best[nxt] = d + ms
                heapq.heappush(queue, (d + ms, nxt))
    return best


def no_faster_than_the_links(observed: Observed, authors: list[str], links: dict) -> bool:
    """Every delivery took at least the fastest path's latency (1 ms for clocks and rounding)."""
    paths = {a: shortest_paths(links, a) for a in set(authors)}
    return all(ms >= paths[authors[i]][n] - 1.0 for (i, n), ms in observed.latencies.items())


def test_simulator_and_real_nodes_agree(tmp_path: Path) -> None:
    """Same members, links, latencies and records: compare per-delivery latencies.

    Bounds. Nothing may arrive sooner than the fastest path over the links
    allows (1 ms for clocks and the simulator's whole-ms steps): the delay
    line works end to end. The real p50 must lie within 0.95-1.7x the
    simulator's and the p99 at 0.95x or more (no upper bound: one of 150
    deliveries stalled by a loaded machine's scheduler moves it, 1.57x was
    seen in a full `make test`; speed is the benches' to judge). The simulator models no
    processing; each real hop adds verify, decrypt, index and a synced
    LevelDB write (4-8 ms per frame measured here, ~4 ms of it the sync),
    plus Python libp2p (Noise, yamux) and waiting for a core (6 node
    processes on 2 shared cores): 10-16 ms per hop, over 1.4 hops of ~75 ms
    on average in this topology: 1.16-1.23x was measured. The margin
    above that is for a loaded machine. A lost delay line (ratio ~0.1) or a
    doubled one (~2) still fails.
    """
    world = build_world(SPEC)
    plan = make_plan(SPEC, world.members)
    links = link_delays_ms(world)
    assert sum(len(v) for v in topology(world).values()) == len(world.links)
    sim = run_simulated(world, plan)
    real = run_real(world, plan, tmp_path / "net", startup_s=90.0, converge_s=60.0)

    deliveries = len(plan.workload) * (len(world.members) - 1)
    assert len(sim.latencies) == len(real.observed.latencies) == deliveries
    assert not sim.missing and not real.observed.missing
    authors = [item.author for item in plan.workload]
    assert no_faster_than_the_links(sim, authors, links)
    assert no_faster_than_the_links(real.observed, authors, links)
    result = compare(sim, real.observed, SPEC.tolerance)
    print(result)  # shown with -s
    assert 0.95 <= result["ratio_p50"] <= 1.7, result
    assert result["ratio_p99"] >= 0.95, result
