"""Making entries and opening their bodies: where records meet the cipher.

`seal_entry` encodes a record, encrypts it for its audience, fills in the
header and signs it. `open_body` finds the reader's key (a sender-key epoch
or a per-recipient wrap), decrypts and decodes. The CCF is a recipient of
every encrypted body because the callers always include it in the keying.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey

from noticenet.crypto import aead, sender_keys
from noticenet.crypto.errors import NotARecipient
from noticenet.protocol.records.codec import decode, decode_stored, encode
from noticenet.protocol.records.entry import VERSION, Entry, Header, KeyRef, body_hash
from noticenet.protocol.records.kinds import parse_body, parse_stored_body, spec
from noticenet.protocol.records.records import Cancellation, Update
from noticenet.protocol.records.schema import to_map


@dataclass(frozen=True)
class EpochKeying:
    """Broadcast under a sender-key epoch (`epoch_id` is its key_epoch entry id)."""

    epoch_id: bytes
    epoch_key: bytes


@dataclass(frozen=True)
class ChosenKeying:
    """A fresh entry key wrapped for each named recipient (member id -> X25519 key)."""

    recipients: dict[str, bytes]


Keying = EpochKeying | ChosenKeying | None


@dataclass(frozen=True)
class Draft:
    """Everything about a new entry except its body encryption and signature."""

    author: str
    seq: int
    prev: bytes | None
    issued_at: int
    kind: str
    record: Any
    expires_at: int | None = None
    guards: tuple[bytes, ...] = ()


def seal_entry(
    draft: Draft,
    keying: Keying,
    sign: Callable[[bytes], bytes],
    nonce: bytes | None = None,
) -> Entry:
    """Encrypt and sign `draft`; `sign` is a member key or a finished threshold ceremony.

    `nonce` fixes the body cipher's nonce (test vectors only; never reuse one).
    """
    plain = encode(to_map(draft.record))
    key, ref, audience = _keying(draft, keying)
    header = _header(draft, audience, ref, b"\x00" * 32, 0)
    body = plain if key is None else aead.seal(key, plain, header.aad(), nonce)
    header = dataclasses.replace(header, body_hash=body_hash(body), body_len=len(body))
    return Entry(header, sign(header.signing_bytes()), body)


def _keying(draft: Draft, keying: Keying) -> tuple[bytes | None, KeyRef | None, tuple[str, ...]]:
    """The body key, the header's key reference and the audience for `keying`."""
    if keying is None:
        return None, None, ("public",)
    if isinstance(keying, EpochKeying):
        key = sender_keys.entry_key(keying.epoch_key, draft.author, draft.seq)
        return key, KeyRef(epoch=keying.epoch_id), ("all",)
    key = sender_keys.new_key()
    wraps = {m: sender_keys.wrap(key, pk) for m, pk in keying.recipients.items()}
    return key, KeyRef(wraps=wraps), tuple(sorted(keying.recipients))


def _header(
    draft: Draft, audience: tuple[str, ...], key: KeyRef | None, digest: bytes, length: int
) -> Header:
    return Header(
        v=VERSION,
        author=draft.author,
        seq=draft.seq,
        prev=draft.prev,
        issued_at=draft.issued_at,
        kind=draft.kind,
        audience=audience,
        body_hash=digest,
        body_len=length,
        expires_at=draft.expires_at,
        guards=draft.guards,
        key=key,
        target=draft.record.target if isinstance(draft.record, Cancellation | Update) else None,
    )


def body_key(
    header: Header,
    reader: str,
    secret: PrivateKey,
    epoch_key: Callable[[bytes], bytes | None],
) -> bytes:
    """The key that opens `header`'s body for `reader`; NotARecipient if it has none."""
    if header.key is None:
        raise NotARecipient("public entries have no key")
    if header.key.wraps is not None:
        wrapped = header.key.wraps.get(reader)
        if wrapped is None:
            raise NotARecipient(f"{reader} is not a recipient of this entry")
        return sender_keys.unwrap(wrapped, secret)
    assert header.key.epoch is not None
    key = epoch_key(header.key.epoch)
    if key is None:
        raise NotARecipient(f"{reader} holds no key for this entry's epoch")
    return sender_keys.entry_key(key, header.author, header.seq)


def open_body(entry: Entry, key: bytes | None, *, checked: bool = False) -> Any:
    """Decrypt (unless public) and parse an entry's body into its record dataclass.

    `checked`: this node parsed this very body strictly when it stored it, so
    the record is rebuilt without re-running the checks (`parse_stored_body`).
    The AEAD still authenticates the bytes against the header.
    """
    if entry.body is None:
        raise NotARecipient("this node does not hold the body")
    if spec(entry.header.kind).keying == "public":
        plain = entry.body
    else:
        if key is None:
            raise NotARecipient("no key for an encrypted body")
        plain = aead.open_sealed(key, entry.body, entry.header.aad())
    if checked:
        return parse_stored_body(entry.header.kind, decode_stored(plain))
    return parse_body(entry.header.kind, decode(plain))
