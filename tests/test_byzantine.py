"""Byzantine neighbours: what a peer on the roster can send, and what it achieves.

Most cases drive one node's `Replicator` directly (sans-IO, fast): the
attacker is a member whose frames we write by hand, an honest member is a
real `Replicator` wired in memory. The last tests run the same attacks over
the real libp2p transport against an in-process `NodeService`. After each
attack the victim must still serve its honest neighbour, and every refusal
must come with a reason (a `Close` or an `Event`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
import pytest
import trio

from noticenet.node.config import load_config
from noticenet.node.demo.localnet import LocalNet, create_localnet
from noticenet.node.p2p.transport import FramedStream, Transport, TransportError
from noticenet.node.service import APPLY_PART, NodeService
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import Draft, seal_entry
from noticenet.protocol.replication.feed_wire import splice_wire, wire_feed
from noticenet.protocol.replication.frames import (
    Ack,
    Dont,
    Entries,
    Frame,
    Have,
    Hello,
    Want,
    decode_frame,
    encode_frame,
)
from noticenet.protocol.replication.replicator import (
    UNVOUCHED_ASKS,
    Action,
    Close,
    Event,
    ReplicationConfig,
    Replicator,
    Send,
)
from noticenet.protocol.store.kvstore import MemoryStore

from .samples import diffusion, document

NOW = 1_800_000_000_000
LAG = 1_000
CONFIG = ReplicationConfig(lag_ms=LAG)
VICTIM, HONEST, ATTACKER, OTHER = "DEU", "FRA", "USA", "BRA"


# -- an in-memory wire between replicators --------------------------------------


@dataclass
class Node:
    ledger: Ledger
    publisher: Publisher
    replicator: Replicator


def make_node(devnet: DevNet, member: str, config: ReplicationConfig = CONFIG) -> Node:
    spec = devnet.member(member)
    ledger = Ledger.of_member(MemoryStore(), devnet.governance.public_key, member, spec.keys)
    ledger.ingest(devnet.genesis, NOW)
    return Node(ledger, Publisher(ledger, member, spec.keys), Replicator(ledger, member, config))


def heads(node: Node) -> dict[str, int]:
    return {a: s for a, (s, _) in node.ledger.frontier().items()}


@dataclass
class Wire:
    """Replicators joined in memory. Frames to a member without a replicator (the
    attacker) land in its inbox; closes and events are recorded with who acted."""

    nodes: dict[str, Node]
    now: int = NOW
    queue: deque[tuple[str, Send]] = field(default_factory=deque)
    inbox: dict[str, list[Frame]] = field(default_factory=dict)
    closes: list[tuple[str, Close]] = field(default_factory=list)
    events: list[tuple[str, Event]] = field(default_factory=list)
    tamper: Callable[[str, str, bytes], bytes] | None = None  # (sender, peer, frame) -> frame

    def connect(self, a: str, b: str) -> None:
        for me, other in ((a, b), (b, a)):
            if me in self.nodes:
                self.dispatch(me, self.nodes[me].replicator.connect(other, self.now))

    def dispatch(self, sender: str, actions: list[Action]) -> list[Action]:
        for action in actions:
            assert isinstance(action, Send | Close | Event), action
            if isinstance(action, Send):
                self.queue.append((sender, action))
            elif isinstance(action, Close):
                assert action.reason, "a close must say why"
                self.closes.append((sender, action))
                if action.peer in self.nodes:  # the stream is gone for both ends
                    self.nodes[action.peer].replicator.disconnect(sender)
            else:
                self.events.append((sender, action))
        return actions

    def inject(self, attacker: str, victim: str, frame: Frame | bytes) -> list[Action]:
        """The attacker's frame reaches the victim; returns the victim's actions."""
        data = frame if isinstance(frame, bytes) else encode_frame(frame)
        return self.dispatch(
            victim, self.nodes[victim].replicator.receive(attacker, data, self.now)
        )

    def run(self, max_frames: int = 100_000) -> None:
        """Deliver frames until none are in flight."""
        for _ in range(max_frames):
            if not self.queue:
                return
            sender, send = self.queue.popleft()
            data = self.tamper(sender, send.peer, send.data) if self.tamper else send.data
            if send.peer not in self.nodes:
                self.inbox.setdefault(send.peer, []).append(decode_frame(data))
                continue
            replicator = self.nodes[send.peer].replicator
            if sender in replicator.sessions:
                self.dispatch(send.peer, replicator.receive(sender, data, self.now))
        raise AssertionError("the wire never went quiet")

    def tick(self, at: int) -> list[Action]:
        self.now = at
        out: list[Action] = []
        for name, node in sorted(self.nodes.items()):
            out += self.dispatch(name, node.replicator.tick(at))
        return out

    def named(self, name: str) -> list[Event]:
        return [e for _, e in self.events if e.name == name]


@pytest.fixture
def wire(devnet: DevNet) -> Wire:
    """The victim (DEU) connected to an honest FRA; neither holds anything but genesis."""
    wire = Wire({VICTIM: make_node(devnet, VICTIM), HONEST: make_node(devnet, HONEST)})
    wire.connect(VICTIM, HONEST)
    wire.run()
    return wire


def attach(wire: Wire, attacker: str = ATTACKER, hello: Frame | None = None) -> None:
    """Open a session from `attacker` to the victim and send its hello."""
    wire.dispatch(VICTIM, wire.nodes[VICTIM].replicator.connect(attacker, wire.now))
    frame = hello or Hello(attacker, {}, 4096)
    wire.inject(attacker, VICTIM, frame)
    wire.run()


def honest_still_served(wire: Wire, number: str = "HONEST001") -> None:
    """FRA publishes; the victim gets it over their untouched session (and DEU's reach FRA)."""
    for publisher in (HONEST, VICTIM):
        node = wire.nodes[publisher]
        node.publisher.publish("sltd", document(f"{number}{publisher[0]}", publisher), wire.now)
        wire.dispatch(publisher, node.replicator.published(wire.now))
    wire.run()
    assert heads(wire.nodes[VICTIM]) == heads(wire.nodes[HONEST])
    assert HONEST in wire.nodes[VICTIM].replicator.sessions


def closed(wire: Wire, attacker: str = ATTACKER) -> list[str]:
    return [c.reason for who, c in wire.closes if who == VICTIM and c.peer == attacker]


def feed_entries(devnet: DevNet, member: str, count: int) -> list[Entry]:
    """`count` records published by `member` (its key-epoch entry first): genuine entries
    the attacker relays. Not FRA's: FRA publishes its own in `honest_still_served`."""
    node = make_node(devnet, member)
    for i in range(count):
        node.publisher.publish("sltd", document(f"F{i:08d}", member), NOW + i)
    return list(node.ledger.feed(member))


def resigned(entry: Entry, sign: Callable[[bytes], bytes]) -> Entry:
    return Entry(entry.header, sign(entry.header.signing_bytes()), entry.body)


def test_spliced_wire_entries_are_the_canonical_encoding(devnet: DevNet) -> None:
    """What a sender puts on the wire without decoding is exactly what a receiver checks."""
    node = make_node(devnet, HONEST)
    node.publisher.publish("sltd", document("SPLICE001", "FRA"), NOW)
    node.publisher.publish("diffusion", diffusion(("DEU",)), NOW, ("DEU",))
    for entry in node.ledger.feed(HONEST):
        for body in (entry.body, None, b"", b"x" * 23, b"y" * 24, b"z" * 300, b"w" * 70_000):
            wire = splice_wire(entry.signed_header, body)
            assert wire == Entry(entry.header, entry.signature, body).to_wire()
            assert decode_entry(wire) == Entry(entry.header, entry.signature, body)
    spliced = list(wire_feed(node.ledger, HONEST, 2))
    assert spliced == [(e.header.seq, e.to_wire()) for e in node.ledger.feed(HONEST, 2)]


DOCUMENTED: list[tuple[Frame, str]] = [
    (Hello("FRA", {"FRA": 2, "#GOV": 1}, 2048), "00000036"),
    (Hello("DEU", {"#GOV": 1}, 2048), "00000031"),
    (Want({"FRA": 1}), "00000017"),
    (Ack(2), "0000000d"),
    (Have({"FRA": 3}), ""),
    (Dont(("FRA",)), ""),
]


def test_the_documented_frames_are_the_encoding() -> None:
    """docs/protocol.md's worked example shows the reference encoder's bytes."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()
    for frame, prefix in DOCUMENTED:
        data = encode_frame(frame)
        assert data.hex() in doc, frame
        assert decode_frame(data) == frame
        if prefix:
            assert f"`{prefix}`, {len(data)} bytes" in doc
            assert prefix == len(data).to_bytes(4, "big").hex()


# -- malformed frames -----------------------------------------------------------

MALFORMED: dict[str, bytes] = {
    "random bytes": random.Random(1).randbytes(64),
    "empty": b"",
    "truncated CBOR": encode_frame(Have({"FRA": 1}))[:-1],
    "trailing bytes": encode_frame(Have({"FRA": 1})) + b"\x00",
    "non-canonical integer": bytes.fromhex("a3616e180161746361636b617601"),
    "a float": cbor2.dumps({"t": "ack", "v": 1, "n": 1.5}),
    "a CBOR tag": cbor2.dumps(cbor2.CBORTag(24, b"x")),
    "an array": encode([1, 2, 3]),
    "no type": encode({"v": 1, "n": 1}),
    "unknown type": encode({"t": "gimme", "v": 1}),
    "wrong version": encode({"t": "ack", "v": 2, "n": 1}),
    "missing field": encode({"t": "want", "v": 1}),
    "unknown field": encode({"t": "ack", "v": 1, "n": 1, "x": 0}),
    "ill-typed field": encode({"t": "ack", "v": 1, "n": "many"}),
    "ill-typed frontier": encode({"t": "have", "v": 1, "frontier": {"FRA": "1"}}),
    "entries not bytes": encode({"t": "entries", "v": 1, "entries": [1, 2]}),
    "deep nesting": encode({"t": "have", "v": 1, "frontier": {}}).replace(
        b"\xa0", b"\x81" * 20 + b"\xa0"
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_frame_closes_only_that_session(wire: Wire, case: str) -> None:
    attach(wire)
    victim = wire.nodes[VICTIM].replicator
    actions = wire.inject(ATTACKER, VICTIM, MALFORMED[case])
    assert [a for a in actions if isinstance(a, Send)] == []
    (reason,) = closed(wire)
    assert reason.startswith("malformed frame: ")
    assert ATTACKER not in victim.sessions
    assert victim.counters.refused["session-closed"] == 1
    assert wire.inject(ATTACKER, VICTIM, Ack(1)) == [Close(ATTACKER, "no session")]
    honest_still_served(wire)


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (Have({"FRA": 3}), "first frame must be hello"),
        (Entries(()), "first frame must be hello"),
        (Hello(OTHER, {}, 10), "hello names 'BRA', not the peer"),
        (Hello(ATTACKER, {f"X{i:05d}": 1 for i in range(5000)}, 10), "announced too many feeds"),
    ],
)
def test_a_bad_opening_closes_the_session(wire: Wire, first: Frame, expected: str) -> None:
    wire.dispatch(VICTIM, wire.nodes[VICTIM].replicator.connect(ATTACKER, wire.now))
    wire.inject(ATTACKER, VICTIM, first)
    assert closed(wire) == [expected]
    honest_still_served(wire)


def test_a_second_hello_closes_the_session(wire: Wire) -> None:
    attach(wire)
    wire.inject(ATTACKER, VICTIM, Hello(ATTACKER, {}, 10))
    assert closed(wire) == ["second hello"]
    honest_still_served(wire)


def test_announcements_of_unknown_feeds_are_ignored(wire: Wire) -> None:
    attach(wire)
    actions = wire.inject(ATTACKER, VICTIM, Have({"NOPE": 9, "ZZZ": 1}))
    assert actions == []
    victim = wire.nodes[VICTIM].replicator
    assert not set(victim.source) & {"NOPE", "ZZZ"}
    assert not victim.wants_tick
    wire.inject(ATTACKER, VICTIM, Want({"NOPE": 1}))
    assert "NOPE" not in victim.sessions[ATTACKER].cursors
    honest_still_served(wire)


def mutations(frames: list[bytes], rng: random.Random, count: int) -> Iterator[bytes]:
    """Bit flips, truncations, insertions and splices of valid frames."""
    for _ in range(count):
        data = bytearray(rng.choice(frames))
        how = rng.randrange(4)
        if how == 0:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == 1:
            del data[rng.randrange(1, len(data)) :]
        elif how == 2:
            at = rng.randrange(len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        else:
            other = rng.choice(frames)
            data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]
        yield bytes(data)


ODD_VALUES: tuple[Any, ...] = (
    None,
    0,
    -1,
    2**63,
    2**64 - 1,
    "",
    "FRA",
    "#GOV",
    "x" * 300,
    b"",
    b"\x00" * 32,
    [],
    {},
    True,
)


def entry_mutations(entries: list[Entry], rng: random.Random, count: int) -> Iterator[bytes]:
    """Entries frames holding well-formed CBOR entries with one field replaced or removed."""
    for _ in range(count):
        doc = cbor2.loads(rng.choice(entries).to_wire())
        target = doc["header"] if rng.random() < 0.8 else doc
        name = rng.choice(sorted(target))
        if rng.random() < 0.15:
            del target[name]
        else:
            target[name] = rng.choice(ODD_VALUES)
        yield encode_frame(Entries((encode(doc),)))


def test_fuzzed_frames_never_raise_and_every_refusal_has_a_reason(
    wire: Wire, devnet: DevNet
) -> None:
    entries = feed_entries(devnet, OTHER, 3)
    valid = [
        encode_frame(Hello(ATTACKER, {"BRA": 4, "#GOV": 1}, 100)),
        encode_frame(Have({"BRA": 4, "DEU": 2})),
        encode_frame(Want({"BRA": 1, "#GOV": 2})),
        encode_frame(Dont(("BRA", "DEU"))),
        encode_frame(Ack(17)),
        encode_frame(Entries(tuple(e.to_wire() for e in entries))),
    ]
    victim = wire.nodes[VICTIM].replicator
    rng = random.Random(20_260_801)
    for data in [*mutations(valid, rng, 300), *entry_mutations(entries, rng, 300)]:
        if ATTACKER not in victim.sessions:
            attach(wire)
        wire.inject(ATTACKER, VICTIM, data)  # must not raise
        wire.run()
    refused = [e for e in wire.named("entry.refused") if e.fields["peer"] == ATTACKER]
    assert all(e.fields["reason"] and e.fields["detail"] for e in refused)
    assert closed(wire) and all(closed(wire))
    assert heads(wire.nodes[VICTIM]).get(OTHER, 0) <= 4
    honest_still_served(wire)


# -- forged and junk entries ----------------------------------------------------


def test_forged_entries_are_refused_with_a_reason(wire: Wire, devnet: DevNet) -> None:
    attach(wire)
    genuine = feed_entries(devnet, HONEST, 1)
    forged = [
        Entry(genuine[0].header, bytes(64), genuine[0].body),  # zero signature
        resigned(genuine[0], devnet.member(ATTACKER).keys.sign),  # signed by another member
        Entry(genuine[0].header, genuine[0].signature, b"\x00" + (genuine[0].body or b"")),
    ]
    victim = wire.nodes[VICTIM]
    before = heads(victim)
    actions = wire.inject(ATTACKER, VICTIM, Entries(tuple(e.to_wire() for e in forged)))
    events = [a for a in actions if isinstance(a, Event) and a.name == "entry.refused"]
    assert [e.fields["reason"] for e in events] == ["BadSignature", "BadSignature", "BodyMismatch"]
    assert all(e.fields["feed"] == "FRA" and e.fields["seq"] == 1 for e in events)
    assert Send(ATTACKER, encode_frame(Ack(3))) in actions
    assert heads(victim) == before
    assert victim.replicator.counters.refused == {"BadSignature": 2, "BodyMismatch": 1}
    assert victim.replicator.sessions[ATTACKER].bad == 3
    assert not closed(wire)
    honest_still_served(wire)


def test_a_frame_ending_on_an_entry_its_author_signed_over_is_asked_again(
    wire: Wire, devnet: DevNet
) -> None:
    """BRA's entry 2 has a bad own signature and entry 3 signs over it (only BRA can
    do this). A relay that took them together may end a frame on entry 2: the
    victim asks again from it instead of holding that against the relay, and
    takes both when they come together. Past UNVOUCHED_ASKS it counts as junk."""
    attach(wire, hello=Hello(ATTACKER, {OTHER: 3}, 4096))
    genuine = feed_entries(devnet, OTHER, 1)  # key epoch, sltd
    unsigned = Entry(genuine[1].header, bytes(64), genuine[1].body)
    over = seal_entry(
        Draft(OTHER, 3, unsigned.id, NOW + 5, "cancel", Cancellation(b"\1" * 32)),
        None,
        devnet.member(OTHER).keys.sign,
    )
    victim = wire.nodes[VICTIM]
    session = victim.replicator.sessions[ATTACKER]
    actions = wire.inject(ATTACKER, VICTIM, Entries((genuine[0].to_wire(), unsigned.to_wire())))
    assert heads(victim)[OTHER] == 1
    assert Event("entry.unvouched", {"peer": ATTACKER, "feed": OTHER, "seq": 2}) in actions
    assert Send(ATTACKER, encode_frame(Want({OTHER: 2}))) in actions
    assert session.bad == 0
    wire.inject(ATTACKER, VICTIM, Entries((unsigned.to_wire(), over.to_wire())))
    assert heads(victim)[OTHER] == 3
    assert session.bad == 0
    assert not closed(wire)
    # junk at a feed's next position is asked again a few times, then counted
    other = make_node(devnet, VICTIM)
    wire.nodes[VICTIM] = other
    attach(wire)
    session = other.replicator.sessions[ATTACKER]
    wire.inject(ATTACKER, VICTIM, Entries((genuine[0].to_wire(),)))
    for _ in range(UNVOUCHED_ASKS):
        wire.inject(ATTACKER, VICTIM, Entries((unsigned.to_wire(),)))
    assert session.bad == 0
    wire.inject(ATTACKER, VICTIM, Entries((unsigned.to_wire(),)))
    assert session.bad == 1


def junk(devnet: DevNet, count: int, rng: random.Random) -> list[bytes]:
    """Valid-looking entries (FRA's real headers) with random signatures."""
    genuine = feed_entries(devnet, HONEST, 2)
    return [
        Entry(e.header, rng.randbytes(64), e.body).to_wire()
        for e in (genuine[i % len(genuine)] for i in range(count))
    ]


def test_a_flood_of_junk_entries_closes_the_session(wire: Wire, devnet: DevNet) -> None:
    attach(wire)
    victim = wire.nodes[VICTIM].replicator
    flood = junk(devnet, 1000, random.Random(5))
    for i in range(0, len(flood), 100):
        wire.inject(ATTACKER, VICTIM, Entries(tuple(flood[i : i + 100])))
    # the frame's last junk is FRA's next entry (seq 1): a successor could vouch for it,
    # so it is asked for again rather than counted (record-format section 10)
    assert closed(wire) == ["99 invalid entries"] + ["no session"] * 9
    assert victim.counters.refused["BadSignature"] == 99
    assert victim.counters.refused["Unvouched"] == 1
    assert victim.counters.refused["session-closed"] == 1
    refused = [e for e in wire.named("entry.refused") if e.fields["peer"] == ATTACKER]
    assert 0 < len(refused) <= CONFIG.max_bad + 2  # logged, but not once per junk entry
    honest_still_served(wire)


def test_a_frame_beyond_the_credit_is_refused_unread(wire: Wire, devnet: DevNet) -> None:
    attach(wire)
    victim = wire.nodes[VICTIM].replicator
    flood = junk(devnet, CONFIG.credit + 1, random.Random(6))
    wire.inject(ATTACKER, VICTIM, Entries(tuple(flood)))
    assert closed(wire) == [f"{CONFIG.credit + 1} entries exceed the credit left (2048)"]
    assert "BadSignature" not in victim.counters.refused  # not one signature checked
    assert victim.counters.refused["OverCredit"] == 1
    honest_still_served(wire)


def test_frames_that_together_exceed_the_credit_are_refused_before_any_check(
    wire: Wire, devnet: DevNet
) -> None:
    """Credit is what the peer may have in flight, not a per-frame size: the driver asks
    `admit` for each frame as it is read, before checking or acking any of them."""
    attach(wire)
    victim = wire.nodes[VICTIM].replicator
    half = CONFIG.credit // 2
    assert victim.admit(ATTACKER, half) == []
    assert victim.admit(ATTACKER, half) == []
    refused = victim.admit(ATTACKER, 1)
    assert [a.reason for a in refused if isinstance(a, Close)] == [
        "1 entries exceed the credit left (0)"
    ]
    assert all(a.fault for a in refused if isinstance(a, Close))
    assert ATTACKER not in victim.sessions
    honest_still_served(wire)


# -- ordering and silence -------------------------------------------------------


def test_entries_out_of_order_are_rewanted_and_converge(wire: Wire, devnet: DevNet) -> None:
    attach(wire, hello=Hello(ATTACKER, {OTHER: 6}, 4096))
    entries = feed_entries(devnet, OTHER, 5)  # seqs 1..6
    assert wire.inbox[ATTACKER][-1] == Want({OTHER: 1})
    shuffled = [entries[i] for i in (3, 4, 0, 1, 5, 2)]  # seqs 4 5 1 2 6 3
    actions = wire.inject(ATTACKER, VICTIM, Entries(tuple(e.to_wire() for e in shuffled)))
    victim = wire.nodes[VICTIM]
    assert heads(victim)[OTHER] == 3  # 4, 5 and 6 arrived before their predecessors
    gap = [a for a in actions if isinstance(a, Event) and a.name == "feed.gap"]
    assert gap == [Event("feed.gap", {"peer": ATTACKER, "want": {OTHER: 4}})]
    assert Send(ATTACKER, encode_frame(Want({OTHER: 4}))) in actions
    assert victim.replicator.counters.refused == {"Gap": 3}
    assert not closed(wire)
    wire.inject(ATTACKER, VICTIM, Entries(tuple(e.to_wire() for e in entries[3:])))
    assert heads(victim)[OTHER] == 6
    honest_still_served(wire)


def test_a_neighbour_reordering_its_frames_still_converges(devnet: DevNet) -> None:
    small = ReplicationConfig(batch_entries=8)
    source = make_node(devnet, HONEST, small)
    for i in range(40):
        source.publisher.publish("sltd", document(f"R{i:08d}", "FRA"), NOW + i)
    source.replicator.published(NOW)
    wire = Wire({VICTIM: make_node(devnet, VICTIM, small), HONEST: source})
    rng = random.Random(3)

    def reorder(sender: str, peer: str, data: bytes) -> bytes:
        frame = decode_frame(data)
        if sender == HONEST and isinstance(frame, Entries):
            shuffled = list(frame.entries)
            rng.shuffle(shuffled)
            return encode_frame(Entries(tuple(shuffled)))
        return data

    wire.tamper = reorder
    wire.connect(VICTIM, HONEST)
    wire.run()
    assert heads(wire.nodes[VICTIM]) == heads(source)
    assert wire.named("feed.gap")
    assert wire.nodes[VICTIM].ledger.state_digest() == source.ledger.state_digest()


def silent_setup(devnet: DevNet, claim: int) -> tuple[Wire, Node]:
    """The victim hears of FRA's 6 entries first from a silent USA (claiming `claim`),
    then from BRA, which holds them and answers."""
    bra = make_node(devnet, OTHER)
    for entry in feed_entries(devnet, HONEST, 5):
        bra.ledger.ingest(entry, NOW)
    bra.replicator.published(NOW)
    wire = Wire({VICTIM: make_node(devnet, VICTIM), OTHER: bra})
    attach(wire, hello=Hello(ATTACKER, {"FRA": claim}, 4096))
    assert wire.inbox[ATTACKER][-1] == Want({"FRA": 1})  # the silent one became the source
    wire.connect(VICTIM, OTHER)
    wire.run()
    assert heads(wire.nodes[VICTIM]).get("FRA") is None
    return wire, bra


@pytest.mark.parametrize("claim", [6, 10**9], ids=["same-claim", "inflated-claim"])
def test_a_silent_source_is_replaced_after_the_lag(devnet: DevNet, claim: int) -> None:
    wire, bra = silent_setup(devnet, claim)
    victim = wire.nodes[VICTIM]
    assert wire.tick(NOW + LAG - 1) == []
    actions = wire.tick(NOW + LAG)
    assert Event("source.switch", {"feed": "FRA", "to": OTHER}) in actions
    assert Send(ATTACKER, encode_frame(Dont(("FRA",)))) in actions
    assert Send(OTHER, encode_frame(Want({"FRA": 1}))) in actions
    wire.run()
    assert heads(victim)["FRA"] == 6
    assert victim.replicator.source["FRA"] == OTHER


def test_a_stalled_only_source_is_asked_again_once_per_lag(wire: Wire) -> None:
    """USA alone announces FRA's feed, then never sends it: the victim re-wants it
    from USA after each lag (USA may have lost the subscription), and no more often."""
    attach(wire, hello=Hello(ATTACKER, {"FRA": 3}, 4096))
    want = Send(ATTACKER, encode_frame(Want({"FRA": 1})))
    victim = wire.nodes[VICTIM].replicator
    began = victim.progress["FRA"]
    assert want not in wire.tick(began + LAG - 1)
    assert want in wire.tick(began + LAG)
    assert want not in wire.tick(began + LAG + 1)
    assert want in wire.tick(began + 2 * LAG)
    assert victim.source["FRA"] == ATTACKER


def test_a_lost_source_is_replaced_at_the_next_tick(devnet: DevNet) -> None:
    wire, _ = silent_setup(devnet, 6)
    wire.dispatch(VICTIM, wire.nodes[VICTIM].replicator.disconnect(ATTACKER))
    actions = wire.tick(NOW + 1)  # no lag to wait for: the source is gone
    assert Event("source.switch", {"feed": "FRA", "to": OTHER}) in actions
    wire.run()
    assert heads(wire.nodes[VICTIM])["FRA"] == 6


# -- over the real transport ----------------------------------------------------

SAFETY = 60.0


class Service:
    """A NodeService of the local network, run in this trio process."""

    def __init__(self, net: LocalNet, member: str) -> None:
        # Publish as soon as one peer told us our feed's head (here only two nodes run).
        config = dataclasses.replace(load_config(net.members[member].config), own_feed_wait_s=0)
        self.service = NodeService(config, config.keys(""))
        self.member = member

    @property
    def peer_id(self) -> str:
        return self.service.peer_id


async def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    """Poll `probe` every 20 ms (the node runs in this trio loop) until truthy."""
    with trio.fail_after(SAFETY):
        while not (value := probe()):
            await trio.sleep(0.02)
    assert value, what
    return value


class Attacker:
    """A roster member's identity (BRA) driven by hand: raw frames over a real stream."""

    def __init__(self, net: LocalNet, target: Service, max_frame: int) -> None:
        seed = net.devnet.member(OTHER).keys.libp2p_seed
        self.target = target
        self.listen = net.members[target.member].listen
        self.inbound, self._streams = trio.open_memory_channel[FramedStream](4)
        self.release = trio.Event()
        self.transport = Transport(
            seed, allowlist=[target.peer_id], on_stream=self._accept, max_frame=max_frame
        )

    async def _accept(self, peer: str, stream: FramedStream) -> None:
        await self.inbound.send(stream)
        await self.release.wait()

    def forget_streams(self) -> None:
        """Drop inbound streams not taken yet (of a connection that is gone)."""
        while True:
            try:
                self._streams.receive_nowait()
            except trio.WouldBlock:
                return

    async def session(self) -> FramedStream:
        """Connect and get the replication stream, whichever side opens it."""
        await self.transport.connect(self.target.peer_id, self.listen)
        if self.transport.peer_id < self.target.peer_id:
            return await self.transport.open_stream(self.target.peer_id)
        return await self._streams.receive()


def events(caplog: pytest.LogCaptureFixture, name: str, **fields: str) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name == "noticenet.node"]
    want = [f"event={name}"] + [f"{k}={v}" for k, v in fields.items()]
    return [line for line in lines if all(w in line.split(" ") for w in want)]


