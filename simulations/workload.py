"""The workload: records published by members at Poisson times, and bulk SLTD imports.

Rates are network-wide per day; each publication's author is drawn with a
weight (uniform, or the square root of the country's population, so large
bureaus publish more). Partners publish only the kinds they are scoped for;
notices come only from member countries. Adversaries publish nothing here.
"""

from __future__ import annotations

import math
import random
from typing import Any

from noticenet.protocol.records.kinds import spec

from . import recordgen
from .geo import place
from .world import HOUR_MS, Publication, World

DAY_MS = 24 * HOUR_MS


def issuers(world: World, kind: str) -> list[str]:
    """Honest members that may publish `kind`, sorted."""
    roles = spec(kind).issuers
    out = []
    for m in sorted(world.members.values(), key=lambda m: m.id):
        if not world.honest(m.id) or m.role not in roles or m.role == "ccf":
            continue
        if m.role == "partner" and kind not in m.scopes:
            continue
        out.append(m.id)
    return out


def weights(world: World, names: list[str]) -> list[float]:
    if world.scenario.workload.activity == "uniform":
        return [1.0] * len(names)
    out = []
    for name in names:
        m = world.members[name]
        out.append(math.sqrt(max(1, place(m.country, m.city).population)))
    return out


def schedule(world: World) -> int:
    """Put every publication of the scenario on the event queue; returns how many."""
    work = world.scenario.workload
    rng = world.rng("workload")
    plan: list[tuple[int, str, int]] = []  # (time, kind, count)
    for kind, per_day in sorted(work.rates_per_day.items()):
        spec(kind)
        plan += [(t, kind, 1) for t in poisson(rng, per_day, world.t0, world.end)]
    if work.sltd_imports_per_day > 0:
        times = poisson(rng, work.sltd_imports_per_day, world.t0, world.end)
        plan += [(t, "sltd", work.sltd_batch) for t in times]
    plan.sort()
    records = world.rng("records")
    for t, kind, count in plan:
        names = issuers(world, kind)
        if not names:
            continue
        author = rng.choices(names, weights(world, names))[0]
        recipients = _recipients(world, rng, author) if kind == "diffusion" else ()
        world.net.at(t, _publisher(world, records, author, kind, count, recipients))
    return len(plan)


def poisson(rng: random.Random, per_day: float, start: int, end: int) -> list[int]:
    """Event times of a Poisson process of `per_day` events a day in [start, end)."""
    if per_day <= 0:
        return []
    times: list[int] = []
    t = float(start)
    while True:
        t += rng.expovariate(per_day / DAY_MS)
        if t >= end:
            return times
        times.append(int(t))


def _recipients(world: World, rng: random.Random, author: str) -> tuple[str, ...]:
    others = [m for m in world.countries() if m != author]
    k = min(world.scenario.workload.diffusion_recipients, len(others))
    return tuple(sorted(rng.sample(others, k)))


def _publisher(
    world: World,
    rng: random.Random,
    author: str,
    kind: str,
    count: int,
    recipients: tuple[str, ...],
) -> Any:
    def publish() -> None:
        publish_now(world, rng, author, kind, count, recipients)

    return publish


def publish_now(
    world: World,
    rng: random.Random,
    author: str,
    kind: str,
    count: int = 1,
    recipients: tuple[str, ...] = (),
    into: list[Publication] | None = None,
) -> None:
    """Publish `count` records of `kind` as `author` now (a bulk import if count > 1)."""
    member = world.members[author]
    country = member.country
    items = []
    for _ in range(count):
        if kind == "diffusion":
            rec: Any = recordgen.diffusion(rng, country, recipients)
        else:
            rec = recordgen.record(rng, kind, author, country)
        items.append((kind, rec, recipients))
    node = world.net.nodes[author]
    before = node.replicator.heads().get(author, 0)
    try:
        world.net.publish_many(author, items)
    except Exception as exc:  # a refused publication is a finding, not a crash
        world.notes[f"publish refused: {type(exc).__name__}"] += 1
        return
    _note(world, author, before, items, world.publications if into is None else into)


def _note(
    world: World,
    author: str,
    before: int,
    items: list[tuple[str, Any, tuple[str, ...]]],
    into: list[Publication],
) -> None:
    """Record the publications just made (skipping key-epoch entries)."""
    ledger = world.net.nodes[author].ledger
    head = world.net.nodes[author].replicator.heads()[author]
    records = iter(items)
    for seq in range(before + 1, head + 1):
        entry = ledger.entry_at(author, seq, with_body=False)
        assert entry is not None
        if entry.header.kind == "key_epoch":
            continue
        kind, rec, _ = next(records)
        into.append(Publication(world.net.now, author, seq, kind, entry.id, rec))


def warm_up(world: World, span_ms: int) -> None:
    """Each honest member and partner publishes one record, spread over `span_ms`.

    In a network that has been running, every feed exists and every node has
    an eager source for it; warming up gets there before t=0 (warm-up entries
    count in traffic, not in latency).
    """
    rng = world.rng("warmup")
    names = [m.id for m in sorted(world.members.values(), key=lambda m: m.id)]
    names = [n for n in names if world.honest(n) and world.members[n].role != "ccf"]
    rng.shuffle(names)
    start = world.net.now
    for i, name in enumerate(names):
        kind = "sltd" if world.members[name].role == "partner" else "notice.yellow"
        when = start + (i * span_ms) // max(1, len(names))

        def go(name: str = name, kind: str = kind) -> None:
            publish_now(world, rng, name, kind, into=world.warmup)

        world.net.at(when, go)
