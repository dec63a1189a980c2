"""Validly signed entries that break a rule of the network.

A member's own key signs them, so only the rules themselves stand between
them and every ledger: who may issue which kind, a diffusion's audience, the
times, a public entry's body. Each is refused with its typed error, the same
in process, in a batch and after an intake worker's check, and changes
nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from noticenet.crypto.errors import NoticenetError
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import ChainError, ImplausibleTime, NotAuthorised, UnknownAuthor
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.intake import check_wires
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.ledger.validation import EARLIEST_MS, MAX_CLOCK_SKEW_MS
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import Cancellation
from noticenet.protocol.records.sealing import ChosenKeying, Draft, Keying, seal_entry

from .conftest import NOW
from .samples import diffusion, document, firearm, notice

Make = Callable[..., tuple[Ledger, Publisher]]
DAY = 86_400_000
YEAR = 365 * DAY


@dataclasses.dataclass
class Feeds:
    """FRA's feed as published (one entry of each kind the cases start from)."""

    devnet: DevNet
    fra: Ledger
    publisher: Publisher
    entries: dict[str, Entry]

    def next(self, entry: Entry, **changes: Any) -> Entry:
        """`entry` moved to the end of FRA's feed with `changes`, signed by FRA."""
        seq, prev = self.fra.head("FRA") or (0, None)
        return self.signed(entry, "FRA", seq=seq + 1, prev=prev, **changes)

    def signed(self, entry: Entry, author: str, **changes: Any) -> Entry:
        header = dataclasses.replace(entry.header, author=author, **changes)
        sign = self.devnet.member(author).keys.sign
        return Entry(header, sign(header.signing_bytes()), entry.body)

    def sealed(self, kind: str, record: Any, keying: Keying, **draft: Any) -> Entry:
        """`record` sealed and signed by FRA as the next entry of its feed."""
        seq, prev = self.fra.head("FRA") or (0, None)
        entry = Draft("FRA", seq + 1, prev, NOW, kind, record, **draft)
        return seal_entry(entry, keying, self.devnet.member("FRA").keys.sign)

    def diffusion_to(self, recipients: dict[str, bytes], record: Any = None) -> Entry:
        """A diffusion from FRA sealed for exactly `recipients` (member id -> X25519 key),
        by default naming them in its body."""
        record = record or diffusion(tuple(sorted(m for m in recipients if m != "FRA")))
        guards = self.publisher.guard_tags(record)
        return self.sealed(
            "diffusion", record, ChosenKeying(recipients), expires_at=NOW + DAY, guards=guards
        )


@pytest.fixture
def feeds(make_ledger: Make, devnet: DevNet) -> Feeds:
    fra, pub = make_ledger("FRA")
    published = {
        "notice.red": pub.publish("notice.red", notice(), NOW),
        "sltd": pub.publish("sltd", document(), NOW),
        "firearm": pub.publish("firearm", firearm(), NOW),
    }
    published["cancel"] = pub.publish("cancel", Cancellation(target=published["sltd"].id), NOW)
    return Feeds(devnet, fra, pub, published)


def _x25519(devnet: DevNet, member: str) -> bytes:
    return bytes(devnet.member(member).keys.encryption.public_key)


def _ccf_audience(devnet: DevNet, *members: str) -> dict[str, bytes]:
    return {m: _x25519(devnet, m) for m in (*members, "CCF")}


CASES: dict[str, tuple[Callable[[Feeds], Entry], type[NoticenetError], str]] = {
    "a partner issues a red notice": (
        lambda f: f.signed(f.entries["notice.red"], "EUROPOL", seq=1, prev=None),
        NotAuthorised,
        "a partner may not issue notice.red",
    ),
    "a partner issues a kind it is not scoped for": (
        lambda f: f.signed(f.entries["firearm"], "EUROPOL", seq=1, prev=None),
        NotAuthorised,
        "partner EUROPOL is not scoped for firearm",
    ),
    "a member issues a roster": (
        lambda f: f.next(f.entries["cancel"], kind="roster", target=None),
        NotAuthorised,
        "a member may not issue roster",
    ),
    "a member issues a CCF revocation": (
        lambda f: f.next(f.entries["cancel"], kind="revoke", target=None),
        NotAuthorised,
        "a member may not issue revoke",
    ),
    "a diffusion to a member not on the roster": (
        lambda f: f.diffusion_to(
            {**_ccf_audience(f.devnet, "FRA", "DEU"), "XXX": _x25519(f.devnet, "USA")}
        ),
        UnknownAuthor,
        "recipients not on the roster: ['XXX']",
    ),
    "a diffusion the CCF cannot read": (
        lambda f: f.diffusion_to({m: _x25519(f.devnet, m) for m in ("FRA", "DEU")}),
        NotAuthorised,
        "a diffusion's audience includes its author and the CCF",
    ),
    "a record issued before 2020": (
        lambda f: f.next(f.entries["sltd"], issued_at=EARLIEST_MS - 1, expires_at=EARLIEST_MS),
        ImplausibleTime,
        "issued implausibly early",
    ),
    "a record issued in the future": (
        lambda f: f.next(f.entries["sltd"], issued_at=NOW + MAX_CLOCK_SKEW_MS + 1),
        ImplausibleTime,
        "issued in the future",
    ),
    "a record that never expires": (
        lambda f: f.next(f.entries["sltd"], expires_at=None),
        ImplausibleTime,
        "a sltd entry must expire",
    ),
    "a record kept beyond its kind's retention": (
        lambda f: f.next(f.entries["sltd"], expires_at=NOW + 11 * YEAR),
        ImplausibleTime,
        "expires after 3650 days at most",
    ),
    "a cancel without its body": (
        lambda f: f.next(f.entries["cancel"]).without_body(),
        ChainError,
        "a cancel entry must travel with its body",
    ),
}


