"""Adversaries: members whose nodes misbehave, each leaving its trace in the metrics.

- forger: pushes entries in other members' names with bad signatures
  (refused as BadSignature; enough of them close the session);
- equivocator: signs two different entries for one position of its feed and
  shows each to different neighbours (kept as evidence, the feed frozen);
- reentry: re-enters the subjects of revocations under spelling variants,
  through its own publisher (refused there) and by pushing the signed entries
  with their bodies to its neighbours (bodies refused everywhere);
- withhold-ccf: relays everything but the governance and CCF feeds, which it
  still announces (its neighbours switch to another source);
- flooder: replays entries its neighbours already hold, or sends junk frames
  (duplicates discarded; junk closes the session);
- silent: stays connected but stops sending anything (neighbours switch).

Adversaries craft frames with `SimNetwork.send_raw` or rewrite what their
replicator sends with `SimNetwork.filters`; the honest nodes run unchanged.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from noticenet.crypto.hashing import blake2b256
from noticenet.protocol.errors import ReentryBlocked
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.governance import THRESHOLD_FEEDS
from noticenet.protocol.replication.frames import Entries, decode_frame, encode_frame

from . import recordgen
from .scenario import AdversarySpec
from .world import CCFRecord, World

MIN_KNOWN_MS = 10 * 60_000  # the re-entry adversary strikes this long after a revocation


def register(world: World) -> None:
    """Mark adversary members before anything is scheduled (they publish no workload)."""
    for spec in world.scenario.adversaries:
        if spec.member not in world.members:
            raise ValueError(f"adversary {spec.member} is not a member of the scenario")
        world.adversaries[spec.member] = spec.type


def schedule(world: World) -> None:
    installers: dict[str, Callable[[World, AdversarySpec], None]] = {
        "forger": _forger,
        "equivocator": _equivocator,
        "reentry": _reentry,
        "withhold-ccf": _withhold_ccf,
        "flooder": _flooder,
        "silent": _silent,
    }
    for spec in world.scenario.adversaries:
        installers[spec.type](world, spec)


def _times(world: World, spec: AdversarySpec) -> list[int]:
    return [world.at_h(spec.at_h + i * spec.every_h) for i in range(spec.count)]


def _active(world: World, spec: AdversarySpec) -> Callable[[], bool]:
    start = world.at_h(spec.at_h)
    end = world.at_h(spec.at_h + spec.duration_h) if spec.duration_h > 0 else None
    return lambda: world.net.now >= start and (end is None or world.net.now < end)


def _push(world: World, member: str, wires: list[bytes]) -> int:
    """Send entries unasked to every connected neighbour; returns how many frames went."""
    frame = encode_frame(Entries(tuple(wires)))
    sent = 0
    for peer in world.net.neighbours(member):
        if world.net.connected(member, peer):
            world.net.send_raw(member, peer, frame)
            sent += 1
    return sent


# -- forger ------------------------------------------------------------------


def _forger(world: World, spec: AdversarySpec) -> None:
    rng = world.rng(f"adversary/{spec.member}")
    for when in _times(world, spec):
        world.net.at(when, lambda: _forge(world, spec.member, rng))


def _forge(world: World, me: str, rng: random.Random) -> None:
    """The next entry of a victim's feed, with a body of its own and a made-up signature."""
    ledger = world.net.nodes[me].ledger
    victims = [v for v in world.countries() if v != me and ledger.head(v) is not None]
    if not victims:
        return
    victim = rng.choice(victims)
    seq, prev = ledger.head(victim) or (0, b"")
    last = ledger.entry_at(victim, seq, with_body=False)
    assert last is not None
    body = rng.randbytes(max(64, last.header.body_len))
    header = dataclasses.replace(
        last.header,
        seq=seq + 1,
        prev=prev,
        issued_at=max(world.net.now, last.header.issued_at),
        body_hash=blake2b256(body),
        body_len=len(body),
    )
    forged = Entry(header, rng.randbytes(64), body)
    world.stat(me, "forged entries", 1)
    world.stat(me, "frames sent", _push(world, me, [forged.to_wire()]))


# -- equivocator -------------------------------------------------------------


def _equivocator(world: World, spec: AdversarySpec) -> None:
    rng = world.rng(f"adversary/{spec.member}")
    for when in _times(world, spec):
        world.net.at(when, lambda: _equivocate(world, spec.member, rng))


