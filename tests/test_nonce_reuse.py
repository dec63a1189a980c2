"""Issue 18: a restored copy of a nonces file must never sign a second session.

The attack: a signer's nonces file is copied (a backup, a snapshot, a USB
stick) before round two. After the real share is made and the file shredded,
the copy is put back and `ccf sign` run again for the same proposal with other
signer sets. Each share z = d + e*rho + lambda*c*s is one linear equation in
the signer's hiding nonce d, binding nonce e and key share s: three of them
solve for s. The signer's record of what it signed (KEY.signed), not the
nonces file, remembers which nonces were used, so the copy is refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from noticenet.crypto import frost
from noticenet.node.ccf import ceremony_files as cli
from noticenet.protocol.ccf import ceremony
from noticenet.protocol.ccf.ceremony import ConflictingProposal, NonceReused, SignedPositions
from noticenet.protocol.devnet import DevNet
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.governance import GroupKey

from .conftest import NOW
from .test_ccf import action

L = frost.L


def _int(scalar: bytes) -> int:
    return int.from_bytes(scalar, "little")


def _equation(
    public: frost.PublicKeyPackage, message: bytes,
    commitments: Sequence[frost.SigningCommitment], share: frost.SignatureShare,
) -> tuple[int, int, int, int]:
    """(1, rho, lambda*c, z): the share as a linear equation in (d, e, s)."""
    factors, challenge, ids = frost._signing_context(public.group_public_key, commitments, message)
    me = share.identifier
    lam = frost.derive_interpolating_value(ids, me)
    return 1, _int(factors[me]), _int(frost.scalar_mul(lam, challenge)), _int(share.share)


def solve_key_share(equations: Sequence[tuple[int, int, int, int]]) -> int | None:
    """Gaussian elimination mod L over three equations; None if they do not determine s."""
    if len(equations) < 3:
        return None
    rows = [list(e) for e in equations[:3]]
    for col in range(3):
        pivot = next((r for r in range(col, 3) if rows[r][col] % L), None)
        if pivot is None:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        inv = pow(rows[col][col], -1, L)
        rows[col] = [v * inv % L for v in rows[col]]
        for r in range(3):
            if r != col and rows[r][col]:
                f = rows[r][col]
                rows[r] = [(a - f * b) % L for a, b in zip(rows[r], rows[col], strict=True)]
    return rows[2][3]


def test_the_attack_is_real_without_the_record(devnet: DevNet) -> None:
    """Three shares from one nonce pair (bypassing the record) do solve for the key share."""
    group = devnet.revoke
    message = b"the same proposal's message"
    rounds = {i: frost.commit(group.packages[i]) for i in range(1, 6)}
    nonces = rounds[1][0]
    equations = []
    for others in ((2, 3), (2, 4), (3, 5)):
        listed = [rounds[i][1] for i in (1, *others)]
        share = frost.sign(group.packages[1], nonces, message, listed)
        equations.append(_equation(group.public, message, listed, share))
    assert solve_key_share(equations) == _int(group.packages[1].signing_share)


def test_a_restored_nonces_file_is_refused_for_any_other_signer_set(
    tmp_path: Path, devnet: DevNet
) -> None:
    group = devnet.revoke
    proposal = ceremony.propose(
        None, NOW, action("revoke", [b"\x01" * 32]), GroupKey(group.public_key, 3, 5)
    )
    (tmp_path / "proposal").write_bytes(proposal.to_bytes())
    for i in range(1, 6):
        cli.write_key_package(tmp_path / f"key{i}", group.packages[i], "pass" if i == 1 else None)
        cli.cmd_commit(tmp_path / "proposal", tmp_path / f"key{i}", tmp_path / f"nonces{i}",
                       tmp_path / f"commit{i}", "pass" if i == 1 else None)
    shutil.copy(tmp_path / "nonces1", tmp_path / "backup")  # the copy the attacker keeps
    commits = {i: tmp_path / f"commit{i}" for i in range(1, 6)}

    first = cli.cmd_sign(tmp_path / "proposal", tmp_path / "key1", tmp_path / "nonces1",
                         [commits[i] for i in (1, 2, 3)], tmp_path / "share-123", "pass")
    assert not (tmp_path / "nonces1").exists()
    obtained = [((1, 2, 3), first)]
    for others in ((2, 4), (3, 5), (4, 5)):
        shutil.copy(tmp_path / "backup", tmp_path / "nonces1")  # restore the copy
        with pytest.raises(NonceReused, match="another proposal or signer set"):
            share = cli.cmd_sign(tmp_path / "proposal", tmp_path / "key1", tmp_path / "nonces1",
                                 [commits[i] for i in (1, *others)], tmp_path / "share", "pass")
            obtained.append(((1, *others), share))
        assert not (tmp_path / "share").exists()
    # Another proposal with the same copy: refused too (for its position or its nonces).
    other = ceremony.propose(
        (1, b"\x07" * 32), NOW, action("revoke", [b"\x02" * 32]), GroupKey(group.public_key, 3, 5)
    )
    (tmp_path / "other").write_bytes(other.to_bytes())
    with pytest.raises(NonceReused):
        cli.cmd_sign(tmp_path / "other", tmp_path / "key1", tmp_path / "nonces1",
                     [commits[i] for i in (1, 2, 3)], tmp_path / "share", "pass")

    # What the attacker holds: one share per nonce pair, which solves for nothing.
    message = proposal.message
    equations = []
    for signers, share in obtained:
        listed = [ceremony.Commitment.from_bytes(commits[i].read_bytes()).commitment
                  for i in signers]
        equations.append(_equation(group.public, message, listed, share.share))
    assert len(equations) == 1
    assert solve_key_share(equations) is None

    # The exact same session again (a retried round two) gives the very same share.
    again = cli.cmd_sign(tmp_path / "proposal", tmp_path / "key1", tmp_path / "nonces1",
                         [commits[i] for i in (3, 1, 2)], tmp_path / "share-again", "pass")
    assert again == first


def test_the_record_refuses_reuse_and_records_nothing_on_refusal(devnet: DevNet) -> None:
    group, key_ = devnet.revoke, GroupKey(devnet.revoke.public_key, 3, 5)
    one = ceremony.propose(None, NOW, action("revoke", [b"\x01" * 32]), key_)
    rival = ceremony.propose(None, NOW + 1, action("revoke", [b"\x02" * 32]), key_)
    rounds = {i: ceremony.commit(one, group.packages[i]) for i in range(1, 6)}
    record = SignedPositions()
    listed = [rounds[i][1] for i in (1, 2, 3)]
    assert record.admit_share(one, rounds[1][0], listed) is True
    assert record.admit_share(one, rounds[1][0], listed) is False
    before = SignedPositions.from_bytes(record.to_bytes())
    assert before == record
    with pytest.raises(NonceReused):
        record.admit_share(one, rounds[1][0], [rounds[i][1] for i in (1, 4, 5)])
    fresh = ceremony.commit(rival, group.packages[1])
    with pytest.raises(ConflictingProposal):
        record.admit_share(rival, fresh[0], [fresh[1], rounds[2][1], rounds[3][1]])
    assert record == before  # refusals record nothing


def test_a_record_written_before_nonces_were_recorded_still_reads() -> None:
    old = encode({"type": "ccf-signed-positions", "v": 1,
                  "signed": [[b"\x01" * 32, "#CCF", 1, b"\x02" * 32]]})
    record = SignedPositions.from_bytes(old)
    assert record.nonces == {} and len(record.signed) == 1
