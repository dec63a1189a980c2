"""A stored feed as wire bytes: entries spliced from stored headers and bodies."""

from __future__ import annotations

from collections.abc import Iterator

from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.records.entry import Entry, decode_signed_header, entry_id
from noticenet.protocol.store.keyspace import feed_prefix, header_key, key, parse_position

SIGNED_HEADER_HEAD = b"\xa2\x63sig\x58\x40"  # map(2), "sig", bytes(64): then "header"


def wire_feed(ledger: Ledger, author: str, from_seq: int) -> Iterator[tuple[int, bytes]]:
    """(seq, wire bytes) of `author`'s entries from `from_seq` on, with the bodies held.

    Spliced from the stored signed header and body, which are canonical CBOR
    already: decoding and re-encoding each entry would cost ~20x more.
    """
    store = ledger.store
    for k, raw in store.iterate(feed_prefix(author), start=header_key(author, from_seq)):
        seq = parse_position(k[2:])[1]
        yield seq, splice_wire(raw, store.get(key(b"b", entry_id(raw))))


def splice_wire(signed_header: bytes, body: bytes | None) -> bytes:
    """`Entry.to_wire()` from `Entry.signed_header` and the body, without decoding.

    Canonical CBOR sorts map keys by length, then bytes: "sig" < "body" <
    "header". So the wire map is the signed-header map with "body" inserted
    after the signature.
    """
    if not signed_header.startswith(SIGNED_HEADER_HEAD):
        header, sig = decode_signed_header(signed_header)
        return Entry(header, sig, body).to_wire()
    cut = len(SIGNED_HEADER_HEAD) + 64
    return b"".join(
        (b"\xa3", signed_header[1:cut], b"\x64body", _cbor_bytes(body), signed_header[cut:])
    )


def _cbor_bytes(body: bytes | None) -> bytes:
    """A CBOR byte string (major type 2) in its shortest form, or null."""
    if body is None:
        return b"\xf6"
    n = len(body)
    if n < 24:
        head = bytes([0x40 | n])
    elif n < 0x100:
        head = bytes([0x58, n])
    elif n < 0x10000:
        head = b"\x59" + n.to_bytes(2, "big")
    else:
        head = b"\x5a" + n.to_bytes(4, "big")  # bodies are at most 1 MiB
    return head + body
