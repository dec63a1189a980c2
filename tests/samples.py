"""One sample record of every kind, for round-trip and ledger tests."""

from __future__ import annotations

from typing import Any

from noticenet.protocol.records.kinds import NOTICE_COLOURS
from noticenet.protocol.records.records import (
    ArrestWarrant,
    Diffusion,
    DNARecord,
    FingerprintRef,
    Firearm,
    Notice,
    Person,
    TravelDocument,
    Vehicle,
)

ANNA = Person(
    name="ERIKSSON",
    forename="Anna Maria",
    date_of_birth="1974-08-12",
    nationalities=("SWE",),
    sex="F",
    place_of_birth="Stockholm",
    country_of_birth="SWE",
    height=168,
    weight=60,
    distinguishing_marks="scar on left hand",
    languages=("sv", "en"),
)


def person(name: str, forename: str, dob: str) -> Person:
    return Person(name=name, forename=forename, date_of_birth=dob)


def notice(subject: Person = ANNA) -> Notice:
    return Notice(
        subject=subject,
        arrest_warrants=(ArrestWarrant(charge="Fraud", issuing_country="FRA"),),
        summary="Wanted for prosecution",
    )


def document(number: str = "L898902C3", country: str = "UTO") -> TravelDocument:
    return TravelDocument(
        document_number=number,
        document_type="P",
        issuing_country=country,
        status="stolen",
        holder_name="ERIKSSON",
        holder_forename="ANNA MARIA",
    )


def vehicle(vin: str = "1M8GDM9AXKP042788") -> Vehicle:
    return Vehicle(vin=vin, make="Motor Coach", model="MC-9", year=1989)


def firearm(serial: str = "AB-123456") -> Firearm:
    return Firearm(make="Glock", serial=serial, model="17", calibre="9mm")


CODIS_SAMPLE = {
    "CSF1PO": ("10", "12"),
    "FGA": ("21", "24"),
    "TH01": ("6", "9.3"),
    "TPOX": ("8", "8"),
    "VWA": ("16", "17"),
    "D3S1358": ("15", "16"),
    "D5S818": ("11", "12"),
    "D7S820": ("10", "11"),
    "D8S1179": ("13", "14"),
    "D13S317": ("11", "11"),
}


def dna() -> DNARecord:
    return DNARecord(loci_set="CODIS20", alleles=CODIS_SAMPLE, reference="LAB-2026-001")


def records() -> dict[str, Any]:
    """kind -> a record of that kind (diffusions separately: they need recipients)."""
    out: dict[str, Any] = {f"notice.{c}": notice() for c in NOTICE_COLOURS}
    out.update(
        sltd=document(),
        vehicle=vehicle(),
        firearm=firearm(),
        dna=dna(),
        fingerprint=FingerprintRef(template_hash=b"\x07" * 32, template_format="ISO19794-2"),
    )
    return out


def diffusion(recipients: tuple[str, ...] = ("DEU", "USA")) -> Diffusion:
    return Diffusion(purpose="locate", recipients=recipients, subject=ANNA)
