"""Relay, then open, over real nodes (in-process NodeServices on real libp2p and LevelDB).

A dishonest body is relayed (stored, acknowledged, forwarded) on its header's
merits, then found out by the open stage on every node that reads it: evidence,
its body dropped, never answered. The process-level cases (a node killed between
the stages; a revocation while bodies wait) are in tests/test_network.py.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from noticenet.node.demo.localnet import LocalNet, create_localnet
from noticenet.protocol.errors import NotFound
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import Firearm
from noticenet.protocol.records.sealing import Draft, EpochKeying, seal_entry
from noticenet.protocol.replication.frames import Entries, Hello, encode_frame
from noticenet.protocol.store.keyspace import key

from .samples import document
from .test_byzantine import HONEST, OTHER, SAFETY, VICTIM, Attacker, Service, events, make_node
from .test_byzantine import wait_for as wait

DAY_MS = 86_400_000


@pytest.fixture
def localnet(tmp_path: Path) -> LocalNet:
    return create_localnet(tmp_path / "net")


@pytest.fixture
def node_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    logger = logging.getLogger("noticenet")
    caplog.set_level(logging.INFO, logger="noticenet")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def feed_with_a_lie(localnet: LocalNet) -> tuple[list[Entry], Entry]:
    """BRA's feed (records, issued now) ending in a firearm whose make has no
    identifier: its header and signature are in order, its body is not a record."""
    node = make_node(localnet.devnet, OTHER)
    now = int(time.time() * 1000)
    for i in range(3):
        node.publisher.publish("sltd", document(f"R{i:08d}", OTHER), now)
    node.publisher.publish("firearm", Firearm(make="Glock", serial="X0"), now)
    ledger = node.ledger
    seq, prev = ledger.head(OTHER) or (0, b"")
    epoch = [e for e in ledger.feed(OTHER) if e.header.kind == "key_epoch"][-1]
    keying = EpochKeying(epoch.id, ledger.epoch_key(epoch.id) or b"")
    draft = Draft(OTHER, seq + 1, prev, now, "firearm", Firearm(make="--", serial="X1"))
    lie = seal_entry(
        dataclasses.replace(draft, expires_at=now + DAY_MS), keying, node.publisher.keys.sign
    )
    return [*ledger.feed(OTHER), lie], lie


@pytest.mark.parametrize("relay_first", [True, False], ids=["relay-first", "one-pass"])
async def test_a_dishonest_body_is_relayed_then_found_out_on_every_reader(
    localnet: LocalNet, node_log: pytest.LogCaptureFixture, relay_first: bool
) -> None:
    """Relaying first, DEU forwards the lie on its header's merits and both find it out
    behind; in one pass (`relay_first = false`) DEU finds it out before it forwards, and
    FRA gets the header alone. Either way: evidence, never answered, on both."""
    feed, lie = feed_with_a_lie(localnet)
    for member in (VICTIM, HONEST):
        config = localnet.members[member].config
        config.write_text(f"relay_first = {str(relay_first).lower()}\n" + config.read_text())
    victim, honest = Service(localnet, VICTIM), Service(localnet, HONEST)
    assert victim.service.replicator.config.defer_opening is relay_first
    sender = Attacker(localnet, victim, max_frame=16 * 1024 * 1024)  # BRA, sending its feed
    async with trio.open_nursery() as nursery:
        await nursery.start(victim.service.run)
        await nursery.start(honest.service.run)
        await wait("DEU-FRA session", lambda: HONEST in victim.service.connected())
        async with sender.transport:
            stream = await sender.session()
            with trio.fail_after(SAFETY):
                await stream.send(encode_frame(Hello(OTHER, {OTHER: len(feed)}, 100)))
                await stream.send(encode_frame(Entries(tuple(e.to_wire() for e in feed[:-1]))))
            head = lie.header.seq
            ledger = honest.service.ledger  # FRA now takes BRA's feed from DEU, eagerly:
            await wait(
                "FRA holds BRA's honest entries",
                lambda: ledger.head(OTHER) == (head - 1, lie.header.prev),
            )
            with trio.fail_after(SAFETY):
                await stream.send(encode_frame(Entries((lie.to_wire(),))))
            # Relaying first, DEU forwards the lie with its body on its header's merits; in
            # one pass it finds it out first and FRA gets the header alone.
            readers = (victim, honest) if relay_first else (victim,)
            for node in (victim, honest):
                ledger = node.service.ledger
                await wait(f"{node.member} holds BRA#{head}", lambda led=ledger: led.head(OTHER))
                if node in readers:
                    await wait(
                        f"{node.member} found the lie out",
                        lambda led=ledger: lie.id in led.evidence() and not led.waiting(1),
                    )
                    assert ledger.evidence()[lie.id] == "body is not a valid record: SchemaError"
                    assert ledger.tombstone(lie.id)["reason"] == "evidence"  # type: ignore[index]
                else:
                    assert lie.id not in ledger.evidence() and not ledger.waiting(1)
                assert ledger.head(OTHER) == (head, lie.id)
                assert ledger.store.get(key(b"b", lie.id)) is None
                with pytest.raises(NotFound):
                    ledger.read(lie.id)
                assert ledger.find_document(OTHER, "R00000002") != []  # the honest ones are
                assert verify_ledger(ledger) == []
            assert events(node_log, "body.withheld", feed=OTHER, reason="evidence")
            assert OTHER in victim.service.connected()  # relaying it was no fault of BRA's
            sender.release.set()
        nursery.cancel_scope.cancel()
