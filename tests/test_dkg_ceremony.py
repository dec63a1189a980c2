"""The DKG as an offline ceremony of signed records (issue 18): consistency and blame."""

from __future__ import annotations

import dataclasses

import pytest

from noticenet.crypto import dkg, frost
from noticenet.crypto.ceremony_identity import CeremonyKey
from noticenet.crypto.errors import BadShare, Equivocation, ThresholdError
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.protocol.ccf import dkg_ceremony as C
from noticenet.protocol.ccf.dkg_ceremony import (
    Complaint,
    Digests,
    DkgCeremonyError,
    Fault,
    Round1,
    Round2,
    Setup,
)

NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Eun-ji")


def keys_for(n: int) -> dict[int, CeremonyKey]:
    return {i: CeremonyKey(bytes([i]) * 32) for i in range(1, n + 1)}


def make_setup(n: int = 5, t: int = 3) -> tuple[Setup, dict[int, CeremonyKey]]:
    keys = keys_for(n)
    setup = Setup.new("revoke", t, [(NAMES[i - 1], keys[i].public) for i in keys], bytes(16))
    return setup, keys


def rounds_one(setup: Setup, keys: dict[int, CeremonyKey], seed: bytes = b"r1"
               ) -> tuple[dict[int, bytes], list[Round1]]:
    rng = C.seeded_rng(seed)
    made = {i: C.round1(setup, i, keys[i], rng) for i in setup.ids}
    return {i: s for i, (s, _) in made.items()}, [r for _, r in made.values()]


def test_the_ceremony_makes_one_group_key_that_signs() -> None:
    setup, keys = make_setup()
    packages, public = C.run_in_process(setup, keys, C.seeded_rng(b"ok"))
    again, _ = C.run_in_process(setup, keys, C.seeded_rng(b"ok"))
    assert again == packages  # seeded: deterministic
    group = ThresholdGroup(packages, public)
    for signers in ((1, 2, 3), (2, 4, 5), (1, 3, 5)):
        assert frost.verify_signature(public.group_public_key, b"m", group.sign(b"m", signers))
    assert Setup.from_bytes(setup.to_bytes()) == setup
    assert "Chiara" in "\n".join(setup.describe())


def test_the_split_view_is_refused_naming_the_equivocator() -> None:
    """Bruno (2) hands one round-one package to Ada and Chiara, another to Dmitri and Eun-ji."""
    setup, keys = make_setup()
    secrets, records = rounds_one(setup, keys)
    _, other = C.round1(setup, 2, keys[2], C.seeded_rng(b"second version"))
    view = {i: list(records) for i in setup.ids}
    for i in (4, 5):
        view[i] = [other if r.sender == 2 else r for r in records]
    reports = [C.digests(setup, i, keys[i], view[i]) for i in setup.ids]
    for me in (1, 3, 4, 5):  # nobody goes on to round two
        with pytest.raises(Fault) as refused:
            C.round2(setup, me, keys[me], secrets[me], view[me], reports)
        assert refused.value.member == 2 and refused.value.name == "Bruno"
        assert "different round-one packages" in str(refused.value)
        assert "--exclude 2" in str(refused.value)
    # The restart without Bruno completes, 3 of 4, and its key signs.
    restart = setup.without([2], salt=bytes(range(16)))
    assert [name for name, _ in restart.participants] == ["Ada", "Chiara", "Dmitri", "Eun-ji"]
    rest = {i: keys[k] for i, k in enumerate((1, 3, 4, 5), start=1)}
    packages, public = C.run_in_process(restart, rest, C.seeded_rng(b"restart"))
    assert public.threshold == 3 and len(public.verifying_shares) == 4
    signature = ThresholdGroup(packages, public).sign(b"m")
    assert frost.verify_signature(public.group_public_key, b"m", signature)


def test_check_consistency_names_the_sender_whose_package_differs() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    views = {r: {1: a, 2: a, 3: a} for r in (1, 2, 3)}
    assert dkg.check_consistency([1, 2, 3], views) == {1: a, 2: a, 3: a}
    views[3] = {1: a, 2: b, 3: a}
    with pytest.raises(Equivocation) as refused:
        dkg.check_consistency([1, 2, 3], views)
    assert refused.value.member == 2 and refused.value.views == {a: (1, 2), b: (3,)}
    with pytest.raises(ThresholdError):
        dkg.check_consistency([1, 2, 3], {1: views[1], 2: views[2]})


