"""Key files at rest: argon2id + SecretBox, clear errors on wrong passphrase or tampering."""

from __future__ import annotations

import pytest

from noticenet.crypto.errors import KeyFileError
from noticenet.crypto.keyfile import MIN_LIMITS, lock, unlock
from noticenet.crypto.keys import MemberKeys

SEED = bytes(range(32))


def test_round_trip() -> None:
    data = lock(SEED, "correct horse", MIN_LIMITS)
    assert SEED not in data
    assert unlock(data, "correct horse") == SEED
    assert MemberKeys(unlock(data, "correct horse")).public == MemberKeys(SEED).public


def test_wrong_passphrase() -> None:
    data = lock(SEED, "correct horse", MIN_LIMITS)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        unlock(data, "battery staple")


def test_every_tampered_byte_is_refused() -> None:
    data = lock(SEED, "pw", MIN_LIMITS)
    for i in range(len(data)):
        mutated = bytearray(data)
        mutated[i] ^= 0x01
        with pytest.raises(KeyFileError):
            unlock(bytes(mutated), "pw")


def test_garbage_is_refused() -> None:
    for junk in (b"", b"\x00", b"not a key file", b"\xa0"):
        with pytest.raises(KeyFileError):
            unlock(junk, "pw")
