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
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from noticenet.crypto import dkg, frost
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
from noticenet.protocol.errors import CodecError, ProtocolError, SchemaError
from noticenet.protocol.records.codec import decode, encode

__all__ = [
    "GROUPS",
    "Complaint",
    "DkgCeremonyError",
    "Digests",
    "Fault",
    "Round1",
    "Round2",
    "Setup",
    "digests",
    "finish",
    "judge",
    "round1",
    "round2",
    "run_in_process",
    "seeded_rng",
]

VERSION = 1
GROUPS = ("governance", "block", "revoke")
SALT_SIZE = 16


class DkgCeremonyError(ProtocolError):
    """A DKG step was given records that do not belong together, or too few of them."""


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


# --- encoding helpers ---


def _doc(data: bytes, kind: str, names: Iterable[str]) -> dict[str, Any]:
    doc = decode(data)
    if not isinstance(doc, dict) or doc.get("type") != kind:
        raise CodecError(f"not a {kind} record")
    if doc.get("v") != VERSION:
        raise CodecError(f"unknown {kind} version {doc.get('v')!r}")
    if set(doc) != {"type", "v", *names}:
        raise SchemaError(f"{kind}: fields are {sorted(doc)}")
    return doc


def _bytes(value: Any, name: str, size: int | None = 32) -> bytes:
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise SchemaError(f"{name} must be {size} bytes" if size else f"{name} must be bytes")
    return value


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchemaError(f"{name} must be an integer")
    return value


def _to_sign(kind: bytes, ceremony: bytes, body: bytes) -> bytes:
    """What a ceremony key signs: domain, record kind, ceremony digest, body."""
    return b"noticenet-dkg-v1\x00" + kind + b"\x00" + ceremony + body


# --- the setup ---


