"""FROST(Ed25519, SHA-512), RFC 9591: t-of-n signing to one plain Ed25519 signature.

Scalars are 32-byte little-endian strings below the group order `L`; elements
are 32-byte Ed25519 point encodings in the prime-order subgroup, never the
identity. Arithmetic goes through libsodium (`nacl.bindings`); hashing is
SHA-512 with the RFC's context string. Participant identifiers are the
scalars of small positive ints (1..n), carried as `int`.

Nonces are single-use: a `SigningNonces` must be discarded after one `sign`.
This module does no I/O; randomness comes from an injectable `Rng`
(default `os.urandom`) so tests and vectors reproduce.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self, cast

from nacl import bindings as _na

from .errors import BadShare, ThresholdError

CONTEXT_STRING = b"FROST-ED25519-SHA512-v1"
L = 2**252 + 27742317777372353535851937790883648493
SCALAR_SIZE = 32
ELEMENT_SIZE = 32
IDENTITY = b"\x01" + bytes(31)
_ZERO = bytes(32)

Rng = Callable[[int], bytes]
"""A source of uniformly random bytes: `rng(n)` returns `n` bytes."""


class InvalidEncoding(ThresholdError):
    """A scalar, element or identifier is malformed, out of range or the identity."""


# --- scalars and elements ---


def decode_scalar(data: bytes) -> bytes:
    """Check a 32-byte little-endian scalar is canonical (< L) and return it.

    libsodium would reduce silently; the RFC requires rejecting instead.
    """
    if not isinstance(data, bytes | bytearray) or len(data) != SCALAR_SIZE:
        raise InvalidEncoding("a scalar is 32 bytes")
    if int.from_bytes(data, "little") >= L:
        raise InvalidEncoding("scalar is not below the group order")
    return bytes(data)


def encode_scalar(scalar: bytes) -> bytes:
    """Serialise a scalar (already canonical bytes; checked again for safety)."""
    return decode_scalar(scalar)


def scalar_from_int(value: int) -> bytes:
    """The scalar encoding of a non-negative int below L (an identifier, say)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < L:
        raise InvalidEncoding("integer out of scalar range")
    return value.to_bytes(SCALAR_SIZE, "little")


def decode_element(data: bytes) -> bytes:
    """Check a point encoding is canonical, in the prime-order subgroup and not identity."""
    if not isinstance(data, bytes | bytearray) or len(data) != ELEMENT_SIZE:
        raise InvalidEncoding("an element is 32 bytes")
    data = bytes(data)
    if data == IDENTITY or not _na.crypto_core_ed25519_is_valid_point(data):
        raise InvalidEncoding("not a valid non-identity Ed25519 group element")
    return data


def encode_element(element: bytes) -> bytes:
    """Serialise an element; the identity cannot be serialised (RFC 9591, 6.5)."""
    return decode_element(element)


def _check_identifier(identifier: int) -> int:
    """An identifier is a non-zero scalar; we carry it as an int."""
    if isinstance(identifier, bool) or not isinstance(identifier, int):
        raise InvalidEncoding("identifier must be an int")
    if not 0 < identifier < L:
        raise InvalidEncoding("identifier must be a non-zero scalar")
    return identifier


def scalar_add(a: bytes, b: bytes) -> bytes:
    """a + b mod L."""
    return bytes(_na.crypto_core_ed25519_scalar_add(a, b))


def scalar_sub(a: bytes, b: bytes) -> bytes:
    """a - b mod L."""
    return bytes(_na.crypto_core_ed25519_scalar_sub(a, b))


def scalar_mul(a: bytes, b: bytes) -> bytes:
    """a * b mod L."""
    return bytes(_na.crypto_core_ed25519_scalar_mul(a, b))


def base_mult(scalar: bytes) -> bytes:
    """G * scalar; libsodium refuses a zero scalar, whose product is the identity."""
    if scalar == _ZERO:
        return IDENTITY
    return bytes(_na.crypto_scalarmult_ed25519_base_noclamp(scalar))


def point_mult(scalar: bytes, point: bytes) -> bytes:
    """point * scalar for a subgroup point, mapping the identity cases libsodium refuses."""
    if scalar == _ZERO or point == IDENTITY:
        return IDENTITY
    return bytes(_na.crypto_scalarmult_ed25519_noclamp(scalar, point))


def point_add(p: bytes, q: bytes) -> bytes:
    """p + q (either may be the identity)."""
    return bytes(_na.crypto_core_ed25519_add(p, q))


# --- hashes (RFC 9591, 6.5) ---