def test_a_reporter_cannot_frame_a_sender() -> None:
    """A report lists (digest, sender signature): a digest never signed blames the reporter."""
    setup, keys = make_setup()
    secrets, records = rounds_one(setup, keys)
    reports = [C.digests(setup, i, keys[i], records) for i in setup.ids]
    seen = list(reports[2].seen)
    seen[1] = (2, b"\x09" * 32, seen[1][2])
    lie = Digests(setup.digest, 3, tuple(seen), bytes(64))
    lie = dataclasses.replace(lie, signature=keys[3].sign(
        C.to_sign(b"digests", setup.digest, lie.body())))
    with pytest.raises(Fault) as refused:
        C.round2(setup, 1, keys[1], secrets[1], records, [*reports[:2], lie, *reports[3:]])
    assert refused.value.member == 3


def test_a_bad_proof_of_knowledge_names_its_sender() -> None:
    setup, keys = make_setup()
    secrets, records = rounds_one(setup, keys)
    bad = records[2].package
    forged = dkg.Round1Package(3, bad.commitment, bad.proof_of_knowledge[:32] + bytes(32))
    signature = keys[3].sign(C._round1_message(setup.digest, dkg.round1_digest(forged)))
    records[2] = Round1(setup.digest, forged, signature)
    reports = [C.digests(setup, i, keys[i], records) for i in setup.ids]
    with pytest.raises(Fault) as refused:
        C.round2(setup, 1, keys[1], secrets[1], records, reports)
    assert refused.value.member == 3 and "proof of knowledge" in str(refused.value)


def _through_round2(setup: Setup, keys: dict[int, CeremonyKey]) -> tuple[
    list[Round1], list[Digests], dict[int, bytes], list[Round2]
]:
    secrets, records = rounds_one(setup, keys)
    reports = [C.digests(setup, i, keys[i], records) for i in setup.ids]
    second = {i: C.round2(setup, i, keys[i], secrets[i], records, reports) for i in setup.ids}
    return records, reports, {i: s for i, (s, _) in second.items()}, [
        r for _, out in second.values() for r in out
    ]


def test_a_bad_share_names_its_sender_with_evidence_anyone_can_judge() -> None:
    setup, keys = make_setup()
    records, reports, secrets, sealed = _through_round2(setup, keys)
    # Dmitri (4) sends Ada (1) a share that does not match his commitment, signed by him.
    share = frost.scalar_from_int(12345)
    signature = keys[4].sign(C._share_message(setup.digest, 4, 1, share))
    from noticenet.crypto.ceremony_identity import seal_to
    from noticenet.protocol.records.codec import encode
    inner = encode({"sender": 4, "recipient": 1, "share": share, "signature": signature})
    bad = Round2(setup.digest, 4, 1, seal_to(keys[1].public, inner))
    tampered = [bad if (r.sender, r.recipient) == (4, 1) else r for r in sealed]
    with pytest.raises(Fault) as refused:
        C.finish(setup, 1, keys[1], secrets[1], records, reports, tampered)
    assert refused.value.member == 4 and refused.value.name == "Dmitri"
    complaint = refused.value.complaint
    assert complaint is not None
    judged = C.judge(setup, records, Complaint.from_bytes(complaint.to_bytes()))
    assert judged.member == 4
    # A complaint about a good share blames the complainant.
    good = next(r for r in sealed if (r.sender, r.recipient) == (5, 1))
    honest = Complaint(setup.digest, 1, 5, keys[1].open(good.sealed), bytes(64))
    honest = dataclasses.replace(honest, signature=keys[1].sign(
        C.to_sign(b"complaint", setup.digest, honest.body())))
    assert C.judge(setup, records, honest).member == 1
    # Others finish unaffected by Ada's bad share.
    for me in (2, 3):
        C.finish(setup, me, keys[me], secrets[me], records, reports, tampered)


def test_records_of_another_ceremony_or_unsigned_are_refused() -> None:
    setup, keys = make_setup()
    other, _ = make_setup(t=2)
    secrets, records = rounds_one(setup, keys)
    with pytest.raises(DkgCeremonyError, match="another|for ceremony"):
        C.digests(other, 1, keys[1], records)
    unsigned = dataclasses.replace(records[1], signature=bytes(64))
    with pytest.raises(Fault) as refused:
        C.digests(setup, 1, keys[1], [records[0], unsigned, *records[2:]])
    assert refused.value.member == 2
    with pytest.raises(DkgCeremonyError, match="not participant"):
        C.round1(setup, 1, keys[2])
    assert Round1.from_bytes(records[0].to_bytes()) == records[0]
    with pytest.raises(DkgCeremonyError):  # nobody goes on with a report missing
        reports = [C.digests(setup, i, keys[i], records) for i in (1, 2, 3, 4)]
        C.round2(setup, 1, keys[1], secrets[1], records, reports)