@dataclass(frozen=True)
class Setup:
    """Who generates which group key: participant i is `participants[i - 1]`."""

    group: str
    threshold: int
    participants: tuple[tuple[str, bytes], ...]
    salt: bytes

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise SchemaError(f"group must be one of {list(GROUPS)}")
        n = len(self.participants)
        if not 2 <= self.threshold <= n:
            raise SchemaError(f"need 2 <= threshold <= participants ({self.threshold} of {n})")
        names = [name for name, _ in self.participants]
        keys = [key for _, key in self.participants]
        if any(not isinstance(x, str) or not x for x in names) or len(set(names)) != n:
            raise SchemaError("participant names must be distinct, non-empty text")
        if any(not isinstance(k, bytes) or len(k) != 32 for k in keys) or len(set(keys)) != n:
            raise SchemaError("participant ceremony keys must be distinct 32-byte keys")
        if not isinstance(self.salt, bytes) or len(self.salt) != SALT_SIZE:
            raise SchemaError(f"salt must be {SALT_SIZE} bytes")

    @classmethod
    def new(
        cls, group: str, threshold: int, participants: Sequence[tuple[str, bytes]],
        salt: bytes | None = None,
    ) -> Setup:
        return cls(group, threshold, tuple(participants), salt or os.urandom(SALT_SIZE))

    @property
    def size(self) -> int:
        return len(self.participants)

    @property
    def ids(self) -> list[int]:
        return list(range(1, self.size + 1))

    def name_of(self, member: int) -> str:
        return self.participants[member - 1][0]

    def key_of(self, member: int) -> bytes:
        if not 1 <= member <= self.size:
            raise DkgCeremonyError(f"participant {member} is not in this ceremony (1..{self.size})")
        return self.participants[member - 1][1]

    def identifier_of(self, public: bytes) -> int:
        for i, (_, key) in enumerate(self.participants, start=1):
            if key == public:
                return i
        raise DkgCeremonyError("this ceremony key is not one of the setup's participants")

    def to_bytes(self) -> bytes:
        return encode({
            "type": "ccf-dkg-setup", "v": VERSION, "group": self.group,
            "threshold": self.threshold,
            "participants": [[name, key] for name, key in self.participants],
            "salt": self.salt,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> Setup:
        doc = _doc(data, "ccf-dkg-setup", ("group", "threshold", "participants", "salt"))
        rows = doc["participants"]
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
            raise SchemaError("participants is a list of [name, ceremony key]")
        if not isinstance(doc["group"], str):
            raise SchemaError("group must be text")
        return cls(
            doc["group"], _int(doc["threshold"], "threshold"),
            tuple((r[0], _bytes(r[1], "ceremony key")) for r in rows),
            _bytes(doc["salt"], "salt", SALT_SIZE),
        )

    @functools.cached_property
    def digest(self) -> bytes:
        """The ceremony's name: every commissioner checks it out of band before round one."""
        return blake2b256(self.to_bytes(), person=b"nn-dkg-setup")

    def without(self, excluded: Iterable[int], salt: bytes | None = None) -> Setup:
        """The restart: the same group and threshold, without the excluded participants."""
        drop = set(excluded)
        for member in drop:
            self.key_of(member)
        kept = tuple(p for i, p in enumerate(self.participants, start=1) if i not in drop)
        if len(kept) < self.threshold:
            raise DkgCeremonyError(
                f"{len(kept)} participants left, fewer than the threshold {self.threshold}"
            )
        return Setup.new(self.group, self.threshold, kept, salt)

    def describe(self) -> list[str]:
        lines = [
            f"DKG for the CCF {self.group} key: {self.threshold} of {self.size}",
            f"ceremony digest {self.digest.hex()}",
        ]
        lines += [f"  participant {i}: {name} ceremony key {key.hex()}"
                  for i, (name, key) in enumerate(self.participants, start=1)]
        return lines


def _fault(setup: Setup, member: int, reason: str, complaint: Complaint | None = None) -> Fault:
    name = setup.name_of(member) if 1 <= member <= setup.size else "unknown"
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
    """A round-one package, signed by its sender for this ceremony."""

    ceremony: bytes
    package: dkg.Round1Package
    signature: bytes

    @property
    def sender(self) -> int:
        return self.package.identifier

    @property
    def digest(self) -> bytes:
        return dkg.round1_digest(self.package)

    def to_bytes(self) -> bytes:
        p = self.package
        return encode({
            "type": "ccf-dkg-round1", "v": VERSION, "ceremony": self.ceremony,
            "identifier": p.identifier, "commitment": list(p.commitment),
            "proof": p.proof_of_knowledge, "signature": self.signature,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> Round1:
        doc = _doc(data, "ccf-dkg-round1",
                   ("ceremony", "identifier", "commitment", "proof", "signature"))
        commitment = doc["commitment"]
        if not isinstance(commitment, list):
            raise SchemaError("commitment must be a list")
        package = dkg.Round1Package(
            _int(doc["identifier"], "identifier"),
            tuple(_bytes(c, "commitment element") for c in commitment),
            _bytes(doc["proof"], "proof", 64),
        )
        return cls(_bytes(doc["ceremony"], "ceremony"), package,
                   _bytes(doc["signature"], "signature", 64))


def _round1_message(ceremony: bytes, digest: bytes) -> bytes:
    return _to_sign(b"round1", ceremony, digest)


def round1(
    setup: Setup, me: int, key: CeremonyKey, rng: frost.Rng = os.urandom
) -> tuple[bytes, Round1]:
    """Round one: the secret to keep (bytes, lock it at rest) and the record to send to all."""
    _check_me(setup, me, key)
    secret, package = dkg.part1(me, setup.size, setup.threshold, rng)
    kept = encode({"type": "ccf-dkg-secret1", "v": VERSION, "ceremony": setup.digest,
                   "package": secret.to_dict()})
    digest = dkg.round1_digest(package)
    return kept, Round1(setup.digest, package, key.sign(_round1_message(setup.digest, digest)))


def _round1s(setup: Setup, records: Sequence[Round1]) -> dict[int, Round1]:
    """One round-one record from every participant, each signed by its sender."""
    by_sender: dict[int, Round1] = {}
    for record in records:
        _check_ceremony(setup, record)
        sender = record.sender
        if not 1 <= sender <= setup.size:
            raise DkgCeremonyError(
                f"a round-one record from participant {sender}, not in 1..{setup.size}"
            )
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
    missing = [i for i in setup.ids if i not in by_sender]
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
        doc = _doc(data, "ccf-dkg-digests", ("ceremony", "reporter", "seen", "signature"))
        rows = doc["seen"]
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 3 for r in rows):
            raise SchemaError("seen is a list of [sender, digest, sender's signature]")
        seen = tuple(
            (_int(r[0], "sender"), _bytes(r[1], "digest"), _bytes(r[2], "signature", 64))
            for r in rows
        )
        return cls(_bytes(doc["ceremony"], "ceremony"), _int(doc["reporter"], "reporter"), seen,
                   _bytes(doc["signature"], "signature", 64))


def digests(setup: Setup, me: int, key: CeremonyKey, records: Sequence[Round1]) -> Digests:
    """The consistency round: sign the digest of every round-one package received."""
    _check_me(setup, me, key)
    by_sender = _round1s(setup, records)
    seen = tuple((i, by_sender[i].digest, by_sender[i].signature) for i in setup.ids)
    unsigned = Digests(setup.digest, me, seen, bytes(64))
    return Digests(setup.digest, me, seen,
                   key.sign(_to_sign(b"digests", setup.digest, unsigned.body())))


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
        if not 1 <= r <= setup.size:
            raise DkgCeremonyError(f"a digests record from participant {r}, not in 1..{setup.size}")
        try:
            verify(setup.key_of(r), _to_sign(b"digests", setup.digest, report.body()),
                   report.signature)
        except BadSignature:
            raise _fault(setup, r, "its digests record does not carry its signature") from None
        if r in views:
            raise _fault(setup, r, "two digests records were given here")
        view: dict[int, bytes] = {}
        for sender, digest, signature in report.seen:
            if not 1 <= sender <= setup.size or sender in view:
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
        dkg.check_consistency(setup.ids, views)
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
    mine = {i: by_sender[i].digest for i in setup.ids}
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
        doc = _doc(data, "ccf-dkg-round2", ("ceremony", "sender", "recipient", "sealed"))
        return cls(_bytes(doc["ceremony"], "ceremony"), _int(doc["sender"], "sender"),
                   _int(doc["recipient"], "recipient"), _bytes(doc["sealed"], "sealed", None))


def _share_message(ceremony: bytes, sender: int, recipient: int, share: bytes) -> bytes:
    return _to_sign(b"round2", ceremony, encode([sender, recipient, share]))


def _secret(data: bytes, kind: str, setup: Setup) -> dict[str, Any]:
    doc = _doc(data, kind, ("ceremony", "package"))
    if doc["ceremony"] != setup.digest:
        raise DkgCeremonyError("this secret was kept for another ceremony")
    if not isinstance(doc["package"], dict):
        raise SchemaError("package must be a map")
    package: dict[str, Any] = doc["package"]
    return package


def round2(
    setup: Setup, me: int, key: CeremonyKey, secret1: bytes,
    records: Sequence[Round1], reports: Sequence[Digests],
) -> tuple[bytes, list[Round2]]:
    """Round two, only if every report agrees: check the proofs, deal sealed shares."""
    _check_me(setup, me, key)
    by_sender = _agreed(setup, me, records, reports)
    try:
        secret = dkg.Round1SecretPackage.from_dict(_secret(secret1, "ccf-dkg-secret1", setup))
    except ThresholdError as exc:
        raise DkgCeremonyError(f"the kept round-one secret is unusable: {exc}") from None
    if secret.identifier != me or secret.commitment != by_sender[me].package.commitment:
        raise DkgCeremonyError("the kept round-one secret is not this participant's")
    others = [by_sender[i].package for i in setup.ids if i != me]
    try:
        kept, outgoing = dkg.part2(secret, others)
    except BadShare as exc:
        raise _fault(setup, exc.member, exc.args[0].split(": ", 1)[1]) from None
    sealed = []
    for recipient, package in sorted(outgoing.items()):
        share = package.signing_share
        signature = key.sign(_share_message(setup.digest, me, recipient, share))
        inner = encode({"sender": me, "recipient": recipient, "share": share,
                        "signature": signature})
        sealed.append(Round2(setup.digest, me, recipient, seal_to(setup.key_of(recipient), inner)))
    kept_bytes = encode({"type": "ccf-dkg-secret2", "v": VERSION, "ceremony": setup.digest,
                         "package": kept.to_dict()})
    return kept_bytes, sealed


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
        doc = _doc(data, "ccf-dkg-complaint",
                   ("ceremony", "complainant", "accused", "evidence", "signature"))
        return cls(_bytes(doc["ceremony"], "ceremony"), _int(doc["complainant"], "complainant"),
                   _int(doc["accused"], "accused"), _bytes(doc["evidence"], "evidence", None),
                   _bytes(doc["signature"], "signature", 64))


def _open_share(setup: Setup, inner: bytes, sender: int, recipient: int) -> bytes | None:
    """The share in a round-two content if `sender` signed it for `recipient`, else None."""
    try:
        doc = decode(inner)
        if not isinstance(doc, dict) or set(doc) != {"sender", "recipient", "share", "signature"}:
            return None
        if doc["sender"] != sender or doc["recipient"] != recipient:
            return None
        share, signature = _bytes(doc["share"], "share"), _bytes(doc["signature"], "sig", 64)
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
        verify(setup.key_of(c), _to_sign(b"complaint", setup.digest, complaint.body()),
               complaint.signature)
    except BadSignature:
        raise DkgCeremonyError("the complaint does not carry its complainant's signature") from None
    share = _open_share(setup, complaint.evidence, a, c)
    if share is None:
        return _fault(setup, c, f"its complaint against participant {a} shows no share they signed")
    if frost.base_mult(share) == dkg.vss_evaluate(c, by_sender[a].package.commitment):
        return _fault(setup, c, f"it complained of a good share from participant {a}")
    return _fault(setup, a, f"the share it signed for participant {c} does not match its "
                            "commitment", complaint)


# --- finish ---


def finish(
    setup: Setup, me: int, key: CeremonyKey, secret2: bytes,
    records: Sequence[Round1], reports: Sequence[Digests], shares: Sequence[Round2],
) -> tuple[frost.KeyPackage, frost.PublicKeyPackage]:
    """Check the sealed shares addressed to me; my key package and the public package."""
    _check_me(setup, me, key)
    by_sender = _agreed(setup, me, records, reports)
    try:
        secret = dkg.Round2SecretPackage.from_dict(_secret(secret2, "ccf-dkg-secret2", setup))
    except ThresholdError as exc:
        raise DkgCeremonyError(f"the kept round-two secret is unusable: {exc}") from None
    if secret.identifier != me or secret.commitment != by_sender[me].package.commitment:
        raise DkgCeremonyError("the kept round-two secret is not this participant's")
    received: dict[int, dkg.Round2Package] = {}
    evidence: dict[int, bytes] = {}
    for record in shares:
        _check_ceremony(setup, record)
        if record.recipient != me:
            continue  # addressed to someone else: not ours to open
        s = record.sender
        if s == me or not 1 <= s <= setup.size or s in received:
            raise DkgCeremonyError(f"unexpected or repeated round-two share from participant {s}")
        try:
            inner = key.open(record.sealed)
        except DecryptionFailed:
            raise _fault(setup, s, "its sealed share does not open") from None
        share = _open_share(setup, inner, s, me)
        if share is None:
            raise _fault(setup, s, "its sealed share is not one it signed for this participant")
        received[s] = dkg.Round2Package(s, me, share)
        evidence[s] = inner
    missing = [i for i in setup.ids if i != me and i not in received]
    if missing:
        raise DkgCeremonyError(f"no round-two share from participant(s) {missing}")
    others = [by_sender[i].package for i in setup.ids if i != me]
    try:
        return dkg.part3(secret, others, list(received.values()))
    except BadShare as exc:
        unsigned = Complaint(setup.digest, me, exc.member, evidence[exc.member], bytes(64))
        complaint = Complaint(setup.digest, me, exc.member, evidence[exc.member],
                              key.sign(_to_sign(b"complaint", setup.digest, unsigned.body())))
        raise _fault(setup, exc.member, exc.args[0].split(": ", 1)[1], complaint) from None


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
    setup: Setup, keys: Mapping[int, CeremonyKey], rng: frost.Rng = os.urandom
) -> tuple[dict[int, frost.KeyPackage], frost.PublicKeyPackage]:
    """Every step for every participant, each record through its encoding, as files would go."""
    r1 = {i: round1(setup, i, keys[i], rng) for i in setup.ids}
    records = [Round1.from_bytes(r.to_bytes()) for _, r in r1.values()]
    reports = [Digests.from_bytes(digests(setup, i, keys[i], records).to_bytes())
               for i in setup.ids]
    r2 = {i: round2(setup, i, keys[i], r1[i][0], records, reports) for i in setup.ids}
    sealed = [Round2.from_bytes(s.to_bytes()) for _, out in r2.values() for s in out]
    packages: dict[int, frost.KeyPackage] = {}
    publics: list[frost.PublicKeyPackage] = []
    for i in setup.ids:
        packages[i], public = finish(setup, i, keys[i], r2[i][0], records, reports, sealed)
        publics.append(public)
    if any(p != publics[0] for p in publics):
        raise DkgCeremonyError("participants finished with different public packages")
    return packages, publics[0]
