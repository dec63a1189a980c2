"""Proactive refresh of a FROST group: new shares of the same group key, old ones useless.

Each holder taking part deals a Feldman sharing of zero: a random polynomial
d_i of degree t-1 with d_i(0) = 0, committed to coefficient by coefficient
(the constant term is not sent: it is zero by construction). Every holder j
adds the sub-shares d_i(j) it receives to its share, so the joint polynomial
changes by sum_i d_i, which is zero at 0: the group key stays, every share
changes. A share from before the refresh no longer combines with shares from
after it (its Lagrange combination misses the zero-sharing), so a share that
leaked, or a commissioner who leaves (the others refresh without them and
their identifier is dropped from the public package), signs nothing more.

Sub-shares are secret and travel like DKG round-two shares (sealed to their
recipient). A sub-share that does not match its sender's commitment raises
BadShare naming the sender. No I/O happens here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import BadShare, ThresholdError
from .frost import (
    IDENTITY,
    KeyPackage,
    PublicKeyPackage,
    Rng,
    base_mult,
    decode_element,
    decode_scalar,
    point_add,
    point_mult,
    polynomial_evaluate,
    random_scalar,
    scalar_add,
    scalar_from_int,
)


@dataclass(frozen=True)
class RefreshCommitment:
    """Sent by `identifier` to all: G * c_k for its zero-sharing's coefficients c_1..c_{t-1}."""

    identifier: int
    commitment: tuple[bytes, ...]

    def __post_init__(self) -> None:
        try:
            for element in self.commitment:
                decode_element(element)
        except ThresholdError as exc:
            raise BadShare(self.identifier, f"malformed refresh commitment: {exc}") from exc


@dataclass(frozen=True)
class RefreshShare:
    """d_sender(recipient): send it to `recipient` only, encrypted."""

    sender: int
    recipient: int
    value: bytes = field(repr=False)


def commitment_at(x: int, commitment: Sequence[bytes]) -> bytes:
    """G * d(x) for d(0) = 0: sum over k >= 1 of C_k * x^k."""
    x_s = scalar_from_int(x)
    value = IDENTITY
    for c in reversed(commitment):
        value = point_mult(x_s, point_add(value, c))
    return value


def deal_zero(
    identifier: int, participants: Sequence[int], threshold: int, rng: Rng = os.urandom
) -> tuple[RefreshCommitment, dict[int, RefreshShare]]:
    """One holder's zero-sharing: its commitment (to all) and one sub-share per participant."""
    if threshold < 2 or identifier not in participants or len(participants) < threshold:
        raise ThresholdError("a refresh needs threshold >= 2 and at least threshold participants")
    coefficients = [random_scalar(rng) for _ in range(threshold - 1)]
    polynomial = [bytes(32), *coefficients]
    commitment = RefreshCommitment(identifier, tuple(base_mult(c) for c in coefficients))
    shares = {
        j: RefreshShare(identifier, j, polynomial_evaluate(j, polynomial)) for j in participants
    }
    return commitment, shares


def refreshed_public(
    public: PublicKeyPackage, commitments: Sequence[RefreshCommitment]
) -> PublicKeyPackage:
    """The public package after the refresh: same group key, the participants' new shares."""
    senders = sorted(c.identifier for c in commitments)
    if len(set(senders)) != len(senders) or len(senders) < public.threshold:
        raise ThresholdError("one refresh commitment per participant, at least threshold of them")
    for c in commitments:
        if c.identifier not in public.verifying_shares:
            raise BadShare(c.identifier, "not a participant of this group key")
        if len(c.commitment) != public.threshold - 1:
            raise BadShare(c.identifier, "refresh commitment has the wrong number of elements")
    verifying = {}
    for j in senders:
        value = public.verifying_shares[j]
        for c in commitments:
            value = point_add(value, commitment_at(j, c.commitment))
        verifying[j] = value
    return PublicKeyPackage(public.group_public_key, verifying, public.threshold)


def refresh(
    key_package: KeyPackage,
    public: PublicKeyPackage,
    commitments: Sequence[RefreshCommitment],
    shares: Mapping[int, RefreshShare],
) -> tuple[KeyPackage, PublicKeyPackage]:
    """A holder's new key package: its share plus every sub-share, each checked first.

    `shares` maps sender -> the sub-share addressed to this holder (its own included).
    """
    me = key_package.identifier
    new_public = refreshed_public(public, commitments)
    if me not in new_public.verifying_shares:
        raise ThresholdError(f"participant {me} takes no part in this refresh")
    by_sender = {c.identifier: c for c in commitments}
    if sorted(shares) != sorted(by_sender):
        raise ThresholdError("need exactly one refresh sub-share from each participant")
    signing = key_package.signing_share
    for sender in sorted(shares):
        share = shares[sender]
        if share.sender != sender or share.recipient != me:
            raise BadShare(sender, f"sub-share not addressed to participant {me}")
        value = decode_scalar(share.value)
        if base_mult(value) != commitment_at(me, by_sender[sender].commitment):
            raise BadShare(sender, "refresh sub-share does not match its commitment")
        signing = scalar_add(signing, value)
    package = KeyPackage(me, signing, new_public.verifying_shares[me],
                         public.group_public_key, public.threshold)
    return package, new_public


def refresh_in_process(
    packages: Mapping[int, KeyPackage], public: PublicKeyPackage, rng: Rng = os.urandom
) -> tuple[dict[int, KeyPackage], PublicKeyPackage]:
    """Every holder in `packages` refreshes (tests, benchmarks; a holder left out is retired)."""
    ids = sorted(packages)
    dealt = {i: deal_zero(i, ids, public.threshold, rng) for i in ids}
    commitments = [c for c, _ in dealt.values()]
    out: dict[int, KeyPackage] = {}
    new_public = public
    for j in ids:
        received = {i: dealt[i][1][j] for i in ids}
        out[j], new_public = refresh(packages[j], public, commitments, received)
    return out, new_public
