"""Eager sources: which neighbour pushes us each feed, and when that changes (sans-IO).

Each feed reaches a node down an epidemic broadcast tree (Plumtree): one
neighbour per feed, its *source*, pushes the entries; the others only
announce them. This module is the policy that builds and repairs those trees
from what the neighbours announce. The replicator owns the sessions and the
frames; it hands this policy its sessions, its frontier and its way of sending
a frame, and carries out the `want` and `dont` frames the policy sends.

- A source chosen from the first announcement of a fresh entry is settled:
  first arrivals trace the shortest paths. Any other choice (a reconnection's
  first `hello`, a timer's pick) is provisional and moves, once, to the
  first neighbour that announces fresh news.
- Overdue entries (Plumtree's missing-message timer): an entry another
  neighbour announced and the source has not brought `fetch_ms` later moves
  the feed to the announcer. A source asked and yet to answer is given its
  round trip first.
- A feed moved on an announcement keeps its old source until the new one
  delivers (make before break); a source that stalls for `lag_ms` is
  dropped at once.

docs/protocol.md 4.3 and 4.5 give the rules and the measurements behind them.
"""

from __future__ import annotations

from collections.abc import Callable

from noticenet.protocol.replication.frames import Dont, Frame, Want
from noticenet.protocol.replication.session import (
    Action,
    Event,
    ReplicationConfig,
    Send,
    Session,
    priority,
)

__all__ = ["Sources"]


