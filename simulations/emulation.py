"""Emulation check: one small scenario in the simulator and as real node processes.

The same members (real capitals and the CCF in Lyon), the same neighbours,
the same one-way latencies (`simulations/latency.py`) and the same records
published at the same times run twice:

- in the simulator (`SimNetwork`, virtual time, no processing time), and
- as real `NodeService` processes on 127.0.0.1 (`node/demo/cluster.py`), each
  link's latency injected in the sending node's transport
  (`[link_delay_ms]` in node.toml, a delay line in `node/p2p/transport.py`), the
  records published over the HTTP API.

Each delivery's latency is the time from the record being handed to
replication at its author to the entry being stored at another node. The
report compares the p50 and p99 of the two runs; they should agree within
20%. The real nodes also spend time verifying, decrypting and syncing every
entry at every hop, which the simulator does not model (10-16 ms a hop was
measured on 2 shared cores, docs/simulation.md), so the real run is slower
by that much per hop: links of tens of ms keep the network dominant.

Arrival times on the real nodes come from the `entry.arrived` log line each
node writes per entry it gains (`log_arrivals = true` in node.toml; wall-clock
ms, and all processes share the machine's clock).

    noticenet emulate --out emu-out/
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from noticenet.node import logs
from noticenet.node.demo.cluster import Cluster, poll
from noticenet.protocol.records.schema import to_json

from . import recordgen
from .stats import percentile, ratio, summary

if TYPE_CHECKING:  # the simulator's modules are imported when used: node processes skip them
    from .members import Member
    from .scenario import Scenario
    from .world import World

logger = logging.getLogger("noticenet.simulations.emulation")

# Capitals far apart (links of 24-107 ms one way) + the CCF in Lyon: 8 nodes.
DEFAULT_COUNTRIES = ("USA", "MEX", "BRA", "ZAF", "IND", "JPN", "AUS")
ARRIVAL_LINE = re.compile(
    r"event=entry\.arrived author=(\S+) seq=(\d+) at_ms=([\d.]+) took_ms=([\d.]+)"
)
NETWORK_SEED = b"noticenet-emulation"

Delivery = tuple[int, str]  # (workload item index, receiving node)


# -- the scenario -------------------------------------------------------------


@dataclass(frozen=True)
class EmulationSpec:
    """What both runs share: members, topology, workload, timers, and the tolerance."""

    countries: tuple[str, ...] = DEFAULT_COUNTRIES
    seed: int = 7
    degree: int = 3  # neighbours per node: paths of 1-3 hops among 8 nodes
    nearest: int = 2
    records: int = 40
    spacing_ms: int = 250  # between workload records
    warmup_spacing_ms: int = 100
    kinds: tuple[str, ...] = ("notice.red", "notice.yellow", "vehicle", "firearm")
    tick_ms: int = 250
    tolerance: float = 0.2  # |real / sim - 1| allowed for p50 and p99

    def scenario(self) -> Scenario:
        """The simulator's scenario: geo latencies, no loss, unlimited bandwidth, no churn."""
        from .scenario import load_scenario

        return load_scenario(
            {
                "name": "emulation",
                "seed": self.seed,
                "duration_h": 1.0,
                "members": {"countries": list(self.countries), "partners": [], "ccf": True},
                "topology": {"mode": "mix", "degree": self.degree, "nearest": self.nearest},
                "network": {
                    "bandwidth_mbps": 0.0,  # loopback: serialisation is negligible
                    "loss": 0.0,  # loopback loses nothing
                    "tick_ms": self.tick_ms,
                    "maintenance_s": 0.0,
                },
                "workload": {"rates_per_day": {}, "warmup": False},
                # the links alone: `run_simulated(processing_ms=...)` adds a measured hop time
                "processing": {"relay_us": 0.0, "open_us": 0.0, "frame_us": 0.0},
            }
        )


@dataclass(frozen=True)
class Item:
    """One record to publish, `offset_ms` after its phase starts."""

    offset_ms: int
    author: str
    kind: str
    record: Any


@dataclass(frozen=True)
class Plan:
    """The warm-up (one record per member, so feeds and eager trees exist) and the workload."""

    warmup: tuple[Item, ...]
    workload: tuple[Item, ...]

    @property
    def warmup_ms(self) -> int:
        return self.warmup[-1].offset_ms if self.warmup else 0

    @property
    def workload_ms(self) -> int:
        return self.workload[-1].offset_ms if self.workload else 0


