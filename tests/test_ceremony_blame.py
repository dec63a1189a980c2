"""Aggregation blames correctly (issue 18): a wrong commitment list is told as such."""

from __future__ import annotations

import dataclasses

import pytest

from noticenet.crypto.errors import BadShare
from noticenet.protocol.ccf import ceremony
from noticenet.protocol.ccf.ceremony import CommitmentListMismatch, Share
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.records.governance import GroupKey

from .conftest import NOW
from .test_ccf import action


def test_a_different_commitment_list_is_not_blamed_on_participant_one(devnet: DevNet) -> None:
    group = devnet.revoke
    proposal = ceremony.propose(
        None, NOW, action("revoke", [b"\x01" * 32]), GroupKey(group.public_key, 3, 5)
    )
    rounds = {i: ceremony.commit(proposal, group.packages[i]) for i in (1, 2, 3)}
    signed_with = [c for _, c in rounds.values()]
    shares = [ceremony.sign_share(proposal, group.packages[i], rounds[i][0], signed_with)
              for i in rounds]
    assert all(Share.from_bytes(s.to_bytes()) == s for s in shares)
    # The coordinator picked up signer 3's commitment file from an abandoned attempt.
    stale = ceremony.commit(proposal, group.packages[3])[1]
    wrong = [rounds[1][1], rounds[2][1], stale]
    with pytest.raises(CommitmentListMismatch, match=r"signer\(s\) 1, 2, 3"):
        ceremony.aggregate(proposal, wrong, shares, group.public)
    # With the right list it aggregates; a genuinely bad share still names its signer.
    assert ceremony.aggregate(proposal, signed_with, shares, group.public)
    bad = dataclasses.replace(shares[1], share=dataclasses.replace(shares[1].share,
                                                                   share=shares[0].share.share))
    with pytest.raises(BadShare) as blamed:
        ceremony.aggregate(proposal, signed_with, [shares[0], bad, shares[2]], group.public)
    assert blamed.value.member == 2
    # A share written before sessions were recorded still reads (and falls back to share checks).
    old = dataclasses.replace(shares[0], session=None)
    assert Share.from_bytes(old.to_bytes()).session is None
