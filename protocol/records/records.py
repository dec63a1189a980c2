"""Record schemas: one frozen dataclass per kind of body.

Person fields follow the public red notice data model (forename, name,
date_of_birth, nationalities, sex, place and country of birth, height,
weight, distinguishing marks, languages, arrest_warrants[charge,
issuing_country]). Validation that needs nothing but the record itself runs
in `__post_init__`, so an invalid record cannot be constructed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.schema import check_text

if TYPE_CHECKING:
    from noticenet.protocol.identifiers.dna import DNAProfile

MEMBER_ID = re.compile(r"[A-Z][A-Z0-9-]{1,15}")
COUNTRY = re.compile(r"[A-Z]{3}")
DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
DOCUMENT_TYPE = re.compile(r"[A-Z]{1,2}")
MAX_TEXT = 4096  # free text (summaries, marks, charges, purposes, reasons): characters
MAX_NAME = 200  # any other text field, and each text in a list: characters
MAX_ITEMS = 32  # items of a list field unless LIST_LIMITS says otherwise
TEXT_LIMITS = dict.fromkeys(
    ("summary", "distinguishing_marks", "charge", "purpose", "reason"), MAX_TEXT
)
LIST_LIMITS = {"arrest_warrants": 64, "recipients": 256, "mrz": 3}
"""The documented bounds of record fields (docs/record-format.md); the same rule holds
at the API, on import and on replication."""


@functools.cache
def bounded_fields(cls: Any) -> tuple[tuple[str, bool, int], ...]:
    """(name, is_list, bound) of each text or list field of a record class."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        origin = typing.get_origin(hints[f.name])
        if hints[f.name] is str:
            out.append((f.name, False, TEXT_LIMITS.get(f.name, MAX_NAME)))
        elif origin is tuple:
            out.append((f.name, True, LIST_LIMITS.get(f.name, MAX_ITEMS)))
    return tuple(out)


def check_bounds(record: Any) -> None:
    """Refuse a text or list field beyond its bound, or text that is not valid Unicode,
    naming the field; the same rule holds at the API, on import and on replication."""
    cls: Any = type(record)
    for name, is_list, bound in bounded_fields(cls):
        value = getattr(record, name)
        if is_list:
            if len(value) > bound:
                raise SchemaError(f"{name} holds more than {bound} items")
            for item in value:
                if isinstance(item, str):
                    _within(item, name, MAX_NAME)
        else:
            _within(value, name, bound)


def _within(value: str, name: str, bound: int) -> None:
    check_text(value, name)
    if len(value) > bound:
        raise SchemaError(f"{name} is longer than {bound} characters")


def check_member_id(value: str, what: str = "member id") -> None:
    """Member ids are ISO 3166-1 alpha-3 codes or organisation codes (A-Z, 0-9, '-')."""
    if not MEMBER_ID.fullmatch(value):
        raise SchemaError(f"{what} {value!r} is not a member or organisation code")


def _country(value: str, what: str) -> None:
    if value and not COUNTRY.fullmatch(value):
        raise SchemaError(f"{what} {value!r} is not an ISO 3166-1 alpha-3 code")


def _date(value: str, what: str) -> None:
    if value and not DATE.fullmatch(value):
        raise SchemaError(f"{what} {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")


def _entry_id(value: bytes, what: str) -> None:
    if len(value) != 32:
        raise SchemaError(f"{what} is a 32-byte entry id")


def _text(value: str, what: str, required: bool = False) -> None:
    if required and not value.strip():
        raise SchemaError(f"{what} is required")


@dataclass(frozen=True)
class ArrestWarrant:
    charge: str
    issuing_country: str

    def __post_init__(self) -> None:
        check_bounds(self)
        _text(self.charge, "arrest_warrants.charge", required=True)
        _country(self.issuing_country, "arrest_warrants.issuing_country")


