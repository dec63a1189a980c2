"""Resharing a FROST group: new shares of the same group key for a new set of holders.

The holders taking part as dealers (at least the old threshold of them, the
set D) each deal a Feldman sharing of their Lagrange-weighted share: dealer i
draws a polynomial g_i of degree t'-1 with g_i(0) = lambda_i(D) * s_i, commits
to every coefficient, and sends g_i(j) to each new holder j. Since
sum_i lambda_i(D) * s_i is the group secret, the new shares s'_j = sum_i g_i(j)
are a t'-of-n' sharing of the same key: nodes notice nothing. Every share is
new, so an old share (a commissioner who left, a lost copy) combines with none
of them; new holders (a commissioner who joins) get a share; the threshold may
change. A refresh is the case where the new holders are the dealers.

Everyone checks a dealer's constant term against the old public package
(G * g_i(0) must be lambda_i * Y_i, so a dealer cannot shift the key) and each
sub-share against its dealer's commitment; failures raise BadShare naming the
dealer. Sub-shares are secret: they travel sealed to their recipient. No I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .dkg import vss_evaluate
from .errors import BadShare, ThresholdError
from .frost import (
    IDENTITY,
    KeyPackage,
    PublicKeyPackage,
    Rng,
    base_mult,
    decode_element,
    decode_scalar,
    derive_interpolating_value,
    point_add,
    point_mult,
    polynomial_evaluate,
    random_scalar,
    scalar_add,
    scalar_mul,
)


@dataclass(frozen=True)
class ReshareCommitment:
    """Sent by dealer `identifier` to all: G * c_k for its polynomial's coefficients c_0.."""

    identifier: int
    commitment: tuple[bytes, ...]

    def __post_init__(self) -> None:
        try:
            for element in self.commitment:
                decode_element(element)
        except ThresholdError as exc:
            raise BadShare(self.identifier, f"malformed reshare commitment: {exc}") from exc


@dataclass(frozen=True)
class ReshareShare:
    """g_sender(recipient): send it to `recipient` only, encrypted."""

    sender: int
    recipient: int
    value: bytes = field(repr=False)


def _check_plan(public: PublicKeyPackage, dealers: Sequence[int], recipients: Sequence[int],
                threshold: int) -> None:
    if len(set(dealers)) != len(dealers) or len(dealers) < public.threshold:
        raise ThresholdError(f"a reshare needs at least {public.threshold} distinct dealers")
    stray = [i for i in dealers if i not in public.verifying_shares]
    if stray:
        raise ThresholdError(f"dealer(s) {stray} hold no share of the group")
    if len(set(recipients)) != len(recipients) or any(j < 1 for j in recipients):
        raise ThresholdError("recipients are distinct identifiers from 1")
    if not 2 <= threshold <= len(recipients):
        raise ThresholdError(
            f"need 2 <= threshold <= recipients ({threshold} of {len(recipients)})"
        )


def deal(
    package: KeyPackage, public: PublicKeyPackage, dealers: Sequence[int],
    recipients: Sequence[int], threshold: int, rng: Rng = os.urandom,
) -> tuple[ReshareCommitment, dict[int, ReshareShare]]:
    """One dealer's part: its commitment (to all) and one sub-share per recipient."""
    _check_plan(public, dealers, recipients, threshold)
    me = package.identifier
    if me not in dealers or public.verifying_shares.get(me) != package.verifying_share:
        raise ThresholdError(f"participant {me}'s key package is not a dealer's share of the group")
    weighted = scalar_mul(derive_interpolating_value(sorted(dealers), me), package.signing_share)
    coefficients = [weighted, *(random_scalar(rng) for _ in range(threshold - 1))]
    commitment = ReshareCommitment(me, tuple(base_mult(c) for c in coefficients))
    shares = {j: ReshareShare(me, j, polynomial_evaluate(j, coefficients)) for j in recipients}
    return commitment, shares


def reshared_public(
    public: PublicKeyPackage, commitments: Sequence[ReshareCommitment],
    recipients: Sequence[int], threshold: int,
) -> PublicKeyPackage:
    """The public package after the reshare: same group key, the recipients' new shares."""
    dealers = sorted(c.identifier for c in commitments)
    _check_plan(public, dealers, recipients, threshold)
    for c in commitments:
        if len(c.commitment) != threshold:
            raise BadShare(c.identifier, "reshare commitment has the wrong number of elements")
        weight = derive_interpolating_value(dealers, c.identifier)
        if c.commitment[0] != point_mult(weight, public.verifying_shares[c.identifier]):
            raise BadShare(c.identifier, "reshare commitment is not of its share of the group key")
    total = IDENTITY
    for c in commitments:
        total = point_add(total, c.commitment[0])
    if total != public.group_public_key:  # follows from the checks above; kept as a guard
        raise ThresholdError("the dealers' commitments do not add up to the group key")
    verifying = {}
    for j in sorted(recipients):
        value = IDENTITY
        for c in commitments:
            value = point_add(value, vss_evaluate(j, c.commitment))
        verifying[j] = value
    return PublicKeyPackage(public.group_public_key, verifying, threshold)


def receive(
    me: int, public: PublicKeyPackage, commitments: Sequence[ReshareCommitment],
    shares: Mapping[int, ReshareShare], recipients: Sequence[int], threshold: int,
) -> tuple[KeyPackage, PublicKeyPackage]:
    """A recipient's new key package: the sum of its sub-shares, each checked first.

    `shares` maps dealer -> the sub-share addressed to `me`."""
    new_public = reshared_public(public, commitments, recipients, threshold)
    if me not in new_public.verifying_shares:
        raise ThresholdError(f"participant {me} receives no share in this reshare")
    by_dealer = {c.identifier: c for c in commitments}
    if sorted(shares) != sorted(by_dealer):
        raise ThresholdError("need exactly one reshare sub-share from each dealer")
    signing = bytes(32)
    for sender in sorted(shares):
        share = shares[sender]
        if share.sender != sender or share.recipient != me:
            raise BadShare(sender, f"sub-share not addressed to participant {me}")
        value = decode_scalar(share.value)
        if base_mult(value) != vss_evaluate(me, by_dealer[sender].commitment):
            raise BadShare(sender, "reshare sub-share does not match its commitment")
        signing = scalar_add(signing, value)
    package = KeyPackage(me, signing, new_public.verifying_shares[me], public.group_public_key,
                         threshold)
    return package, new_public


def reshare_in_process(
    packages: Mapping[int, KeyPackage], public: PublicKeyPackage,
    recipients: Sequence[int] | None = None, threshold: int | None = None,
    rng: Rng = os.urandom,
) -> tuple[dict[int, KeyPackage], PublicKeyPackage]:
    """Every dealer in `packages` deals to `recipients` (default: themselves, a refresh):
    tests and benchmarks."""
    dealers = sorted(packages)
    to = sorted(recipients) if recipients is not None else dealers
    t = threshold or public.threshold
    dealt = {i: deal(packages[i], public, dealers, to, t, rng) for i in dealers}
    commitments = [c for c, _ in dealt.values()]
    out: dict[int, KeyPackage] = {}
    new_public = public
    for j in to:
        out[j], new_public = receive(j, public, commitments,
                                     {i: dealt[i][1][j] for i in dealers}, to, t)
    return out, new_public
