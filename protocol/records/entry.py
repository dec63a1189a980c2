"""Entries: a signed header plus a detachable body.

The header is a canonical CBOR map; the author signs
`SIGNING_CONTEXT || encode(header)`; the *signed header* is
`encode({"header": header, "sig": signature})` and the entry id is
BLAKE2b-256 of the signed header. The body (ciphertext, or plaintext CBOR for
public kinds) travels beside it and is bound by `body_hash` and `body_len`,
so it can be deleted while the header, and so the feed's hash chain, stays.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from noticenet.crypto.hashing import blake2b256
from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.records.codec import decode, decode_stored, encode, encode_known
from noticenet.protocol.records.governance import THRESHOLD_FEEDS
from noticenet.protocol.records.kinds import SUPERSEDING_KINDS, spec
from noticenet.protocol.records.records import check_member_id
from noticenet.protocol.records.schema import from_map, from_stored, to_map

VERSION = 1
SIGNING_CONTEXT = b"noticenet/v1/header\x00"
MAX_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_ENTRY_BYTES = MAX_BODY_BYTES + MAX_HEADER_BYTES
MAX_GUARDS = 32
"""A header's guard tags: a person's same keys (at most 12) and similar keys (at most 8),
and for an SLTD its document's (record-format 5.4): 21 at most today, with room for
one more derivation of person keys in force beside the current one (5.3)."""
MAX_AUDIENCE = 256
WRAP_SIZE = 80  # sealed box of a 32-byte key: 32 ephemeral + 32 + 16 tag


@dataclass(frozen=True)
class KeyRef:
    """How a body's key is found: a sender-key epoch, or per-recipient wraps.

    Exactly one of `epoch` (the entry id of a key_epoch entry) and `wraps`
    (member id -> the entry key sealed to that member) is set.
    """

    epoch: bytes | None = None
    wraps: dict[str, bytes] | None = None

    def __post_init__(self) -> None:
        if (self.epoch is None) == (self.wraps is None):
            raise SchemaError("a key reference names an epoch or wraps, not both")
        if self.epoch is not None and len(self.epoch) != 32:
            raise SchemaError("an epoch reference is a 32-byte entry id")


@dataclass(frozen=True)
class Header:
    """The signed part of an entry (field meanings in docs/record-format.md)."""

    v: int
    author: str
    seq: int
    prev: bytes | None
    issued_at: int
    kind: str
    audience: tuple[str, ...]
    body_hash: bytes
    body_len: int
    expires_at: int | None = None
    guards: tuple[bytes, ...] = ()
    key: KeyRef | None = None
    target: bytes | None = None  # the entry a cancel or update supersedes (in its body too)

    def __post_init__(self) -> None:
        _check_header(self)

    def to_map(self) -> dict[str, Any]:
        return dict(self._map)

    @functools.cached_property
    def _map(self) -> dict[str, Any]:
        return to_map(self)

    @functools.cached_property
    def encoded(self) -> bytes:
        """The canonical encoding of the header map (computed once per header)."""
        return encode(self._map)

    def aad(self) -> bytes:
        """Associated data for the body cipher: the header without body hash and length."""
        return self._aad

    @functools.cached_property
    def _aad(self) -> bytes:
        """Spliced out of `encoded`: in canonical key order ("audience", "body_len",
        "body_hash", "issued_at", ...) the two body fields are adjacent, and only
        integers follow them, so the last occurrence is theirs. The map has at most
        12 fields, so its head is one byte."""
        encoded = self.encoded
        length, digest = encode_known(self.body_len), encode_known(self.body_hash)
        cut = _BODY_LEN_KEY + length + _BODY_HASH_KEY + digest
        at = encoded.rfind(cut)
        return bytes([encoded[0] - 2]) + encoded[1:at] + encoded[at + len(cut) :]

    def signing_bytes(self) -> bytes:
        return SIGNING_CONTEXT + self.encoded

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to and from intake workers) with its canonical bytes, no other cache."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_map", "_aad")}


def _check_header(h: Header) -> None:
    if h.v != VERSION:
        raise SchemaError(f"unknown header version {h.v}")
    if h.author not in THRESHOLD_FEEDS:
        check_member_id(h.author, "author")
    if not 1 <= h.seq < 2**63:
        raise SchemaError("seq starts at 1")
    if (h.seq == 1) != (h.prev is None):
        raise SchemaError("prev is null exactly for seq 1")
    if h.prev is not None and len(h.prev) != 32:
        raise SchemaError("prev is a 32-byte entry id")
    kind = spec(h.kind)
    if len(h.body_hash) != 32 or not 0 <= h.body_len <= MAX_BODY_BYTES:
        raise SchemaError("body hash is 32 bytes and body length within limits")
    if h.expires_at is not None and h.expires_at <= h.issued_at:
        raise SchemaError("expires_at must be after issued_at")
    if len(h.guards) > MAX_GUARDS or any(len(g) != 32 for g in h.guards):
        raise SchemaError(f"at most {MAX_GUARDS} guard tags of 32 bytes")
    if list(h.guards) != sorted(set(h.guards)):
        raise SchemaError("guard tags are sorted and unique")
    if (h.target is not None) != (h.kind in SUPERSEDING_KINDS):
        raise SchemaError("a cancel or update names its target in the header; no other kind does")
    if h.target is not None and len(h.target) != 32:
        raise SchemaError("target is a 32-byte entry id")
    _check_audience(h, kind.keying)


def _check_audience(h: Header, keying: str) -> None:
    if keying == "public":
        if h.audience != ("public",) or h.key is not None:
            raise SchemaError(f"a {h.kind} entry is public and carries no key")
        return
    if h.key is None:
        raise SchemaError(f"a {h.kind} entry needs a key reference")
    if keying == "broadcast":
        if h.audience != ("all",) or h.key.epoch is None:
            raise SchemaError(f"a {h.kind} entry goes to all, under a sender-key epoch")
        return
    if not 1 <= len(h.audience) <= MAX_AUDIENCE or h.key.wraps is None:
        raise SchemaError("a diffusion names its recipients and wraps a key for each")
    for member in h.audience:
        check_member_id(member, "recipient")
    if list(h.audience) != sorted(set(h.audience)):
        raise SchemaError("audience is sorted and unique")
    if set(h.audience) != set(h.key.wraps):
        raise SchemaError("a key is wrapped for exactly the recipients")
    if any(len(w) != WRAP_SIZE for w in h.key.wraps.values()):
        raise SchemaError(f"a wrapped key is a {WRAP_SIZE}-byte sealed box")


@dataclass(frozen=True)
class Entry:
    """A header, its signature, and the body if this node holds it."""

    header: Header
    signature: bytes
    body: bytes | None = None

    @functools.cached_property
    def signed_header(self) -> bytes:
        """`{"header": ..., "sig": ...}` canonically: keys in bytewise order, sig first."""
        return b"\xa2" + _sig_field(self.signature) + _HEADER_KEY + self.header.encoded

    @functools.cached_property
    def id(self) -> bytes:
        return entry_id(self.signed_header)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its parts and, once known, its id: the signed header is cheap to
        rebuild, but the id costs that and a hash, on the ledger's own process after
        an intake worker has computed it already."""
        return (_rebuilt, (self.header, self.signature, self.body, self.__dict__.get("id")))

    def without_body(self) -> Entry:
        return dataclasses.replace(self, body=None)

    def to_wire(self) -> bytes:
        """The entry as one canonical CBOR map (body null when detached): sig, body, header."""
        return (
            b"\xa3"
            + _sig_field(self.signature)
            + _BODY_KEY
            + encode(self.body)
            + _HEADER_KEY
            + self.header.encoded
        )


