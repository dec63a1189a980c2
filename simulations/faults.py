"""Faults on a timetable: churn sessions, crashes and regional partitions.

Churn: a share of the members alternate between online sessions and time
away, with lengths drawn from an exponential, log-normal or Weibull
distribution of the given means. The CCF node and adversaries do not churn.
Churn stops at the end of the scenario: whoever is away then stays away.
A crash takes members down at a time, for a while or for good. A partition
cuts every link between a region (a continent, or listed members) and the
rest, and heals after its duration.
"""

from __future__ import annotations

import math
import random

from .scenario import ChurnSpec, EventSpec
from .world import HOUR_MS, Window, World


def schedule(world: World) -> None:
    _churn(world)
    for event in world.scenario.events:
        if event.type == "crash":
            _crash(world, event)
        elif event.type == "partition":
            _partition(world, event)


def session_ms(rng: random.Random, spec: ChurnSpec, mean_h: float) -> int:
    """One session (or absence) length in ms, from the churn distribution."""
    mean = mean_h * HOUR_MS
    if spec.distribution == "exponential":
        value = rng.expovariate(1 / mean)
    elif spec.distribution == "lognormal":
        sigma = spec.shape
        value = rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
    else:
        k = spec.shape
        value = rng.weibullvariate(mean / math.gamma(1 + 1 / k), k)
    return max(1_000, int(value))


def churners(world: World) -> list[str]:
    spec = world.scenario.churn
    names = [
        m.id
        for m in sorted(world.members.values(), key=lambda m: m.id)
        if m.role != "ccf" and world.honest(m.id)
    ]
    rng = world.rng("churn-who")
    return sorted(rng.sample(names, round(spec.fraction * len(names))))


def _churn(world: World) -> None:
    spec = world.scenario.churn
    if spec.fraction <= 0:
        return
    rng = world.rng("churn")
    for name in churners(world):
        # Start at a random point of an online session (its residual length).
        t = world.t0 + int(rng.random() * session_ms(rng, spec, spec.online_mean_h))
        online = True
        while t < world.end:
            world.net.at(t, _switch(world, name, not online))
            online = not online
            t += session_ms(rng, spec, spec.online_mean_h if online else spec.offline_mean_h)


def _switch(world: World, name: str, online: bool):  # type: ignore[no-untyped-def]
    def go() -> None:
        world.set_online(name, online)

    return go


def _crash(world: World, event: EventSpec) -> None:
    start = world.at_h(event.at_h)
    for name in event.members:
        world.net.at(start, _switch(world, name, False))
        if event.duration_h > 0:
            world.net.at(world.at_h(event.at_h + event.duration_h), _switch(world, name, True))


def region(world: World, event: EventSpec) -> frozenset[str]:
    """The members a partition cuts off."""
    from .geo import place

    if event.members:
        return frozenset(event.members)
    return frozenset(
        m.id for m in world.members.values() if place(m.country, m.city).continent == event.region
    )


def _partition(world: World, event: EventSpec) -> None:
    side = region(world, event)
    if not side:
        raise ValueError(f"partition at {event.at_h} h cuts off nobody")
    start = world.at_h(event.at_h)
    end = world.at_h(event.at_h + event.duration_h) if event.duration_h > 0 else None
    world.partitions.append(Window(start, end, side))
    rest = frozenset(world.net.nodes) - side

    def cut() -> None:
        world.net.partition(set(side), set(rest))

    world.net.at(start, cut)
    if end is not None:
        world.net.at(end, world.net.heal)
