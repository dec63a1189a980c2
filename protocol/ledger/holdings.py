"""What a ledger's store holds, read back: heads, entries, feeds, statuses, digest.

Plain reads of the tables the ledger writes (`keyspace` lists
them), with no decryption and no checks: the ledger mixes this in, as it
does `Lookups`, and adds the write side and the reads that open bodies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from noticenet.protocol.records.codec import decode, decode_stored
from noticenet.protocol.records.entry import (
    Entry,
    decode_signed_header,
    decode_stored_header,
    entry_id,
)
from noticenet.protocol.store.keyspace import feed_prefix, header_key, key, parse_position
from noticenet.protocol.store.kvstore import KVStore

DIGESTED_TABLES = (b"h/", b"b/", b"t/", b"s/", b"g/", b"a/", b"q/", b"y/", b"l/", b"v/")
"""The replicated state: headers, bodies, tombstones, CCF statuses, guards,
readmissions, equivocation evidence, similar guards, held and released entries
(see `Holdings.state_digest`)."""


class Holdings:
    """Reads over the ledger's tables (mixed into the Ledger, which owns `store`)."""

    store: KVStore

    def head(self, author: str) -> tuple[int, bytes] | None:
        raw = self.store.get(key(b"f", author.encode()))
        if raw is None:
            return None
        seq, eid = decode_stored(raw)
        return int(seq), bytes(eid)

    def frontier(self) -> dict[str, tuple[int, bytes]]:
        """The latest (seq, id) held per author."""
        out = {}
        for k, v in self.store.iterate(b"f/"):
            seq, eid = decode_stored(v)
            out[k[2:].decode()] = (int(seq), bytes(eid))
        return out

    def signed_header(self, author: str, seq: int) -> bytes | None:
        return self.store.get(header_key(author, seq))

    def locate(self, eid: bytes) -> tuple[str, int] | None:
        raw = self.store.get(key(b"e", eid))
        return None if raw is None else parse_position(raw)

    def entry(self, eid: bytes, with_body: bool = True) -> Entry | None:
        """The entry with id `eid` (body attached if held and `with_body`)."""
        where = self.locate(eid)
        if where is None:
            return None
        return self.entry_at(*where, with_body=with_body)

    def entry_at(self, author: str, seq: int, with_body: bool = True) -> Entry | None:
        raw = self.signed_header(author, seq)
        if raw is None:
            return None
        header, sig = decode_stored_header(raw)
        body = self.store.get(key(b"b", entry_id(raw))) if with_body else None
        return Entry(header, sig, body)

    def feed(self, author: str, from_seq: int = 1) -> Iterator[Entry]:
        """The author's entries from `from_seq` on, in order, with the bodies held."""
        for _, raw in self.store.iterate(feed_prefix(author), start=header_key(author, from_seq)):
            header, sig = decode_signed_header(raw)
            yield Entry(header, sig, self.store.get(key(b"b", entry_id(raw))))

    def tombstone(self, eid: bytes) -> dict[str, Any] | None:
        raw = self.store.get(key(b"t", eid))
        return None if raw is None else dict(decode(raw))

    def ccf_status(self, eid: bytes) -> dict[str, Any] | None:
        """`{"state": "blocked"|"revoked", "by": action id}` or None."""
        raw = self.store.get(key(b"s", eid))
        return None if raw is None else dict(decode(raw))

    def hidden(self, eid: bytes) -> bool:
        """True if a CCF block or revocation, or a hold for the CCF's review, keeps this
        entry's body from every answer."""
        return self.store.get(key(b"s", eid)) is not None or self.is_held(eid)

    def is_held(self, eid: bytes) -> bool:
        """True if a similar guard holds this entry until the CCF releases or revokes it."""
        return self.store.get(key(b"l", eid)) is not None

    def held_ids(self) -> list[bytes]:
        """The ids of every entry held for the CCF's review."""
        return [k[2:] for k, _ in self.store.iterate(b"l/")]

    def released_by(self, eid: bytes) -> bytes | None:
        """The CCF release that let this entry out of a hold, if any."""
        return self.store.get(key(b"v", eid))

    def similar_guards(self, tag: bytes) -> list[bytes]:
        """The ids of the revocations whose similar guards hold `tag`."""
        raw = self.store.get(key(b"y", tag))
        return [] if raw is None else [bytes(i) for i in decode(raw)]

    def frozen_from(self, author: str) -> int | None:
        raw = self.store.get(key(b"z", author.encode()))
        return None if raw is None else int(decode(raw))

    def equivocations(self) -> list[tuple[str, int, bytes]]:
        """(author, seq, evidence signed header) for every equivocation seen."""
        out = []
        for k, v in self.store.iterate(b"q/"):
            author, seq = parse_position(k[2:-32])
            out.append((author, seq, v))
        return out

    def evidence(self) -> dict[bytes, str]:
        """Entries whose bodies were refused as evidence against their author."""
        return {k[2:]: decode(v) for k, v in self.store.iterate(b"d/")}

    def state_digest(self) -> bytes:
        """A digest of the replicated state: headers, bodies held, tombstoned ids,
        CCF statuses, guards, readmissions and equivocation evidence. Two nodes that
        hold the same ledger have the same digest; node-local tables (indexes,
        bookkeeping, times) are left out."""
        h = hashlib.blake2b(digest_size=32)
        for k, value in self.digested():
            h.update(len(k).to_bytes(4, "big") + k)
            h.update(len(value).to_bytes(4, "big") + value)
        return h.digest()

    def digested(self) -> Iterator[tuple[bytes, bytes]]:
        """The (key, value) pairs `state_digest` hashes, in order; tombstone values are
        blanked (they hold node-local times)."""
        for table in DIGESTED_TABLES:
            for k, v in self.store.iterate(table):
                yield k, b"" if table == b"t/" else v
