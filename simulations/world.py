"""A running scenario: the network and everything the metrics need to know about it.

The drivers (workload, faults, CCF, adversaries) schedule their actions on
the network and record here what they did; the metrics read it afterwards.
Each driver draws from its own named random stream, so adding a driver does
not shift the choices of the others.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from noticenet.protocol.devnet import DevNet

from .members import Member
from .scenario import Scenario
from .simnet import SimNetwork

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Publication:
    """A workload record as published: when, by whom, at which seq."""

    t: int
    author: str
    seq: int
    kind: str
    eid: bytes
    record: Any


@dataclass(frozen=True)
class CCFRecord:
    """A CCF action injected at the CCF node."""

    action: str  # revoke | block
    t: int
    feed: str
    seq: int
    target: bytes
    target_author: str
    guards: tuple[bytes, ...]


@dataclass(frozen=True)
class Window:
    """A partition: `side` was cut off from everyone else from `start` to `end`."""

    start: int
    end: int | None
    side: frozenset[str]


@dataclass
class World:
    scenario: Scenario
    devnet: DevNet
    net: SimNetwork
    members: dict[str, Member]
    one_way: dict[tuple[str, str], float]
    links: list[tuple[str, str]]
    t0: int = 0  # end of the warm-up: scenario time zero
    adversaries: dict[str, str] = field(default_factory=dict)  # member -> adversary type
    publications: list[Publication] = field(default_factory=list)
    warmup: list[Publication] = field(default_factory=list)
    ccf: list[CCFRecord] = field(default_factory=list)
    outages: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    partitions: list[Window] = field(default_factory=list)
    adversary_stats: dict[str, Counter[str]] = field(default_factory=dict)
    reentries: list[tuple[bytes, CCFRecord]] = field(default_factory=list)  # (entry id, revocation)
    resurrections: list[tuple[int, str, bytes]] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def rng(self, stream: str) -> random.Random:
        return random.Random(f"{self.scenario.seed}/{stream}")

    def at_h(self, hours: float) -> int:
        """Scenario hours as virtual ms."""
        return self.t0 + int(round(hours * HOUR_MS))

    @property
    def end(self) -> int:
        return self.at_h(self.scenario.duration_h)

    def honest(self, member: str) -> bool:
        return member not in self.adversaries

    def countries(self) -> list[str]:
        return sorted(m.id for m in self.members.values() if m.role == "member")

    def stat(self, member: str, name: str, n: int = 1) -> None:
        self.adversary_stats.setdefault(member, Counter())[name] += n

    def set_online(self, member: str, online: bool) -> None:
        """Take a node down or up, and remember its outages."""
        node = self.net.nodes[member]
        if node.online == online:
            return
        spans = self.outages.setdefault(member, [])
        if online:
            start, _ = spans[-1]
            spans[-1] = (start, self.net.now)
        else:
            spans.append((self.net.now, None))
        self.net.set_online(member, online)
