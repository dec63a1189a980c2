"""A commissioner's long-term ceremony key: Ed25519 to sign, X25519 (derived) to receive.

Used by the file-based DKG (`noticenet.protocol.ccf.dkg_ceremony`): every record a
commissioner hands to the others is signed with this key, and round-two
shares are sealed (X25519 sealed boxes) to the recipient's key. The public
halves are listed in the ceremony's setup, which every commissioner checks
out of band (its digest) before round one.

Why a long-term key and not a key from the key package: the key package is
the DKG's output and does not exist yet; the consistency round and the
complaints need signatures that bind a participant *during* the DKG, and
that hold as evidence afterwards. No I/O happens here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.public
import nacl.signing

from .errors import CryptoError, DecryptionFailed
from .keys import verify

SEED_SIZE = 32


@dataclass(frozen=True)
class CeremonyKey:
    """A commissioner's ceremony key, from a 32-byte seed (keep it locked at rest)."""

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != SEED_SIZE:
            raise CryptoError("a ceremony key seed is 32 bytes")

    @classmethod
    def generate(cls) -> CeremonyKey:
        return cls(os.urandom(SEED_SIZE))

    @property
    def _signing(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.seed)

    @property
    def public(self) -> bytes:
        """The Ed25519 public key the setup lists for this commissioner."""
        return bytes(self._signing.verify_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing.sign(message).signature)

    def open(self, sealed: bytes) -> bytes:
        """Open a sealed box addressed to this key; DecryptionFailed if it is not."""
        box = nacl.public.SealedBox(self._signing.to_curve25519_private_key())
        try:
            return bytes(box.decrypt(sealed))
        except nacl.exceptions.CryptoError:
            raise DecryptionFailed("sealed box does not open under this ceremony key") from None


def seal_to(public: bytes, plaintext: bytes) -> bytes:
    """Seal `plaintext` to the holder of the Ed25519 ceremony key `public`."""
    try:
        x25519 = nacl.signing.VerifyKey(public).to_curve25519_public_key()
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise CryptoError("not an Ed25519 ceremony public key") from None
    return bytes(nacl.public.SealedBox(x25519).encrypt(plaintext))


__all__ = ["CeremonyKey", "seal_to", "verify"]
