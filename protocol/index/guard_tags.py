"""Which guard tags a record carries: the identifiers a revocation can block.

Persons: name tokens (order-insensitive, transliterated, spelling-folded) +
date of birth. Travel documents: issuing country + number. Vehicles: VIN.
Firearms: make + serial. The publisher puts these tags in the header; a
recipient that decrypts the body recomputes them to check the author's honesty.
"""

from __future__ import annotations

from typing import Any

from noticenet.crypto.guards import guard_tag
from noticenet.protocol.identifiers.normalise import (
    PERSON_DERIVATION,
    normalise_country,
    normalise_date,
    normalise_document_number,
    normalise_make,
    normalise_serial,
    normalise_vin,
    person_keys,
)
from noticenet.protocol.records.records import (
    Diffusion,
    DNARecord,
    FingerprintRef,
    Firearm,
    Notice,
    Person,
    TravelDocument,
    Vehicle,
)


def identifiers(record: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The normalised (domain, parts) identifiers of a record."""
    found: list[tuple[str, tuple[str, ...]]] = []
    subject = getattr(record, "subject", None)
    if isinstance(record, Notice | Diffusion | DNARecord | FingerprintRef) and subject:
        found.extend(person_identifiers(subject))
    if isinstance(record, TravelDocument):
        if record.holder_name or record.holder_forename:  # the holder is a person
            holder = Person(record.holder_name, record.holder_forename,
                            record.holder_date_of_birth)
            found.extend(person_identifiers(holder))
        number = normalise_document_number(record.document_number)
        found.append(("document", (normalise_country(record.issuing_country), number)))
    if isinstance(record, Vehicle):
        found.append(("vin", (normalise_vin(record.vin),)))
    if isinstance(record, Firearm):
        found.append(("firearm", (normalise_make(record.make), normalise_serial(record.serial))))
    return found


PERSON_DOMAIN = f"person/{PERSON_DERIVATION}"
"""The guard domain of person keys, versioned by their derivation (record-format 5.2)."""


def person_identifiers(person: Person) -> list[tuple[str, tuple[str, ...]]]:
    """A person is identified by each of their name keys + date of birth (as written,
    full or partial); without a date of birth, by nothing."""
    if not person.date_of_birth:
        return []
    born = normalise_date(person.date_of_birth)
    return [(PERSON_DOMAIN, (k, born)) for k in person_keys(person.forename, person.name)]


Identifier = tuple[str, tuple[str, ...]]


def tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags of `record` under the network's guard key."""
    return tags_of(identifiers(record), guard_key)


def tags_of(found: list[Identifier], guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags of identifiers already normalised."""
    return tuple(sorted({guard_tag(guard_key, domain, *parts) for domain, parts in found}))
