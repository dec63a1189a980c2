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
)
from noticenet.protocol.identifiers.person_keys import (
    PERSON_DERIVATION,
    SIMILAR_DERIVATION,
    birth_year,
    confusable_variants,
    person_keys,
    similar_guard_keys,
    similar_keys,
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


def _persons(record: Any) -> list[Person]:
    subject = getattr(record, "subject", None)
    if isinstance(record, Notice | Diffusion | DNARecord | FingerprintRef) and subject:
        return [subject]
    if isinstance(record, TravelDocument) and (record.holder_name or record.holder_forename):
        return [Person(record.holder_name, record.holder_forename, record.holder_date_of_birth)]
    return []


def identifiers(record: Any) -> list[tuple[str, tuple[str, ...]]]:
    """The normalised (domain, parts) same-tier identifiers of a record (also its index
    terms). An SLTD's holder is a person."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for person in _persons(record):
        found.extend(person_identifiers(person))
    if isinstance(record, TravelDocument):
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

SIMILAR_PERSON_DOMAIN = f"person-similar/{SIMILAR_DERIVATION}"
"""The similar tier of persons (record-format 5.4): a hit holds an entry for the CCF
instead of refusing it. Documents and firearms need no tag of their own: a revocation
holds the ordinary tags of their numbers and serials as typed with look-alikes."""


def _similar(record: Any, guard: bool) -> list[Identifier]:
    found: list[Identifier] = []
    for person in _persons(record):
        year = birth_year(person.date_of_birth) if person.date_of_birth else ""
        if guard:  # the birth year if known, and no date at all
            for k in similar_guard_keys(person.forename, person.name):
                found.extend((SIMILAR_PERSON_DOMAIN, (k, y)) for y in {year, ""})
        else:  # the birth year, or no date when none is given
            keys = similar_keys(person.forename, person.name)
            found.extend((SIMILAR_PERSON_DOMAIN, (k, year)) for k in keys)
    if guard and isinstance(record, TravelDocument):  # the header's own document tag meets
        number = normalise_document_number(record.document_number)
        country = normalise_country(record.issuing_country)
        found.extend(("document", (country, n)) for n in confusable_variants(number))
    if guard and isinstance(record, Firearm):
        make, serial = normalise_make(record.make), normalise_serial(record.serial)
        found.extend(("firearm", (make, s)) for s in confusable_variants(serial))
    return found


def similar_identifiers(record: Any) -> list[Identifier]:
    """The similar-tier identifiers a record's header carries (record-format 5.4)."""
    return _similar(record, guard=False)


def similar_guard_identifiers(record: Any) -> list[Identifier]:
    """The similar-tier identifiers a revocation of `record` guards (record-format 5.4):
    a superset of what the header carries, so that a header one edit away, or with the
    year only, or without a date of birth, meets one."""
    return _similar(record, guard=True)


def header_identifiers(record: Any) -> list[Identifier]:
    """Every identifier whose tag a record's header carries: both tiers."""
    return identifiers(record) + similar_identifiers(record)


def tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags a header carries for `record` (both tiers)."""
    return tags_of(header_identifiers(record), guard_key)


def same_tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The same-tier tags of `record`: what a revocation refuses (its `guards`)."""
    return tags_of(identifiers(record), guard_key)


def similar_guards_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The similar-tier tags a revocation of `record` holds (its `similar`)."""
    return tags_of(similar_guard_identifiers(record), guard_key)


def tags_of(found: list[Identifier], guard_key: bytes) -> tuple[bytes, ...]:
    """The sorted, unique guard tags of identifiers already normalised."""
    return tuple(sorted({guard_tag(guard_key, domain, *parts) for domain, parts in found}))
