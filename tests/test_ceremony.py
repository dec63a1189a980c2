"""The CCF ceremony's records and checks, and the ceremony run through files (node CLI)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from noticenet.crypto import frost
from noticenet.node.ccf import ceremony_files as cli
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.ccf import ceremony
from noticenet.protocol.ccf.ceremony import (
    BadShare,
    ConflictingProposal,
    Proposal,
    ProposalMismatch,
    Share,
    SignedPositions,
    WrongGroupKey,
)
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.ledger.ledger import Ledger, Outcome
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import decode_entry
from noticenet.protocol.records.governance import CCF_BLOCK_FEED, CCF_FEED, GroupKey
from noticenet.protocol.store.keyspace import key

from .conftest import NOW
from .samples import notice
from .test_ccf import MUELLER, action, copy


def test_records_are_bound_to_their_proposal(devnet: DevNet) -> None:
    group = devnet.revoke
    key_ = GroupKey(group.public_key, 3, 5)
    one = ceremony.propose(None, NOW, action("revoke", [b"\x01" * 32]), key_)
    other = ceremony.propose(None, NOW, action("revoke", [b"\x02" * 32]), key_)
    assert one.digest != other.digest
    rounds = {i: ceremony.commit(one, group.packages[i]) for i in (1, 2, 3)}
    stray = ceremony.commit(other, group.packages[3])
    mixed = [rounds[1][1], rounds[2][1], stray[1]]
    with pytest.raises(ProposalMismatch):
        ceremony.sign_share(one, group.packages[1], rounds[1][0], mixed)
    with pytest.raises(ProposalMismatch):  # nonces made for another proposal
        ceremony.sign_share(one, group.packages[3], stray[0], [c for _, c in rounds.values()])
    commitments = [c for _, c in rounds.values()]
    shares = [
        ceremony.sign_share(one, group.packages[i], rounds[i][0], commitments) for i in rounds
    ]
    foreign = dataclasses.replace(shares[2], proposal=other.digest)
    with pytest.raises(ProposalMismatch):
        ceremony.aggregate(one, commitments, [*shares[:2], foreign], group.public)
    with pytest.raises(WrongGroupKey):
        ceremony.commit(one, devnet.block.packages[1])
    with pytest.raises(WrongGroupKey):
        ceremony.aggregate(one, commitments, shares, devnet.governance.public)


def test_a_bad_share_is_named(devnet: DevNet) -> None:
    group = devnet.revoke
    proposal = ceremony.propose(
        None, NOW, action("revoke", [b"\x01" * 32]), GroupKey(group.public_key, 3, 5)
    )
    rounds = {i: ceremony.commit(proposal, group.packages[i]) for i in (1, 3, 5)}
    commitments = [c for _, c in rounds.values()]
    shares = [
        ceremony.sign_share(proposal, group.packages[i], rounds[i][0], commitments) for i in rounds
    ]
    bumped = frost.scalar_add(shares[1].share.share, frost.scalar_from_int(1))
    wrong = frost.SignatureShare(3, bumped)
    shares[1] = Share(proposal.digest, wrong)
    with pytest.raises(BadShare) as caught:
        ceremony.aggregate(proposal, commitments, shares, group.public)
    assert caught.value.member == 3


def test_proposal_says_what_goes_and_what_is_guarded(devnet: DevNet) -> None:
    target, tag = b"\xab" * 32, b"\xcd" * 32
    proposal = ceremony.propose(
        (4, b"\x09" * 32), NOW, action("revoke", [target], guards=(tag,)),
        GroupKey(devnet.revoke.public_key, 3, 5),
    )
    assert (proposal.feed, proposal.seq, proposal.prev) == (CCF_FEED, 5, b"\x09" * 32)
    text = "\n".join(proposal.describe({target: "FRA#7 notice.red"}))
    for needle in ("revoke", "deletes", target.hex(), "FRA#7 notice.red", tag.hex(),
                   "article-3", "CCF/2027/042", "needs 3 shares", proposal.digest.hex()):
        assert needle in text
    assert Proposal.from_bytes(proposal.to_bytes()) == proposal
    block = ceremony.propose(None, NOW, action("block", [target]), GroupKey(b"\x05" * 32, 2, 5))
    assert block.feed == CCF_BLOCK_FEED


def test_ceremony_through_files(tmp_path: Path, devnet: DevNet) -> None:
    spec, fra_spec = devnet.member("CCF"), devnet.member("FRA")
    store = tmp_path / "ccf-node"
    with LevelDBStore(tmp_path / "fra") as fdb:
        fra = Ledger.of_member(fdb, devnet.governance.public_key, "FRA", fra_spec.keys)
        fra.ingest(devnet.genesis, NOW)
        target = Publisher(fra, "FRA", fra_spec.keys).publish("notice.red", notice(MUELLER), NOW)
        with LevelDBStore(store) as db:  # the CCF's node replicates; the CLI opens it later
            ccf = Ledger.of_member(db, devnet.governance.public_key, "CCF", spec.keys)
            ccf.ingest(devnet.genesis, NOW)
            copy(fra, ccf, ["FRA"])
        seed = tmp_path / "ccf.seed"
        cli.write_secret(seed, spec.keys.seed, "ccf passphrase")
        proposal = cli.cmd_propose(
            tmp_path / "proposal", store, "revoke", [target.id.hex()], "article-3", "CCF/1",
            member="CCF", key_file=seed, passphrase="ccf passphrase", now_ms=NOW,
        )
        # every same-tier key of the target's person (record-format 5.2), nothing else, and
        # its similar-tier keys (5.4) apart: the header's probes are among them
        similar = set(proposal.action.similar or ())
        assert set(proposal.action.guards) | (set(target.header.guards) & similar) == set(
            target.header.guards
        )
        assert set(proposal.action.guards) < set(target.header.guards)
        assert set(target.header.guards) - set(proposal.action.guards) <= similar
        assert target.id.hex() in "\n".join(cli.cmd_show(tmp_path / "proposal"))
        cli.write_public_package(tmp_path / "public", devnet.revoke.public)
        signers = {1: "pass-one", 4: None, 5: None}
        for i, passphrase in signers.items():
            cli.write_key_package(tmp_path / f"key{i}", devnet.revoke.packages[i], passphrase)
            cli.cmd_commit(tmp_path / "proposal", tmp_path / f"key{i}", tmp_path / f"nonces{i}",
                           tmp_path / f"commit{i}", passphrase)
        assert (tmp_path / "key1").stat().st_mode & 0o777 == 0o600
        locked = (tmp_path / "key1").read_bytes()
        assert devnet.revoke.packages[1].signing_share not in locked
        with pytest.raises(cli.CeremonyFileError):
            cli.read_key_package(tmp_path / "key1")  # locked: needs its passphrase
        with pytest.raises(cli.CeremonyFileError):  # nonces are never overwritten
            cli.cmd_commit(tmp_path / "proposal", tmp_path / "key4", tmp_path / "nonces4",
                           tmp_path / "commit4")
        commits = [tmp_path / f"commit{i}" for i in signers]
        for i, passphrase in signers.items():
            cli.cmd_sign(tmp_path / "proposal", tmp_path / f"key{i}", tmp_path / f"nonces{i}",
                         commits, tmp_path / f"share{i}", passphrase)
            assert not (tmp_path / f"nonces{i}").exists()
        with pytest.raises(cli.CeremonyFileError):  # used nonces are gone: no second share
            cli.cmd_sign(tmp_path / "proposal", tmp_path / "key4", tmp_path / "nonces4",
                         commits, tmp_path / "again", None)
        entry = cli.cmd_aggregate(tmp_path / "proposal", tmp_path / "public", commits,
                                  [tmp_path / f"share{i}" for i in signers], tmp_path / "entry")
        assert decode_entry((tmp_path / "entry").read_bytes()) == entry
        assert fra.ingest(entry, NOW).outcome is Outcome.STORED
        assert fra.tombstone(target.id)["reason"] == "revoked"
        assert fra.store.get(key(b"g", proposal.action.guards[0])) is not None


def test_a_signer_signs_one_proposal_per_position(devnet: DevNet) -> None:
    key_ = GroupKey(devnet.revoke.public_key, 3, 5)
    head = (4, b"\x09" * 32)
    one = ceremony.propose(head, NOW, action("revoke", [b"\x01" * 32]), key_)
    rival = ceremony.propose(head, NOW + 1, action("revoke", [b"\x02" * 32]), key_)
    later = ceremony.propose((5, b"\x0a" * 32), NOW, action("revoke", [b"\x02" * 32]), key_)
    block = ceremony.propose(head, NOW, action("block", [b"\x02" * 32]),
                             GroupKey(devnet.block.public_key, 2, 5))
    signed = SignedPositions()
    assert signed.admit(one) is True
    assert signed.admit(one) is False  # round two retried: the same proposal again
    with pytest.raises(ConflictingProposal, match="entry 5 of"):
        signed.admit(rival)
    assert signed.admit(later) and signed.admit(block)  # another seq, another feed
    assert SignedPositions.from_bytes(signed.to_bytes()) == signed
    with pytest.raises(ConflictingProposal):
        SignedPositions.from_bytes(signed.to_bytes()).admit(rival)
    assert len(signed.signed) == 3


_G, _D = b"\x01" * 32, b"\x02" * 32


@pytest.mark.parametrize(
    "rows",
    [
        "x",
        [[_G, "#CCF", 1]],
        [[_G[:31], "#CCF", 1, _D]],
        [[_G, 7, 1, _D]],
        [[_G, "#CCF", 1, _D]] * 2,
    ],
)
def test_a_malformed_record_of_signed_positions_is_refused(rows: object) -> None:
    with pytest.raises(SchemaError):
        SignedPositions.from_bytes(encode({"type": "ccf-signed-positions", "v": 1, "signed": rows}))
    for other in ({"type": "ccf-signed-positions", "v": 2}, {"type": "ccf-nonces", "v": 1}):
        with pytest.raises(CodecError):
            SignedPositions.from_bytes(encode({**other, "signed": []}))