def _deu_holding_fra(make_ledger: Make, feeds: Feeds) -> Ledger:
    deu, _ = make_ledger("DEU")
    for entry in feeds.fra.feed("FRA"):
        deu.ingest(entry, NOW)
    return deu


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_rule_breaking_entry_is_refused_on_every_path(
    make_ledger: Make, feeds: Feeds, case: str
) -> None:
    build, error, message = CASES[case]
    deu = _deu_holding_fra(make_ledger, feeds)
    before = deu.state_digest(), deu.frontier()
    entry = build(feeds)

    with pytest.raises(error) as raised:
        deu.ingest(entry, NOW)
    assert message in str(raised.value)

    [in_batch] = deu.ingest_many([entry], NOW)  # a batch of one: the same checks
    [second, in_pair] = deu.ingest_many([entry, entry], NOW)  # checked together, one verify
    assert type(in_batch) is type(second) is type(in_pair) is error

    [checked] = check_wires([entry.to_wire()], deu.snapshot(NOW))  # as a worker checks it
    with pytest.raises(error):
        deu.ingest(checked, NOW)  # type: ignore[arg-type]  # an Intake, or the error itself

    assert (deu.state_digest(), deu.frontier()) == before
    assert deu.stats.refusals == {error.__name__: 3}


def test_the_cases_start_from_entries_that_are_taken(make_ledger: Make, feeds: Feeds) -> None:
    """Without the rule-breaking change, each starting point goes into the chain (its
    body may still be refused as evidence: its header was re-signed, not re-sealed),
    so it is the change that each case above is refused for."""
    deu = _deu_holding_fra(make_ledger, feeds)
    assert deu.frontier()["FRA"] == feeds.fra.frontier()["FRA"]
    sltd = feeds.next(feeds.entries["sltd"])
    feeds.fra.ingest(sltd, NOW)
    diffusion_entry = feeds.diffusion_to(_ccf_audience(feeds.devnet, "FRA", "DEU"))
    scoped = feeds.signed(feeds.entries["sltd"], "EUROPOL", seq=1, prev=None)
    for entry in (sltd, diffusion_entry, scoped):
        result = deu.ingest(entry, NOW)
        assert deu.head(entry.header.author) == (entry.header.seq, result.id)
    assert deu.ingest(diffusion_entry, NOW).outcome is Outcome.DUPLICATE


EVIDENCE: dict[str, tuple[Callable[[Feeds], Entry], str]] = {
    "a body that does not open for its reader": (
        # the header re-signed with another expiry: the body's AEAD no longer matches it
        lambda f: f.next(f.entries["sltd"], expires_at=NOW + 2 * DAY),
        "body does not open: DecryptionFailed",
    ),
    "a diffusion naming recipients it was not sealed for": (
        lambda f: f.diffusion_to(_ccf_audience(f.devnet, "FRA", "DEU"), diffusion(("DEU", "USA"))),
        "diffusion names recipients outside its audience",
    ),
    "a public entry carrying guard tags": (
        lambda f: f.sealed(
            "cancel", Cancellation(target=f.entries["firearm"].id), None, guards=(b"\x01" * 32,)
        ),
        "guard tags do not match the body",
    ),
}


@pytest.mark.parametrize("case", sorted(EVIDENCE))
def test_a_dishonest_body_is_kept_as_evidence_on_every_path(
    make_ledger: Make, feeds: Feeds, case: str
) -> None:
    """The header is the author's, so it joins the chain; the body a reader cannot
    accept is not stored, and the reason is recorded against the author, the same
    in process and after a worker's check. A member that cannot read the body
    stores it as any other."""
    build, reason = EVIDENCE[case]
    entry = build(feeds)
    digests = []
    for ahead in (False, True):
        deu = _deu_holding_fra(make_ledger, feeds)
        item = check_wires([entry.to_wire()], deu.snapshot(NOW))[0] if ahead else entry
        [result] = deu.ingest_many([item], NOW)  # type: ignore[list-item]
        assert not isinstance(result, Exception)
        assert (result.outcome, result.reason) == (Outcome.WITHHELD, "evidence")
        assert deu.evidence() == {entry.id: reason}
        assert deu.head("FRA") == (entry.header.seq, entry.id)
        assert verify_ledger(deu) == []
        digests.append(deu.state_digest())
    assert digests[0] == digests[1]
    if entry.header.kind == "diffusion":
        bra, _ = make_ledger("USA")  # named in the body, but not sealed for
        for held in [*feeds.fra.feed("FRA"), entry]:
            bra.ingest(held, NOW)
        assert bra.evidence() == {} and bra.head("FRA") == (entry.header.seq, entry.id)
