"""Import/export conversions (pure): CSV per kind, JSON Lines, the public red notice format."""

from __future__ import annotations

import json

import pytest

from noticenet.node.api.importexport import (
    ALPHA3,
    columns,
    content_hash,
    country3,
    read_csv,
    read_jsonl,
    read_red_notices,
    read_rows,
    record_to_row,
    red_notice_to_record,
    row_to_record,
    write_csv,
    write_jsonl,
)
from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.records import Notice
from noticenet.protocol.records.schema import from_map, to_json

from .samples import diffusion, records

RED_NOTICE = {
    "forename": "JEAN-PIERRE",
    "name": "DURAND",
    "date_of_birth": "1969/12/31",
    "nationalities": ["FR", "CA"],
    "sex_id": "M",
    "place_of_birth": "Lyon",
    "country_of_birth_id": "FR",
    "height": 1.78,
    "weight": 82,
    "distinguishing_marks": "tattoo on right forearm",
    "languages_spoken_ids": ["FRE", "eng"],
    "eyes_colors_id": ["BRO"],
    "arrest_warrants": [
        {"charge": "Drug trafficking", "issuing_country_id": "FR", "charge_translation": None}
    ],
    "entity_id": "2023/12345",
    "_links": {"self": {"href": "https://example.invalid/notices/v1/red/2023-12345"}},
}


def all_records() -> dict[str, dict[str, object]]:
    out = {kind: to_json(record) for kind, record in records().items()}
    out["diffusion"] = to_json(diffusion())
    return out


def test_every_record_kind_survives_a_csv_row() -> None:
    samples = all_records()
    assert set(samples) == set(RECORD_KINDS)
    for kind, record in samples.items():
        row = record_to_row(kind, record)
        assert list(row) == columns(kind)
        back = row_to_record(kind, row)
        parsed = from_map(spec(kind).schema, back, kind, hexed=True)
        assert to_json(parsed) == record, kind


def test_csv_columns_flatten_nested_records() -> None:
    assert columns("notice.red")[:3] == [
        "subject.name",
        "subject.forename",
        "subject.date_of_birth",
    ]
    row = record_to_row("notice.red", all_records()["notice.red"])
    assert row["subject.nationalities"] == "SWE"
    assert row["subject.languages"] == "sv;en"
    assert json.loads(row["arrest_warrants"]) == [{"charge": "Fraud", "issuing_country": "FRA"}]
    assert row["subject.height"] == "168"


def test_csv_export_reads_back_with_meta_columns_ignored() -> None:
    views = [
        {"id": "ab" * 32, "author": "FRA", "issued_at": 1, "kind": "sltd", "record": r}
        for r in (
            to_json(records()["sltd"]),
            {**to_json(records()["sltd"]), "document_number": "X2"},
        )
    ]
    text = "".join(write_csv("sltd", views))
    assert text.splitlines()[0].startswith("id,author,issued_at,document_number")
    rows = read_csv("sltd", text)
    assert [r.error for r in rows] == ["", ""]
    assert [r.record["document_number"] for r in rows if r.record] == ["L898902C3", "X2"]
    lines = "".join(write_jsonl(views))
    assert [r.record for r in read_jsonl(lines)] == [v["record"] for v in views]


def test_csv_rows_that_cannot_convert_are_reported_with_the_column() -> None:
    text = "subject.name,subject.height,colour\nA,tall,\n"
    [row] = read_csv("notice.red", text)
    assert row.record is None and "unknown columns ['colour']" in row.error
    [row] = read_csv("notice.red", "subject.name,subject.height\nA,tall\n")
    assert row.record is None and row.error == "column subject.height: not a whole number"
    [row] = read_csv("notice.red", "subject.name,arrest_warrants\nA,{oops\n")
    assert row.error == "column arrest_warrants: not valid JSON"
    [row] = read_csv("sltd", "document_number,status\nX1,stolen\n")
    assert row.record == {"document_number": "X1", "status": "stolen"}  # the node checks the rest


def test_jsonl_reports_bad_lines_and_unwraps_exported_views() -> None:
    text = '{"vin": "A"}\n\nnot json\n[1]\n{"record": {"vin": "B"}, "id": "x"}\n'
    rows = read_jsonl(text)
    assert [(r.number, r.record) for r in rows] == [
        (1, {"vin": "A"}),
        (3, None),
        (4, None),
        (5, {"vin": "B"}),
    ]
    assert rows[1].error.startswith("not JSON") and rows[2].error == "a line is a JSON object"


def test_red_notice_maps_onto_the_notice_schema() -> None:
    record = red_notice_to_record(RED_NOTICE)
    notice = from_map(Notice, record, "notice.red", hexed=True)
    s = notice.subject
    assert (s.name, s.forename, s.date_of_birth) == ("DURAND", "JEAN-PIERRE", "1969-12-31")
    assert s.nationalities == ("FRA", "CAN") and s.country_of_birth == "FRA"
    assert (s.height, s.weight, s.sex) == (178, 82, "M")
    assert s.languages == ("FRE", "ENG") and s.place_of_birth == "Lyon"
    assert notice.arrest_warrants[0].issuing_country == "FRA"
    assert notice.reference == "2023/12345"


def test_red_notice_edge_cases() -> None:
    minimal = red_notice_to_record({"name": "X", "sex_id": None, "height": 0, "weight": None})
    assert minimal["subject"] == {"name": "X", "nationalities": [], "sex": "U", "languages": []}
    assert red_notice_to_record({"name": "X", "height": 181})["subject"]["height"] == 181
    with pytest.raises(SchemaError, match="unknown country code 'ZZ'"):
        red_notice_to_record({"name": "X", "nationalities": ["ZZ"]})
    with pytest.raises(SchemaError, match="month 13"):
        red_notice_to_record({"name": "X", "date_of_birth": "1980/13/01"})
    assert country3("deu", "x") == "DEU" and country3("gb", "x") == "GBR"
    assert len(ALPHA3) == 250 and len(set(ALPHA3.values())) == 250


def test_red_notice_files_in_every_shape() -> None:
    one = json.dumps(RED_NOTICE)
    page = json.dumps(
        {"total": 2, "_embedded": {"notices": [RED_NOTICE, {"name": 5, "nationalities": ["?"]}]}}
    )
    lines = one + "\n" + json.dumps({**RED_NOTICE, "name": "MARTIN"}) + "\nnope\n"
    assert [r.number for r in read_red_notices(one)] == [1]
    rows = read_red_notices(page)
    assert rows[0].record is not None and rows[1].record is None
    assert "unknown country code" in rows[1].error
    rows = read_red_notices(lines)
    assert [r.record["subject"]["name"] if r.record else r.error[:8] for r in rows] == [
        "DURAND",
        "MARTIN",
        "not JSON",
    ]
    assert read_red_notices(json.dumps([RED_NOTICE, RED_NOTICE]))[1].number == 2
    with pytest.raises(SchemaError, match="notice kind"):
        read_rows("sltd", "rednotice", one)
    with pytest.raises(SchemaError, match="format must be one of"):
        read_rows("sltd", "xml", one)


def test_content_hash_is_keyed_and_covers_recipients() -> None:
    record = records()["sltd"]
    a = content_hash(b"\x01" * 32, "sltd", record, ())
    assert a == content_hash(b"\x01" * 32, "sltd", record, ())
    assert a != content_hash(b"\x02" * 32, "sltd", record, ())
    assert a != content_hash(b"\x01" * 32, "sltd", record, ("DEU",))
    assert len(a) == 32