# --- refresh: the same rounds renew a group's shares ---


def _made() -> tuple[Setup, dict[int, CeremonyKey], dict[int, frost.KeyPackage],
                     frost.PublicKeyPackage]:
    setup, keys = make_setup()
    packages, public = C.run_in_process(setup, keys, C.seeded_rng(b"made"))
    return setup, keys, packages, public


def test_a_refresh_without_a_commissioner_keeps_the_key_and_retires_their_share() -> None:
    setup, keys, packages, public = _made()
    refresh = setup.refreshing(public, excluded=[5])  # Eun-ji leaves
    assert refresh.ids == [1, 2, 3, 4] and refresh.refresh == public
    assert Setup.from_bytes(refresh.to_bytes()) == refresh
    assert "retiring share(s) [5]" in refresh.describe()[0]
    staying = {i: keys[i] for i in refresh.ids}
    new, new_public = C.run_in_process(refresh, staying, C.seeded_rng(b"refresh"), packages)
    assert new_public.group_public_key == public.group_public_key  # nodes notice nothing
    assert sorted(new_public.verifying_shares) == [1, 2, 3, 4]
    assert all(new[i].signing_share != packages[i].signing_share for i in new)
    signature = ThresholdGroup(new, new_public).sign(b"m", (2, 3, 4))
    assert frost.verify_signature(public.group_public_key, b"m", signature)
    # Eun-ji's old share with two new ones: refused by the coordinator, naming her,
    # and no valid signature even for a coordinator who skips that check.
    mixed = {5: packages[5], 1: new[1], 2: new[2]}
    rounds = {i: frost.commit(p) for i, p in mixed.items()}
    commitments = [c for _, c in rounds.values()]
    shares = [frost.sign(mixed[i], rounds[i][0], b"m", commitments) for i in mixed]
    with pytest.raises(BadShare) as refused:
        frost.aggregate(commitments, b"m", shares, new_public)
    assert refused.value.member == 5
    raw = frost.combine_signature(commitments, b"m", public.group_public_key, shares)
    assert not frost.verify_signature(public.group_public_key, b"m", raw)
    # A refresh of the refresh: from the refresh setup, identifiers kept.
    again = refresh.refreshing(new_public)
    assert again.ids == [1, 2, 3, 4]
    newer, newer_public = C.run_in_process(again, staying, C.seeded_rng(b"again"), new)
    signature = ThresholdGroup(newer, newer_public).sign(b"m", (1, 3, 4))
    assert frost.verify_signature(public.group_public_key, b"m", signature)


def _dealt(refresh: Setup, keys: dict[int, CeremonyKey], packages: dict[int, frost.KeyPackage],
           seed: bytes) -> tuple[dict[int, bytes], list[Round1]]:
    rng = C.seeded_rng(seed)
    made = {i: C.round1(refresh, i, keys[i], rng, packages[i]) for i in refresh.dealers}
    return {i: s for i, (s, _) in made.items()}, [r for _, r in made.values()]


def test_a_dealer_needs_its_current_share_and_no_other() -> None:
    setup, keys, packages, public = _made()
    refresh = setup.refreshing(public)
    with pytest.raises(DkgCeremonyError, match="current key package"):
        C.round1(refresh, 1, keys[1])
    with pytest.raises(DkgCeremonyError, match="not a dealer's share"):
        C.round1(refresh, 1, keys[1], current=packages[2])
    secrets, records = _dealt(refresh, keys, packages, b"r1-refresh")
    assert all(isinstance(r.package, C.rs.ReshareCommitment) for r in records)
    assert Round1.from_bytes(records[0].to_bytes()) == records[0]
    # A setup that does not name the package's holders is refused.
    with pytest.raises(DkgCeremonyError, match="holders"):
        refresh.without([5]).refreshing(public)
    # A DKG round-one record in a refresh names its sender.
    _, dkg_records = rounds_one(setup, keys)
    forged = C.Round1(refresh.digest, dkg_records[1].package, keys[2].sign(
        C._round1_message(refresh.digest, dkg_records[1].digest)))
    with pytest.raises(Fault) as refused:
        C.digests(refresh, 1, keys[1], [records[0], forged, *records[2:]])
    assert refused.value.member == 2


