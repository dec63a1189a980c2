"""Metrics of a finished run, from sizes, times and counts only (definitions in
docs/simulation.md).

Entry ids, keys and signatures differ between runs (nonces, ephemeral keys),
so nothing here depends on them: the same scenario and seed give the same
metrics byte for byte.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from noticenet.protocol.records.governance import THRESHOLD_FEEDS

from .members import CCF
from .stats import percentile, ratio, summary
from .world import HOUR_MS, World

Key = tuple[str, int]


@dataclass
class Series:
    """Raw series behind the plots (not written to the metrics file)."""

    latencies: list[int] = field(default_factory=list)
    bounds: list[float] = field(default_factory=list)
    traffic: list[tuple[str, int, int]] = field(default_factory=list)  # node, out, in
    purges: list[tuple[str, float, list[int]]] = field(default_factory=list)  # action, h, delays
    convergence: list[tuple[float, list[int], int]] = field(default_factory=list)  # h, delays, n


@dataclass
class Facts:
    """Indexes over the run, built once."""

    world: World
    arrivals: dict[str, dict[Key, int]]
    origin: dict[Key, int]
    online_end: list[str]
    receivers: list[str]  # honest nodes online at the end

    @classmethod
    def of(cls, world: World) -> Facts:
        arrivals = {}
        for name, node in world.net.nodes.items():
            first: dict[Key, int] = {}
            for t, author, seq in node.arrivals:
                first.setdefault((author, seq), t)
            arrivals[name] = first
        origin = {(a, s): t for t, a, s in world.net.published.values()}
        online = sorted(n for n, node in world.net.nodes.items() if node.online)
        receivers = [n for n in online if world.honest(n)]
        return cls(world, arrivals, origin, online, receivers)

    def source(self, author: str) -> str:
        """The node where a feed's entries enter the network."""
        return CCF if author in THRESHOLD_FEEDS else author

    def down(self, member: str, t0: int, t1: int) -> bool:
        """Was `member` offline at some time in [t0, t1]?"""
        return any(
            s <= t1 and (e is None or e >= t0) for s, e in self.world.outages.get(member, [])
        )

    def split(self, a: str, b: str, t0: int, t1: int) -> bool:
        """Did a partition separate a and b at some time in [t0, t1]?"""
        return any(
            w.start <= t1 and (w.end is None or w.end >= t0) and ((a in w.side) != (b in w.side))
            for w in self.world.partitions
        )

    def affected(self, a: str, b: str, t0: int, t1: int) -> bool:
        return self.down(a, t0, t1) or self.down(b, t0, t1) or self.split(a, b, t0, t1)


def compute(world: World) -> tuple[dict[str, Any], Series]:
    facts = Facts.of(world)
    series = Series()
    metrics: dict[str, Any] = {
        "scenario": _scenario(world),
        "workload": _workload(world),
        "delivery": _delivery(facts),
        "latency_ms": _latency(facts, series),
        "transmissions": _transmissions(world),
        "traffic": _traffic(world, series),
        "ccf": _ccf(facts, series),
        "resurrections": len(world.resurrections),
        "reentry": _reentry(world),
        "adversaries": _adversaries(world),
        "partitions": _partitions(facts, series),
        "state": _state(facts),
        "refusals": _refusals(world),
        "notes": dict(sorted(world.notes.items())),
    }
    if world.net.cpu is not None:  # no key at all without processing time: metrics as before
        metrics["processing"] = _processing(facts)
    return metrics, series


def _scenario(world: World) -> dict[str, Any]:
    s = world.scenario
    roles = Counter(m.role for m in world.members.values())
    degrees = Counter(x for pair in world.links for x in pair)
    return {
        "name": s.name,
        "seed": s.seed,
        "duration_h": s.duration_h,
        "nodes": len(world.members),
        "roles": dict(sorted(roles.items())),
        "links": len(world.links),
        "degree": summary([degrees[n] for n in sorted(world.members)], 2),
        "topology": _topology(s),
        "latency_model": s.latency.model,
        "churn_fraction": s.churn.fraction,
        "adversaries": dict(sorted(world.adversaries.items())),
    }


