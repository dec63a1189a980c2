"""Body encryption: XChaCha20-Poly1305 with the header bound as associated data.

A sealed body is `nonce (24 bytes) || ciphertext-with-tag`. The associated
data is the encoding of the header fields known before encryption, so a body
cannot be moved under another header.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.utils
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

from .errors import CryptoError, DecryptionFailed

KEY_SIZE = 32
NONCE_SIZE = 24
TAG_SIZE = 16


def seal(key: bytes, plaintext: bytes, associated: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt `plaintext`; a random nonce unless one is given (test vectors)."""
    if len(key) != KEY_SIZE:
        raise CryptoError("a body key is 32 bytes")
    nonce = nacl.utils.random(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise CryptoError("a body nonce is 24 bytes")
    sealed: bytes = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associated, nonce, key)
    return nonce + sealed


def open_sealed(key: bytes, blob: bytes, associated: bytes) -> bytes:
    """Decrypt a sealed body; raise DecryptionFailed on any mismatch."""
    if len(key) != KEY_SIZE:
        raise CryptoError("a body key is 32 bytes")
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionFailed("sealed body is too short")
    try:
        plain: bytes = crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[NONCE_SIZE:], associated, blob[:NONCE_SIZE], key
        )
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionFailed("body does not decrypt under this key and header") from exc
    return plain
