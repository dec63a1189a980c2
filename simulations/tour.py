"""`noticenet demo --offline`: a readable tour of what noticenet does, in one process.

Seven members (five bureaus, Europol as a partner scoped to SLTD and
vehicles, and the CCF) replicate over the simulated network driver, which
runs the same replication and ledger code as a node. A later version runs
real node processes; this one shows the record format, the encryption, the
border check, and a CCF revocation with its guard against re-entry.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from noticenet.crypto.errors import NotARecipient
from noticenet.protocol.ccf.bootstrap import threshold_entry
from noticenet.protocol.devnet import DevNet, make_devnet
from noticenet.protocol.errors import NotFound, ReentryBlocked
from noticenet.protocol.identifiers.mrz import compose_mrz
from noticenet.protocol.index.guard_tags import same_tags_for, similar_guards_for
from noticenet.protocol.records.governance import CCF_FEED, CCFAction
from noticenet.protocol.records.records import (
    ArrestWarrant,
    Diffusion,
    Notice,
    Person,
    TravelDocument,
)

from .simnet import SimNetwork


def run_demo(console: Console | None = None) -> dict[str, object]:
    """Run the tour; returns the facts it showed (the demo test checks them)."""
    out = console or Console()
    devnet = make_devnet(b"noticenet-demo")
    names = [m.id for m in devnet.members]
    net = SimNetwork(devnet, names, seed=1, latency=lambda a, b: 40.0)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            net.link(a, b)
    net.run()
    _members(out, devnet)
    out.print(
        "Commission keys (governance 3 of 5, block 2 of 5, revoke 3 of 5) made by the DKG "
        "ceremony of `noticenet ccf dkg` (round one, the consistency round, sealed round-two "
        "shares), run here in process: no dealer ever held a group's secret key. Revoke key "
        f"{devnet.revoke.public_key.hex()[:16]}…",
        highlight=False,
    )

    subject = Person(
        name="Müller",
        forename="Jürgen",
        date_of_birth="1971-04-09",
        nationalities=("DEU",),
        sex="M",
    )
    red = net.publish(
        "FRA",
        "notice.red",
        Notice(subject=subject, arrest_warrants=(ArrestWarrant("Armed robbery", "FRA"),)),
    )
    mrz = compose_mrz(
        "TD3",
        document_code="P",
        issuing_state="DEU",
        document_number="C01X00T47",
        nationality="DEU",
        date_of_birth="710409",
        sex="M",
        date_of_expiry="310101",
        surname="MUELLER",
        given_names="JUERGEN",
    )
    doc = TravelDocument(
        document_number="C01X00T47",
        document_type="P",
        issuing_country="DEU",
        status="stolen",
        mrz=mrz,
    )
    sltd = net.publish("DEU", "sltd", doc)
    diff = net.publish(
        "USA",
        "diffusion",
        Diffusion(purpose="locate", recipients=("FRA", "DEU"), subject=subject),
        recipients=("FRA", "DEU"),
    )
    started = net.now
    net.run()
    out.print(
        f"[bold]Published[/] red notice {red.id.hex()[:12]}, SLTD {sltd.id.hex()[:12]}, "
        f"diffusion {diff.id.hex()[:12]}; replicated to all in {net.now - started} ms "
        "(virtual time)"
    )

    jpn = net.nodes["JPN"].ledger
    hits = jpn.find_mrz(list(mrz))
    out.print(
        f"[bold]Border check at JPN[/] on the passport's MRZ: "
        f"{'[red]HIT[/]' if hits else 'no hit'} -> {jpn.read(hits[0]).status}"
    )
    bra = net.nodes["BRA"].ledger
    held = bra.entry(diff.id)
    assert held is not None and held.body is not None
    try:
        bra.read(diff.id)
        bra_sees = "plaintext (wrong!)"
    except NotARecipient:
        bra_sees = f"{len(held.body)} bytes of ciphertext, not a recipient"
    out.print(f"[bold]BRA[/] relays the diffusion but sees: {bra_sees}")
    out.print(
        f"[bold]DEU[/] (a recipient) reads: purpose={net.nodes['DEU'].ledger.read(diff.id).purpose}"
    )

    revoked = Notice(subject=subject)
    action = CCFAction(
        "revoke",
        (red.id,),
        "article-3",
        "CCF/2026/0042",
        guards=same_tags_for(revoked, devnet.guard_key),
        similar=similar_guards_for(revoked, devnet.guard_key),
    )
    revoke = threshold_entry(
        CCF_FEED,
        None,
        net.now,
        "revoke",
        action,
        lambda m: devnet.revoke.sign(m, signers=[1, 3, 5]),
    )
    net.inject("CCF", [revoke])
    net.run()
    gone = all(_gone(node.ledger, red.id) for node in net.nodes.values())
    out.print(
        f"[bold]CCF[/] revoked the red notice (3 of 5 commissioners: 1, 3, 5): "
        f"gone on every node = {gone}"
    )
    net.maintenance()
    net.run()
    receipts = sum(1 for _ in net.nodes["CCF"].ledger.store.iterate(b"p/"))
    out.print(f"[bold]Purge receipts[/] held by the CCF: {receipts} of {len(names)} members")
    variant = Notice(subject=Person(name="MUELLER", forename="Jurgen", date_of_birth="1971-04-09"))
    try:
        net.publish("BRA", "notice.red", variant)
        refused = False
    except ReentryBlocked as exc:
        refused = True
        out.print(f"[bold]Re-entry[/] by BRA as 'MUELLER Jurgen': refused ({exc})")
    released = _held_then_released(out, net, devnet)
    return {
        "hit": bool(hits),
        "bra_sees": bra_sees,
        "gone": gone,
        "receipts": receipts,
        "reentry_refused": refused,
        "similar_held": released["held"],
        "released": released["released"],
    }


def _held_then_released(out: Console, net: SimNetwork, devnet: DevNet) -> dict[str, bool]:
    """A similar name (another person, or the same one respelt) is held on every node
    until the CCF decides; here it releases the record, which becomes visible everywhere."""
    similar = Notice(subject=Person(name="Miller", forename="Jürgen", date_of_birth="1971-04-09"))
    entry = net.publish("JPN", "notice.red", similar)
    net.run()
    held = all(node.ledger.is_held(entry.id) for node in net.nodes.values())
    out.print(
        f"[bold]Similar name[/] 'Miller Jürgen' by JPN: stored but held for the CCF's review "
        f"on every node = {held} (hidden from search, border checks, reads and exports)"
    )
    release = CCFAction("release", (entry.id,), "inaccurate", "CCF/2026/0043")
    ccf = net.nodes["CCF"].ledger
    signed = threshold_entry(
        CCF_FEED,
        ccf.head(CCF_FEED),
        net.now,
        "release",
        release,
        lambda m: devnet.revoke.sign(m, signers=[2, 3, 4]),
    )
    net.inject("CCF", [signed])
    net.run()
    released = all(not node.ledger.hidden(entry.id) for node in net.nodes.values())
    out.print(
        f"[bold]CCF[/] released it (3 of 5: a different person): visible everywhere = {released}"
    )
    return {"held": held, "released": released}


def _gone(ledger: object, eid: bytes) -> bool:
    try:
        ledger.read(eid)  # type: ignore[attr-defined]
    except NotFound:
        return True
    return False


def _members(out: Console, devnet: object) -> None:
    table = Table(title="Members created")
    for col in ("id", "role", "name", "signing key", "scopes"):
        table.add_column(col)
    for m in devnet.members:  # type: ignore[attr-defined]
        table.add_row(
            m.id,
            m.role,
            m.name,
            m.keys.public.signing_key.hex()[:16] + "…",
            ",".join(m.scopes) or "all",
        )
    out.print(table)
