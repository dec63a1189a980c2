"""The rules of each record kind: a body that breaks one is not a record.

An officer's form, an import row and a received body all go through the same
checks (`parse_body`); each rule refuses with a SchemaError that names it.
"""

from __future__ import annotations

from typing import Any

import pytest

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.kinds import parse_body
from noticenet.protocol.records.records import MAX_NAME, MAX_TEXT, Cancellation
from noticenet.protocol.records.schema import to_map

from .edits import Change, edited
from .samples import diffusion, dna, document, notice, records, vehicle

SPECIMEN_MRZ = (  # ICAO Doc 9303's specimen passport, issued by Utopia
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)

# (kind, starting record, change, what the SchemaError says)
RULES: dict[str, tuple[str, Any, Change, str]] = {
    "a person without a name": (
        "notice.red",
        notice(),
        edited(subject__name=" "),
        "name is required",
    ),
    "an over-long forename": (
        "notice.red",
        notice(),
        edited(subject__forename="A" * (MAX_NAME + 1)),
        f"forename is longer than {MAX_NAME} characters",
    ),
    "an over-long place of birth (it had no bound)": (
        "notice.red",
        notice(),
        edited(subject__place_of_birth="A" * (MAX_NAME + 1)),
        f"place_of_birth is longer than {MAX_NAME} characters",
    ),
    "an over-long summary": (
        "notice.red",
        notice(),
        edited(summary="A" * (MAX_TEXT + 1)),
        f"summary is longer than {MAX_TEXT} characters",
    ),
    "too many languages (50,000 were accepted)": (
        "notice.red",
        notice(),
        edited(subject__languages=["fr"] * 33),
        "languages holds more than 32 items",
    ),
    "a lone surrogate in a name": (
        "notice.red",
        notice(),
        edited(subject__name="Du\ud800pont"),
        "name: not valid Unicode text (a lone surrogate)",
    ),
    "a lone surrogate in a vehicle's model": (
        "vehicle",
        vehicle(),
        edited(model="Golf\udfff"),
        "model: not valid Unicode text",
    ),
    "four MRZ lines": (
        "sltd",
        document(),
        edited(mrz=["A", "B", "C", "D"]),
        "mrz holds more than 3 items",
    ),
    "a date of birth in another format": (
        "notice.red",
        notice(),
        edited(subject__date_of_birth="12/08/1974"),
        "is not YYYY, YYYY-MM or YYYY-MM-DD",
    ),
    "a nationality by name": (
        "notice.red",
        notice(),
        edited(subject__nationalities=["SWEDEN"]),
        "nationality 'SWEDEN' is not an ISO 3166-1 alpha-3 code",
    ),
    "a height in metres": (
        "notice.red",
        notice(),
        edited(subject__height=2),
        "height is in centimetres",
    ),
    "a weight in grams": (
        "notice.red",
        notice(),
        edited(subject__weight=60_000),
        "weight is in kilograms",
    ),
    "a diffusion to nobody": (
        "diffusion",
        diffusion(),
        edited(recipients=[]),
        "at least one recipient",
    ),
    "a diffusion naming a country twice": (
        "diffusion",
        diffusion(),
        edited(recipients=["DEU", "DEU"]),
        "diffusion recipients repeat",
    ),
    "a document type in words": (
        "sltd",
        document(),
        edited(document_type="PASSPORT"),
        "document_type is an ICAO document code",
    ),
    "a document without issuing country": (
        "sltd",
        document(),
        edited(issuing_country=""),
        "issuing_country is required",
    ),
    "an MRZ of another document number": (
        "sltd",
        document(),
        lambda f: f.update(mrz=list(SPECIMEN_MRZ), document_number="L898902C4"),
        "MRZ document number differs from document_number",
    ),
    "an MRZ of another issuing state": (
        "sltd",
        document(country="UTO"),
        lambda f: f.update(mrz=list(SPECIMEN_MRZ), issuing_country="DEU"),
        "MRZ issuing state differs from issuing_country",
    ),
    "a holder other than the MRZ's (SMITH with Eriksson's MRZ)": (
        "sltd",
        document(country="UTO"),
        lambda f: f.update(mrz=list(SPECIMEN_MRZ), holder_name="SMITH"),
        "holder_name differs from the MRZ surname",
    ),
    "a holder born on another day than the MRZ says": (
        "sltd",
        document(country="UTO"),
        lambda f: f.update(mrz=list(SPECIMEN_MRZ), holder_date_of_birth="1974-08-13"),
        "holder_date_of_birth differs from the MRZ date of birth",
    ),
    "a holder of another nationality than the MRZ says": (
        "sltd",
        document(country="UTO"),
        lambda f: f.update(mrz=list(SPECIMEN_MRZ), holder_nationality="SWE"),
        "holder_nationality differs from the MRZ nationality",
    ),
    "a DNA locus with three alleles": (
        "dna",
        dna(),
        lambda f: f["alleles"].update(D3S1358=["15", "16", "17"]),
        "locus D3S1358: one or two alleles",
    ),
    "a short fingerprint template hash": (
        "fingerprint",
        records()["fingerprint"],
        edited(template_hash=b"\x07" * 31),
        "template_hash is a 32-byte hash",
    ),
    "a cancel of a short id": (
        "cancel",
        Cancellation(target=b"\x07" * 32),
        edited(target=b"\x07" * 31),
        "is a 32-byte entry id",
    ),
}


def test_a_holder_written_as_people_write_it_agrees_with_the_mrz() -> None:
    """Case, accents, a first given name only, a year of birth only: the same holder."""
    fields = {
        **to_map(document(country="UTO")),
        "mrz": list(SPECIMEN_MRZ),
        "holder_name": "Eriksson",
        "holder_forename": "Anna",
        "holder_date_of_birth": "1974",
        "holder_nationality": "UTO",
    }
    assert parse_body("sltd", fields).holder_name == "Eriksson"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_body_breaking_a_rule_is_not_a_record(rule: str) -> None:
    kind, record, change, says = RULES[rule]
    assert parse_body(kind, to_map(record)) == record  # the starting point is a record
    if kind == "sltd":  # and agrees with the specimen MRZ
        assert parse_body(kind, {**to_map(record), "mrz": list(SPECIMEN_MRZ)}).mrz == SPECIMEN_MRZ
    fields = to_map(record)
    change(fields)
    with pytest.raises(SchemaError) as raised:
        parse_body(kind, fields)
    assert says in str(raised.value)