def hash_to_scalar(*parts: bytes) -> bytes:
    """SHA-512 of the concatenated parts, read little-endian, mod L."""
    return bytes(_na.crypto_core_ed25519_scalar_reduce(hashlib.sha512(b"".join(parts)).digest()))


def h1(m: bytes) -> bytes:
    """Binding-factor hash: SHA-512(ctx || "rho" || m) mod L."""
    return hash_to_scalar(CONTEXT_STRING, b"rho", m)


def h2(m: bytes) -> bytes:
    """Challenge hash: plain SHA-512(m) mod L, so the result is ordinary Ed25519."""
    return hash_to_scalar(m)


def h3(m: bytes) -> bytes:
    """Nonce hash: SHA-512(ctx || "nonce" || m) mod L."""
    return hash_to_scalar(CONTEXT_STRING, b"nonce", m)


def h4(m: bytes) -> bytes:
    """Message hash: SHA-512(ctx || "msg" || m)."""
    return hashlib.sha512(CONTEXT_STRING + b"msg" + m).digest()


def h5(m: bytes) -> bytes:
    """Commitment-list hash: SHA-512(ctx || "com" || m)."""
    return hashlib.sha512(CONTEXT_STRING + b"com" + m).digest()


# --- typed packages ---


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce(kind: str, name: str, value: object) -> object:
    """Check one `from_dict` field against its annotation and convert it."""
    if kind == "int" and _is_int(value):
        return value
    if kind == "bytes" and isinstance(value, bytes | bytearray):
        return bytes(value)
    if kind == "tuple[bytes, ...]" and isinstance(value, list | tuple):
        if all(isinstance(v, bytes) for v in value):
            return tuple(value)
    if kind == "dict[int, bytes]" and isinstance(value, Mapping):
        if all(_is_int(k) and isinstance(v, bytes) for k, v in value.items()):
            return dict(value)
    if kind == "SigningCommitment" and isinstance(value, Mapping):
        return SigningCommitment.from_dict(value)
    raise InvalidEncoding(f"field {name!r} is not a valid {kind}")


def _plain(value: object) -> object:
    """A field value as plain CBOR-ready data (lists, int-keyed maps, bytes, ints)."""
    if isinstance(value, Serialisable):
        return value.to_dict()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(sorted(value.items()))
    return value


class Serialisable:
    """Mixin for frozen dataclasses: `to_dict()` / `from_dict()` with bytes and int values.

    `from_dict` checks every field's type, then the constructor checks the values.
    """

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(cast(Any, self))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        if not isinstance(data, Mapping):
            raise InvalidEncoding("expected a map")
        kwargs = {
            f.name: _coerce(str(f.type), f.name, data.get(f.name)) for f in fields(cast(Any, cls))
        }
        built: Self = cast(Any, cls)(**kwargs)
        return built


def _check_threshold(threshold: int, count: int) -> None:
    if not _is_int(threshold):
        raise InvalidEncoding("threshold must be an int")
    if not 1 <= threshold <= count:
        raise ThresholdError(f"threshold {threshold} outside 1..{count}")


@dataclass(frozen=True)
class SecretShare(Serialisable):
    """One Shamir share (identifier, f(identifier)) of a secret polynomial f."""

    identifier: int
    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_identifier(self.identifier)
        decode_scalar(self.value)


@dataclass(frozen=True)
class KeyPackage(Serialisable):
    """What one signer keeps: its secret share and the public facts it signs under."""

    identifier: int
    signing_share: bytes = field(repr=False)
    verifying_share: bytes
    group_public_key: bytes
    threshold: int

    def __post_init__(self) -> None:
        _check_identifier(self.identifier)
        decode_scalar(self.signing_share)
        decode_element(self.verifying_share)
        decode_element(self.group_public_key)
        _check_threshold(self.threshold, L - 1)
        if base_mult(self.signing_share) != self.verifying_share:
            raise InvalidEncoding("verifying share does not match the signing share")


@dataclass(frozen=True)
class PublicKeyPackage(Serialisable):
    """The group key, every participant's verifying share, and the threshold.

    `verifying_shares` maps identifier -> element; treat it as read-only.
    """

    group_public_key: bytes
    verifying_shares: dict[int, bytes]
    threshold: int

    def __post_init__(self) -> None:
        decode_element(self.group_public_key)
        if not isinstance(self.verifying_shares, dict) or not self.verifying_shares:
            raise InvalidEncoding("verifying_shares must be a non-empty dict")
        for identifier, share in self.verifying_shares.items():
            _check_identifier(identifier)
            decode_element(share)
        _check_threshold(self.threshold, len(self.verifying_shares))

    @property
    def participant_ids(self) -> tuple[int, ...]:
        """The identifiers holding shares, ascending."""
        return tuple(sorted(self.verifying_shares))


