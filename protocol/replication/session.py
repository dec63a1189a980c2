"""What the replicator says to its driver, how it is tuned, and what it keeps per neighbour."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from noticenet.protocol.records.governance import THRESHOLD_FEEDS


@dataclass(frozen=True)
class Send:
    peer: str
    data: bytes


@dataclass(frozen=True)
class Close:
    """End the session with `peer`; `fault`: the peer broke the protocol (count it against
    the peer), else the session is merely stuck and the driver should open a new one."""

    peer: str
    reason: str
    fault: bool = True


@dataclass(frozen=True)
class Event:
    """Something worth one structured log line."""

    name: str
    fields: dict[str, object]


Action = Send | Close | Event


@dataclass(frozen=True)
class ReplicationConfig:
    credit: int = 2048  # entries a peer may send us before we ack
    batch_entries: int = 256  # entries per Entries frame at most
    batch_bytes: int = 1024 * 1024  # and bytes per Entries frame at most
    push_bytes: int = 8 * 1024  # and per frame of fresh entries pushed down the trees
    lag_ms: int = 2_000  # switch eager source after this much lag
    fetch_ms: int = 50  # ask an announcer for entries our source has not brought by then
    max_bad: int = 32  # invalid entries tolerated from a peer before closing
    max_feeds: int = 4096  # feeds a peer may announce or subscribe to before we close
    stall_ms: int = 15_000  # a session owing us an ack or asked entries this long is reopened
    defer_opening: bool = False  # relay stage only: the driver runs the open stage behind


def priority(author: str) -> tuple[int, str]:
    """Governance feeds first, then members in a fixed order."""
    return (0 if author in THRESHOLD_FEEDS else 1, author)


@dataclass
class Session:
    """What we know about one connected neighbour."""

    peer: str
    hello: bool = False
    credit: int = 0  # entries we may still send them
    frontier: dict[str, int] = field(default_factory=dict)  # what they announced
    cursors: dict[str, int] = field(default_factory=dict)  # feeds they subscribed to: next seq
    unacked: int = 0  # entries they sent us that we have not acked
    bad: int = 0
    in_flight: deque[int] = field(default_factory=deque)  # send times of unacked Entries
    own_in_flight: deque[int] = field(default_factory=deque)  # our own feed's top seq in each
    own_acked: int = 0  # the highest seq of our own feed this peer has acknowledged
    rtt_ms: int | None = None  # the shortest send-to-ack time seen: the link's round trip
    unvouched: dict[tuple[str, int], int] = field(default_factory=dict)  # (feed, seq): asks
    taken: int = 0  # entries admitted from them (`Replicator.admit`) and not yet acked
    paused: bool = False  # the driver's send queue to them is full: send only control frames
    wanted_at: int | None = None  # when we last asked them for entries and none came since

    def acked(self, now_ms: int) -> None:
        """An Ack for our oldest unacked Entries frame: a round-trip sample."""
        if self.in_flight:
            self.answered(now_ms - self.in_flight.popleft())
        if self.own_in_flight:
            self.own_acked = max(self.own_acked, self.own_in_flight.popleft())

    def answered(self, sample_ms: int) -> None:
        """A round trip took `sample_ms` (an ack, or the entries a `want` asked for)."""
        self.rtt_ms = sample_ms if self.rtt_ms is None else min(self.rtt_ms, sample_ms)


def nearest_first(session: Session) -> int:
    """Sort key: the shortest measured round trip first, unmeasured links last.

    A relay's uplink sends one copy per subscriber in turn. Serving the
    near neighbours first delays the far copies by a few frame times but lets
    the near ones relay on at once; in the interpol-195 scenario this cut the
    median delivery by 5% at the same p99 (sending far first made both worse).
    """
    return session.rtt_ms if session.rtt_ms is not None else 1 << 30


@dataclass
class Counters:
    entries_sent: int = 0
    entries_received: int = 0
    duplicates: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    refused: dict[str, int] = field(default_factory=dict)
