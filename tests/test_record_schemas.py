"""The OpenAPI schemas of the record kinds say what the record rules check (issue 23)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jsonschema_rs
import pytest

from noticenet.node.api.record_schemas import any_record, record_schema
from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.schema import from_map, to_json
from tests import samples


def _samples() -> list[tuple[str, Any]]:
    return sorted(samples.records().items()) + [("diffusion", samples.diffusion())]


@pytest.mark.parametrize(("kind", "record"), _samples(), ids=lambda v: str(v)[:20])
def test_every_valid_sample_fits_its_schema_and_any_record(kind: str, record: Any) -> None:
    data = to_json(record)
    assert jsonschema_rs.validator_for(record_schema(type(record))).is_valid(data)
    assert jsonschema_rs.validator_for(any_record()).is_valid(data)
    assert from_map(spec(kind).schema, data, kind, hexed=True) == record  # and the rules agree


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "  "}, "name"),
        ({"date_of_birth": "1971/04/09"}, "date_of_birth"),
        ({"nationalities": ["FR"]}, "nationality"),
        ({"languages": ["en"] * 33}, "languages"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_what_the_rules_refuse_the_schema_refuses_too(change: dict[str, Any], named: str) -> None:
    notice = to_json(samples.notice())
    notice["subject"] = {**notice["subject"], **change}
    assert not jsonschema_rs.validator_for(any_record()).is_valid(notice)
    with pytest.raises(SchemaError, match=named):
        from_map(spec("notice.red").schema, notice, "notice.red", hexed=True)


def test_every_kind_has_a_schema() -> None:
    classes = {spec(k).schema for k in RECORD_KINDS}
    titles = {s["title"] for s in any_record()["anyOf"]}
    assert titles == {c.__name__ for c in classes}
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        assert set(record_schema(cls)["properties"]) == names