def test_a_commissioner_joins_and_the_threshold_changes_under_the_same_key() -> None:
    """Eun-ji (5) leaves, Farid joins as participant 6, and the threshold rises from 3 to 4:
    the four remaining holders deal, five hold the new shares."""
    setup, keys, packages, public = _made()
    farid = CeremonyKey(bytes([6]) * 32)
    reshare = setup.refreshing(public, excluded=[5], added=[("Farid", farid.public)],
                               threshold=4)
    assert reshare.ids == [1, 2, 3, 4, 6] and reshare.dealers == [1, 2, 3, 4]
    assert "new participant(s) [6]" in reshare.describe()[0]
    assert "was 3 of 5" in reshare.describe()[0]
    with pytest.raises(DkgCeremonyError, match="deals nothing"):
        C.round1(reshare, 6, farid)
    everyone = {**{i: keys[i] for i in (1, 2, 3, 4)}, 6: farid}
    new, new_public = C.run_in_process(reshare, everyone, C.seeded_rng(b"join"), packages)
    assert new_public.group_public_key == public.group_public_key
    assert sorted(new_public.verifying_shares) == [1, 2, 3, 4, 6] and new_public.threshold == 4
    group = ThresholdGroup(new, new_public)
    assert frost.verify_signature(public.group_public_key, b"m", group.sign(b"m", (2, 3, 4, 6)))
    with pytest.raises(ThresholdError):  # three new shares are no longer enough
        group.sign(b"m", (1, 2, 6))


def test_a_dealer_cannot_shift_the_key() -> None:
    """A dealer whose commitment is not of its weighted share is named, before round two."""
    setup, keys, packages, public = _made()
    refresh = setup.refreshing(public)
    secrets, records = _dealt(refresh, keys, packages, b"r1-shift")
    honest = next(r for r in records if r.sender == 3).package.commitment
    shifted = C.rs.ReshareCommitment(3, (frost.base_mult(frost.scalar_from_int(5)), *honest[1:]))
    unsigned = C.Round1(refresh.digest, shifted, bytes(64))
    lie = dataclasses.replace(unsigned, signature=keys[3].sign(
        C._round1_message(refresh.digest, unsigned.digest)))
    records = [lie if r.sender == 3 else r for r in records]
    reports = [C.digests(refresh, i, keys[i], records) for i in refresh.ids]
    with pytest.raises(Fault) as refused:
        C.round2(refresh, 1, keys[1], secrets[1], records, reports)
    assert refused.value.member == 3 and "share of the group key" in refused.value.reason


def test_a_bad_refresh_sub_share_names_its_sender_with_evidence() -> None:
    setup, keys, packages, public = _made()
    refresh = setup.refreshing(public)
    secrets, records = _dealt(refresh, keys, packages, b"r1-bad")
    reports = [C.digests(refresh, i, keys[i], records) for i in refresh.ids]
    second = {i: C.round2(refresh, i, keys[i], secrets[i], records, reports) for i in refresh.ids}
    sealed = [r for _, out in second.values() for r in out]
    bad = C._seal(refresh, 3, keys[3], 1, frost.scalar_from_int(99))
    tampered = [bad if (r.sender, r.recipient) == (3, 1) else r for r in sealed]
    with pytest.raises(Fault) as refused:
        C.finish(refresh, 1, keys[1], second[1][0], records, reports, tampered)
    assert refused.value.member == 3 and refused.value.complaint is not None
    assert C.judge(refresh, records, refused.value.complaint).member == 3


def test_the_split_view_in_a_refresh_names_the_equivocator() -> None:
    setup, keys, packages, public = _made()
    refresh = setup.refreshing(public, excluded=[1])
    staying = {i: keys[i] for i in refresh.ids}
    secrets, records = _dealt(refresh, staying, packages, b"r1-split")
    _, other = C.round1(refresh, 4, keys[4], C.seeded_rng(b"a second version"), packages[4])
    seen_by_2 = records
    seen_by_3 = [other if r.sender == 4 else r for r in records]
    reports = [C.digests(refresh, 2, keys[2], seen_by_2), C.digests(refresh, 3, keys[3], seen_by_3),
               C.digests(refresh, 4, keys[4], seen_by_2), C.digests(refresh, 5, keys[5], seen_by_2)]
    with pytest.raises(Fault) as refused:
        C.round2(refresh, 2, keys[2], secrets[2], seen_by_2, reports)
    assert refused.value.member == 4
