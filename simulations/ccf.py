"""CCF actions on a timetable: blocks and revocations of published notices.

Each action targets a red notice (failing that, any notice) that an honest
member published at least ten minutes earlier and that no action has
targeted yet. A revocation carries the guard tags of the target's
identifiers, so re-entering the subject is refused. The threshold entry is
made with the devnet's dealt group (a real commission runs the ceremony)
and enters the network at the CCF node.
"""

from __future__ import annotations

import random

from noticenet.protocol.ccf.bootstrap import threshold_entry
from noticenet.protocol.index.guard_tags import same_tags_for, similar_guards_for
from noticenet.protocol.records.governance import CCF_BLOCK_FEED, CCF_FEED, CCFAction

from .members import CCF
from .world import CCFRecord, Publication, World

MIN_AGE_MS = 10 * 60_000


def schedule(world: World) -> None:
    rng = world.rng("ccf")
    for event in world.scenario.events:
        if event.type not in ("block", "revoke"):
            continue
        for i in range(event.count):
            when = world.at_h(event.at_h + i * event.every_h)
            world.net.at(when, _action(world, rng, event.type))


def warm_up(world: World, when: int) -> None:
    """Start the CCF feeds before t=0 (a block, then its unblock), as in a running network.

    New feeds spread lazily (announce, subscribe, send); a network that has
    been running has had CCF actions before and its trees are in place.
    """
    if CCF not in world.net.nodes or not world.warmup:
        return

    def go(action: str, feed: str) -> None:
        target = world.warmup[0]
        sign = world.devnet.block.sign if feed == CCF_BLOCK_FEED else world.devnet.revoke.sign
        record = CCFAction(action, (target.eid,), "other", "CCF/warm-up")  # type: ignore[arg-type]
        head = world.net.nodes[CCF].ledger.head(feed)
        entry = threshold_entry(feed, head, world.net.now, action, record, sign)
        world.net.inject(CCF, [entry])

    world.net.at(when, lambda: go("block", CCF_BLOCK_FEED))
    world.net.at(when + 60_000, lambda: go("unblock", CCF_FEED))


def _action(world: World, rng: random.Random, action: str):  # type: ignore[no-untyped-def]
    def go() -> None:
        act(world, rng, action)

    return go


def pick_target(world: World, rng: random.Random) -> Publication | None:
    taken = {c.target for c in world.ccf}
    ripe = [
        p
        for p in world.publications
        if p.kind.startswith("notice.")
        and p.t <= world.net.now - MIN_AGE_MS
        and p.eid not in taken
        and world.honest(p.author)
    ]
    red = [p for p in ripe if p.kind == "notice.red"]
    pool = red or ripe
    return rng.choice(pool) if pool else None


def act(world: World, rng: random.Random, action: str) -> None:
    """Block or revoke one target now, entering at the CCF node."""
    if CCF not in world.net.nodes:
        world.notes["ccf action skipped: no CCF node"] += 1
        return
    target = pick_target(world, rng)
    if target is None:
        world.notes[f"{action} skipped: no target yet"] += 1
        return
    feed, sign = (
        (CCF_FEED, world.devnet.revoke.sign)
        if action == "revoke"
        else (CCF_BLOCK_FEED, world.devnet.block.sign)
    )
    guards: tuple[bytes, ...] = ()
    similar = None
    if action == "revoke":  # both tiers: a same hit refuses, a similar one holds
        guards = same_tags_for(target.record, world.devnet.guard_key)
        similar = similar_guards_for(target.record, world.devnet.guard_key) or None
    record = CCFAction(
        action,  # type: ignore[arg-type]
        (target.eid,),
        "article-3",
        f"CCF/sim/{len(world.ccf) + 1}",
        guards,
        similar=similar,
    )
    node = world.net.nodes[CCF]
    entry = threshold_entry(feed, node.ledger.head(feed), world.net.now, action, record, sign)
    world.net.inject(CCF, [entry])
    world.ccf.append(
        CCFRecord(action, world.net.now, feed, entry.header.seq, target.eid, target.author, guards)
    )
