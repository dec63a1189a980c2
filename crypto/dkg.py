"""Pedersen DKG with proofs of knowledge for FROST(Ed25519, SHA-512).

The three parts follow ZcashFoundation/frost (`keys::dkg`), itself Figure 1 of
the FROST paper, so nobody ever holds the group secret:

1. `part1`: each participant picks a secret polynomial of degree t-1, broadcasts
   its Feldman commitment and a Schnorr proof of knowledge of the constant term.
2. `part2`: each checks everyone's proof (a bad one names its sender) and
   makes one secret share f_i(j) per other participant j. Round-two packages
   are secret and must travel over confidential, authenticated channels.
3. `part3`: each checks the shares it received against the senders'
   commitments (a bad one names its sender) and outputs its `KeyPackage` and
   the common `PublicKeyPackage`, ready for `noticenet.crypto.frost`.

Round one is a broadcast, and the FROST paper assumes it is a reliable one.
Over files or point-to-point channels it is not: a participant can hand
different packages to different participants, who would then end up with
different group keys. Between part1 and part2 every participant therefore
reports the `round1_digest` of each package it received, and
`check_consistency` refuses, naming the equivocator (`Equivocation`), unless
every report agrees. (`noticenet.protocol.ccf.dkg_ceremony` signs the reports.)

Identifiers are the ints 1..max_signers. No I/O happens here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import BadShare, Equivocation, ThresholdError
from .frost import (
    CONTEXT_STRING,
    IDENTITY,
    InvalidEncoding,
    KeyPackage,
    PublicKeyPackage,
    Rng,
    Serialisable,
    base_mult,
    decode_element,
    decode_scalar,
    encode_element,
    hash_to_scalar,
    point_add,
    point_mult,
    polynomial_evaluate,
    random_scalar,
    scalar_add,
    scalar_from_int,
    scalar_mul,
)
from .hashing import blake2b256


def _check_params(identifier: int, min_signers: int, max_signers: int) -> None:
    """2 <= t <= n and the identifier is one of 1..n."""
    if not 2 <= min_signers <= max_signers:
        raise ThresholdError("need 2 <= min_signers <= max_signers")
    if isinstance(identifier, bool) or not isinstance(identifier, int):
        raise InvalidEncoding("identifier must be an int")
    if not 1 <= identifier <= max_signers:
        raise InvalidEncoding(f"identifier {identifier} outside 1..{max_signers}")


def _check_ints(*values: int) -> None:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise InvalidEncoding("identifiers must be ints")


@dataclass(frozen=True)
class Round1Package(Serialisable):
    """Broadcast by `identifier` in round one: commitment and proof of knowledge.

    A malformed package raises BadShare naming its sender.
    """

    identifier: int
    commitment: tuple[bytes, ...]
    proof_of_knowledge: bytes

    def __post_init__(self) -> None:
        _check_ints(self.identifier)
        try:
            if not isinstance(self.commitment, tuple) or not self.commitment:
                raise InvalidEncoding("commitment must be a non-empty tuple")
            for element in self.commitment:
                decode_element(element)
            if len(self.proof_of_knowledge) != 64:
                raise InvalidEncoding("proof of knowledge is 64 bytes")
            decode_element(self.proof_of_knowledge[:32])
            decode_scalar(self.proof_of_knowledge[32:])
        except InvalidEncoding as exc:
            raise BadShare(self.identifier, f"malformed round-one package: {exc}") from exc

    @property
    def verifying_key(self) -> bytes:
        """The sender's share of the group key, G * a_0."""
        return self.commitment[0]


@dataclass(frozen=True)
class Round1SecretPackage(Serialisable):
    """Kept by its owner between part1 and part2: the secret polynomial."""

    identifier: int
    coefficients: tuple[bytes, ...] = field(repr=False)
    commitment: tuple[bytes, ...]
    min_signers: int
    max_signers: int

    def __post_init__(self) -> None:
        _check_params(self.identifier, self.min_signers, self.max_signers)
        if len(self.coefficients) != self.min_signers:
            raise ThresholdError("polynomial must have min_signers coefficients")
        if tuple(vss_commit(self.coefficients)) != self.commitment:
            raise InvalidEncoding("commitment does not match the coefficients")


@dataclass(frozen=True)
class Round2Package(Serialisable):
    """The secret share f_sender(recipient); send it to `recipient` only, encrypted.

    A malformed share raises BadShare naming its sender.
    """

    sender: int
    recipient: int
    signing_share: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_ints(self.sender, self.recipient)
        try:
            decode_scalar(self.signing_share)
        except InvalidEncoding as exc:
            raise BadShare(self.sender, f"malformed round-two share: {exc}") from exc


