"""Lookup indexes over the bodies this node can read.

Index keys are `i/<index>/<keyed hash of the normalised identifier>/<entry id>`,
so lookups are one prefix scan and the disk holds no identifier in clear.
An entry's index keys are listed under `r/<id>` so they leave with the body
in the same batch, without decrypting anything.
"""

from __future__ import annotations

from typing import Any

from noticenet.crypto.hashing import blake2b256

from .codec import decode, encode
from .guard_tags import identifiers
from .keyspace import Txn, key
from .kvstore import KVStore
from .normalise import name_key, person_key
from .records import DNARecord, Person

INDEXES = ("document", "vin", "firearm", "person", "name", "dna")


def index_hash(index_key: bytes, index: str, parts: tuple[str, ...]) -> bytes:
    """The keyed hash that stands for an identifier in index `index`."""
    return blake2b256("\x1f".join((index, *parts)).encode(), person=b"nn-index", key=index_key)


def _subject(record: Any) -> Person | None:
    subject = getattr(record, "subject", None)
    return subject if isinstance(subject, Person) else None


def record_terms(record: Any) -> list[tuple[str, tuple[str, ...]]]:
    """(index, parts) terms for a record: its guard identifiers plus name-only and DNA loci."""
    terms = [(domain, parts) for domain, parts in identifiers(record)]
    subject = _subject(record)
    if subject is not None:
        terms.append(("name", (person_key(subject.forename, subject.name),)))
        for token in name_key(f"{subject.forename} {subject.name}").split():
            terms.append(("name", (token,)))
    if isinstance(record, DNARecord):
        from .dna import profile_index_keys

        terms.extend(("dna", (k,)) for k in profile_index_keys(record.profile()))
    return list(dict.fromkeys(terms))


def add(txn: Txn, index_key: bytes, entry_id: bytes, record: Any) -> None:
    """Index `record` (the body of `entry_id`) and remember the keys for removal."""
    keys = [
        key(b"i", index.encode(), index_hash(index_key, index, parts), entry_id)
        for index, parts in record_terms(record)
    ]
    for k in keys:
        txn.put(k, b"")
    txn.put(key(b"r", entry_id), encode(keys))


def remove(txn: Txn, entry_id: bytes) -> None:
    """Remove every index key of `entry_id` (same batch as its body)."""
    listed = txn.get(key(b"r", entry_id))
    if listed is None:
        return
    for k in decode(listed):
        txn.delete(k)
    txn.delete(key(b"r", entry_id))


def lookup(store: KVStore, index_key: bytes, index: str, parts: tuple[str, ...]) -> list[bytes]:
    """Entry ids indexed under the identifier `parts` in `index`."""
    prefix = key(b"i", index.encode(), index_hash(index_key, index, parts)) + b"/"
    return [k[len(prefix) :] for k, _ in store.iterate(prefix)]