@dataclass(frozen=True)
class Person:
    """A person as the red notice data model describes them."""

    name: str
    forename: str = ""
    date_of_birth: str = ""
    nationalities: tuple[str, ...] = ()
    sex: Literal["M", "F", "U"] = "U"
    place_of_birth: str = ""
    country_of_birth: str = ""
    height: int | None = None
    weight: int | None = None
    distinguishing_marks: str = ""
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_bounds(self)
        _text(self.name, "name", required=True)
        _text(self.forename, "forename")
        _text(self.distinguishing_marks, "distinguishing_marks")
        _date(self.date_of_birth, "date_of_birth")
        for code in self.nationalities:
            _country(code, "nationality")
        _country(self.country_of_birth, "country_of_birth")
        if self.height is not None and not 30 <= self.height <= 300:
            raise SchemaError("height is in centimetres, 30-300")
        if self.weight is not None and not 1 <= self.weight <= 500:
            raise SchemaError("weight is in kilograms, 1-500")


@dataclass(frozen=True)
class Notice:
    """A notice; its colour is the entry's kind (notice.red, notice.yellow, ...)."""

    subject: Person
    arrest_warrants: tuple[ArrestWarrant, ...] = ()
    summary: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        check_bounds(self)
        _text(self.summary, "summary")