@dataclass(frozen=True)
class Round2SecretPackage(Serialisable):
    """Kept by its owner between part2 and part3: own commitment and f_i(i)."""

    identifier: int
    commitment: tuple[bytes, ...]
    own_share: bytes = field(repr=False)
    min_signers: int
    max_signers: int

    def __post_init__(self) -> None:
        _check_params(self.identifier, self.min_signers, self.max_signers)
        if len(self.commitment) != self.min_signers:
            raise ThresholdError("commitment must have min_signers elements")
        expected = vss_evaluate(self.identifier, self.commitment)
        if base_mult(decode_scalar(self.own_share)) != expected:
            raise InvalidEncoding("own share does not match own commitment")


# --- Feldman commitments ---


def vss_commit(coefficients: Sequence[bytes]) -> list[bytes]:
    """Feldman commitment: G * a_k for every coefficient a_k."""
    commitment = [base_mult(decode_scalar(a)) for a in coefficients]
    if IDENTITY in commitment:
        raise ThresholdError("zero polynomial coefficient")
    return commitment


def vss_evaluate(x: int, commitment: Sequence[bytes]) -> bytes:
    """G * f(x) from the commitment alone: sum of C_k * x^k, by Horner."""
    x_s = scalar_from_int(x)
    value = IDENTITY
    for c in reversed(commitment):
        value = point_add(point_mult(x_s, value), c)
    return value


# --- proof of knowledge ---


def dkg_challenge(identifier: int, verifying_key: bytes, r: bytes) -> bytes:
    """SHA-512(ctx || "dkg" || id || G*a_0 || R) mod L, as in ZcashFoundation/frost."""
    return hash_to_scalar(
        CONTEXT_STRING, b"dkg", scalar_from_int(identifier),
        encode_element(verifying_key), encode_element(r),
    )


def compute_proof_of_knowledge(
    identifier: int, coefficients: Sequence[bytes], commitment: Sequence[bytes],
    rng: Rng = os.urandom,
) -> bytes:
    """Schnorr proof R || mu with mu = k + a_0 * c: blocks rogue-key attacks."""
    k = random_scalar(rng)
    r = base_mult(k)
    c = dkg_challenge(identifier, commitment[0], r)
    return r + scalar_add(k, scalar_mul(decode_scalar(coefficients[0]), c))


def verify_proof_of_knowledge(package: Round1Package) -> None:
    """Check G * mu == R + c * (G*a_0); raise BadShare naming the sender if not."""
    r, mu = package.proof_of_knowledge[:32], package.proof_of_knowledge[32:]
    c = dkg_challenge(package.identifier, package.verifying_key, r)
    if base_mult(mu) != point_add(r, point_mult(c, package.verifying_key)):
        raise BadShare(package.identifier, "proof of knowledge does not verify")


# --- the consistency round (a broadcast over point-to-point channels) ---


def round1_digest(package: Round1Package) -> bytes:
    """BLAKE2b-256 of a round-one package: id, every commitment element, the proof."""
    data = scalar_from_int(package.identifier) + b"".join(package.commitment)
    return blake2b256(data + package.proof_of_knowledge, person=b"nn-dkg-round1")


def check_consistency(
    participants: Sequence[int], views: Mapping[int, Mapping[int, bytes]],
    senders: Sequence[int] | None = None,
) -> dict[int, bytes]:
    """Every participant saw the same round-one package from every sender (by default
    every participant; in a reshare, the dealers).

    `views[r][s]` is the digest of the package that reporter `r` received from
    sender `s` (its own included). Returns the agreed digest per sender.
    Raises ThresholdError if a report is missing or incomplete, and
    Equivocation naming the sender (the lowest, if several) whose package
    differs between reports.
    """
    ids = sorted(participants)
    dealt = sorted(senders) if senders is not None else ids
    missing = [r for r in ids if r not in views]
    if missing:
        raise ThresholdError(f"no round-one digests from participant(s) {missing}")
    for r in ids:
        if sorted(views[r]) != dealt:
            raise BadShare(r, "its digests do not cover exactly the senders")
    agreed: dict[int, bytes] = {}
    for sender in dealt:
        seen: dict[bytes, list[int]] = {}
        for reporter in ids:
            seen.setdefault(views[reporter][sender], []).append(reporter)
        if len(seen) > 1:
            raise Equivocation(sender, {d: tuple(who) for d, who in seen.items()})
        agreed[sender] = next(iter(seen))
    return agreed


# --- the three parts ---


