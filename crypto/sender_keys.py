"""Key distribution: sender-key epochs for broadcast, per-recipient wraps otherwise.

Broadcast: an author draws an epoch key, wraps it once per recipient with an
X25519 sealed box (published in a key-epoch entry), and derives each entry's
key from the epoch key and the entry's (author, seq). Wrapping per member per
entry would cost ~55 us x 195 members each entry; this costs one hash.

Diffusions wrap a fresh entry key for each chosen recipient.
"""

from __future__ import annotations

import struct

import nacl.exceptions
import nacl.utils
from nacl.public import PrivateKey, SealedBox

from .errors import NotARecipient
from .hashing import blake2b256
from .keys import x25519_public

KEY_SIZE = 32


def new_key() -> bytes:
    """A fresh random 32-byte symmetric key (epoch key or entry key)."""
    return nacl.utils.random(KEY_SIZE)


def wrap(key: bytes, recipient_public: bytes) -> bytes:
    """Seal `key` so only the holder of `recipient_public`'s secret can open it."""
    return bytes(SealedBox(x25519_public(recipient_public)).encrypt(key))


def unwrap(wrapped: bytes, secret: PrivateKey) -> bytes:
    """Open a wrapped key; raise NotARecipient if it was not sealed to `secret`."""
    try:
        key = bytes(SealedBox(secret).decrypt(wrapped))
    except (nacl.exceptions.CryptoError, nacl.exceptions.TypeError) as exc:
        raise NotARecipient("wrapped key is not addressed to this member") from exc
    if len(key) != KEY_SIZE:
        raise NotARecipient("wrapped key has the wrong size")
    return key


def entry_key(epoch_key: bytes, author: str, seq: int) -> bytes:
    """The body key of entry (`author`, `seq`) under a sender-key epoch."""
    data = author.encode() + b"\x00" + struct.pack(">Q", seq)
    return blake2b256(data, person=b"nn-entry-key", key=epoch_key)