@dataclass(frozen=True)
class Diffusion:
    """A request for cooperation sent directly to chosen members."""

    purpose: str
    recipients: tuple[str, ...]
    subject: Person | None = None
    arrest_warrants: tuple[ArrestWarrant, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        check_bounds(self)
        _text(self.purpose, "purpose", required=True)
        if not self.recipients:
            raise SchemaError("a diffusion names at least one recipient")
        for member in self.recipients:
            check_member_id(member, "recipient")
        if len(set(self.recipients)) != len(self.recipients):
            raise SchemaError("diffusion recipients repeat")


DocumentStatus = Literal["stolen", "lost", "revoked", "invalid", "stolen-blank"]


@dataclass(frozen=True)
class TravelDocument:
    """A stolen or lost travel document (SLTD); `mrz` lines are checked if given."""

    document_number: str
    document_type: str
    issuing_country: str
    status: DocumentStatus
    holder_name: str = ""
    holder_forename: str = ""
    holder_date_of_birth: str = ""
    holder_nationality: str = ""
    date_of_expiry: str = ""
    mrz: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_bounds(self)
        if not DOCUMENT_NUMBER.fullmatch(self.document_number):
            raise SchemaError("document_number is 1-20 characters A-Z, 0-9")
        if not DOCUMENT_TYPE.fullmatch(self.document_type):
            raise SchemaError("document_type is an ICAO document code such as P, ID or V")
        _country(self.issuing_country, "issuing_country")
        if not self.issuing_country:
            raise SchemaError("issuing_country is required")
        _country(self.holder_nationality, "holder_nationality")
        _date(self.holder_date_of_birth, "holder_date_of_birth")
        _date(self.date_of_expiry, "date_of_expiry")
        if self.mrz:
            _check_mrz_agrees(self)


def _check_mrz_agrees(doc: TravelDocument) -> None:
    _mrz_agrees(
        doc.mrz,
        doc.document_number,
        doc.issuing_country,
        (doc.holder_name, doc.holder_forename, doc.holder_date_of_birth, doc.holder_nationality),
    )


@functools.lru_cache(maxsize=4096)
def _mrz_agrees(
    mrz: tuple[str, ...], number: str, country: str, holder: tuple[str, str, str, str]
) -> None:
    """The MRZ says what the record says: the same document, and the same holder where
    the record names one (SMITH with Eriksson's MRZ was accepted). Memoised: a stored
    record is checked again each time it is read."""
    from noticenet.protocol.identifiers.mrz import parse_mrz
    from noticenet.protocol.identifiers.normalise import normalise_country

    parsed = parse_mrz(list(mrz))
    if parsed.document_number != number:
        raise SchemaError("MRZ document number differs from document_number")
    if normalise_country(parsed.issuing_state) != country:
        raise SchemaError("MRZ issuing state differs from issuing_country")
    name, forename, born, nationality = holder
    if name and not _same_name(name, parsed.surname):
        raise SchemaError("holder_name differs from the MRZ surname")
    if forename and parsed.given_names and not _same_name(forename, parsed.given_names):
        raise SchemaError("holder_forename differs from the MRZ given names")
    if born and not _same_birth(born, parsed.date_of_birth):
        raise SchemaError("holder_date_of_birth differs from the MRZ date of birth")
    if nationality and normalise_country(parsed.nationality) != nationality:
        raise SchemaError("holder_nationality differs from the MRZ nationality")


def _same_name(written: str, mrz: str) -> bool:
    """Whether a name as written and as the MRZ carries it are the same: equal under the
    spelling key (Müller, MUELLER), or the MRZ's a truncation of it, or the written one
    the first of the MRZ's given names."""
    from noticenet.protocol.identifiers.normalise import name_key, normalise_name

    if name_key(written) == name_key(mrz):
        return True
    full, short = normalise_name(written).replace(" ", ""), normalise_name(mrz).replace(" ", "")
    words = normalise_name(mrz).split()
    return (len(short) >= 3 and full.startswith(short)) or (
        bool(words) and normalise_name(written) == " ".join(words[: len(written.split())])
    )


def _same_birth(written: str, yymmdd: str) -> bool:
    """YYYY[-MM[-DD]] against the MRZ's YYMMDD, where both give a part ('<<': unknown)."""
    mine = written.split("-")
    mine[0] = mine[0][2:]
    theirs = (yymmdd[0:2], yymmdd[2:4], yymmdd[4:6])[: len(mine)]
    return all(t == "<<" or m == t for m, t in zip(mine, theirs, strict=True))


@dataclass(frozen=True)
class Vehicle:
    """A stolen motor vehicle, found by its VIN (ISO 3779)."""

    vin: str
    make: str = ""
    model: str = ""
    year: int | None = None
    colour: str = ""
    registration: str = ""
    registration_country: str = ""

    def __post_init__(self) -> None:
        check_bounds(self)
        from noticenet.protocol.identifiers.vin import validate_vin

        validate_vin(self.vin)
        _country(self.registration_country, "registration_country")


@dataclass(frozen=True)
class Firearm:
    """A lost or stolen firearm, found by make and serial number."""

    make: str
    serial: str
    model: str = ""
    calibre: str = ""
    firearm_type: str = ""

    def __post_init__(self) -> None:
        check_bounds(self)
        _text(self.make, "make", required=True)
        _text(self.serial, "serial", required=True)


@dataclass(frozen=True)
class DNARecord:
    """A DNA STR profile over a named loci set, with an optional subject."""

    loci_set: str
    alleles: dict[str, tuple[str, ...]]
    reference: str = ""
    subject: Person | None = None

    def __post_init__(self) -> None:
        check_bounds(self)
        self.profile()

    def profile(self) -> DNAProfile:
        """The validated profile (a `noticenet.protocol.identifiers.dna.DNAProfile`)."""
        from noticenet.protocol.identifiers.dna import DNAProfile

        pairs = {}
        for locus, alleles in self.alleles.items():
            if len(alleles) not in (1, 2):
                raise SchemaError(f"locus {locus}: one or two alleles")
            pairs[locus] = (alleles[0], alleles[-1])
        return DNAProfile(self.loci_set, pairs)


@dataclass(frozen=True)
class FingerprintRef:
    """A reference to a fingerprint template held by the author, by hash."""

    template_hash: bytes
    template_format: str
    reference: str = ""
    subject: Person | None = None

    def __post_init__(self) -> None:
        check_bounds(self)
        if len(self.template_hash) != 32:
            raise SchemaError("template_hash is a 32-byte hash")


@dataclass(frozen=True)
class Cancellation:
    """The author withdraws one of its own entries; its body is purged everywhere."""

    target: bytes
    reason: str = ""

    def __post_init__(self) -> None:
        check_bounds(self)
        _entry_id(self.target, "target")


@dataclass(frozen=True)
class Update:
    """The author replaces one of its own entries with a new record of the same kind."""

    target: bytes
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_bounds(self)
        _entry_id(self.target, "target")


@dataclass(frozen=True)
class KeyEpoch:
    """A sender-key epoch: the epoch key wrapped once per recipient."""

    epoch: int
    wraps: dict[str, bytes]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class PurgeReceipt:
    """A node's signed statement that it enforced a CCF action."""

    action: bytes
    targets: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for eid in (self.action, *self.targets):
            _entry_id(eid, "receipt id")