def make_plan(spec: EmulationSpec, members: Mapping[str, Member]) -> Plan:
    """Seeded records: a warm-up notice per member country, then `spec.records` spaced records."""
    rng = random.Random(f"{spec.seed}/emulation")
    authors = sorted(m.id for m in members.values() if m.role == "member")
    warmup = tuple(
        Item(i * spec.warmup_spacing_ms, a, "notice.yellow", _record(rng, "notice.yellow", a))
        for i, a in enumerate(authors)
    )
    workload = []
    for i in range(spec.records):
        author, kind = rng.choice(authors), spec.kinds[i % len(spec.kinds)]
        workload.append(Item(i * spec.spacing_ms, author, kind, _record(rng, kind, author)))
    return Plan(warmup, tuple(workload))


def _record(rng: random.Random, kind: str, author: str) -> Any:
    return recordgen.record(rng, kind, author, author)  # member ids are their countries


def build_world(spec: EmulationSpec) -> World:
    """Members, latency table and links as the simulator makes them."""
    from .runner import build

    return build(spec.scenario())


def topology(world: World) -> dict[str, list[str]]:
    """Who dials whom: the smaller id of each link (one dialler per link, no cross-dials)."""
    out: dict[str, list[str]] = {m: [] for m in sorted(world.members)}
    for a, b in world.links:
        out[a].append(b)
    return out


def link_delays_ms(world: World) -> dict[str, dict[str, float]]:
    """member -> neighbour -> one-way ms, both directions of every link."""
    out: dict[str, dict[str, float]] = {m: {} for m in sorted(world.members)}
    for a, b in world.links:
        out[a][b] = round(world.one_way[(a, b)], 3)
        out[b][a] = round(world.one_way[(b, a)], 3)
    return out


# -- observations ---------------------------------------------------------------


@dataclass
class Observed:
    """Per-delivery latencies of one run, and deliveries that never happened."""

    latencies: dict[Delivery, float] = field(default_factory=dict)
    missing: list[Delivery] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        plan: Plan,
        keys: list[tuple[str, int]],
        arrivals: Mapping[str, Mapping[tuple[str, int], float]],
    ) -> Observed:
        """Latency of workload item i (feed position keys[i]) at every node but its author.

        `arrivals[node][(author, seq)]` is when `node` first held the entry,
        its author's own time being the publication.
        """
        out = cls()
        for i, (item, key) in enumerate(zip(plan.workload, keys, strict=True)):
            published = arrivals[item.author][key]
            for node in sorted(arrivals):
                if node == item.author:
                    continue
                at = arrivals[node].get(key)
                if at is None:
                    out.missing.append((i, node))
                else:
                    out.latencies[(i, node)] = round(at - published, 3)
        return out

    def values(self) -> list[float]:
        return sorted(self.latencies.values())


# -- the simulated run ------------------------------------------------------------


def run_simulated(world: World, plan: Plan, processing_ms: float = 0.0) -> Observed:
    """Connect, warm up, then publish the workload at its times; latencies in virtual ms.

    `processing_ms` > 0 adds that much to every frame's trip: a model of the
    time a real node takes to handle a frame before it can pass it on (the
    simulator itself models none). Use a fresh `world` for each run.
    """
    from .runner import CONNECT_MS

    net = world.net
    if processing_ms > 0:
        latency = net.latency
        net.latency = lambda a, b: latency(a, b) + processing_ms
    net.run(until_ms=net.now + CONNECT_MS)
    _schedule(world, plan.warmup, net.now)
    net.run(until_ms=net.now + plan.warmup_ms + CONNECT_MS)
    keys = _schedule(world, plan.workload, net.now)
    net.run()  # until idle: everything delivered
    arrivals: dict[str, dict[tuple[str, int], float]] = {}
    for name, node in world.net.nodes.items():
        first: dict[tuple[str, int], float] = {}
        for t, author, seq in node.arrivals:
            first.setdefault((author, seq), float(t))
        arrivals[name] = first
    return Observed.of(plan, keys, arrivals)


def _schedule(world: World, items: tuple[Item, ...], start: int) -> list[tuple[str, int]]:
    """Publish each item at start + its offset; returns the feed positions, filled as they run."""
    net = world.net
    keys = [("", 0)] * len(items)

    def publisher(i: int, item: Item) -> Callable[[], None]:
        def publish() -> None:
            entry = net.publish(item.author, item.kind, item.record)
            keys[i] = (item.author, entry.header.seq)

        return publish

    for i, item in enumerate(items):
        net.at(start + item.offset_ms, publisher(i, item))
    return keys


