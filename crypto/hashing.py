"""The project's one hash: BLAKE2b-256, with a personalisation per purpose."""

from __future__ import annotations

import hashlib

DIGEST_SIZE = 32


def blake2b256(data: bytes, person: bytes = b"", key: bytes = b"") -> bytes:
    """BLAKE2b with a 32-byte digest; `person` (<= 16 bytes) separates purposes."""
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE, person=person, key=key).digest()
