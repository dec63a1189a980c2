"""Key files at rest: a member seed sealed under a passphrase (argon2id + SecretBox).

`lock` and `unlock` turn a seed into file bytes and back; writing the file is
the caller's job (crypto/ does no I/O). The format is canonical CBOR:
`{"v": 1, "kdf": "argon2id", "ops": int, "mem": int, "salt": bytes, "box": bytes}`.
"""

from __future__ import annotations

import cbor2
import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from .errors import KeyFileError

VERSION = 1
# Interactive limits keep `noticenet` start-up fast; sensitive limits for CCF keys.
INTERACTIVE = (nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE)
MIN_LIMITS = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
_FIELDS = {"v", "kdf", "ops", "mem", "salt", "box"}


def _kdf(passphrase: str, salt: bytes, ops: int, mem: int) -> bytes:
    key: bytes = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=ops, memlimit=mem
    )
    return key


def lock(secret: bytes, passphrase: str, limits: tuple[int, int] = INTERACTIVE) -> bytes:
    """Seal `secret` under `passphrase`; returns the key file's bytes."""
    ops, mem = limits
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_kdf(passphrase, salt, ops, mem))
    sealed = bytes(box.encrypt(secret))
    doc = {"v": VERSION, "kdf": "argon2id", "ops": ops, "mem": mem, "salt": salt, "box": sealed}
    data: bytes = cbor2.dumps(doc, canonical=True)
    return data


def unlock(data: bytes, passphrase: str) -> bytes:
    """Open a key file; KeyFileError if malformed, tampered, or the passphrase is wrong."""
    try:
        doc = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False, max_depth=2)
    except Exception:
        raise KeyFileError("key file is not a noticenet key file") from None
    if not isinstance(doc, dict) or set(doc) != _FIELDS or doc["v"] != VERSION:
        raise KeyFileError("key file has an unknown format or version")
    if doc["kdf"] != "argon2id" or not all(isinstance(doc[k], int) for k in ("ops", "mem")):
        raise KeyFileError("key file names an unknown key derivation")
    salt, sealed = doc["salt"], doc["box"]
    if not isinstance(salt, bytes) or len(salt) != nacl.pwhash.argon2id.SALTBYTES:
        raise KeyFileError("key file salt is malformed")
    if not isinstance(sealed, bytes):
        raise KeyFileError("key file ciphertext is malformed")
    # argon2id counts memory in KiB: only whole KiB are canonical, so no two files
    # differing in `mem` derive the same key.
    if doc["mem"] % 1024 or not (
        MIN_LIMITS[0] <= doc["ops"] <= 64 and MIN_LIMITS[1] <= doc["mem"] <= 2**32
    ):
        raise KeyFileError("key file asks for out-of-range argon2id limits")
    try:
        box = nacl.secret.SecretBox(_kdf(passphrase, salt, doc["ops"], doc["mem"]))
        return bytes(box.decrypt(sealed))
    except nacl.exceptions.CryptoError:
        raise KeyFileError("wrong passphrase, or the key file was tampered with") from None
