"""FROST(Ed25519, SHA-512): RFC 9591 vectors, t-of-n signing, and every refusal."""

from __future__ import annotations

import dataclasses
import json
import random
from itertools import combinations
from pathlib import Path
from typing import Any

import cbor2
import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from noticenet.crypto import frost as F
from noticenet.crypto.errors import BadShare, ThresholdError

VECTORS = Path(__file__).parents[2] / "shared" / "vectors"
P = 2**255 - 19
MESSAGE = b"revoke notice 42"


def seeded(seed: int) -> F.Rng:
    """A deterministic byte source for injected randomness."""
    return random.Random(seed).randbytes


def nacl_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The verdict of an ordinary Ed25519 verifier (libsodium via PyNaCl)."""
    try:
        VerifyKey(public_key).verify(message, signature)
    except BadSignatureError:
        return False
    return True


# --- the RFC 9591 vectors (appendix E.1) ---


@pytest.fixture(scope="module")
def vec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "frost-ed25519-sha512.json").read_text())
    return data


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _vector_keys(vec: dict[str, Any]) -> tuple[dict[int, F.KeyPackage], F.PublicKeyPackage]:
    inputs = vec["inputs"]
    group_key = _hex(inputs["group_public_key"])
    threshold = int(vec["config"]["MIN_PARTICIPANTS"])
    keys = {
        s["identifier"]: F.KeyPackage(
            s["identifier"], _hex(s["participant_share"]),
            F.base_mult(_hex(s["participant_share"])), group_key, threshold,
        )
        for s in inputs["participant_shares"]
    }
    verifying = {i: k.verifying_share for i, k in keys.items()}
    return keys, F.PublicKeyPackage(group_key, verifying, threshold)


def _vector_round_one(
    vec: dict[str, Any], keys: dict[int, F.KeyPackage]
) -> tuple[dict[int, F.SigningNonces], list[F.SigningCommitment]]:
    nonces: dict[int, F.SigningNonces] = {}
    commitments = []
    for out in vec["round_one_outputs"]["outputs"]:
        n, c = F.commit(
            keys[out["identifier"]],
            _hex(out["hiding_nonce_randomness"]), _hex(out["binding_nonce_randomness"]),
        )
        nonces[out["identifier"]] = n
        commitments.append(c)
    return nonces, commitments


def test_vector_shares_come_from_the_polynomial(vec: dict[str, Any]) -> None:
    inputs = vec["inputs"]
    secret = _hex(inputs["group_secret_key"])
    coefficients = [_hex(c) for c in inputs["share_polynomial_coefficients"]]
    n = int(vec["config"]["MAX_PARTICIPANTS"])
    shares = F.secret_share_shard(secret, coefficients, n)
    assert [(s.identifier, s.value.hex()) for s in shares] == [
        (s["identifier"], s["participant_share"]) for s in inputs["participant_shares"]
    ]
    assert F.base_mult(secret).hex() == inputs["group_public_key"]


def test_vector_round_one(vec: dict[str, Any]) -> None:
    keys, _ = _vector_keys(vec)
    nonces, commitments = _vector_round_one(vec, keys)
    outputs = vec["round_one_outputs"]["outputs"]
    for out, comm in zip(outputs, commitments, strict=True):
        n = nonces[out["identifier"]]
        assert n.hiding.hex() == out["hiding_nonce"]
        assert n.binding.hex() == out["binding_nonce"]
        assert comm.identifier == out["identifier"]
        assert comm.hiding.hex() == out["hiding_nonce_commitment"]
        assert comm.binding.hex() == out["binding_nonce_commitment"]


def test_vector_binding_factors(vec: dict[str, Any]) -> None:
    keys, public = _vector_keys(vec)
    _, commitments = _vector_round_one(vec, keys)
    message = _hex(vec["inputs"]["message"])
    inputs = F.binding_factor_inputs(public.group_public_key, commitments, message)
    factors = F.compute_binding_factors(public.group_public_key, commitments, message)
    for out in vec["round_one_outputs"]["outputs"]:
        assert inputs[out["identifier"]].hex() == out["binding_factor_input"]
        assert factors[out["identifier"]].hex() == out["binding_factor"]


def test_vector_round_two_and_aggregate(vec: dict[str, Any]) -> None:
    keys, public = _vector_keys(vec)
    nonces, commitments = _vector_round_one(vec, keys)
    message = _hex(vec["inputs"]["message"])
    assert [c.identifier for c in commitments] == vec["inputs"]["participant_list"]
    shares = [F.sign(keys[i], nonces[i], message, commitments) for i in sorted(nonces)]
    expected = {o["identifier"]: o["sig_share"] for o in vec["round_two_outputs"]["outputs"]}
    assert {s.identifier: s.share.hex() for s in shares} == expected
    for share in shares:
        F.verify_signature_share(share, public, commitments, message)
    signature = F.aggregate(commitments, message, shares, public)
    assert signature.hex() == vec["final_output"]["sig"]
    assert nacl_verifies(public.group_public_key, message, signature)
    assert F.verify_signature(public.group_public_key, message, signature)


# --- 3-of-5 with a trusted dealer (test-only key generation) ---


@pytest.fixture(scope="module")
def dealt() -> tuple[dict[int, F.KeyPackage], F.PublicKeyPackage]:
    out: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage] = F.trusted_dealer_keygen(
        5, 3, rng=seeded(1)
    )
    return out


def run_session(
    keys: dict[int, F.KeyPackage], signers: tuple[int, ...], message: bytes, seed: int
) -> tuple[list[F.SigningCommitment], list[F.SignatureShare]]:
    """Rounds one and two for `signers`, with seeded nonce randomness."""
    rng = seeded(seed)
    round_one = {i: F.commit(keys[i], rng(32), rng(32)) for i in signers}
    commitments = [round_one[i][1] for i in signers]
    shares = [F.sign(keys[i], round_one[i][0], message, commitments) for i in signers]
    return commitments, shares


def test_dealer_output_is_consistent(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    assert public.participant_ids == (1, 2, 3, 4, 5)
    assert public.threshold == 3
    for i, key in keys.items():
        assert key.group_public_key == public.group_public_key
        assert public.verifying_shares[i] == F.base_mult(key.signing_share)


@pytest.mark.parametrize("signers", list(combinations(range(1, 6), 3)))
def test_every_three_subset_signs(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage], signers: tuple[int, ...]
) -> None:
    keys, public = dealt
    commitments, shares = run_session(keys, signers, MESSAGE, seed=sum(signers))
    signature = F.aggregate(commitments, MESSAGE, shares, public)
    assert len(signature) == 64
    assert nacl_verifies(public.group_public_key, MESSAGE, signature)
    assert not nacl_verifies(public.group_public_key, MESSAGE + b"!", signature)


def test_shares_may_arrive_in_any_order(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    commitments, shares = run_session(keys, (5, 1, 3), MESSAGE, seed=7)
    signature = F.aggregate(commitments[::-1], MESSAGE, shares, public)
    assert nacl_verifies(public.group_public_key, MESSAGE, signature)


def test_two_signers_are_refused(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    rng = seeded(3)
    round_one = {i: F.commit(keys[i], rng(32), rng(32)) for i in (1, 2)}
    commitments = [c for _, c in round_one.values()]
    with pytest.raises(ThresholdError, match="threshold is 3"):
        F.sign(keys[1], round_one[1][0], MESSAGE, commitments)
    # Even with shares made by lying about the threshold, the coordinator refuses.
    low = {i: dataclasses.replace(keys[i], threshold=2) for i in (1, 2)}
    shares = [F.sign(low[i], round_one[i][0], MESSAGE, commitments) for i in (1, 2)]
    with pytest.raises(ThresholdError, match="threshold is 3"):
        F.aggregate(commitments, MESSAGE, shares, public)


def test_two_shares_cannot_make_a_valid_signature(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    """Bypass every threshold check: the math itself fails below t."""
    keys, public = dealt
    low_keys = {i: dataclasses.replace(k, threshold=2) for i, k in keys.items()}
    low_public = dataclasses.replace(public, threshold=2)
    for pair in combinations(range(1, 6), 2):
        commitments, shares = run_session(low_keys, pair, MESSAGE, seed=100 + sum(pair))
        for share in shares:  # each share is honest, so each one checks out...
            F.verify_signature_share(share, low_public, commitments, MESSAGE)
        raw = F.combine_signature(commitments, MESSAGE, public.group_public_key, shares)
        assert not nacl_verifies(public.group_public_key, MESSAGE, raw)  # ...the sum does not
        with pytest.raises(ThresholdError) as caught:
            F.aggregate(commitments, MESSAGE, shares, low_public)
        assert not isinstance(caught.value, BadShare)


def test_tampered_share_names_its_signer(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    commitments, shares = run_session(keys, (1, 3, 5), MESSAGE, seed=11)
    one = F.scalar_from_int(1)
    bad = F.SignatureShare(3, F.scalar_add(shares[1].share, one))
    forged = [shares[0], bad, shares[2]]
    for share in (shares[0], shares[2]):
        F.verify_signature_share(share, public, commitments, MESSAGE)
    with pytest.raises(BadShare) as caught:
        F.verify_signature_share(bad, public, commitments, MESSAGE)
    assert caught.value.member == 3
    with pytest.raises(BadShare) as caught:
        F.aggregate(commitments, MESSAGE, forged, public)
    assert caught.value.member == 3


def test_share_over_another_message_is_caught(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    rng = seeded(12)
    round_one = {i: F.commit(keys[i], rng(32), rng(32)) for i in (2, 4, 5)}
    commitments = [round_one[i][1] for i in (2, 4, 5)]
    shares = [F.sign(keys[i], round_one[i][0], MESSAGE, commitments) for i in (2, 4)]
    shares.append(F.sign(keys[5], round_one[5][0], b"something else", commitments))
    with pytest.raises(BadShare) as caught:
        F.aggregate(commitments, MESSAGE, shares, public)
    assert caught.value.member == 5


def test_signer_refuses_a_list_without_its_own_commitment(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, _ = dealt
    rng = seeded(13)
    round_one = {i: F.commit(keys[i], rng(32), rng(32)) for i in (1, 2, 3, 4)}
    others = [round_one[i][1] for i in (2, 3, 4)]
    with pytest.raises(ThresholdError, match="commitment"):
        F.sign(keys[1], round_one[1][0], MESSAGE, others)
    _, stale = F.commit(keys[1], rng(32), rng(32))  # a commitment for other nonces
    with pytest.raises(ThresholdError, match="commitment"):
        F.sign(keys[1], round_one[1][0], MESSAGE, [stale, *others[:2]])


def test_coordinator_equivocation_is_caught(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    """A signer shown a different commitment list makes a share that fails the real one."""
    keys, public = dealt
    rng = seeded(14)
    round_one = {i: F.commit(keys[i], rng(32), rng(32)) for i in (1, 2, 3)}
    real = [round_one[i][1] for i in (1, 2, 3)]
    _, fake3 = F.commit(keys[3], rng(32), rng(32))
    shown_to_2 = [real[0], real[1], fake3]
    shares = [
        F.sign(keys[1], round_one[1][0], MESSAGE, real),
        F.sign(keys[2], round_one[2][0], MESSAGE, shown_to_2),
        F.sign(keys[3], round_one[3][0], MESSAGE, real),
    ]
    with pytest.raises(BadShare) as caught:
        F.aggregate(real, MESSAGE, shares, public)
    assert caught.value.member == 2


def test_shares_must_match_the_commitment_list(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    commitments, shares = run_session(keys, (1, 2, 3), MESSAGE, seed=15)
    with pytest.raises(ThresholdError, match="do not match"):
        F.aggregate(commitments, MESSAGE, shares[:2] + [F.SignatureShare(4, shares[2].share)],
                    public)
    with pytest.raises(ThresholdError, match="duplicate"):
        F.aggregate(commitments, MESSAGE, [*shares, shares[0]], public)
    with pytest.raises(ThresholdError, match="duplicate"):
        F.aggregate([*commitments, commitments[0]], MESSAGE, shares, public)


def test_unknown_signer_is_named(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    commitments, shares = run_session(keys, (1, 2, 3), MESSAGE, seed=16)
    small = F.PublicKeyPackage(
        public.group_public_key, {i: public.verifying_shares[i] for i in (1, 2)}, 2
    )
    with pytest.raises(BadShare) as caught:
        F.aggregate(commitments, MESSAGE, shares, small)
    assert caught.value.member == 3


# --- encodings ---


def test_scalars_at_or_above_the_order_are_rejected() -> None:
    assert F.decode_scalar((F.L - 1).to_bytes(32, "little")) == (F.L - 1).to_bytes(32, "little")
    for value in (F.L, F.L + 1, 2**256 - 1):
        with pytest.raises(F.InvalidEncoding):
            F.decode_scalar(value.to_bytes(32, "little"))
    for size in (31, 33):
        with pytest.raises(F.InvalidEncoding):
            F.decode_scalar(bytes(size))
    with pytest.raises(F.InvalidEncoding):
        F.SignatureShare(1, F.L.to_bytes(32, "little"))
    with pytest.raises(F.InvalidEncoding):
        F.SecretShare(1, (2**255).to_bytes(32, "little"))


def test_malleated_signature_is_rejected(vec: dict[str, Any]) -> None:
    """z + L encodes the same residue; both we and libsodium refuse it."""
    signature = _hex(vec["final_output"]["sig"])
    group_key = _hex(vec["inputs"]["group_public_key"])
    message = _hex(vec["inputs"]["message"])
    z = int.from_bytes(signature[32:], "little") + F.L
    malleated = signature[:32] + z.to_bytes(32, "little")
    assert F.verify_signature(group_key, message, signature)
    assert not F.verify_signature(group_key, message, malleated)
    assert not nacl_verifies(group_key, message, malleated)


def _off_curve_y() -> int:
    """The smallest y with no x on edwards25519 (x^2 is not a square mod p)."""
    d = -121665 * pow(121666, -1, P) % P
    for y in range(2, 100):
        x2 = (y * y - 1) * pow(d * y * y + 1, -1, P) % P
        if x2 and pow(x2, (P - 1) // 2, P) == P - 1:
            return y
    raise AssertionError("no off-curve y found")


GENERATOR = F.base_mult(F.scalar_from_int(1))
ORDER_TWO = (P - 1).to_bytes(32, "little")  # the point (0, -1), of order 2
TORSIONED = F.point_add(GENERATOR, ORDER_TWO)  # on the curve, outside the subgroup
BAD_ELEMENTS = {
    "identity": F.IDENTITY,
    "small-order": ORDER_TWO,
    "mixed-torsion": TORSIONED,
    "non-canonical": (P + 1).to_bytes(32, "little"),
    "off-curve": _off_curve_y().to_bytes(32, "little"),
    "short": GENERATOR[:31],
}


@pytest.mark.parametrize("data", BAD_ELEMENTS.values(), ids=BAD_ELEMENTS.keys())
def test_invalid_points_are_rejected(data: bytes) -> None:
    with pytest.raises(F.InvalidEncoding):
        F.decode_element(data)
    with pytest.raises(F.InvalidEncoding):
        F.SigningCommitment(1, GENERATOR, data)
    with pytest.raises(F.InvalidEncoding):
        F.PublicKeyPackage(GENERATOR, {1: data}, 1)


def test_valid_point_is_accepted_and_identity_not_serialised() -> None:
    assert F.decode_element(GENERATOR) == GENERATOR
    with pytest.raises(F.InvalidEncoding):
        F.encode_element(F.IDENTITY)


def test_identifiers_must_be_non_zero_scalars() -> None:
    for bad in (0, -1, F.L):
        with pytest.raises(F.InvalidEncoding):
            F.SigningCommitment(bad, GENERATOR, GENERATOR)
    with pytest.raises(ThresholdError):
        F.derive_interpolating_value([1, 2, 2], 1)
    with pytest.raises(ThresholdError):
        F.derive_interpolating_value([1, 2], 3)


def test_interpolation_recovers_the_secret() -> None:
    secret = F.scalar_from_int(123456789)
    shares = F.secret_share_shard(secret, [F.scalar_from_int(7), F.scalar_from_int(9)], 5)
    ids = [2, 4, 5]
    total = bytes(32)
    for s in shares:
        if s.identifier in ids:
            lam = F.derive_interpolating_value(ids, s.identifier)
            total = F.scalar_add(total, F.scalar_mul(lam, s.value))
    assert total == secret


def test_packages_round_trip_through_cbor(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    nonces, commitment = F.commit(keys[1], bytes(32), bytes(range(32)))
    share = F.sign(dataclasses.replace(keys[1], threshold=1), nonces, MESSAGE, [commitment])
    items: list[F.Serialisable] = [
        keys[1], public, nonces, commitment, share, F.SecretShare(2, keys[2].signing_share),
    ]
    for item in items:
        decoded = cbor2.loads(cbor2.dumps(item.to_dict()))
        assert type(item).from_dict(decoded) == item
    assert public.to_dict()["verifying_shares"][3] == public.verifying_shares[3]


def test_from_dict_checks_types_and_values(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, public = dealt
    data = keys[1].to_dict()
    with pytest.raises(F.InvalidEncoding):
        F.KeyPackage.from_dict({**data, "identifier": "1"})
    with pytest.raises(F.InvalidEncoding):
        F.KeyPackage.from_dict({**data, "signing_share": keys[2].signing_share})
    with pytest.raises(F.InvalidEncoding):
        F.KeyPackage.from_dict({k: v for k, v in data.items() if k != "threshold"})
    with pytest.raises(F.InvalidEncoding):
        F.PublicKeyPackage.from_dict({**public.to_dict(), "verifying_shares": {"1": b"x"}})
    with pytest.raises(ThresholdError):
        F.PublicKeyPackage.from_dict({**public.to_dict(), "threshold": 6})


def test_nonce_randomness_must_be_32_bytes(
    dealt: tuple[dict[int, F.KeyPackage], F.PublicKeyPackage],
) -> None:
    keys, _ = dealt
    with pytest.raises(ThresholdError):
        F.commit(keys[1], bytes(31), bytes(32))