@dataclass(frozen=True)
class SigningCommitment(Serialisable):
    """Round one's public output: the hiding and binding nonce commitments."""

    identifier: int
    hiding: bytes
    binding: bytes

    def __post_init__(self) -> None:
        _check_identifier(self.identifier)
        decode_element(self.hiding)
        decode_element(self.binding)


@dataclass(frozen=True)
class SigningNonces(Serialisable):
    """Round one's secret output; use once, then destroy. Keeps its own commitment.

    Reusing nonces for two messages reveals the signing share: if these are
    stored between rounds (`to_dict`), delete the copy once `sign` has run.
    """

    hiding: bytes = field(repr=False)
    binding: bytes = field(repr=False)
    commitment: SigningCommitment

    def __post_init__(self) -> None:
        decode_scalar(self.hiding)
        decode_scalar(self.binding)
        if not isinstance(self.commitment, SigningCommitment):
            raise InvalidEncoding("commitment must be a SigningCommitment")
        mine = (base_mult(self.hiding), base_mult(self.binding))
        if mine != (self.commitment.hiding, self.commitment.binding):
            raise InvalidEncoding("nonces do not match their commitment")


@dataclass(frozen=True)
class SignatureShare(Serialisable):
    """Round two's output from one participant."""

    identifier: int
    share: bytes

    def __post_init__(self) -> None:
        _check_identifier(self.identifier)
        decode_scalar(self.share)


# --- round one ---


def random_scalar(rng: Rng = os.urandom) -> bytes:
    """A uniform non-zero scalar from 64 random bytes reduced mod L."""
    while True:
        scalar = bytes(_na.crypto_core_ed25519_scalar_reduce(rng(64)))
        if scalar != _ZERO:
            return scalar


def nonce_generate(secret: bytes, randomness: bytes | None = None) -> bytes:
    """H3(random_bytes || secret): a nonce safe even if the randomness is weak."""
    if randomness is None:
        randomness = os.urandom(32)
    if len(randomness) != 32:
        raise ThresholdError("nonce randomness must be 32 bytes")
    return h3(bytes(randomness) + encode_scalar(secret))


def commit(
    key_package: KeyPackage,
    hiding_randomness: bytes | None = None,
    binding_randomness: bytes | None = None,
) -> tuple[SigningNonces, SigningCommitment]:
    """Round one: fresh hiding and binding nonces and their commitments."""
    hiding = nonce_generate(key_package.signing_share, hiding_randomness)
    binding = nonce_generate(key_package.signing_share, binding_randomness)
    commitment = SigningCommitment(key_package.identifier, base_mult(hiding), base_mult(binding))
    return SigningNonces(hiding, binding, commitment), commitment


# --- shared computations (RFC 9591, 4) ---


def _sorted_commitments(commitments: Iterable[SigningCommitment]) -> list[SigningCommitment]:
    """The commitment list sorted by identifier; duplicates or emptiness are errors."""
    ordered = sorted(commitments, key=lambda c: c.identifier)
    if not ordered:
        raise ThresholdError("empty commitment list")
    ids = [c.identifier for c in ordered]
    if len(set(ids)) != len(ids):
        raise ThresholdError("duplicate identifier in commitment list")
    return ordered


def encode_group_commitment_list(commitments: Iterable[SigningCommitment]) -> bytes:
    """id || hiding || binding for each commitment, in identifier order."""
    return b"".join(
        scalar_from_int(c.identifier) + encode_element(c.hiding) + encode_element(c.binding)
        for c in _sorted_commitments(commitments)
    )


def binding_factor_inputs(
    group_public_key: bytes, commitments: Iterable[SigningCommitment], message: bytes
) -> dict[int, bytes]:
    """Per identifier: PK || H4(msg) || H5(commitment list) || id, the input to H1."""
    ordered = _sorted_commitments(commitments)
    prefix = (
        encode_element(group_public_key) + h4(message)
        + h5(encode_group_commitment_list(ordered))
    )
    return {c.identifier: prefix + scalar_from_int(c.identifier) for c in ordered}


def compute_binding_factors(
    group_public_key: bytes, commitments: Iterable[SigningCommitment], message: bytes
) -> dict[int, bytes]:
    """Per identifier, the binding factor rho_i = H1(binding factor input)."""
    inputs = binding_factor_inputs(group_public_key, commitments, message)
    return {identifier: h1(data) for identifier, data in inputs.items()}