# -- the real run -------------------------------------------------------------------


@dataclass(frozen=True)
class RealRun:
    """The real processes' latencies and how long the phases took (wall seconds)."""

    observed: Observed
    ingest_ms: list[float]  # per delivery: handling the frame that brought it (receive())
    startup_s: float
    warmup_s: float
    workload_s: float


def run_real(
    world: World,
    plan: Plan,
    root: Path,
    startup_s: float = 120.0,
    converge_s: float = 60.0,
) -> RealRun:
    """Start one node process per member under `root`, publish the plan over HTTP, measure.

    The nodes dial the simulated topology's links and delay what they write
    by the links' one-way latencies; every process is stopped on the way out.
    """
    rows = tuple((m.id, m.role, m.name, m.scopes) for m in world.members.values())
    cluster = Cluster.create(
        root,
        rows,  # type: ignore[arg-type]
        NETWORK_SEED,
        topology=topology(world),
        link_delay_ms=link_delays_ms(world),
        log_arrivals=True,
    )
    with cluster:
        took_startup = cluster.start(startup_s)
        logs.event(logger, "emulation.started", nodes=len(rows), seconds=round(took_startup, 1))
        began = time.monotonic()
        wait_converged(cluster, publish_paced(cluster, plan.warmup), converge_s)
        took_warmup = time.monotonic() - began
        began = time.monotonic()
        keys = publish_paced(cluster, plan.workload)
        wait_converged(cluster, keys, converge_s)
        took_workload = time.monotonic() - began
    logged = {m: read_arrivals(node.log) for m, node in cluster.nodes.items()}
    arrivals = {m: {k: at for k, (at, _) in rows.items()} for m, rows in logged.items()}
    ingest = [logged[m][key][1] for key in keys for m in logged if m != key[0] and key in logged[m]]
    observed = Observed.of(plan, keys, arrivals)
    return RealRun(observed, sorted(ingest), took_startup, took_warmup, took_workload)


def publish_paced(cluster: Cluster, items: tuple[Item, ...]) -> list[tuple[str, int]]:
    """POST each item to its author's node at its offset; returns the feed positions.

    Sleeping until an item's time keeps the workload's timetable (as the
    simulator does); it waits for no condition.
    """
    keys = []
    start = time.monotonic()
    for item in items:
        time.sleep(max(0.0, start + item.offset_ms / 1000 - time.monotonic()))
        response = (
            cluster[item.author]
            .client("issuer")
            .post(f"/records/{item.kind}", json={"record": to_json(item.record)})
        )
        if response.status_code != 201:
            raise RuntimeError(f"{item.author} refused a {item.kind}: {response.text[:300]}")
        keys.append((item.author, int(response.json()["seq"])))
    return keys


def wait_converged(cluster: Cluster, keys: list[tuple[str, int]], timeout: float) -> None:
    """Poll every node's /frontier until each holds every entry in `keys` (bounded)."""
    target: dict[str, int] = {}
    for author, seq in keys:
        target[author] = max(seq, target.get(author, 0))

    def holds_all() -> bool:
        for node in cluster.nodes.values():
            node.check_alive()
            frontier = node.client("admin").get("/frontier").json()
            if any(frontier.get(a, {}).get("seq", 0) < s for a, s in target.items()):
                return False
        return True

    poll("every node to hold every record", holds_all, timeout)