def _topology(s: Any) -> str:
    t = s.topology
    if t.links:
        return "explicit links"
    if t.mode == "mix":
        return f"mix of {min(t.nearest, t.degree)} nearest + random, k={t.degree}"
    return f"{t.mode}, k={t.degree}"


def _workload(world: World) -> dict[str, Any]:
    kinds = Counter(p.kind for p in world.publications)
    entries = sum(
        max(node.replicator.heads().get(node.name, 0), 0) for node in world.net.nodes.values()
    )
    return {
        "records": len(world.publications),
        "by_kind": dict(sorted(kinds.items())),
        "warmup_records": len(world.warmup),
        "member_entries_total": entries,
        "ccf_actions": len(world.ccf),
    }


def _delivery(f: Facts) -> dict[str, Any]:
    """Entries of honest feeds held by honest nodes online at the end, over all they should hold.

    They should hold what the feeds' authors hold, except entries still only
    at an author offline at the end (no protocol can deliver those before it
    returns): these are counted apart, as `stranded`.
    """
    world = f.world
    helds = {r: world.net.nodes[r].replicator.heads() for r in f.receivers}
    heads: dict[str, int] = {}
    stranded = 0
    for name, node in world.net.nodes.items():
        own = node.replicator.heads()
        if world.honest(name) and name in own:
            heads[name] = own[name]
            if not node.online:
                reached = max((held.get(name, 0) for held in helds.values()), default=0)
                stranded += max(0, own[name] - reached)
                heads[name] = min(own[name], reached)
    if CCF in world.net.nodes:
        ccf = world.net.nodes[CCF].replicator.heads()
        heads.update({a: s for a, s in ccf.items() if a in THRESHOLD_FEEDS})
    expected = delivered = 0
    short: list[str] = []
    for r, held in helds.items():
        missing = 0
        for author, seq in heads.items():
            if author == r:
                continue
            expected += seq
            delivered += min(seq, held.get(author, 0))
            missing += max(0, seq - held.get(author, 0))
        if missing:
            short.append(r)
    offline = sorted(n for n, node in world.net.nodes.items() if not node.online)
    return {
        "ratio": ratio(delivered, expected, 6),
        "expected": expected,
        "delivered": delivered,
        "nodes_online_at_end": len(f.receivers),
        "nodes_offline_at_end": len(offline),
        "nodes_missing_entries": short,
        "stranded": stranded,
    }


def _latency(f: Facts, series: Series) -> dict[str, Any]:
    """Publish-to-delivery of workload records, against the direct one-way latency."""
    world = f.world
    clean: list[int] = []
    bounds: list[float] = []
    stretch: list[float] = []
    hops: list[int] = []
    every: list[int] = []
    batch = Counter((p.author, p.t) for p in world.publications)
    classes: dict[str, tuple[list[int], list[float]]] = {"single": ([], []), "bulk": ([], [])}
    for pub in world.publications:
        if not world.honest(pub.author):
            continue
        cls = classes["bulk" if batch[(pub.author, pub.t)] > 1 else "single"]
        for r in sorted(world.net.nodes):
            if r == pub.author or not world.honest(r):
                continue
            t = f.arrivals[r].get((pub.author, pub.seq))
            if t is None:
                continue
            delay = t - pub.t
            every.append(delay)
            if f.affected(pub.author, r, pub.t, t):
                continue
            bound = world.one_way[(pub.author, r)]
            clean.append(delay)
            bounds.append(bound)
            stretch.append(delay / bound)
            hops.append(_hops(world, pub.author, pub.seq, r))
            cls[0].append(delay)
            cls[1].append(bound)
    series.latencies, series.bounds = clean, bounds
    out: dict[str, Any] = dict(summary(clean))
    lower = summary(bounds)
    ordered = sorted(stretch)
    out.update(
        {
            "bound_p50": lower["p50"],
            "bound_p99": lower["p99"],
            "p50_over_bound_p50": ratio(float(out["p50"]), float(lower["p50"])),
            "p99_over_bound_p99": ratio(float(out["p99"]), float(lower["p99"])),
            "stretch_p50": round(percentile(ordered, 50), 4),
            "stretch_p99": round(percentile(ordered, 99), 4),
            "hops": summary(hops),
            "fault_affected": len(every) - len(clean),
            "all_deliveries": summary(every),
            "by_publication": {name: _versus(*pair) for name, pair in classes.items()},
        }
    )
    return out