def _equivocate(world: World, me: str, rng: random.Random) -> None:
    """Two signed entries for the same position: one stored and spread, one pushed to some."""
    node = world.net.nodes[me]
    country = world.members[me].country
    now = world.net.now
    first = node.publisher.prepare("vehicle", recordgen.vehicle(rng, country), now)
    second = node.publisher.prepare("vehicle", recordgen.vehicle(rng, country), now)
    world.net.append(me, first)
    peers = [p for p in world.net.neighbours(me) if world.net.connected(me, p)]
    frame = encode_frame(Entries(tuple(e.to_wire() for e in second)))
    for peer in peers[::2]:
        world.net.send_raw(me, peer, frame)
    world.stat(me, "equivocations", 1)


# -- re-entry ----------------------------------------------------------------


def _reentry(world: World, spec: AdversarySpec) -> None:
    """Every `every_h`, attack each revocation at least ten minutes old not attacked yet."""
    rng = world.rng(f"adversary/{spec.member}")
    done: set[bytes] = set()
    active = _active(world, spec)
    t = world.at_h(spec.at_h)
    step = max(60_000, int(spec.every_h * 3_600_000))

    def sweep() -> None:
        if not active():
            return
        for action in world.ccf:
            ripe = action.t <= world.net.now - MIN_KNOWN_MS
            if action.action == "revoke" and ripe and action.target not in done:
                done.add(action.target)
                _reenter(world, spec, action, rng)

    while t < world.end:
        world.net.at(t, sweep)
        t += step


def _reenter(world: World, spec: AdversarySpec, action: CCFRecord, rng: random.Random) -> None:
    me = spec.member
    original = next((p for p in world.publications if p.eid == action.target), None)
    subject = getattr(original.record, "subject", None) if original else None
    if original is None or subject is None:
        return
    node = world.net.nodes[me]
    for variant in recordgen.variants(subject, rng, spec.count):
        record = dataclasses.replace(original.record, subject=variant)
        world.stat(me, "attempts", 1)
        try:
            entry = world.net.publish(me, original.kind, record)
            world.reentries.append((entry.id, action))
            held = node.ledger.is_held(entry.id)  # a similar variant: stored, hidden
            world.stat(me, "held by its own node" if held else "accepted by its own node", 1)
        except ReentryBlocked:
            world.stat(me, "refused by its own node", 1)
        entries = node.publisher.prepare(original.kind, record, world.net.now, readmit=True)
        world.net.append(me, entries)
        world.reentries.append((entries[-1].id, action))
        world.stat(me, "frames pushed", _push(world, me, [e.to_wire() for e in entries]))


# -- withholding relay, silent neighbour ---------------------------------------


def _withhold_ccf(world: World, spec: AdversarySpec) -> None:
    active = _active(world, spec)

    def rewrite(peer: str, data: bytes) -> bytes | None:
        if not active():
            return data
        frame = decode_frame(data)
        if not isinstance(frame, Entries):
            return data
        kept = tuple(
            w for w in frame.entries if decode_entry(w).header.author not in THRESHOLD_FEEDS
        )
        if len(kept) == len(frame.entries):
            return data
        world.stat(spec.member, "governance entries withheld", len(frame.entries) - len(kept))
        return encode_frame(Entries(kept)) if kept else None

    world.net.filters[spec.member] = rewrite


def _silent(world: World, spec: AdversarySpec) -> None:
    active = _active(world, spec)

    def rewrite(peer: str, data: bytes) -> bytes | None:
        if not active():
            return data
        world.stat(spec.member, "frames swallowed", 1)
        return None

    world.net.filters[spec.member] = rewrite


# -- flooder -----------------------------------------------------------------


def _flooder(world: World, spec: AdversarySpec) -> None:
    rng = world.rng(f"adversary/{spec.member}")
    start = world.at_h(spec.at_h)
    end = world.at_h(spec.at_h + spec.duration_h) if spec.duration_h > 0 else world.end
    step = max(1, int(1000 / spec.rate_per_s))
    t = start
    while t < end:
        world.net.at(t, lambda: _flood(world, spec, rng))
        t += step


def _flood(world: World, spec: AdversarySpec, rng: random.Random) -> None:
    me = spec.member
    if spec.mode == "junk":
        world.stat(me, "junk frames", _push_raw(world, me, rng.randbytes(256)))
        return
    ledger = world.net.nodes[me].ledger
    feeds = sorted(a for a in world.net.nodes[me].replicator.heads() if a in world.members)
    if not feeds:
        return
    author = rng.choice(feeds)
    wires = [e.to_wire() for _, e in zip(range(spec.batch), ledger.feed(author), strict=False)]
    world.stat(me, "replayed entries", len(wires) * _push(world, me, wires))


def _push_raw(world: World, member: str, data: bytes) -> int:
    sent = 0
    for peer in world.net.neighbours(member):
        if world.net.connected(member, peer):
            world.net.send_raw(member, peer, data)
            sent += 1
    return sent
