"""Whether a node may extend its own feed yet (sans-IO).

A node whose store was wiped, or restored from an older copy, does not know
how far its own feed reached: its peers may hold entries it has lost. Were it
to publish at once, it would sign a second entry at a seq already taken, an
equivocation that freezes its feed on every node. So after a start the node
publishes only once it has heard its own feed's head from its peers and holds
at least that much (replication fetches the rest like any other feed):

- from every roster peer, or from at least one once `wait_ms` has passed
  since the start (a peer that is down must not hold a member back for good);
- a node alone on the network is told to go ahead with `alone`.

Once ready, a node stays ready unless a peer announces more of its feed than
it holds: then another copy of this member has been publishing, and it must
not add to the fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OwnFeedStatus:
    """The answer of `OwnFeed.status`: may we publish, and if not, why."""

    ready: bool
    reason: str
    local: int  # our feed's head in our store
    peers: int  # the highest head of our feed a peer announced
    heard: int  # peers heard from since the start
    restored: bool  # a peer held more of our feed than our store did at some point


@dataclass
class OwnFeed:
    """What this node's peers said of its own feed since it started."""

    started_ms: int
    wait_ms: int = 10_000
    alone: bool = False
    heard: dict[str, int] = field(default_factory=dict)  # peer -> our head it announced
    confirmed: bool = False
    restored: bool = False

    def observe(self, peer: str, head: int, local: int) -> bool:
        """`peer` announced our feed's head as `head` (0: it holds none of it) while we held
        `local`; True the first time a peer holds more than we do (a restored store)."""
        self.heard[peer] = max(head, self.heard.get(peer, 0))
        if head > local and not self.restored:
            self.restored = True
            return True
        return False

    def status(self, local: int, expected: int, now_ms: int) -> OwnFeedStatus:
        """Whether we may publish, holding `local` of our feed, with `expected` roster peers."""
        peers = max(self.heard.values(), default=0)
        if peers > local:
            why = f"peers hold our feed up to {peers}, we {local}: fetching it back first"
            return self._answer(False, why, local, peers)
        if self.confirmed or self.alone:
            self.confirmed = True
            return self._answer(True, "", local, peers)
        if not self.heard:
            why = "waiting to hear our feed's head from a peer (--alone if none will come)"
            return self._answer(False, why, local, peers)
        waited = now_ms - self.started_ms >= self.wait_ms
        if len(self.heard) < expected and not waited:
            why = f"heard our feed's head from {len(self.heard)} of {expected} peers; waiting"
            return self._answer(False, why, local, peers)
        self.confirmed = True
        return self._answer(True, "", local, peers)

    def _answer(self, ready: bool, reason: str, local: int, peers: int) -> OwnFeedStatus:
        return OwnFeedStatus(ready, reason, local, peers, len(self.heard), self.restored)
