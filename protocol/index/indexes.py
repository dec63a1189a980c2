"""Lookup indexes over the bodies this node can read.

Index keys are `i/<index>/<keyed hash of the normalised identifier>/<entry id>`,
so lookups are one prefix scan and the disk holds no identifier in clear.
An entry's index keys are listed under `r/<id>` so they leave with the body
in the same batch, without decrypting anything.
"""

from __future__ import annotations

from typing import Any

from noticenet.crypto.hashing import blake2b256
from noticenet.protocol.identifiers.normalise import person_key
from noticenet.protocol.index.guard_tags import Identifier, identifiers
from noticenet.protocol.records.codec import decode_stored, encode_known
from noticenet.protocol.records.records import DNARecord, Person
from noticenet.protocol.store.keyspace import Txn, key
from noticenet.protocol.store.kvstore import KVStore

INDEXES = ("document", "vin", "firearm", "person", "name", "dna")


def index_hash(index_key: bytes, index: str, parts: tuple[str, ...]) -> bytes:
    """The keyed hash that stands for an identifier in index `index`."""
    return blake2b256("\x1f".join((index, *parts)).encode(), person=b"nn-index", key=index_key)


def _subject(record: Any) -> Person | None:
    subject = getattr(record, "subject", None)
    return subject if isinstance(subject, Person) else None


def record_terms(
    record: Any, found: list[Identifier] | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """(index, parts) terms for a record: its guard identifiers (`found`, if the caller
    has them already) plus name-only terms and DNA loci."""
    terms = list(identifiers(record) if found is None else found)
    subject = _subject(record)
    if subject is not None:
        known = [parts[0] for domain, parts in terms if domain == "person"]
        full = known[0] if known else person_key(subject.forename, subject.name)
        terms.append(("name", (full,)))
        for token in full.split():  # the name_key words of forename and name, sorted
            terms.append(("name", (token,)))
    if isinstance(record, DNARecord):
        from noticenet.protocol.identifiers.dna import profile_index_keys

        terms.extend(("dna", (k,)) for k in profile_index_keys(record.profile()))
    return list(dict.fromkeys(terms))


def index_keys(
    index_key: bytes, entry_id: bytes, record: Any, found: list[Identifier] | None = None
) -> list[bytes]:
    """The index keys of `record`, the body of `entry_id`."""
    return [
        key(b"i", index.encode(), index_hash(index_key, index, parts), entry_id)
        for index, parts in record_terms(record, found)
    ]


def add(txn: Txn, entry_id: bytes, keys: tuple[bytes, ...] | list[bytes]) -> None:
    """Write `entry_id`'s index keys and remember them for removal with the body."""
    for k in keys:
        txn.put(k, b"")
    txn.put(key(b"r", entry_id), encode_known(list(keys)))


def remove(txn: Txn, entry_id: bytes) -> None:
    """Remove every index key of `entry_id` (same batch as its body)."""
    listed = txn.get(key(b"r", entry_id))
    if listed is None:
        return
    for k in decode_stored(listed):
        txn.delete(k)
    txn.delete(key(b"r", entry_id))


def lookup(store: KVStore, index_key: bytes, index: str, parts: tuple[str, ...]) -> list[bytes]:
    """Entry ids indexed under the identifier `parts` in `index`."""
    prefix = key(b"i", index.encode(), index_hash(index_key, index, parts)) + b"/"
    return [k[len(prefix) :] for k, _ in store.iterate(prefix)]