@pytest.fixture
def localnet(tmp_path: Path) -> LocalNet:
    return create_localnet(tmp_path / "net")


@pytest.fixture
def node_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture the node's events even if something set `noticenet` not to propagate."""
    logger = logging.getLogger("noticenet")
    caplog.set_level(logging.INFO, logger="noticenet")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


async def test_attacks_over_libp2p_leave_the_node_serving_others(
    localnet: LocalNet, node_log: pytest.LogCaptureFixture
) -> None:
    caplog = node_log
    victim, honest = Service(localnet, VICTIM), Service(localnet, HONEST)
    attacker = Attacker(localnet, victim, max_frame=16 * 1024 * 1024)
    seq = 0

    async def honest_still_served() -> None:
        nonlocal seq
        seq += 1
        honest.service.publish("sltd", document(f"LIVE{seq:05d}", "FRA"))
        head = honest.service.ledger.head(HONEST)
        await wait_for("FRA's record on DEU", lambda: victim.service.ledger.head(HONEST) == head)

    async with trio.open_nursery() as nursery:
        await nursery.start(victim.service.run)
        await nursery.start(honest.service.run)
        await wait_for("DEU-FRA session", lambda: HONEST in victim.service.connected())
        await wait_for("FRA publishes", lambda: honest.service.own_feed_status().ready)
        async with attacker.transport:
            # 1. an oversized frame: the framing refuses it before reading the payload
            stream = await attacker.session()
            await wait_for("attacker session", lambda: OTHER in victim.service.connected())
            with trio.fail_after(SAFETY), contextlib.suppress(TransportError):
                await stream.send(b"\x00" * (5 * 1024 * 1024))  # reset midway: fine
            await wait_for(
                "FrameTooLarge", lambda: events(caplog, "stream.error", error="FrameTooLarge")
            )
            await wait_for("session gone", lambda: OTHER not in victim.service.connected())
            await honest_still_served()

            # 2. a flood of 1000 junk entries in one frame from a fresh session
            await attacker.transport.disconnect(victim.peer_id)
            await wait_for("disconnected", lambda: not attacker.transport.connected_peers())
            stream = await attacker.session()
            flood = junk(localnet.devnet, 1000, random.Random(9))
            with trio.fail_after(SAFETY):
                await stream.send(encode_frame(Hello(OTHER, {}, 100)))
                await stream.send(encode_frame(Entries(tuple(flood))))
            closes = await wait_for("closed", lambda: events(caplog, "peer.closed", peer=OTHER))
            # written in parts of APPLY_PART: the session closes after the first part
            assert f'reason="{APPLY_PART} invalid entries"' in closes[0]
            counters = victim.service.replicator.counters
            assert counters.refused["BadSignature"] == APPLY_PART
            assert counters.refused["session-closed"] == 1
            with trio.fail_after(SAFETY):
                with pytest.raises(TransportError):
                    while True:  # the victim's hello, then the stream ends
                        await stream.receive()
            await honest_still_served()
            attacker.release.set()
        assert victim.service.ledger.head(OTHER) is None
        nursery.cancel_scope.cancel()


