"""Member identity: one 32-byte seed gives every key a member needs.

From the seed we derive, each under its own personalisation so no key is
reused across purposes:
- an Ed25519 signing key (signs the member's entries),
- an X25519 key pair (opens bodies and epoch keys addressed to the member),
- a libp2p identity seed (the node's stable peer id),
- the key of the node's lookup indexes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
import nacl.utils
from nacl.public import PrivateKey, PublicKey

from .errors import BadSignature, CryptoError
from .hashing import blake2b256

SEED_SIZE = 32
SIGNATURE_SIZE = 64
KEY_SIZE = 32


def _derive(seed: bytes, purpose: bytes) -> bytes:
    return blake2b256(seed, person=b"nn-key-" + purpose)


@dataclass(frozen=True)
class PublicIdentity:
    """The public half of a member's keys, as published on the roster."""

    signing_key: bytes
    encryption_key: bytes


@dataclass(frozen=True)
class MemberKeys:
    """A member's secret keys, all derived from `seed`."""

    seed: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != SEED_SIZE:
            raise CryptoError("a member seed is 32 bytes")

    @classmethod
    def generate(cls) -> MemberKeys:
        """Fresh keys from the operating system's random source."""
        return cls(nacl.utils.random(SEED_SIZE))

    @functools.cached_property
    def signing(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(_derive(self.seed, b"ed25519"))

    @functools.cached_property
    def encryption(self) -> PrivateKey:
        return PrivateKey(_derive(self.seed, b"x25519"))

    @property
    def libp2p_seed(self) -> bytes:
        return _derive(self.seed, b"libp2p")

    @property
    def index_key(self) -> bytes:
        """Keys this node's lookup indexes (hashes of identifiers, never the identifiers)."""
        return _derive(self.seed, b"index")

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(
            signing_key=bytes(self.signing.verify_key),
            encryption_key=bytes(self.encryption.public_key),
        )

    def sign(self, message: bytes) -> bytes:
        """A detached Ed25519 signature over `message`."""
        return bytes(self.signing.sign(message).signature)


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature; raise BadSignature if it does not verify."""
    if len(public_key) != KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        raise BadSignature("malformed key or signature")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as exc:
        raise BadSignature("signature does not verify") from exc


def x25519_public(key: bytes) -> PublicKey:
    """Parse a published X25519 public key."""
    if len(key) != KEY_SIZE:
        raise CryptoError("an X25519 public key is 32 bytes")
    return PublicKey(key)