_SIG_KEY = encode("sig")
_SIG_64 = _SIG_KEY + encode(bytes(64))[:2]
"""The key "sig" and the head of a 64-byte string, as every valid signature has."""
_BODY_KEY = encode("body")
_HEADER_KEY = encode("header")
_WIRE_BEFORE_BODY = 1 + len(_SIG_KEY) + len(encode(bytes(64))) + len(_BODY_KEY)
"""Bytes before the body in a wire entry: the map head, "sig" and the signature, "body"."""
_BODY_LEN_KEY = encode("body_len")
_BODY_HASH_KEY = encode("body_hash")
_SIGNED_HEADER_START = 1 + len(_SIG_KEY) + len(encode(bytes(64))) + len(_HEADER_KEY)
"""Where the header starts in a signed header (after the map head and the 64-byte sig)."""


def _sig_field(signature: bytes) -> bytes:
    """The key "sig" and the signature, encoded (directly for the usual 64 bytes)."""
    if len(signature) == 64:
        return _SIG_64 + signature
    return _SIG_KEY + encode(signature)


def _rebuilt(header: Header, signature: bytes, body: bytes | None, eid: bytes | None) -> Entry:
    """An unpickled entry (see `Entry.__reduce__`)."""
    entry = Entry(header, signature, body)
    if eid is not None:
        entry.__dict__["id"] = eid
    return entry


