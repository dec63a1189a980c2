"""The CCF's distributed key generation as an offline ceremony of small signed records (sans-IO).

Each commissioner runs the steps on their own machine; only the records
below travel between them (small canonical CBOR files), and nobody ever holds
a group's secret key.

0. `Setup`: the group (governance, block or revoke), its threshold, and the
   commissioners in identifier order with their long-term ceremony keys
   (`noticenet.crypto.ceremony_identity`). Everyone checks its `digest` out of
   band; every later record names it, so nothing made for one ceremony can
   serve another.
1. `round1`: a Pedersen DKG round-one package (commitment and proof of
   knowledge), signed by its sender. Keep the secret; send `Round1` to all.
2. `digests` (the consistency round): each commissioner signs the digest of
   every round-one package it received, each with the sender's signature on
   it. A sender who handed out two different packages has signed two
   different digests: whoever compares the reports can prove it.
3. `round2`: given every report, and only if they all agree, check every
   proof of knowledge and deal one secret share per other commissioner, each
   signed by its sender and sealed (X25519 sealed box) to its recipient.
4. `finish`: given the reports again and the sealed shares addressed to
   oneself, check every share against its sender's commitment and output the
   key package and the group's public package.

Every refusal that can be pinned on someone is a `Fault` naming the
participant (identifier and name): an equivocator, a bad proof of knowledge,
a bad or unreadable share, a record not signed by its sender, a report
listing a digest its sender never signed. A bad share comes with a signed
`Complaint` carrying the sender's signed share as evidence, which anyone can
`judge`. The way on is a new setup without them: `Setup.without`.

The same rounds *reshare* a group's key (`Setup.refreshing`): the setup then
names the group's current public package and the FROST identifiers of the
new holders; those who hold a share now are the dealers (at least the old
threshold of them). Round one is a dealer's signed commitment to a sharing
of its Lagrange-weighted share (`noticenet.crypto.reshare`), the consistency
round as above, round two the sealed sub-shares, and `finish` sums them. The
group key stays, so nodes notice nothing; every share is new, so a share from
before (a commissioner who left, a lost copy) no longer combines with the new
ones; a commissioner who joins gets a share; the threshold may change. With
the same holders it is a refresh.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from noticenet.crypto import dkg, frost
from noticenet.crypto import reshare as rs
from noticenet.crypto.ceremony_identity import CeremonyKey, seal_to
from noticenet.crypto.errors import (
    BadShare,
    BadSignature,
    DecryptionFailed,
    Equivocation,
    ThresholdError,
)
from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.keys import verify
from noticenet.protocol.ccf.dkg_setup import (
    GROUPS,
    DkgCeremonyError,
    Setup,
    public_doc,
    to_sign,
)
from noticenet.protocol.ccf.record_files import VERSION, as_bytes, as_int, read_record
from noticenet.protocol.errors import ProtocolError, SchemaError
from noticenet.protocol.records.codec import decode, encode

__all__ = [
    "GROUPS",
    "Complaint",
    "DkgCeremonyError",
    "Digests",
    "Done",
    "Fault",
    "Round1",
    "Round2",
    "Setup",
    "all_done",
    "digests",
    "done",
    "finish",
    "judge",
    "public_digest",
    "round1",
    "round2",
    "run_in_process",
    "seeded_rng",
]

class Fault(DkgCeremonyError):
    """A named participant broke the protocol; the ceremony restarts without them."""

    def __init__(
        self, member: int, name: str, reason: str, complaint: Complaint | None = None
    ) -> None:
        super().__init__(
            f"participant {member} ({name}) is at fault: {reason}. Restart without them: "
            f"a new setup that excludes {member} (`noticenet ccf dkg setup --from SETUP "
            f"--exclude {member}`)"
        )
        self.member = member
        self.name = name
        self.reason = reason
        self.complaint = complaint


def _fault(setup: Setup, member: int, reason: str, complaint: Complaint | None = None) -> Fault:
    name = setup.name_of(member) if setup.has(member) else "unknown"
    return Fault(member, name, reason, complaint)


def _check_me(setup: Setup, me: int, key: CeremonyKey) -> None:
    if setup.key_of(me) != key.public:
        raise DkgCeremonyError(f"this ceremony key is not participant {me}'s in the setup")


def _check_ceremony(setup: Setup, record: Round1 | Digests | Round2 | Complaint) -> None:
    if record.ceremony != setup.digest:
        raise DkgCeremonyError(
            f"a {type(record).__name__.lower()} record was made for ceremony "
            f"{record.ceremony.hex()[:16]}, not {setup.digest.hex()[:16]}"
        )


# --- round one ---


@dataclass(frozen=True)
class Round1:
    """A round-one package, signed by its sender for this ceremony: a DKG package, or in a
    reshare a dealer's commitment to the sharing of its weighted share."""

    ceremony: bytes
    package: dkg.Round1Package | rs.ReshareCommitment
    signature: bytes

    @property
    def sender(self) -> int:
        return self.package.identifier

    @property
    def digest(self) -> bytes:
        if isinstance(self.package, dkg.Round1Package):
            return dkg.round1_digest(self.package)
        body = encode([self.package.identifier, list(self.package.commitment)])
        return blake2b256(body, person=b"nn-refresh-r1")

    def to_bytes(self) -> bytes:
        p = self.package
        doc: dict[str, Any] = {
            "type": "ccf-dkg-round1", "v": VERSION, "ceremony": self.ceremony,
            "identifier": p.identifier, "commitment": list(p.commitment),
            "signature": self.signature,
        }
        if isinstance(p, dkg.Round1Package):
            doc["proof"] = p.proof_of_knowledge
        else:
            doc["type"] = "ccf-refresh-round1"
        return encode(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> Round1:
        doc = read_record(data, ("ccf-dkg-round1", "ccf-refresh-round1"),
                   ("ceremony", "identifier", "commitment", "signature"), ("proof",))
        commitment = doc["commitment"]
        if not isinstance(commitment, list):
            raise SchemaError("commitment must be a list")
        identifier = as_int(doc["identifier"], "identifier")
        elements = tuple(as_bytes(c, "commitment element") for c in commitment)
        package: dkg.Round1Package | rs.ReshareCommitment
        if doc["type"] == "ccf-dkg-round1":
            if "proof" not in doc:
                raise SchemaError("a DKG round-one record carries a proof")
            package = dkg.Round1Package(identifier, elements, as_bytes(doc["proof"], "proof", 64))
        else:
            if "proof" in doc:
                raise SchemaError("a refresh round-one record carries no proof")
            try:
                package = rs.ReshareCommitment(identifier, elements)
            except BadShare as exc:
                raise SchemaError(str(exc)) from None
        return cls(as_bytes(doc["ceremony"], "ceremony"), package,
                   as_bytes(doc["signature"], "signature", 64))


def _round1_message(ceremony: bytes, digest: bytes) -> bytes:
    return to_sign(b"round1", ceremony, digest)


def round1(
    setup: Setup, me: int, key: CeremonyKey, rng: frost.Rng = os.urandom,
    current: frost.KeyPackage | None = None,
) -> tuple[bytes, Round1]:
    """Round one: the secret to keep (bytes, lock it at rest) and the record to send to all.

    In a reshare, only a dealer sends one, from `current`, its key package of the group."""
    _check_me(setup, me, key)
    package: dkg.Round1Package | rs.ReshareCommitment
    if setup.refresh is None:
        secret, package = dkg.part1(me, setup.size, setup.threshold, rng)
        kept_package = secret.to_dict()
    else:
        if me not in setup.dealers:
            raise DkgCeremonyError(f"participant {me} holds no share yet: it deals nothing, "
                                   "and takes part from the consistency round on")
        if current is None:
            raise DkgCeremonyError("a dealer needs its current key package of the group")
        if current.identifier != me:
            raise DkgCeremonyError(f"this key package is not a dealer's share: it is "
                                   f"participant {current.identifier}'s, not {me}'s")
        try:
            package, dealt = rs.deal(current, setup.refresh, setup.dealers, setup.ids,
                                     setup.threshold, rng)
        except ThresholdError as exc:
            raise DkgCeremonyError(str(exc)) from None
        kept_package = {"identifier": me, "commitment": list(package.commitment),
                        "shares": [[j, dealt[j].value] for j in sorted(dealt)]}
    kept = encode({"type": "ccf-dkg-secret1", "v": VERSION, "ceremony": setup.digest,
                   "package": kept_package})
    unsigned = Round1(setup.digest, package, bytes(64))
    signature = key.sign(_round1_message(setup.digest, unsigned.digest))
    return kept, Round1(setup.digest, package, signature)


def _round1s(setup: Setup, records: Sequence[Round1]) -> dict[int, Round1]:
    """One round-one record from every participant, each signed by its sender."""
    by_sender: dict[int, Round1] = {}
    for record in records:
        _check_ceremony(setup, record)
        sender = record.sender
        if not setup.has(sender):
            raise DkgCeremonyError(
                f"a round-one record from participant {sender}, not in {setup.ids}"
            )
        if isinstance(record.package, rs.ReshareCommitment) != (setup.refresh is not None) or (
                sender not in setup.dealers):
            raise _fault(setup, sender, "its round-one record is not of this kind of ceremony")
        try:
            verify(setup.key_of(sender), _round1_message(setup.digest, record.digest),
                   record.signature)
        except BadSignature:
            raise _fault(
                setup, sender, "its round-one package does not carry its signature"
            ) from None
        if sender in by_sender and by_sender[sender] != record:
            raise _fault(setup, sender, "two different round-one packages were given here")
        by_sender[sender] = record
    missing = [i for i in setup.dealers if i not in by_sender]
    if missing:
        raise DkgCeremonyError(f"no round-one record from participant(s) {missing}")
    return by_sender


# --- the consistency round ---


@dataclass(frozen=True)
class Digests:
    """What `reporter` received in round one: (sender, digest, sender's signature) for all."""

    ceremony: bytes
    reporter: int
    seen: tuple[tuple[int, bytes, bytes], ...]
    signature: bytes

    def body(self) -> bytes:
        return encode([self.reporter, [[s, d, g] for s, d, g in self.seen]])

    def to_bytes(self) -> bytes:
        return encode({
            "type": "ccf-dkg-digests", "v": VERSION, "ceremony": self.ceremony,
            "reporter": self.reporter, "seen": [[s, d, g] for s, d, g in self.seen],
            "signature": self.signature,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> Digests:
        doc = read_record(data, "ccf-dkg-digests", ("ceremony", "reporter", "seen", "signature"))
        rows = doc["seen"]
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 3 for r in rows):
            raise SchemaError("seen is a list of [sender, digest, sender's signature]")
        seen = tuple(
            (as_int(r[0], "sender"), as_bytes(r[1], "digest"), as_bytes(r[2], "signature", 64))
            for r in rows
        )
        return cls(as_bytes(doc["ceremony"], "ceremony"), as_int(doc["reporter"], "reporter"), seen,
                   as_bytes(doc["signature"], "signature", 64))


def digests(setup: Setup, me: int, key: CeremonyKey, records: Sequence[Round1]) -> Digests:
    """The consistency round: sign the digest of every round-one package received."""
    _check_me(setup, me, key)
    by_sender = _round1s(setup, records)
    seen = tuple((i, by_sender[i].digest, by_sender[i].signature) for i in setup.dealers)
    unsigned = Digests(setup.digest, me, seen, bytes(64))
    return Digests(setup.digest, me, seen,
                   key.sign(to_sign(b"digests", setup.digest, unsigned.body())))


def _agreed(
    setup: Setup, me: int, records: Sequence[Round1], reports: Sequence[Digests]
) -> dict[int, Round1]:
    """Every report is signed and agrees, and what I hold is what everyone saw."""
    by_sender = _round1s(setup, records)
    checked = {(r.sender, r.digest, r.signature) for r in by_sender.values()}
    views: dict[int, dict[int, bytes]] = {}
    for report in reports:
        _check_ceremony(setup, report)
        r = report.reporter
        if not setup.has(r):
            raise DkgCeremonyError(f"a digests record from participant {r}, not in {setup.ids}")
        try:
            verify(setup.key_of(r), to_sign(b"digests", setup.digest, report.body()),
                   report.signature)
        except BadSignature:
            raise _fault(setup, r, "its digests record does not carry its signature") from None
        if r in views:
            raise _fault(setup, r, "two digests records were given here")
        view: dict[int, bytes] = {}
        for sender, digest, signature in report.seen:
            if not setup.has(sender) or sender in view:
                raise _fault(setup, r, "its digests record lists a participant twice or unknown")
            try:
                if (sender, digest, signature) not in checked:
                    verify(setup.key_of(sender), _round1_message(setup.digest, digest), signature)
                    checked.add((sender, digest, signature))
            except BadSignature:
                raise _fault(setup, r, f"it reports a round-one digest that participant {sender} "
                                       "never signed") from None
            view[sender] = digest
        views[r] = view
    try:
        dkg.check_consistency(setup.ids, views, setup.dealers)
    except Equivocation as exc:
        reason = exc.args[0].split(": ", 1)[1]
        raise _fault(setup, exc.member, f"{reason} (each version signed by them)") from None
    except BadShare as exc:
        raise _fault(
            setup, exc.member, "its digests record does not cover every participant"
        ) from None
    except ThresholdError as exc:
        raise DkgCeremonyError(str(exc)) from None
    if me not in views:
        raise DkgCeremonyError(f"participant {me}'s own digests record is missing")
    mine = {i: by_sender[i].digest for i in setup.dealers}
    if mine != views[me]:
        raise DkgCeremonyError("the round-one records given here are not the ones reported")
    return by_sender


# --- round two ---


@dataclass(frozen=True)
class Round2:
    """A secret share for `recipient`, sealed to its ceremony key (the content is signed)."""

    ceremony: bytes
    sender: int
    recipient: int
    sealed: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        return encode({
            "type": "ccf-dkg-round2", "v": VERSION, "ceremony": self.ceremony,
            "sender": self.sender, "recipient": self.recipient, "sealed": self.sealed,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> Round2:
        doc = read_record(data, "ccf-dkg-round2", ("ceremony", "sender", "recipient", "sealed"))
        return cls(as_bytes(doc["ceremony"], "ceremony"), as_int(doc["sender"], "sender"),
                   as_int(doc["recipient"], "recipient"), as_bytes(doc["sealed"], "sealed", None))


def _share_message(ceremony: bytes, sender: int, recipient: int, share: bytes) -> bytes:
    return to_sign(b"round2", ceremony, encode([sender, recipient, share]))


def _secret(data: bytes, kind: str, setup: Setup) -> dict[str, Any]:
    doc = read_record(data, kind, ("ceremony", "package"))
    if doc["ceremony"] != setup.digest:
        raise DkgCeremonyError("this secret was kept for another ceremony")
    if not isinstance(doc["package"], dict):
        raise SchemaError("package must be a map")
    package: dict[str, Any] = doc["package"]
    return package


def round2(
    setup: Setup, me: int, key: CeremonyKey, secret1: bytes | None,
    records: Sequence[Round1], reports: Sequence[Digests],
) -> tuple[bytes, list[Round2]]:
    """Round two, only if every report agrees: check the proofs, deal sealed shares.

    In a reshare a participant who is not a dealer (`secret1` None) only checks."""
    _check_me(setup, me, key)
    by_sender = _agreed(setup, me, records, reports)
    if setup.refresh is not None:
        _refresh_commitments(setup, by_sender)
        if me not in setup.dealers:
            return b"", []
    if secret1 is None:
        raise DkgCeremonyError(f"participant {me} needs its round-one secret")
    if setup.refresh is not None:
        return _refresh_round2(setup, me, key, secret1, by_sender)
    try:
        secret = dkg.Round1SecretPackage.from_dict(_secret(secret1, "ccf-dkg-secret1", setup))
    except ThresholdError as exc:
        raise DkgCeremonyError(f"the kept round-one secret is unusable: {exc}") from None
    if secret.identifier != me or secret.commitment != by_sender[me].package.commitment:
        raise DkgCeremonyError("the kept round-one secret is not this participant's")
    try:
        kept, outgoing = dkg.part2(secret, _others(setup, me, by_sender))
    except BadShare as exc:
        raise _fault(setup, exc.member, exc.args[0].split(": ", 1)[1]) from None
    sealed = [_seal(setup, me, key, recipient, package.signing_share)
              for recipient, package in sorted(outgoing.items())]
    kept_bytes = encode({"type": "ccf-dkg-secret2", "v": VERSION, "ceremony": setup.digest,
                         "package": kept.to_dict()})
    return kept_bytes, sealed


def _others(setup: Setup, me: int, by_sender: Mapping[int, Round1]) -> list[dkg.Round1Package]:
    """The other participants' DKG round-one packages (`_round1s` checked their kind)."""
    others = [by_sender[i].package for i in setup.ids if i != me]
    return [p for p in others if isinstance(p, dkg.Round1Package)]


def _seal(setup: Setup, me: int, key: CeremonyKey, recipient: int, share: bytes) -> Round2:
    """A share for `recipient`, signed by me and sealed to its ceremony key."""
    signature = key.sign(_share_message(setup.digest, me, recipient, share))
    inner = encode({"sender": me, "recipient": recipient, "share": share, "signature": signature})
    return Round2(setup.digest, me, recipient, seal_to(setup.key_of(recipient), inner))


def _kept_refresh(data: bytes, kind: str, setup: Setup, me: int, commitment: tuple[bytes, ...]
                  ) -> dict[int, bytes]:
    """The sub-shares a dealer kept (all in round one, its own in round two)."""
    package = _secret(data, kind, setup)
    rows = package.get("shares")
    if (package.get("identifier") != me or package.get("commitment") != list(commitment)
            or not isinstance(rows, list)
            or not all(isinstance(r, list) and len(r) == 2 for r in rows)):
        raise DkgCeremonyError("the kept reshare secret is not this participant's")
    return {as_int(j, "recipient"): as_bytes(v, "sub-share") for j, v in rows}


def _refresh_commitments(setup: Setup, by_sender: Mapping[int, Round1]
                         ) -> list[rs.ReshareCommitment]:
    """Every dealer's commitment, each of the right size and of its share (Fault if not)."""
    assert setup.refresh is not None
    commitments = [by_sender[i].package for i in setup.dealers]
    checked = [c for c in commitments if isinstance(c, rs.ReshareCommitment)]
    try:
        rs.reshared_public(setup.refresh, checked, setup.ids, setup.threshold)
    except BadShare as exc:
        raise _fault(setup, exc.member, exc.args[0].split(": ", 1)[1]) from None
    except ThresholdError as exc:
        raise DkgCeremonyError(str(exc)) from None
    return checked


def _refresh_round2(
    setup: Setup, me: int, key: CeremonyKey, secret1: bytes, by_sender: Mapping[int, Round1]
) -> tuple[bytes, list[Round2]]:
    mine = by_sender[me].package.commitment
    shares = _kept_refresh(secret1, "ccf-dkg-secret1", setup, me, mine)
    if sorted(shares) != setup.ids:
        raise DkgCeremonyError("the kept reshare secret was dealt for other participants")
    sealed = [_seal(setup, me, key, j, shares[j]) for j in setup.ids if j != me]
    kept = encode({"type": "ccf-dkg-secret2", "v": VERSION, "ceremony": setup.digest,
                   "package": {"identifier": me, "commitment": list(mine),
                               "shares": [[me, shares[me]]]}})
    return kept, sealed


# --- complaints ---


@dataclass(frozen=True)
class Complaint:
    """`complainant` shows the signed share `accused` sent it, which its commitment refutes."""

    ceremony: bytes
    complainant: int
    accused: int
    evidence: bytes = field(repr=False)  # the opened round-two content, signed by `accused`
    signature: bytes

    def body(self) -> bytes:
        return encode([self.complainant, self.accused, self.evidence])

    def to_bytes(self) -> bytes:
        return encode({
            "type": "ccf-dkg-complaint", "v": VERSION, "ceremony": self.ceremony,
            "complainant": self.complainant, "accused": self.accused,
            "evidence": self.evidence, "signature": self.signature,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> Complaint:
        doc = read_record(data, "ccf-dkg-complaint",
                   ("ceremony", "complainant", "accused", "evidence", "signature"))
        return cls(as_bytes(doc["ceremony"], "ceremony"), as_int(doc["complainant"], "complainant"),
                   as_int(doc["accused"], "accused"), as_bytes(doc["evidence"], "evidence", None),
                   as_bytes(doc["signature"], "signature", 64))


def _open_share(setup: Setup, inner: bytes, sender: int, recipient: int) -> bytes | None:
    """The share in a round-two content if `sender` signed it for `recipient`, else None."""
    try:
        doc = decode(inner)
        if not isinstance(doc, dict) or set(doc) != {"sender", "recipient", "share", "signature"}:
            return None
        if doc["sender"] != sender or doc["recipient"] != recipient:
            return None
        share, signature = as_bytes(doc["share"], "share"), as_bytes(doc["signature"], "sig", 64)
        verify(setup.key_of(sender), _share_message(setup.digest, sender, recipient, share),
               signature)
        frost.decode_scalar(share)
    except (ProtocolError, BadSignature, frost.InvalidEncoding):
        return None
    return share


def judge(setup: Setup, records: Sequence[Round1], complaint: Complaint) -> Fault:
    """Who is at fault: the accused if the evidence holds, else the complainant."""
    _check_ceremony(setup, complaint)
    by_sender = _round1s(setup, records)
    c, a = complaint.complainant, complaint.accused
    setup.key_of(c)
    setup.key_of(a)
    try:
        verify(setup.key_of(c), to_sign(b"complaint", setup.digest, complaint.body()),
               complaint.signature)
    except BadSignature:
        raise DkgCeremonyError("the complaint does not carry its complainant's signature") from None
    share = _open_share(setup, complaint.evidence, a, c)
    if share is None:
        return _fault(setup, c, f"its complaint against participant {a} shows no share they signed")
    package = by_sender[a].package
    if frost.base_mult(share) == dkg.vss_evaluate(c, package.commitment):
        return _fault(setup, c, f"it complained of a good share from participant {a}")
    return _fault(setup, a, f"the share it signed for participant {c} does not match its "
                            "commitment", complaint)


# --- finish ---


def finish(
    setup: Setup, me: int, key: CeremonyKey, secret2: bytes | None,
    records: Sequence[Round1], reports: Sequence[Digests], shares: Sequence[Round2],
) -> tuple[frost.KeyPackage, frost.PublicKeyPackage]:
    """Check the sealed shares addressed to me; my key package and the public package.

    In a reshare the result replaces a dealer's key package of the group (destroy the
    old one once everyone is done); a participant who did not deal has no `secret2`."""
    _check_me(setup, me, key)
    by_sender = _agreed(setup, me, records, reports)
    received, evidence = _received(setup, me, key, shares)
    try:
        if setup.refresh is not None:
            return _refreshed(setup, me, secret2, by_sender, received)
        if secret2 is None:
            raise DkgCeremonyError(f"participant {me} needs its round-two secret")
        try:
            secret = dkg.Round2SecretPackage.from_dict(_secret(secret2, "ccf-dkg-secret2", setup))
        except ThresholdError as exc:
            raise DkgCeremonyError(f"the kept round-two secret is unusable: {exc}") from None
        if secret.identifier != me or secret.commitment != by_sender[me].package.commitment:
            raise DkgCeremonyError("the kept round-two secret is not this participant's")
        return dkg.part3(secret, _others(setup, me, by_sender),
                         [dkg.Round2Package(s, me, v) for s, v in received.items()])
    except BadShare as exc:
        unsigned = Complaint(setup.digest, me, exc.member, evidence[exc.member], bytes(64))
        complaint = Complaint(setup.digest, me, exc.member, evidence[exc.member],
                              key.sign(to_sign(b"complaint", setup.digest, unsigned.body())))
        raise _fault(setup, exc.member, exc.args[0].split(": ", 1)[1], complaint) from None


def _refreshed(
    setup: Setup, me: int, secret2: bytes | None, by_sender: Mapping[int, Round1],
    received: Mapping[int, bytes],
) -> tuple[frost.KeyPackage, frost.PublicKeyPackage]:
    """My new key package: the sum of every dealer's sub-share, each checked."""
    public = setup.refresh
    assert public is not None
    commitments = _refresh_commitments(setup, by_sender)
    own: dict[int, bytes] = {}
    if me in setup.dealers:
        if secret2 is None:
            raise DkgCeremonyError(f"dealer {me} needs its round-two secret")
        own = _kept_refresh(secret2, "ccf-dkg-secret2", setup, me,
                            by_sender[me].package.commitment)
        if list(own) != [me]:
            raise DkgCeremonyError("the kept round-two secret is not this participant's")
    subs = {s: rs.ReshareShare(s, me, v) for s, v in {**received, **own}.items()}
    return rs.receive(me, public, commitments, subs, setup.ids, setup.threshold)


def _received(
    setup: Setup, me: int, key: CeremonyKey, shares: Sequence[Round2]
) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """The shares addressed to me, opened and checked as signed by their senders; and the
    opened contents (evidence for a complaint)."""
    received: dict[int, bytes] = {}
    evidence: dict[int, bytes] = {}
    for record in shares:
        _check_ceremony(setup, record)
        if record.recipient != me:
            continue  # addressed to someone else: not ours to open
        s = record.sender
        if s == me or s not in setup.dealers or s in received:
            raise DkgCeremonyError(f"unexpected or repeated round-two share from participant {s}")
        try:
            inner = key.open(record.sealed)
        except DecryptionFailed:
            raise _fault(setup, s, "its sealed share does not open") from None
        share = _open_share(setup, inner, s, me)
        if share is None:
            raise _fault(setup, s, "its sealed share is not one it signed for this participant")
        received[s] = share
        evidence[s] = inner
    missing = [i for i in setup.dealers if i != me and i not in received]
    if missing:
        raise DkgCeremonyError(f"no round-two share from participant(s) {missing}")
    return received, evidence


# --- done: everyone holds the same result (a refresh retires old shares only then) ---


def public_digest(public: frost.PublicKeyPackage) -> bytes:
    """A public package's name: what the `Done` records compare."""
    return blake2b256(encode(public_doc(public)), person=b"nn-dkg-public")


@dataclass(frozen=True)
class Done:
    """`member` finished the ceremony holding the public package named `public`."""

    ceremony: bytes
    member: int
    public: bytes
    signature: bytes

    def to_bytes(self) -> bytes:
        return encode({"type": "ccf-dkg-done", "v": VERSION, "ceremony": self.ceremony,
                       "member": self.member, "public": self.public,
                       "signature": self.signature})

    @classmethod
    def from_bytes(cls, data: bytes) -> Done:
        doc = read_record(data, "ccf-dkg-done", ("ceremony", "member", "public", "signature"))
        return cls(as_bytes(doc["ceremony"], "ceremony"), as_int(doc["member"], "member"),
                   as_bytes(doc["public"], "public"), as_bytes(doc["signature"], "signature", 64))


def done(setup: Setup, me: int, key: CeremonyKey, public: frost.PublicKeyPackage) -> Done:
    """My signed word that I finished with `public`."""
    _check_me(setup, me, key)
    digest = public_digest(public)
    body = encode([me, digest])
    return Done(setup.digest, me, digest, key.sign(to_sign(b"done", setup.digest, body)))


def all_done(setup: Setup, records: Sequence[Done]) -> bytes:
    """The public package digest every participant signed they finished with; else
    DkgCeremonyError naming who has not finished or finished with another result."""
    by_member: dict[int, bytes] = {}
    for record in records:
        if record.ceremony != setup.digest:
            raise DkgCeremonyError("a done record of another ceremony")
        body = encode([record.member, record.public])
        try:
            verify(setup.key_of(record.member), to_sign(b"done", setup.digest, body),
                   record.signature)
        except BadSignature:
            raise _fault(setup, record.member, "its done record does not carry its signature"
                         ) from None
        by_member[record.member] = record.public
    missing = [i for i in setup.ids if i not in by_member]
    if missing:
        raise DkgCeremonyError(f"participant(s) {missing} have not finished yet")
    results = sorted(set(by_member.values()))
    if len(results) > 1:
        groups = [[i for i, d in sorted(by_member.items()) if d == r] for r in results]
        raise DkgCeremonyError(f"participants finished with different results: {groups}")
    return results[0]


# --- the whole ceremony in one process (local networks, the demo, tests) ---


def seeded_rng(seed: bytes) -> frost.Rng:
    """A deterministic byte stream from `seed` (BLAKE2b in counter mode): tests and local nets."""
    state = {"counter": 0, "buffer": b""}

    def rng(n: int) -> bytes:
        buffer = state["buffer"]
        assert isinstance(buffer, bytes)
        while len(buffer) < n:
            counter = state["counter"]
            assert isinstance(counter, int)
            buffer += blake2b256(counter.to_bytes(8, "little"), person=b"nn-dkg-seeded", key=seed)
            state["counter"] = counter + 1
        state["buffer"] = buffer[n:]
        return buffer[:n]

    return rng


def run_in_process(
    setup: Setup, keys: Mapping[int, CeremonyKey], rng: frost.Rng = os.urandom,
    current: Mapping[int, frost.KeyPackage] | None = None,
) -> tuple[dict[int, frost.KeyPackage], frost.PublicKeyPackage]:
    """Every step for every participant, each record through its encoding, as files would go
    (`current`: in a reshare, each dealer's key package of the group)."""
    r1 = {i: round1(setup, i, keys[i], rng, (current or {}).get(i)) for i in setup.dealers}
    records = [Round1.from_bytes(r.to_bytes()) for _, r in r1.values()]
    reports = [Digests.from_bytes(digests(setup, i, keys[i], records).to_bytes())
               for i in setup.ids]
    r2 = {i: round2(setup, i, keys[i], r1[i][0] if i in r1 else None, records, reports)
          for i in setup.ids}
    sealed = [Round2.from_bytes(s.to_bytes()) for _, out in r2.values() for s in out]
    packages: dict[int, frost.KeyPackage] = {}
    publics: list[frost.PublicKeyPackage] = []
    for i in setup.ids:
        packages[i], public = finish(setup, i, keys[i], r2[i][0] or None, records, reports,
                                     sealed)
        publics.append(public)
    if any(p != publics[0] for p in publics):
        raise DkgCeremonyError("participants finished with different public packages")
    return packages, publics[0]
