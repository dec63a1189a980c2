"""Resharing under the same group key (issue 18): refresh, leave, join, new threshold."""

from __future__ import annotations

import dataclasses

import pytest

from noticenet.crypto import frost
from noticenet.crypto.errors import BadShare, ThresholdError
from noticenet.crypto.reshare import deal, receive, reshare_in_process
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.protocol.ccf.dkg_ceremony import seeded_rng
from noticenet.protocol.devnet import commission_group


def _sign(packages: dict[int, frost.KeyPackage], message: bytes) -> tuple[
    list[frost.SigningCommitment], list[frost.SignatureShare]
]:
    rounds = {i: frost.commit(p) for i, p in packages.items()}
    commitments = [c for _, c in rounds.values()]
    shares = [frost.sign(packages[i], rounds[i][0], message, commitments) for i in packages]
    return commitments, shares


def test_a_refresh_keeps_the_key_and_retires_old_shares() -> None:
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    new_packages, new_public = reshare_in_process(old.packages, old.public, rng=seeded_rng(b"z"))
    assert new_public.group_public_key == old.public_key
    new = ThresholdGroup(new_packages, new_public)
    for signers in ((1, 2, 3), (3, 4, 5)):
        assert frost.verify_signature(old.public_key, b"m", new.sign(b"m", signers))
    for i in new_packages:
        assert new_packages[i].signing_share != old.packages[i].signing_share
    # An old share (say, leaked) with two new ones: no valid signature.
    mixed = {1: old.packages[1], 2: new_packages[2], 3: new_packages[3]}
    commitments, shares = _sign(mixed, b"m")
    raw = frost.combine_signature(commitments, b"m", old.public_key, shares)
    assert not frost.verify_signature(old.public_key, b"m", raw)
    with pytest.raises(BadShare) as refused:
        frost.aggregate(commitments, b"m", shares, new_public)
    assert refused.value.member == 1


def test_a_threshold_of_holders_reshares_to_a_new_set() -> None:
    """Three of five deal (the threshold); 2 and 5 leave, 6 and 7 join; 3 of 5 becomes 2 of 4."""
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    dealers = {i: old.packages[i] for i in (1, 3, 4)}
    new_packages, new_public = reshare_in_process(dealers, old.public, [1, 4, 6, 7], 2,
                                                  seeded_rng(b"new set"))
    assert sorted(new_public.verifying_shares) == [1, 4, 6, 7] and new_public.threshold == 2
    group = ThresholdGroup(new_packages, new_public)
    for signers in ((6, 7), (1, 6), (4, 7)):
        assert frost.verify_signature(old.public_key, b"m", group.sign(b"m", signers))
    commitments, shares = _sign({5: old.packages[5], 6: new_packages[6], 7: new_packages[7]}, b"m")
    raw = frost.combine_signature(commitments, b"m", old.public_key, shares)
    assert not frost.verify_signature(old.public_key, b"m", raw)


def test_dealers_are_checked_and_named() -> None:
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    ids = [1, 2, 3, 4, 5]
    dealt = {i: deal(old.packages[i], old.public, ids, ids, 3, seeded_rng(bytes([i])))
             for i in ids}
    received = {i: dealt[i][1][1] for i in ids}
    bad = dict(received)
    bad[4] = dataclasses.replace(received[4], value=frost.scalar_from_int(7))
    with pytest.raises(BadShare) as refused:
        receive(1, old.public, [c for c, _ in dealt.values()], bad, ids, 3)
    assert refused.value.member == 4
    # A dealer committing to another constant term (shifting the group key) is named.
    c2 = dealt[2][0]
    shifted = dataclasses.replace(c2, commitment=(frost.base_mult(frost.scalar_from_int(3)),
                                                  *c2.commitment[1:]))
    commitments = [shifted if c.identifier == 2 else c for c, _ in dealt.values()]
    with pytest.raises(BadShare) as refused:
        receive(1, old.public, commitments, received, ids, 3)
    assert refused.value.member == 2
    with pytest.raises(ThresholdError):  # fewer than the threshold cannot reshare
        reshare_in_process({1: old.packages[1], 2: old.packages[2]}, old.public)
    with pytest.raises(ThresholdError):  # a package not of the group does not deal
        deal(old.packages[1], old.public, [2, 3, 4], [2, 3, 4], 3)