def _processing(f: Facts) -> dict[str, Any]:
    """Publish to stored and to findable, per delivery as `latency_ms` counts them, and the CPU.

    Stored is when a node held the entry (it acknowledges and forwards then);
    findable when it had also opened it. `open_lag_ms` is the difference.
    """
    world = f.world
    cpu = world.net.cpu
    assert cpu is not None
    stored: list[int] = []
    findable: list[int] = []
    lag: list[int] = []
    opened = {name: _first(node.findable) for name, node in world.net.nodes.items()}
    for pub in world.publications:
        if not world.honest(pub.author):
            continue
        for r in sorted(world.net.nodes):
            if r == pub.author or not world.honest(r):
                continue
            t = f.arrivals[r].get((pub.author, pub.seq))
            seen = opened[r].get((pub.author, pub.seq))
            if t is None or seen is None or f.affected(pub.author, r, pub.t, seen):
                continue
            stored.append(t - pub.t)
            findable.append(seen - pub.t)
            lag.append(seen - t)
    return {
        "design": cpu.design,
        "cores": cpu.cores,
        "relay_us": cpu.relay_us,
        "open_us": cpu.open_us,
        "frame_us": cpu.frame_us,
        "stored_ms": summary(stored),
        "findable_ms": summary(findable),
        "open_lag_ms": summary(lag),
        "cpu": _cpu(world),
    }


def _first(rows: list[tuple[int, str, int]]) -> dict[Key, int]:
    first: dict[Key, int] = {}
    for t, author, seq in rows:
        first.setdefault((author, seq), t)
    return first


def _cpu(world: World) -> dict[str, Any]:
    """Processor time each node spent over the run (all cores), and how long frames queued."""
    busy: list[float] = []
    waits: list[float] = []
    for _, node in sorted(world.net.nodes.items()):
        if node.cpu is not None:
            busy.append(node.cpu.busy_ms)
            waits.extend(node.cpu.waits)
    return {"busy_ms": summary(busy, 1), "frame_wait_ms": summary(waits, 2)}


def _hops(world: World, author: str, seq: int, receiver: str) -> int:
    """How many links an entry crossed to reach `receiver`, following who sent it to whom."""
    nodes = world.net.nodes
    count, at = 0, receiver
    while at != author and count < len(nodes):
        at = nodes[at].via.get((author, seq), author)
        count += 1
    return count


def _versus(delays: list[int], bounds: list[float]) -> dict[str, Any]:
    """Latency summary with its p99 over the p99 of the lower bounds."""
    out: dict[str, Any] = dict(summary(delays))
    out["p99_over_bound_p99"] = ratio(float(out["p99"]), percentile(sorted(bounds), 99))
    return out


def _transmissions(world: World) -> dict[str, Any]:
    sent = world.net.transmissions()
    deliveries = sum(node.received for node in world.net.nodes.values())
    duplicates = sum(n.replicator.counters.duplicates for n in world.net.nodes.values())
    return {
        "entries_sent": sent,
        "deliveries": deliveries,
        "per_delivery": ratio(sent, deliveries),
        "duplicates_received": duplicates,
        "frames_delivered": world.net.frames_delivered,
    }


def _traffic(world: World, series: Series) -> dict[str, Any]:
    rows = [(n, node.bytes_out, node.bytes_in) for n, node in sorted(world.net.nodes.items())]
    series.traffic = rows
    hours = world.scenario.duration_h + world.scenario.settle_min / 60
    return {
        "bytes_sent_total": sum(r[1] for r in rows),
        "bytes_sent_per_node": summary([r[1] for r in rows], 0),
        "bytes_received_per_node": summary([r[2] for r in rows], 0),
        "mean_kbit_s_per_node": round(sum(r[1] for r in rows) * 8 / len(rows) / hours / 3.6e6, 3),
    }


