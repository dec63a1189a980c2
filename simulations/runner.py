"""Running a scenario: build the network, warm it up, play the timetable, measure.

from noticenet.simulations import run_scenario
result = run_scenario("simulations/scenarios/interpol-195.toml", out_dir="out/")
print(result.metrics["delivery"]["ratio"])
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from noticenet.protocol.devnet import make_devnet
from noticenet.protocol.replication.replicator import ReplicationConfig

from . import adversaries, ccf, faults, metrics, monitor, workload
from .cpu import CpuConfig
from .geo import place
from .latency import lookup, one_way_table
from .members import Member, roster
from .result import RunResult
from .scenario import Scenario, load_scenario
from .simnet import NetConfig, SimNetwork
from .topology import build_links
from .world import World

CONNECT_MS = 30_000  # let every link say hello before anything is published
WARMUP_MS = 10 * 60_000
Progress = Callable[[float], None]


def run_scenario(
    scenario: Scenario | str | Path | dict[str, Any],
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    plots: bool = True,
) -> RunResult:
    """Run `scenario` (a Scenario, a TOML path or text, or a table) and measure it.

    With `out_dir`, writes metrics.json and .csv, nodes.csv, the plots and report.md.
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    world = build(scenario)
    play(world, progress)
    monitor.final_check(world)
    values, series = metrics.compute(world)
    result = RunResult(scenario, values, series, world, time.perf_counter() - started, [])
    if out_dir is not None:
        from .outputs import write_all

        result.files = write_all(result, Path(out_dir), plots=plots)
    return result


def select_members(scenario: Scenario) -> list[Member]:
    spec = scenario.members
    countries = list(spec.countries)
    if spec.count > 0:
        by_size = sorted(countries, key=lambda c: (-place(c).population, c))
        countries = sorted(by_size[: spec.count])
    return roster(countries, spec.partners, spec.ccf)


def build(scenario: Scenario) -> World:
    """The members, their keys, the latency table, the network and its links."""
    members = select_members(scenario)
    rows = [(m.id, m.role, m.name, m.scopes) for m in members]
    devnet = make_devnet(f"sim/{scenario.name}/{scenario.seed}".encode(), members=rows)  # type: ignore[arg-type]
    places = {m.id: place(m.country, m.city) for m in members}
    table = one_way_table(scenario.latency, places)
    net_spec = scenario.network
    config = NetConfig(
        loss=net_spec.loss,
        retransmit_ms=net_spec.retransmit_ms,
        loss_model=net_spec.loss_model,
        bandwidth_bps=net_spec.bandwidth_mbps * 1e6 if net_spec.bandwidth_mbps else None,
        tick_ms=net_spec.tick_ms,
        replication=ReplicationConfig(
            lag_ms=net_spec.lag_ms,
            fetch_ms=net_spec.fetch_ms,
            batch_bytes=net_spec.frame_kb * 1024,
            push_bytes=net_spec.push_kb * 1024,
        ),
        cpu=CpuConfig(**dataclasses.asdict(scenario.processing)),
    )
    names = [m.id for m in members]
    net = SimNetwork(devnet, names, seed=scenario.seed, latency=lookup(table), config=config)
    for member, mbps in sorted(net_spec.bandwidth_overrides.items()):
        net.nodes[member].bandwidth_bps = mbps * 1e6
    links = build_links(names, scenario.topology, lookup(table), net.rng)
    world = World(scenario, devnet, net, {m.id: m for m in members}, table, links)
    adversaries.register(world)
    for a, b in links:
        net.link(a, b)
    return world


def play(world: World, progress: Progress | None = None) -> None:
    """Connect, warm up, then run the timetable and the settling time."""
    net = world.net
    net.run(until_ms=net.now + CONNECT_MS)
    if world.scenario.workload.warmup:
        workload.warm_up(world, WARMUP_MS)
        net.run(until_ms=net.now + WARMUP_MS)
        if any(e.type in ("block", "revoke") for e in world.scenario.events):
            ccf.warm_up(world, net.now)
        net.run(until_ms=net.now + 2 * CONNECT_MS + 60_000)
    world.t0 = net.now
    monitor.install(world)
    workload.schedule(world)
    faults.schedule(world)
    ccf.schedule(world)
    adversaries.schedule(world)
    _maintenance(world)
    settle = int(world.scenario.settle_min * 60_000)
    stop = world.end + settle
    step = max(60_000, (stop - world.t0) // 200)
    while net.now < stop:
        net.run(until_ms=min(stop, net.now + step))
        if progress is not None:
            progress((net.now - world.t0) / (stop - world.t0))


def _maintenance(world: World) -> None:
    """Every node publishes its purge receipts every `maintenance_s` (if set)."""
    every = int(world.scenario.network.maintenance_s * 1000)
    if every <= 0:
        return

    def tick() -> None:
        if world.ccf:
            world.net.maintenance()
        world.net.at(world.net.now + every, tick)

    world.net.at(world.t0 + every, tick)