class Sources:
    """One node's eager source per feed, over the replicator's sessions."""

    def __init__(
        self,
        sessions: dict[str, Session],
        config: ReplicationConfig,
        frontier: Callable[[], dict[str, int]],
        send: Callable[[str, Frame], Send],
        known: Callable[[str], bool],
    ) -> None:
        self.sessions = sessions  # the replicator's, shared
        self.config = config
        self._frontier = frontier  # the latest seq held per author
        self._send = send  # a frame to a peer, as an action (counted by the replicator)
        self._known = known  # a feed we may replicate
        self.source: dict[str, str] = {}  # author -> neighbour we subscribed to
        self.settled: set[str] = set()  # feeds whose source brought or announced news first
        self.progress: dict[str, int] = {}  # author -> last time the feed advanced or was asked
        self._behind: set[str] = set()  # feeds some neighbour announced ahead of us
        self._missing: dict[str, tuple[int, str, int]] = {}  # feed -> (due, announcer, seq)
        self._asked: dict[str, int] = {}  # feed -> when its source was asked and has not answered
        self._leaving: dict[str, str] = {}  # feed -> old source kept until the new one delivers

    @property
    def deadline(self) -> int | None:
        """When `tick` next has a fetch to make (ms)."""
        return min((due for due, _, _ in self._missing.values()), default=None)

    @property
    def wants_tick(self) -> bool:
        """False when `tick` would do nothing: no neighbour announced a feed ahead of us."""
        return bool(self._behind)

    def disconnect(self, peer: str) -> None:
        """`peer` is gone: its feeds have no source until the next tick."""
        for author in [a for a, p in self.source.items() if p == peer]:
            del self.source[author]
            self.settled.discard(author)
            self._asked.pop(author, None)
        for author in [a for a, (_, p, _) in self._missing.items() if p == peer]:
            del self._missing[author]
        for author in [a for a, p in self._leaving.items() if p == peer]:
            del self._leaving[author]

    # -- announcements ---------------------------------------------------------

    def news(self, session: Session, announced: dict[str, int]) -> frozenset[str]:
        """Feeds `session` announces past what we and every neighbour had announced.

        Call before merging `announced` into `session.frontier`.
        """
        ours = self._frontier()
        return frozenset(
            a
            for a, seq in announced.items()
            if seq > ours.get(a, 0)
            and all(s.frontier.get(a, 0) <= ours.get(a, 0) for s in self.sessions.values())
        )

    def adopt(self, session: Session, news: frozenset[str], now_ms: int) -> list[Action]:
        """Move provisional sources to the neighbour that announced news before them.

        Trees built from first arrivals follow the shortest paths; a source
        picked otherwise (on reconnection, by a timer) takes the first
        neighbour at hand. The first fresh entry shows which neighbour is
        nearer to the author: once per feed, the source moves there.
        """
        ours = self._frontier()
        wanted: dict[str, dict[str, int]] = {}
        actions: list[Action] = []
        for author in sorted(news, key=priority):
            current = self.source.get(author)
            if current is None or current == session.peer or author in self.settled:
                continue
            actions += self._move(
                author, session.peer, ours.get(author, 0), now_ms, wanted, keep_old=True
            )
            self.settled.add(author)
            actions.append(Event("source.switch", {"feed": author, "to": session.peer}))
        for peer, feeds in wanted.items():
            actions.append(self._send(peer, Want(feeds)))
        return actions

    def subscribe(
        self,
        session: Session,
        announced: dict[str, int],
        now_ms: int,
        news: frozenset[str] = frozenset(),
    ) -> list[Action]:
        """Subscribe to feeds this neighbour is ahead on and nobody serves us yet.

        The source of a feed in `news` (this neighbour announced it first) is
        settled; any other choice, such as every feed of the first hello after
        a reconnection, is provisional until news shows who is nearer.
        """
        ours = self._frontier()
        feeds = {}
        for author in sorted(announced, key=priority):
            if announced[author] <= ours.get(author, 0) or not self._known(author):
                continue
            self._behind.add(author)
            if author not in self.source:
                self.source[author] = session.peer
                if author in news:
                    self.settled.add(author)
                else:
                    self.settled.discard(author)
                self.progress[author] = self._asked[author] = now_ms
                feeds[author] = ours.get(author, 0) + 1
        return [self._send(session.peer, Want(feeds))] if feeds else []

    def note_missing(self, session: Session, announced: dict[str, int], now_ms: int) -> None:
        """Start the fetch timer for feeds this neighbour announced past our head.

        Our source normally brings such entries first or soon after. If a
        segment of its frame was lost, TCP repairs it in one to two round
        trips of that link, which on a long link is hundreds of ms; the
        announcer becomes the source after `fetch_ms` (Plumtree's missing
        message timer and graft).

        A source asked for the feed and yet to answer cannot bring anything
        before its round trip is over: the timer then runs from that round
        trip's end (when the round trip is not known yet, from now).
        Otherwise every new subscription would lose its feed to whichever
        neighbour announced next, at the nearest source's expense.
        """
        ours = self._frontier()
        for author, seq in announced.items():
            source = self.source.get(author)
            if (
                seq <= ours.get(author, 0)
                or source is None
                or source == session.peer
                or author in self._missing
            ):
                continue
            due = now_ms + self.config.fetch_ms
            asked = self._asked.get(author)
            if asked is not None:
                rtt = self.sessions[source].rtt_ms if source in self.sessions else None
                due = max(due, asked + (rtt or 0) + self.config.fetch_ms)
            self._missing[author] = (due, session.peer, seq)

    # -- entries ----------------------------------------------------------------

    def received(
        self,
        session: Session,
        authors: set[str],
        before: dict[str, int],
        after: dict[str, int],
        now_ms: int,
    ) -> list[Action]:
        """`session` sent entries of `authors`; our heads went from `before` to `after`."""
        self._settle(session, authors, before, after)
        self._arrived(authors, after)
        actions = self._delivered(session, authors)
        for author in authors:
            if self.source.get(author) == session.peer:
                asked = self._asked.pop(author, None)
                if asked is not None:
                    session.answered(now_ms - asked)
        return actions

    def advanced(self, before: dict[str, int], after: dict[str, int], now_ms: int) -> None:
        """Feeds whose head moved made progress now (the lag timer counts from it)."""
        for author, seq in after.items():
            if before.get(author, 0) != seq:
                self.progress[author] = now_ms

    def _settle(
        self, session: Session, authors: set[str], before: dict[str, int], after: dict[str, int]
    ) -> None:
        """A provisional source that brings a fresh entry before anyone announces it stays."""
        for author in authors:
            seq = after.get(author, 0)
            if (
                seq > before.get(author, 0)
                and self.source.get(author) == session.peer
                and author not in self.settled
                and all(s.frontier.get(author, 0) < seq for s in self.sessions.values())
            ):
                self.settled.add(author)

    def _arrived(self, authors: set[str], after: dict[str, int]) -> None:
        """Stop the timers of feeds whose announced entries are here (from anyone)."""
        for author in authors:
            missing = self._missing.get(author)
            if missing is not None and after.get(author, 0) >= missing[2]:
                del self._missing[author]

    def _delivered(self, session: Session, authors: set[str]) -> list[Action]:
        """`dont` to old sources kept while their feed's new source (`session`) was asked."""
        done = [a for a in sorted(authors) if self.source.get(a) == session.peer]
        old = {a: self._leaving.pop(a) for a in done if a in self._leaving}
        return [self._send(p, Dont((a,))) for a, p in old.items() if p in self.sessions]

    # -- timers -------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[Action]:
        """Fetch overdue entries; resubscribe feeds whose eager source lags or is gone."""
        actions: list[Action] = []
        ours = self._frontier()
        wanted: dict[str, dict[str, int]] = {}
        self._fetch_overdue(now_ms, ours, wanted, actions)
        for author in sorted(self._behind, key=priority):
            have = ours.get(author, 0)
            best = self._best_peer(author, have)
            if best is None:
                self._behind.discard(author)
                continue
            current = self.source.get(author)
            stale = now_ms - self.progress.get(author, -(10**12)) >= self.config.lag_ms
            if current is not None and stale:
                # A source that stalls cannot keep the feed by claiming the most.
                best = self._best_peer(author, have, exclude=current) or current
            if current is None or (current != best and stale):
                actions += self._move(author, best, have, now_ms, wanted)
                actions.append(Event("source.switch", {"feed": author, "to": best}))
            elif stale:
                # The only neighbour ahead stalls: ask it again (it may have lost our
                # subscription), once per lag, rather than wait for a later gap.
                self.progress[author] = self._asked[author] = now_ms
                wanted.setdefault(current, {})[author] = have + 1
        for peer, feeds in wanted.items():
            actions.append(self._send(peer, Want(feeds)))
        return actions

    def _fetch_overdue(
        self,
        now_ms: int,
        ours: dict[str, int],
        wanted: dict[str, dict[str, int]],
        actions: list[Action],
    ) -> None:
        """Move feeds whose announced entries are overdue to their announcer.

        The new source is provisional: the next fresh news decides again.
        """
        for author, (due, peer, seq) in sorted(self._missing.items()):
            if due > now_ms:
                continue
            del self._missing[author]
            have = ours.get(author, 0)
            current = self.source.get(author)
            if have >= seq or peer not in self.sessions or current == peer:
                continue
            actions += self._move(author, peer, have, now_ms, wanted, keep_old=True)
            actions.append(Event("source.switch", {"feed": author, "to": peer, "overdue": seq}))

    def _move(
        self,
        author: str,
        to: str,
        have: int,
        now_ms: int,
        wanted: dict[str, dict[str, int]],
        keep_old: bool = False,
    ) -> list[Action]:
        """Make `to` the feed's provisional source, with `want` queued to it.

        The old source gets `dont` at once, or with `keep_old` only once `to`
        has delivered (make before break): a move on an announcement costs
        `to` a round trip before its first entries, and meanwhile the old
        source's pushes, which are often on their way already, still count.
        """
        current = self.source.get(author)
        self.source[author] = to
        self.settled.discard(author)
        self.progress[author] = self._asked[author] = now_ms
        wanted.setdefault(to, {})[author] = have + 1
        drop = {self._leaving.pop(author, None)}
        if current is not None and current != to:
            if keep_old:
                self._leaving[author] = current
            else:
                drop.add(current)
        gone = sorted(p for p in drop if p is not None and p != to and p in self.sessions)
        return [self._send(p, Dont((author,))) for p in gone]

    def _best_peer(self, author: str, have: int, exclude: str | None = None) -> str | None:
        best, seq = None, have
        for peer in sorted(self.sessions):
            if peer == exclude:
                continue
            announced = self.sessions[peer].frontier.get(author, 0)
            if announced > seq:
                best, seq = peer, announced
        return best