def _ccf(f: Facts, series: Series) -> dict[str, Any]:
    """Time from a CCF action entering the network to each honest node enforcing it."""
    world = f.world
    out: dict[str, Any] = {}
    for action in ("revoke", "block"):
        acts = [a for a in world.ccf if a.action == action]
        if not acts:
            continue
        delays, bounds, stretch, per_action, unreached = [], [], [], [], 0
        for act in acts:
            got = []
            for r in sorted(world.net.nodes):
                if r == CCF or not world.honest(r):
                    continue
                t = f.arrivals[r].get((act.feed, act.seq))
                if t is None:
                    unreached += 1
                    continue
                got.append(t - act.t)
                if not f.affected(CCF, r, act.t, t):
                    bound = world.one_way[(CCF, r)]
                    delays.append(t - act.t)
                    bounds.append(bound)
                    stretch.append((t - act.t) / bound)
            per_action.append(max(got) if got else 0)
            series.purges.append((action, round((act.t - world.t0) / HOUR_MS, 3), sorted(got)))
        summ = summary(delays)
        ordered = sorted(stretch)
        out[action] = {
            "actions": len(acts),
            "enforce_ms": summ,
            "p50_over_bound_p50": ratio(float(summ["p50"]), percentile(sorted(bounds), 50)),
            "p99_over_bound_p99": ratio(float(summ["p99"]), percentile(sorted(bounds), 99)),
            "stretch_p99": round(percentile(ordered, 99), 4),
            "global_ms_per_action": per_action,
            "global_ms": summary(per_action),
            "node_actions_not_reached": unreached,
        }
    return out


def _reentry(world: World) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    for member, kind in world.adversaries.items():
        if kind == "reentry":
            stats.update(world.adversary_stats.get(member, Counter()))
    bodied = visible = refused_at = held_at = 0
    honest = [n for n in sorted(world.net.nodes) if world.honest(n)]
    for eid, _ in world.reentries:
        bodies = [n for n in honest if _has_body(world, n, eid)]
        bodied += bool(bodies)
        visible += any(not world.net.nodes[n].ledger.hidden(eid) for n in bodies)
        refused_at += sum(1 for n in honest if _tombstone(world, n, eid) == "reentry-blocked")
        held_at += sum(1 for n in bodies if world.net.nodes[n].ledger.is_held(eid))
    attempts = stats["attempts"]
    return {
        "attempts": attempts,
        "refused_by_own_node": stats["refused by its own node"],
        "held_by_own_node": stats["held by its own node"],
        "entries_pushed": len(world.reentries),
        "entries_with_a_body_anywhere": bodied,
        "entries_visible_anywhere": visible,
        "refused": len(world.reentries) - bodied,  # entries no honest node kept a body of
        "held": bodied - visible,  # kept, but hidden for the CCF on every node holding it
        "caught": len(world.reentries) - visible,  # refused or held: what must be all
        "node_refusals": refused_at,
        "node_holds": held_at,
    }


def _has_body(world: World, node: str, eid: bytes) -> bool:
    from noticenet.protocol.store.keyspace import key

    return world.net.nodes[node].ledger.store.get(key(b"b", eid)) is not None


def _tombstone(world: World, node: str, eid: bytes) -> str:
    stone = world.net.nodes[node].ledger.tombstone(eid)
    return "" if stone is None else str(stone.get("reason", ""))


def _adversaries(world: World) -> dict[str, Any]:
    """What each adversary did, and what the honest nodes refused or noticed because of it."""
    honest = [n for n in sorted(world.net.nodes) if world.honest(n)]
    out: dict[str, Any] = {}
    for member, kind in sorted(world.adversaries.items()):
        did = dict(sorted(world.adversary_stats.get(member, Counter()).items()))
        seen: dict[str, int] = {}
        if kind == "forger":
            seen["BadSignature refusals"] = _refused(world, honest, "BadSignature")
            seen["sessions closed"] = _closed_with(world, member)
        elif kind == "equivocator":
            seen["nodes with evidence"] = sum(
                1
                for n in honest
                if any(a == member for a, _, _ in world.net.nodes[n].ledger.equivocations())
            )
            seen["nodes that froze the feed"] = sum(
                1 for n in honest if world.net.nodes[n].ledger.frozen_from(member) is not None
            )
        elif kind in ("withhold-ccf", "silent"):
            seen["source switches at its neighbours"] = _switches_near(world, member)
        elif kind == "flooder":
            seen["duplicates discarded"] = sum(
                world.net.nodes[n].replicator.counters.duplicates
                for n in world.net.neighbours(member)
            )
            seen["sessions closed"] = _closed_with(world, member)
        elif kind == "reentry":
            seen["bodies refused (node x entry)"] = sum(
                1
                for eid, _ in world.reentries
                for n in honest
                if _tombstone(world, n, eid) == "reentry-blocked"
            )
            seen["bodies held (node x entry)"] = sum(
                1 for eid, _ in world.reentries for n in honest
                if world.net.nodes[n].ledger.is_held(eid)
            )
        out[member] = {"type": kind, "did": did, "refused_or_noticed": seen}
    return out


