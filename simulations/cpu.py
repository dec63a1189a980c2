"""A node's processors in virtual time: what an incoming Entries frame costs, and when.

Issue 20: a node may relay before it opens. The **relay** stage (decode,
chain, signature, guard tags, durable store) must end before the node
acknowledges and forwards a frame; the **open** stage (decrypt, parse, tag
honesty, index) before a record is findable there. Two designs:

- `open-then-relay` (the node before issue 20): one job of relay + open per
  frame; acknowledged, forwarded and findable when it ends.
- `relay-then-open`: the relay job ends, the frame is acknowledged and
  forwarded; the open job of the entries it stored waits behind every
  queued relay job and makes them findable when it ends.

Each node has `cores` processors. A job runs to its end on one of them (no
preemption); a free processor takes the oldest relay job first, then the
oldest open job. A job's cost is decided when a processor takes it, so an
entry another job stored meanwhile costs nothing (a duplicate is a key
lookup). Times are exact (float ms); only the clock the protocol sees is
rounded to whole ms, as for the links.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DESIGNS = ("open-then-relay", "relay-then-open")
RELAY, OPEN = 0, 1  # job priorities: relay jobs first

Schedule = Callable[[float, Callable[[], None]], None]  # (exact time, action)


@dataclass(frozen=True)
class CpuConfig:
    """Costs in CPU microseconds (simulations/cpucost.py measures them)."""

    design: str = "relay-then-open"
    cores: int = 2
    relay_us: float = 0.0  # per entry stored: decode, chain, signature, guard tags, store
    open_us: float = 0.0  # per entry stored: decrypt, parse, tag honesty, index
    frame_us: float = 0.0  # per Entries frame that stores anything, relay stage: the synced write

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"design is one of {DESIGNS}, not {self.design!r}")
        if self.cores < 1:
            raise ValueError("cores must be at least 1")
        if min(self.relay_us, self.open_us, self.frame_us) < 0:
            raise ValueError("CPU costs cannot be negative")

    @property
    def active(self) -> bool:
        """All costs zero: processing is instant, as in the simulator before this model."""
        return self.relay_us > 0 or self.open_us > 0 or self.frame_us > 0

    @property
    def opens_behind(self) -> bool:
        return self.design == "relay-then-open"

    def relay_ms(self, entries: int) -> float:
        """The relay job of a frame bringing `entries` new entries (with the open, if first).

        A frame of nothing new (duplicates) writes nothing: it costs nothing.
        """
        if entries == 0:
            return 0.0
        per_entry = self.relay_us + (0.0 if self.opens_behind else self.open_us)
        return (self.frame_us + entries * per_entry) / 1000

    def open_ms(self, entries: int) -> float:
        return entries * self.open_us / 1000


@dataclass
class Job:
    """`cost()` (ms) is asked when a processor takes the job; `done(end)` runs at its end."""

    cost: Callable[[], float]
    done: Callable[[float], None]
    queued_at: float = 0.0


@dataclass
class Cpu:
    """`cores` processors of one node; `schedule` puts a job's end on the network's clock."""

    cores: int
    schedule: Schedule
    busy: int = 0
    busy_ms: float = 0.0  # processor time spent, all cores
    waits: list[float] = field(default_factory=list)  # ms each relay job queued for a processor
    queues: tuple[deque[Job], deque[Job]] = field(default_factory=lambda: (deque(), deque()))

    def submit(self, job: Job, priority: int, now: float) -> None:
        job.queued_at = now
        self.queues[priority].append(job)
        self._fill(now)

    def backlog(self) -> int:
        return len(self.queues[RELAY]) + len(self.queues[OPEN])

    def _fill(self, now: float) -> None:
        """Free processors take queued jobs, relay jobs first."""
        while self.busy < self.cores:
            priority = RELAY if self.queues[RELAY] else OPEN
            if not self.queues[priority]:
                return
            job = self.queues[priority].popleft()
            if priority == RELAY:
                self.waits.append(now - job.queued_at)
            cost = job.cost()
            self.busy += 1
            self.busy_ms += cost
            end = now + cost
            self.schedule(end, lambda job=job, end=end: self._finish(job, end))  # type: ignore[misc]

    def _finish(self, job: Job, end: float) -> None:
        self.busy -= 1
        job.done(end)
        self._fill(end)
