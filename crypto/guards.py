"""Guard tags: keyed hashes of normalised identifiers.

A revocation carries guard tags; every node refuses an entry whose tags hit
one. The key is a network secret shared by members (wrapped to each on the
roster), so a relay or an outsider cannot test guesses of a name against the
tags. Callers pass identifiers already normalised (`noticenet.protocol.identifiers.normalise`).
"""

from __future__ import annotations

from .errors import CryptoError
from .hashing import blake2b256

DOMAINS = ("person", "person/2", "document", "vin", "firearm", "person-similar/1")
"""'person' is derivation 1 of person keys, 'person/2' derivation 2; 'person-similar/1'
is the similar tier, whose hits hold an entry for the CCF (record-format 5)."""
TAG_SIZE = 32


def guard_tag(network_key: bytes, domain: str, *parts: str) -> bytes:
    """The 32-byte tag of an identifier made of normalised `parts` in `domain`."""
    if domain not in DOMAINS:
        raise CryptoError(f"unknown guard domain {domain!r}")
    if len(network_key) != 32:
        raise CryptoError("the guard key is 32 bytes")
    data = "\x1f".join((domain, *parts)).encode()
    return blake2b256(data, person=b"nn-guard-tag", key=network_key)