def entry_id(signed_header: bytes) -> bytes:
    """The entry id: BLAKE2b-256 of the signed header bytes."""
    return blake2b256(signed_header)


def body_hash(body: bytes) -> bytes:
    return blake2b256(body)


def decode_signed_header(data: bytes) -> tuple[Header, bytes]:
    """Parse signed-header bytes (strict); returns the header and the signature."""
    doc = decode(data, max_bytes=MAX_HEADER_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"header", "sig"}:
        raise CodecError("a signed header is a map of header and sig")
    header, sig = _header_and_sig(doc)
    _remember_encoding(header, data, _SIGNED_HEADER_START)
    return header, sig


def decode_stored_header(data: bytes) -> tuple[Header, bytes]:
    """Parse signed-header bytes this node stored; returns the header and the signature.

    Every stored header passed `decode_signed_header` or `decode_entry` (and
    the signature check) on its way in, so this skips the canonical scan and
    the schema and header checks, which cost most of a border check's read.
    Never for bytes from the network. A damaged store still raises CodecError.
    """
    try:
        doc = decode_stored(data)
        fields, sig = doc["header"], doc["sig"]
        header = from_stored(Header, fields)
    except (KeyError, TypeError) as exc:
        raise CodecError(f"stored signed header is damaged: {type(exc).__name__}") from None
    header.__dict__["_map"] = fields  # from_stored made it equal to to_map(header)
    _remember_encoding(header, data, _SIGNED_HEADER_START)
    return header, sig


def decode_entry(data: bytes) -> Entry:
    """Parse an entry from the wire (strict); SchemaError/CodecError on anything odd."""
    doc = decode(data, max_bytes=MAX_ENTRY_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"header", "sig", "body"}:
        raise CodecError("an entry is a map of header, sig and body")
    header, sig = _header_and_sig(doc)
    body = doc["body"]
    if body is not None and not isinstance(body, bytes):
        raise SchemaError("body is bytes or null")
    body_item = 1 if body is None else _bytes_head(len(body)) + len(body)
    prefix = _WIRE_BEFORE_BODY + body_item
    _remember_encoding(header, data, prefix + len(_HEADER_KEY))
    return Entry(header, sig, body)


def _bytes_head(length: int) -> int:
    """The size of the shortest CBOR head of a byte string of `length` bytes."""
    return 1 if length < 24 else 2 if length < 256 else 3 if length < 65536 else 5


def _remember_encoding(header: Header, data: bytes, start: int) -> None:
    """The header's canonical bytes are the tail of the (canonical) input: keep them.

    In canonical order "header" is the last key of both the wire entry and the
    signed header, so its encoding runs from `start` to the end; re-encoding
    it would give the same bytes.
    """
    if data[start - len(_HEADER_KEY) : start] != _HEADER_KEY:
        raise CodecError("header is not where the canonical layout puts it")
    header.__dict__["encoded"] = bytes(data[start:])


def _header_and_sig(doc: dict[str, Any]) -> tuple[Header, bytes]:
    sig = doc["sig"]
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise SchemaError("sig is a 64-byte Ed25519 signature")
    fields = doc["header"]
    header = from_map(Header, fields, "header")
    # Normal form: to_map omits None fields and writes every other one, defaults
    # included, so an explicit null or a defaulted field left out would be a second
    # encoding (and a second id) of the same header.
    key = fields.get("key") if isinstance(fields, dict) else None
    if None in fields.values() or (isinstance(key, dict) and None in key.values()):
        raise CodecError("header is not in normal form (null fields written out)")
    for name in _DEFAULTED_HEADER_FIELDS:
        if name not in fields:
            raise CodecError(f"header is not in normal form ({name} left out)")
    return header, sig


_DEFAULTED_HEADER_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(Header)
    if f.default not in (None, dataclasses.MISSING) or f.default_factory is not dataclasses.MISSING
)
"""Header fields with a default other than null: always written, so always present."""
