"""The simulator's processing time (simulations/cpu.py): hand-computed, in virtual time.

Real ledgers and replicators over the simulated network, with one-way links of
10 ms and no loss or bandwidth limit, so every arrival is a sum of link
latencies and CPU costs that the tests compute by hand.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.simulations.cpu import DESIGNS, CpuConfig
from noticenet.simulations.runner import run_scenario
from noticenet.simulations.scenario import ScenarioError, load_scenario, with_overrides
from noticenet.simulations.simnet import NetConfig, SimNetwork
from noticenet.simulations.sweep import run_sweep

from .samples import document
from .test_sim_line import LINE

NAMES = ["N0", "N1", "N2", "N3", "N4"]
LINK_MS = 10
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def devnet() -> DevNet:
    return make_devnet(b"sim-cpu", members=[(m, "member", f"Member {m}", ()) for m in NAMES])


def network(devnet: DevNet, links: list[tuple[str, str]], cpu: CpuConfig) -> SimNetwork:
    """Nodes joined by `links`, connected, and every feed warmed up (subscriptions exist)."""
    names = sorted({m for link in links for m in link})
    net = SimNetwork(devnet, names, seed=3, latency=float(LINK_MS), config=NetConfig(cpu=cpu))
    for a, b in links:
        net.link(a, b)
    net.run()
    for name in names:
        publish(net, name, 1)
    net.run()
    return net


def publish(net: SimNetwork, member: str, count: int) -> list[tuple[str, int]]:
    """`count` SLTD documents in one bulk import at `member`; their feed positions."""
    items = [("sltd", document(f"X{next(_numbers):07d}C"), ()) for _ in range(count)]
    before = net.nodes[member].replicator.heads().get(member, 0)
    net.publish_many(member, items)  # type: ignore[arg-type]
    head = net.nodes[member].replicator.heads()[member]
    return [(member, s) for s in range(before + 1, head + 1)]


def times(rows: list[tuple[int, str, int]], keys: list[tuple[str, int]]) -> list[int]:
    first: dict[tuple[str, int], int] = {}
    for t, author, seq in rows:
        first.setdefault((author, seq), t)
    return [first[k] for k in keys]


def test_a_queue_of_entries_takes_their_cost_one_after_another(devnet: DevNet) -> None:
    """30 entries (several push frames) on one core, 2 ms each: stored in frame order at
    arrival + 2 ms x (entries up to the end of their frame)."""
    cpu = CpuConfig("open-then-relay", cores=1, relay_us=1500, open_us=500)
    net = network(devnet, [("N0", "N1")], cpu)
    t0 = net.now
    keys = publish(net, "N0", 30)
    net.run()
    stored = times(net.nodes["N1"].arrivals, keys)
    frames = sorted(set(stored))
    assert len(frames) > 1  # the import went out as several frames, queued behind each other
    for t in frames:
        assert t == t0 + LINK_MS + 2 * sum(1 for s in stored if s <= t)
    assert stored[-1] == t0 + LINK_MS + 2 * 30
    assert times(net.nodes["N1"].findable, keys) == stored  # opened before it was stored


@pytest.mark.parametrize("cores", [1, 2])
def test_two_cores_take_two_neighbours_frames_in_parallel(devnet: DevNet, cores: int) -> None:
    """N1 gets 20 entries from each side at once: one core takes 40 x 2 ms, two take 20 x 2."""
    cpu = CpuConfig("open-then-relay", cores=cores, relay_us=2000, open_us=0)
    net = network(devnet, [("N0", "N1"), ("N1", "N2")], cpu)
    n1 = net.nodes["N1"].cpu
    assert n1 is not None
    t0, warm_up = net.now, n1.busy_ms
    keys = publish(net, "N0", 20) + publish(net, "N2", 20)
    net.run()
    stored = times(net.nodes["N1"].arrivals, keys)
    per_core = 40 // cores
    assert max(stored) == t0 + LINK_MS + 2 * per_core
    assert n1.busy_ms - warm_up == pytest.approx(2 * 40)


def test_relaying_before_opening_forwards_earlier_by_the_open_time_a_hop(
    devnet: DevNet,
) -> None:
    """One entry down a line of 4 hops: each hop costs 10 ms of link, 2 ms frame, 1 ms relay,
    and 4 ms to open, which relay-then-open takes off the path and does behind."""
    line = list(zip(NAMES, NAMES[1:], strict=False))
    costs = {"cores": 1, "relay_us": 1000, "open_us": 4000, "frame_us": 2000}
    seen: dict[str, tuple[list[int], list[int]]] = {}
    for design in ("open-then-relay", "relay-then-open"):
        net = network(devnet, line, CpuConfig(design, **costs))  # type: ignore[arg-type]
        t0 = net.now
        keys = publish(net, "N0", 1)
        net.run()
        stored = [times(net.nodes[n].arrivals, keys)[0] - t0 for n in NAMES[1:]]
        findable = [times(net.nodes[n].findable, keys)[0] - t0 for n in NAMES[1:]]
        seen[design] = (stored, findable)
    hops = range(1, 5)
    assert seen["open-then-relay"] == ([17 * k for k in hops], [17 * k for k in hops])
    assert seen["relay-then-open"] == ([13 * k for k in hops], [13 * k + 4 for k in hops])
    # at the last hop: stored 16 ms (4 hops x 4 ms) and findable 12 ms earlier
    assert seen["open-then-relay"][0][-1] - seen["relay-then-open"][0][-1] == 16


def test_open_jobs_wait_behind_relay_jobs(devnet: DevNet) -> None:
    """One core: N1 opens N0's import only after relaying N2's, which arrived meanwhile."""
    cpu = CpuConfig("relay-then-open", cores=1, relay_us=1000, open_us=3000)
    net = network(devnet, [("N0", "N1"), ("N1", "N2")], cpu)
    t0 = net.now
    first = publish(net, "N0", 5)
    net.run(until_ms=t0 + LINK_MS + 1)  # N0's frame is in N1's processor (5 ms of relay)
    second = publish(net, "N2", 5)  # arrives at t0 + 21, while N1 opens N0's import
    net.run()
    n1 = net.nodes["N1"]
    assert times(n1.arrivals, first) == [t0 + LINK_MS + 5] * 5
    # N0's open job (15 ms) started at t0 + 15 and ran to its end at t0 + 30; N2's relay
    # job queued behind it (no preemption), then ran 5 ms
    assert times(n1.findable, first) == [t0 + 30] * 5
    assert times(n1.arrivals, second) == [t0 + 35] * 5
    assert times(n1.findable, second) == [t0 + 50] * 5


def test_a_scenario_reports_both_designs_and_zero_costs_change_nothing() -> None:
    base = load_scenario(LINE)
    zero = {"processing.relay_us": 0.0, "processing.open_us": 0.0, "processing.frame_us": 0.0}
    plain = run_scenario(with_overrides(base, zero), plots=False).metrics
    assert "processing" not in plain
    assert plain["latency_ms"]["max"] == 40.0  # the links alone (test_sim_line)
    runs = {
        d: run_scenario(
            with_overrides(base, {"processing.design": d, "processing.open_us": 5000.0}),
            plots=False,
        ).metrics
        for d in ("open-then-relay", "relay-then-open")
    }
    first, behind = runs["open-then-relay"]["processing"], runs["relay-then-open"]["processing"]
    assert first["design"] == "open-then-relay" and behind["design"] == "relay-then-open"
    assert first["stored_ms"]["n"] == behind["stored_ms"]["n"] == plain["latency_ms"]["n"]
    # single records, one or two hops: opening takes 5 ms a hop off the path, once at the end
    assert first["open_lag_ms"]["max"] == 0 and behind["open_lag_ms"]["p50"] == 5
    assert first["stored_ms"]["max"] - behind["stored_ms"]["max"] == 10
    assert first["findable_ms"]["max"] - behind["findable_ms"]["max"] == 5
    assert behind["stored_ms"]["p50"] > plain["latency_ms"]["p50"]
    assert first["cpu"]["busy_ms"]["max"] > 0 and behind["cpu"]["busy_ms"]["max"] > 0


def test_bad_processing_settings_are_refused() -> None:
    base = load_scenario(LINE)
    for key, value in (
        ("processing.design", "open-later"),
        ("processing.cores", 0),
        ("processing.open_us", -1.0),
    ):
        with pytest.raises(ScenarioError):
            with_overrides(base, {key: value})
    with pytest.raises(ValueError):
        CpuConfig("open-later")


def test_a_sweep_over_the_design_puts_both_side_by_side(tmp_path: Path) -> None:
    base = with_overrides(load_scenario(LINE), {"duration_h": 0.5, "processing.open_us": 5000.0})
    rows = run_sweep(base, {"processing.design": list(DESIGNS)}, tmp_path, 2)
    assert [r["processing.design"] for r in rows] == list(DESIGNS)
    first, behind = rows
    assert behind["latency_p50_ms"] < first["latency_p50_ms"]
    table = (tmp_path / "sweep.md").read_text()
    assert "## Relay before opening, beside open then relay" in table
    stored = f"| stored p50 | {first['latency_p50_ms']:.4g} | {behind['latency_p50_ms']:.4g} |"
    assert stored in table
    assert (
        f"| findable max | {first['findable_max_ms']:.4g} | {behind['findable_max_ms']:.4g} |"
        in (table)
    )


def test_the_report_has_the_processing_figures(tmp_path: Path) -> None:
    base = with_overrides(load_scenario(LINE), {"duration_h": 0.5})
    m = run_scenario(base, out_dir=tmp_path, plots=False).metrics
    p = m["processing"]
    report = (tmp_path / "report.md").read_text()
    assert "## Processing time" in report and "Design `relay-then-open`" in report
    s, f = p["stored_ms"], p["findable_ms"]
    assert (
        f"| stored | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['max']:.0f} |" in report
    )
    assert f"| findable | {f['p50']:.0f} | {f['p95']:.0f} | {f['p99']:.0f} |" in report
    assert f["p50"] >= s["p50"] > 0