def compute_group_commitment(
    commitments: Iterable[SigningCommitment], binding_factors: Mapping[int, bytes]
) -> bytes:
    """R = sum of hiding_i + rho_i * binding_i over the signers."""
    total = IDENTITY
    for c in _sorted_commitments(commitments):
        term = point_add(c.hiding, point_mult(binding_factors[c.identifier], c.binding))
        total = point_add(total, term)
    return total


def compute_challenge(group_commitment: bytes, group_public_key: bytes, message: bytes) -> bytes:
    """c = H2(R || PK || msg), exactly the Ed25519 challenge."""
    return h2(encode_element(group_commitment) + encode_element(group_public_key) + message)


def derive_interpolating_value(participant_ids: Sequence[int], identifier: int) -> bytes:
    """Lagrange coefficient at zero for `identifier` over `participant_ids`."""
    if identifier not in participant_ids:
        raise ThresholdError(f"participant {identifier} is not among the signers")
    if len(set(participant_ids)) != len(participant_ids):
        raise ThresholdError("duplicate participant identifier")
    x_i = scalar_from_int(_check_identifier(identifier))
    numerator = scalar_from_int(1)
    denominator = scalar_from_int(1)
    for other in participant_ids:
        if other == identifier:
            continue
        x_j = scalar_from_int(_check_identifier(other))
        numerator = scalar_mul(numerator, x_j)
        denominator = scalar_mul(denominator, scalar_sub(x_j, x_i))
    return scalar_mul(numerator, bytes(_na.crypto_core_ed25519_scalar_invert(denominator)))


def _signing_context(
    group_public_key: bytes, commitments: Sequence[SigningCommitment], message: bytes
) -> tuple[dict[int, bytes], bytes, list[int]]:
    """Binding factors, challenge and signer list: what round two and checks share."""
    factors = compute_binding_factors(group_public_key, commitments, message)
    group_commitment = compute_group_commitment(commitments, factors)
    challenge = compute_challenge(group_commitment, group_public_key, message)
    return factors, challenge, sorted(factors)


# --- round two ---


def sign(
    key_package: KeyPackage,
    nonces: SigningNonces,
    message: bytes,
    commitments: Sequence[SigningCommitment],
) -> SignatureShare:
    """Round two: z_i = d_i + e_i * rho_i + lambda_i * s_i * c.

    Refuses a commitment list that lacks this signer's own commitment (or carries a
    different one), or that has fewer signers than the threshold.
    """
    ordered = _sorted_commitments(commitments)
    me = key_package.identifier
    mine = [c for c in ordered if c.identifier == me]
    if not mine or mine[0] != nonces.commitment:
        raise ThresholdError("commitment list does not carry this signer's commitment")
    if len(ordered) < key_package.threshold:
        raise ThresholdError(f"{len(ordered)} signers, threshold is {key_package.threshold}")
    factors, challenge, ids = _signing_context(key_package.group_public_key, ordered, message)
    lam = derive_interpolating_value(ids, me)
    z = scalar_add(nonces.hiding, scalar_mul(nonces.binding, factors[me]))
    z = scalar_add(z, scalar_mul(scalar_mul(lam, key_package.signing_share), challenge))
    return SignatureShare(me, z)


def verify_signature_share(
    share: SignatureShare,
    public_key_package: PublicKeyPackage,
    commitments: Sequence[SigningCommitment],
    message: bytes,
) -> None:
    """Check G * z_i == D_i + rho_i * E_i + (c * lambda_i) * PK_i; raise BadShare if not."""
    me = share.identifier
    verifying_share = public_key_package.verifying_shares.get(me)
    ordered = _sorted_commitments(commitments)
    mine = [c for c in ordered if c.identifier == me]
    if verifying_share is None or not mine:
        raise BadShare(me, "not a known signer of this session")
    factors, challenge, ids = _signing_context(
        public_key_package.group_public_key, ordered, message
    )
    lam = derive_interpolating_value(ids, me)
    expected = point_add(mine[0].hiding, point_mult(factors[me], mine[0].binding))
    expected = point_add(expected, point_mult(scalar_mul(challenge, lam), verifying_share))
    if base_mult(share.share) != expected:
        raise BadShare(me, "signature share does not verify")


# --- aggregation ---