def spawned_children() -> list[int]:
    """This process's children started by multiprocessing's spawn (intake workers)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids |= {int(p) for p in (task / "children").read_text().split()}
    return [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux /proc")
async def test_a_dead_intake_worker_costs_the_node_nothing(
    localnet: LocalNet, node_log: pytest.LogCaptureFixture
) -> None:
    """Intake workers killed (say by the out-of-memory killer) while the node runs: the
    frames in flight are checked in process, the pool is replaced, nothing is lost."""
    victim = Service(localnet, VICTIM)
    relay = Attacker(localnet, victim, max_frame=16 * 1024 * 1024)  # BRA, sending its own feed
    node = make_node(localnet.devnet, OTHER)
    for i in range(209):  # issued now: the node checks times against its own clock
        node.publisher.publish("sltd", document(f"W{i:08d}", OTHER), int(time.time() * 1000))
    feed = [e.to_wire() for e in node.ledger.feed(OTHER)]  # 210 entries
    async with trio.open_nursery() as nursery:
        await nursery.start(victim.service.run)
        pool = victim.service.intake
        assert pool is not None
        pool.warm()
        workers = spawned_children()
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        async with relay.transport:
            stream = await relay.session()
            with trio.fail_after(SAFETY):
                await stream.send(encode_frame(Hello(OTHER, {OTHER: len(feed)}, 100)))
            for start in range(0, len(feed), 70):  # frames big enough for the workers
                with trio.fail_after(SAFETY):
                    await stream.send(encode_frame(Entries(tuple(feed[start : start + 70]))))
                held = min(start + 70, len(feed))
                await wait_for(
                    f"{held} of BRA's entries",
                    lambda held=held: (victim.service.ledger.head(OTHER) or (0,))[0] == held,
                )
            assert OTHER in victim.service.connected()  # the session went on throughout
            relay.release.set()
        assert pool.restarts == 1
        assert events(node_log, "intake.pooled")  # the new pool checks frames again
        assert not set(workers) & set(spawned_children())
        nursery.cancel_scope.cancel()


def faults(victim: Service) -> int:
    return victim.service.stats.closed.get("fault", 0)


async def test_a_member_that_breaks_the_protocol_again_is_banned(
    localnet: LocalNet, node_log: pytest.LogCaptureFixture
) -> None:
    """Frames beyond the credit are refused as read, before any entry is checked or queued
    for the intake workers; the second such session bans the member, both ways."""
    victim = Service(localnet, VICTIM)
    attacker = Attacker(localnet, victim, max_frame=16 * 1024 * 1024)
    flood = junk(localnet.devnet, 3_000, random.Random(11))  # 3,000 > the 2,048 granted
    async with trio.open_nursery() as nursery:
        await nursery.start(victim.service.run)
        async with attacker.transport:
            for attempt in (1, 2):
                stream = await attacker.session()
                with trio.fail_after(SAFETY), contextlib.suppress(TransportError):
                    await stream.send(encode_frame(Hello(OTHER, {}, 100)))
                    await stream.send(encode_frame(Entries(tuple(flood))))
                await wait_for(f"close {attempt}", lambda n=attempt: faults(victim) >= n)
                if attempt == 1:  # not yet banned: the session ends, the connection stays
                    await attacker.transport.disconnect(victim.peer_id)
                await wait_for("disconnected", lambda: not attacker.transport.connected_peers())
                attacker.forget_streams()  # the victim reopened a session meanwhile: stale
            closes = events(node_log, "peer.closed", peer=OTHER, kind="fault")
            assert "exceed the credit left" in closes[0]
            assert victim.service.stats.closed == {"fault": 2}
            counters = victim.service.replicator.counters
            assert counters.refused["OverCredit"] == 2
            assert "BadSignature" not in counters.refused  # not one entry was checked
            assert events(node_log, "peer.banned", peer=OTHER)
            assert victim.service.stats.bans == 1
            with pytest.raises(TransportError):  # refused at the gate while banned
                await attacker.session()
            attacker.release.set()
        nursery.cancel_scope.cancel()