def read_arrivals(log: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """(author, seq) -> (wall ms, ms handling its frame) of its first `entry.arrived` in a log."""
    first: dict[tuple[str, int], tuple[float, float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = ARRIVAL_LINE.search(line)
        if match:
            key = (match.group(1), int(match.group(2)))
            first.setdefault(key, (float(match.group(3)), float(match.group(4))))
    return first


# -- comparison and report -------------------------------------------------------------


def compare(sim: Observed, real: Observed, tolerance: float) -> dict[str, Any]:
    """p50/p99 of both runs, their ratios (real / sim), and the per-delivery excess of real."""
    s, r = summary(sim.values()), summary(real.values())
    paired = sorted(
        real.latencies[k] - sim.latencies[k] for k in real.latencies if k in sim.latencies
    )
    ratios = {p: ratio(float(r[p]), float(s[p])) for p in ("p50", "p99")}
    return {
        "sim_ms": s,
        "real_ms": r,
        "ratio_p50": ratios["p50"],
        "ratio_p99": ratios["p99"],
        "tolerance": tolerance,
        "within": bool(s["n"]) and all(abs(v - 1) <= tolerance for v in ratios.values()),
        "excess_ms": {  # real minus sim, delivery by delivery
            "p50": round(percentile(paired, 50), 1),
            "p99": round(percentile(paired, 99), 1),
            "mean": round(sum(paired) / len(paired), 1) if paired else 0.0,
        },
        "missing": {"sim": len(sim.missing), "real": len(real.missing)},
    }


def emulate(spec: EmulationSpec, root: Path, out_dir: Path | None = None) -> dict[str, Any]:
    """Run `spec` in the simulator and as real processes under `root`; the comparison report."""
    began = time.monotonic()
    world = build_world(spec)
    plan = make_plan(spec, world.members)
    sim = run_simulated(world, plan)
    sim_s = time.monotonic() - began
    real = run_real(world, plan, root)
    ingest_p50 = percentile(real.ingest_ms, 50)
    calibrated = run_simulated(build_world(spec), plan, processing_ms=ingest_p50)
    report: dict[str, Any] = {
        "spec": asdict(spec),
        "members": sorted(world.members),
        "links_ms": [[a, b, round(world.one_way[(a, b)], 1)] for a, b in world.links],
        "deliveries": len(sim.latencies) + len(sim.missing),
        "comparison": compare(sim, real.observed, spec.tolerance),
        "real_ingest_ms": summary(real.ingest_ms),
        "with_ingest": {  # the simulator with the real nodes' median frame handling per hop
            "processing_ms": round(ingest_p50, 1),
            **compare(calibrated, real.observed, spec.tolerance),
        },
        "wall_s": {
            "simulator": round(sim_s, 1),
            "real_startup": round(real.startup_s, 1),
            "real_warmup": round(real.warmup_s, 1),
            "real_workload": round(real.workload_s, 1),
        },
    }
    c = report["comparison"]
    logs.event(
        logger,
        "emulation.compared",
        sim_p50=c["sim_ms"]["p50"],
        real_p50=c["real_ms"]["p50"],
        sim_p99=c["sim_ms"]["p99"],
        real_p99=c["real_ms"]["p99"],
        within=c["within"],
    )
    if out_dir is not None:
        write_report(report, out_dir)
    return report


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """emulation.json (everything) and emulation.md (the comparison table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    c, w = report["comparison"], report["with_ingest"]
    s, r, k = c["sim_ms"], c["real_ms"], w["sim_ms"]
    p = w["processing_ms"]

    def row(q: str) -> str:
        real = float(r[q])
        return (
            f"| {q} | {s[q]} | {k[q]} | {r[q]} | {ratio(real, float(s[q]))} "
            f"| {ratio(real, float(k[q]))} |"
        )

    lines = [
        "# Emulation check: simulator vs real nodes",
        "",
        f"Members: {', '.join(report['members'])}; {len(report['links_ms'])} links; "
        f"{report['deliveries']} deliveries.",
        "",
        f"| latency (ms) | simulator | simulator + {p} ms a hop | real nodes | real / sim "
        "| real / (sim + ingest) |",
        "|---|---|---|---|---|---|",
        *(row(q) for q in ("p50", "p95", "p99", "max")),
        "",
        f"Within {c['tolerance']:.0%} at p50 and p99: **{'yes' if c['within'] else 'no'}** "
        f"(with the ingest time: {'yes' if w['within'] else 'no'}). Real minus simulated, "
        f"delivery by delivery: p50 {c['excess_ms']['p50']} ms, p99 {c['excess_ms']['p99']} ms: "
        "processing, which the simulator does not model. The real nodes took "
        f"{report['real_ingest_ms']['p50']} ms (p50) to handle a frame of entries "
        f"(verify, decrypt, index, synced write); the middle column adds that to every hop. "
        f"Missing deliveries: simulator {c['missing']['sim']}, real {c['missing']['real']}.",
        "",
        "| link | one-way ms |",
        "|---|---|",
        *(f"| {a}–{b} | {ms} |" for a, b, ms in report["links_ms"]),
        "",
    ]
    paths = [out_dir / "emulation.json", out_dir / "emulation.md"]
    paths[0].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    paths[1].write_text("\n".join(lines))
    return paths