def combine_signature(
    commitments: Sequence[SigningCommitment],
    message: bytes,
    group_public_key: bytes,
    shares: Iterable[SignatureShare],
) -> bytes:
    """R || sum(z_i) with no checks at all; `aggregate` is the checked entry point."""
    factors = compute_binding_factors(group_public_key, commitments, message)
    group_commitment = compute_group_commitment(commitments, factors)
    z = _ZERO
    for share in shares:
        z = scalar_add(z, share.share)
    return encode_element(group_commitment) + encode_scalar(z)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Cofactorless Ed25519 check G*z == R + H2(R||PK||m)*PK, strict encodings."""
    if len(signature) != 64:
        return False
    try:
        pk = decode_element(public_key)
        r = decode_element(signature[:32])
        z = decode_scalar(signature[32:])
    except InvalidEncoding:
        return False
    c = h2(r + pk + message)
    return base_mult(z) == point_add(r, point_mult(c, pk))


def _check_session(
    ordered: Sequence[SigningCommitment],
    shares: Sequence[SignatureShare],
    public_key_package: PublicKeyPackage,
) -> None:
    """Enough signers, all known, and exactly one share per committed signer."""
    if len(ordered) < public_key_package.threshold:
        raise ThresholdError(
            f"{len(ordered)} signers, threshold is {public_key_package.threshold}"
        )
    for c in ordered:
        if c.identifier not in public_key_package.verifying_shares:
            raise BadShare(c.identifier, "not a participant of this group key")
    share_ids = [s.identifier for s in shares]
    if len(set(share_ids)) != len(share_ids):
        raise ThresholdError("duplicate signature share")
    if sorted(share_ids) != [c.identifier for c in ordered]:
        raise ThresholdError("signature shares do not match the commitment list")


def aggregate(
    commitments: Sequence[SigningCommitment],
    message: bytes,
    shares: Sequence[SignatureShare],
    public_key_package: PublicKeyPackage,
) -> bytes:
    """Combine the shares into a 64-byte Ed25519 signature and check it.

    On failure each share is checked so the BadShare names the culprit.
    Raises ThresholdError below the threshold or if the shares do not match the list.
    """
    ordered = _sorted_commitments(commitments)
    _check_session(ordered, shares, public_key_package)
    gpk = public_key_package.group_public_key
    signature = combine_signature(ordered, message, gpk, shares)
    if verify_signature(gpk, message, signature):
        return signature
    for share in sorted(shares, key=lambda s: s.identifier):
        verify_signature_share(share, public_key_package, ordered, message)
    raise ThresholdError("aggregate signature does not verify though every share does")


# --- polynomials and dealer (RFC 9591, appendix C) ---


def polynomial_evaluate(x: int, coefficients: Sequence[bytes]) -> bytes:
    """f(x) for f with the given coefficients (constant term first), by Horner."""
    x_s = scalar_from_int(x)
    value = _ZERO
    for coefficient in reversed(coefficients):
        value = scalar_add(scalar_mul(value, x_s), decode_scalar(coefficient))
    return value


def secret_share_shard(
    secret: bytes, coefficients: Sequence[bytes], max_participants: int
) -> list[SecretShare]:
    """Shares f(1)..f(n) of f(x) = secret + a_1 x + ... (RFC 9591, C.1)."""
    if max_participants < 1 + len(coefficients):
        raise ThresholdError("fewer participants than the threshold")
    poly = [decode_scalar(secret), *coefficients]
    return [SecretShare(i, polynomial_evaluate(i, poly)) for i in range(1, max_participants + 1)]


def trusted_dealer_keygen(
    max_signers: int,
    min_signers: int,
    rng: Rng = os.urandom,
    secret: bytes | None = None,
) -> tuple[dict[int, KeyPackage], PublicKeyPackage]:
    """FOR TESTS ONLY: one party picks the group secret and deals Shamir shares.

    Production keys must come from `noticenet.crypto.dkg`, where nobody ever
    holds the whole secret.
    """
    if not 1 <= min_signers <= max_signers:
        raise ThresholdError("need 1 <= min_signers <= max_signers")
    secret = random_scalar(rng) if secret is None else decode_scalar(secret)
    coefficients = [random_scalar(rng) for _ in range(min_signers - 1)]
    shares = secret_share_shard(secret, coefficients, max_signers)
    group_key = base_mult(secret)
    verifying = {s.identifier: base_mult(s.value) for s in shares}
    public = PublicKeyPackage(group_key, verifying, min_signers)
    packages = {
        s.identifier: KeyPackage(s.identifier, s.value, verifying[s.identifier], group_key,
                                 min_signers)
        for s in shares
    }
    return packages, public
