"""Refresh under the same group key (issue 18): old shares no longer sign with new ones."""

from __future__ import annotations

import dataclasses

import pytest

from noticenet.crypto import frost
from noticenet.crypto.errors import BadShare, ThresholdError
from noticenet.crypto.refresh import deal_zero, refresh, refresh_in_process
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


def test_refresh_keeps_the_key_and_retires_old_shares() -> None:
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    new_packages, new_public = refresh_in_process(old.packages, old.public, seeded_rng(b"z"))
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


def test_a_commissioner_who_leaves_is_retired_by_a_refresh_without_them() -> None:
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    staying = {i: p for i, p in old.packages.items() if i != 5}
    new_packages, new_public = refresh_in_process(staying, old.public, seeded_rng(b"leave"))
    assert sorted(new_public.verifying_shares) == [1, 2, 3, 4]
    assert frost.verify_signature(
        old.public_key, b"m", ThresholdGroup(new_packages, new_public).sign(b"m", (2, 3, 4))
    )
    commitments, shares = _sign({5: old.packages[5], 1: new_packages[1], 2: new_packages[2]}, b"m")
    raw = frost.combine_signature(commitments, b"m", old.public_key, shares)
    assert not frost.verify_signature(old.public_key, b"m", raw)


def test_a_bad_refresh_sub_share_names_its_sender() -> None:
    old = commission_group(b"refresh-test", "revoke", 5, 3)
    ids = [1, 2, 3, 4, 5]
    dealt = {i: deal_zero(i, ids, 3, seeded_rng(bytes([i]))) for i in ids}
    received = {i: dealt[i][1][1] for i in ids}
    received[4] = dataclasses.replace(received[4], value=frost.scalar_from_int(7))
    with pytest.raises(BadShare) as refused:
        refresh(old.packages[1], old.public, [c for c, _ in dealt.values()], received)
    assert refused.value.member == 4
    with pytest.raises(ThresholdError):  # fewer than the threshold cannot refresh
        refresh_in_process({1: old.packages[1], 2: old.packages[2]}, old.public)