def part1(
    identifier: int, max_signers: int, min_signers: int, rng: Rng = os.urandom,
    coefficients: Sequence[bytes] | None = None,
) -> tuple[Round1SecretPackage, Round1Package]:
    """Round one: a secret polynomial, its commitment and a proof of knowledge.

    `coefficients` (constant term first, min_signers of them) may be given to
    reproduce vectors; otherwise they are drawn from `rng`.
    """
    _check_params(identifier, min_signers, max_signers)
    if coefficients is None:
        coefficients = [random_scalar(rng) for _ in range(min_signers)]
    coeffs = tuple(decode_scalar(a) for a in coefficients)
    commitment = tuple(vss_commit(coeffs))
    secret = Round1SecretPackage(identifier, coeffs, commitment, min_signers, max_signers)
    proof = compute_proof_of_knowledge(identifier, coeffs, commitment, rng)
    return secret, Round1Package(identifier, commitment, proof)


def _check_round1(
    me: int, min_signers: int, max_signers: int, packages: Sequence[Round1Package]
) -> None:
    """One well-formed package from each other participant, none from me."""
    senders = [p.identifier for p in packages]
    if len(set(senders)) != len(senders):
        raise ThresholdError("duplicate round-one sender")
    if len(packages) != max_signers - 1 or me in senders:
        raise ThresholdError(f"need one round-one package from each of the {max_signers - 1} "
                             "other participants")
    for p in packages:
        if not 1 <= p.identifier <= max_signers:
            raise BadShare(p.identifier, f"identifier outside 1..{max_signers}")
        if len(p.commitment) != min_signers:
            raise BadShare(p.identifier, "commitment has the wrong number of elements")


def part2(
    secret_package: Round1SecretPackage, round1_packages: Sequence[Round1Package]
) -> tuple[Round2SecretPackage, dict[int, Round2Package]]:
    """Round two: verify every proof of knowledge, then deal f_i(j) to each other j."""
    s = secret_package
    _check_round1(s.identifier, s.min_signers, s.max_signers, round1_packages)
    for package in sorted(round1_packages, key=lambda p: p.identifier):
        verify_proof_of_knowledge(package)
    outgoing = {
        p.identifier: Round2Package(
            s.identifier, p.identifier, polynomial_evaluate(p.identifier, s.coefficients)
        )
        for p in round1_packages
    }
    own = polynomial_evaluate(s.identifier, s.coefficients)
    kept = Round2SecretPackage(s.identifier, s.commitment, own, s.min_signers, s.max_signers)
    return kept, outgoing


def _check_round2(
    me: int, round1: Sequence[Round1Package], round2: Sequence[Round2Package]
) -> None:
    """Exactly one share addressed to me from each round-one sender."""
    for p in round2:
        if p.recipient != me:
            raise BadShare(p.sender, f"share addressed to {p.recipient}, not {me}")
    senders = sorted(p.sender for p in round2)
    if senders != sorted(p.identifier for p in round1):
        raise ThresholdError("round-two senders do not match the round-one participants")


def _sum_commitments(commitments: Sequence[Sequence[bytes]]) -> list[bytes]:
    """Coefficient-wise sum: the commitment to the group's joint polynomial."""
    total = [IDENTITY] * len(commitments[0])
    for commitment in commitments:
        total = [point_add(a, b) for a, b in zip(total, commitment, strict=True)]
    return total


def part3(
    secret_package: Round2SecretPackage,
    round1_packages: Sequence[Round1Package],
    round2_packages: Sequence[Round2Package],
) -> tuple[KeyPackage, PublicKeyPackage]:
    """Round three: verify received shares; output the key and public key packages."""
    s = secret_package
    me = s.identifier
    _check_round1(me, s.min_signers, s.max_signers, round1_packages)
    _check_round2(me, round1_packages, round2_packages)
    commitments = {p.identifier: p.commitment for p in round1_packages}
    signing_share = s.own_share
    for p in sorted(round2_packages, key=lambda q: q.sender):
        if base_mult(p.signing_share) != vss_evaluate(me, commitments[p.sender]):
            raise BadShare(p.sender, "secret share does not match its commitment")
        signing_share = scalar_add(signing_share, p.signing_share)
    commitments[me] = s.commitment
    joint = _sum_commitments([commitments[i] for i in sorted(commitments)])
    verifying = {i: vss_evaluate(i, joint) for i in sorted(commitments)}
    public = PublicKeyPackage(joint[0], verifying, s.min_signers)
    key = KeyPackage(me, signing_share, verifying[me], joint[0], s.min_signers)
    return key, public