def _refused(world: World, names: list[str], reason: str) -> int:
    return sum(world.net.nodes[n].ledger.stats.refusals.get(reason, 0) for n in names)


def _closed_with(world: World, member: str) -> int:
    return sum(
        1
        for _, who, e in world.net.events
        if e.name == "closed" and member in (who, e.fields.get("peer"))
    )


def _switches_near(world: World, member: str) -> int:
    near = set(world.net.neighbours(member))
    start = min(world.at_h(a.at_h) for a in world.scenario.adversaries if a.member == member)
    return sum(
        1
        for t, who, e in world.net.events
        if e.name == "source.switch" and who in near and t >= start
    )


def _partitions(f: Facts, series: Series) -> list[dict[str, Any]]:
    """After a partition heals: how long until every entry from the other side has arrived."""
    world = f.world
    out = []
    for w in world.partitions:
        if w.end is None:
            continue
        delays: list[int] = []
        per_node: list[int] = []
        pending = interrupted = 0
        for r in sorted(world.net.nodes):
            if not world.honest(r) or f.down(r, w.end, w.end):
                continue
            mine = _backlog(f, r, w.side, w.end)
            if not mine:
                continue
            pending += len(mine)
            times = [f.arrivals[r].get(k) for k in mine]
            got = [t - w.end for t in times if t is not None]
            delays += got
            if len(got) < len(times):
                interrupted += 1
            else:
                per_node.append(max(got))
        series.convergence.append(
            (round((w.start - world.t0) / HOUR_MS, 3), sorted(delays), pending)
        )
        out.append(
            {
                "start_h": round((w.start - world.t0) / HOUR_MS, 3),
                "duration_h": round((w.end - w.start) / HOUR_MS, 3),
                "side_nodes": len(w.side),
                "backlog_deliveries": pending,
                "converge_ms": max(per_node) if per_node else 0,
                "converge_per_node_ms": summary(per_node),
                "delivery_after_heal_ms": summary(delays),
                "nodes_interrupted": interrupted,
            }
        )
    return out


def _backlog(f: Facts, r: str, side: frozenset[str], heal: int) -> list[Key]:
    """Entries from across the partition that existed at heal time and r did not hold."""
    world = f.world
    keys = []
    for key, t in f.origin.items():
        author = key[0]
        src = f.source(author)
        if t >= heal or not world.honest(src) or (src in side) == (r in side) or src == r:
            continue
        got = f.arrivals[r].get(key)
        if got is None or got > heal:
            keys.append(key)
    return sorted(keys)


def _state(f: Facts) -> dict[str, Any]:
    world = f.world
    digests: dict[bytes, list[str]] = {}
    for n in f.receivers:
        digests.setdefault(world.net.nodes[n].ledger.state_digest(), []).append(n)
    groups = sorted((sorted(g) for g in digests.values()), key=lambda g: (-len(g), g))
    return {
        "digests_equal": len(groups) == 1,
        "distinct_digests": len(groups),
        "nodes_compared": len(f.receivers),
        "minority_groups": groups[1:][:10],
    }


def _refusals(world: World) -> dict[str, Any]:
    ledger: Counter[str] = Counter()
    replication: Counter[str] = Counter()
    for name, node in world.net.nodes.items():
        if not world.honest(name):
            continue
        ledger.update(node.ledger.stats.refusals)
        replication.update(node.replicator.counters.refused)
    return {
        "ledger": dict(sorted(ledger.items())),
        "replication": dict(sorted(replication.items())),
    }
