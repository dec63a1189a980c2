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
    normalise_country,
    normalise_date,
    normalise_document_number,
    normalise_make,
    normalise_serial,
    normalise_vin,
    person_key,
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
        number = normalise_document_number(record.document_number)
        found.append(("document", (normalise_country(record.issuing_country), number)))
    if isinstance(record, Vehicle):
        found.append(("vin", (normalise_vin(record.vin),)))
    if isinstance(record, Firearm):
        found.append(("firearm", (normalise_make(record.make), normalise_serial(record.serial))))
    return found


def person_identifiers(person: Person) -> list[tuple[str, tuple[str, ...]]]:
    """A person is identified by name key + date of birth; without a birth date, by nothing."""
    if not person.date_of_birth:
        return []
    key = person_key(person.forename, person.name)
    return [("person", (key, normalise_date(person.date_of_birth)))]


Identifier = tuple[str, tuple[str, ...]]


def tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags of `record` under the network's guard key."""
    return tags_of(identifiers(record), guard_key)


def tags_of(found: list[Identifier], guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags of identifiers already normalised."""
    return tuple(sorted({guard_tag(guard_key, domain, *parts) for domain, parts in found}))
