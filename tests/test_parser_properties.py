"""Every parser of outside input, fed arbitrary input: it answers, or refuses with a typed
error (a NoticenetError), never anything else. A TypeError, KeyError, UnicodeError or
IndexError escaping one of these would be a 500 at the API or a traceback at the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noticenet.crypto.errors import NoticenetError
from noticenet.node.api.importexport import read_rows
from noticenet.protocol.identifiers.dna import DNAProfile
from noticenet.protocol.identifiers.mrz import parse_mrz
from noticenet.protocol.identifiers.normalise import (
    name_key,
    normalise_country,
    normalise_date,
    normalise_document_number,
    normalise_make,
    normalise_name,
    normalise_serial,
    normalise_vin,
)
from noticenet.protocol.identifiers.vin import validate_vin
from noticenet.protocol.records.codec import decode
from noticenet.protocol.records.entry import decode_entry
from noticenet.protocol.records.kinds import RECORD_KINDS, parse_body, spec
from noticenet.protocol.records.schema import from_map
from noticenet.protocol.replication.frames import decode_frame

SETTINGS = settings(
    max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)

# Text as people and machines send it: every plane, lone surrogates, controls, MRZ chars.
TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=60
) | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<", max_size=50)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=20,
)


def refuses_cleanly(parse: Callable[[Any], object], value: Any) -> None:
    try:
        parse(value)
    except NoticenetError:
        pass


TEXT_PARSERS: dict[str, Callable[[Any], object]] = {
    "normalise_name": normalise_name,
    "name_key": name_key,
    "normalise_country": normalise_country,
    "normalise_date": normalise_date,
    "normalise_document_number": normalise_document_number,
    "normalise_make": normalise_make,
    "normalise_serial": normalise_serial,
    "normalise_vin": normalise_vin,
    "validate_vin": validate_vin,
    "parse_mrz": parse_mrz,
    "parse_mrz (lines)": lambda s: parse_mrz(s.split("\n")),
}


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@SETTINGS
@given(value=TEXT | st.text(max_size=90))
def test_text_parsers_answer_or_refuse_with_a_typed_error(name: str, value: str) -> None:
    refuses_cleanly(TEXT_PARSERS[name], value)


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
@SETTINGS
@given(data=JSON)
def test_records_from_json_answer_or_refuse_with_a_typed_error(kind: str, data: Any) -> None:
    refuses_cleanly(lambda d: from_map(spec(kind).schema, d, kind, hexed=True), data)
    refuses_cleanly(lambda d: parse_body(kind, d), data)


@SETTINGS
@given(data=st.dictionaries(TEXT, st.lists(TEXT, max_size=3), max_size=6), loci=TEXT)
def test_dna_profiles_answer_or_refuse_with_a_typed_error(data: Any, loci: str) -> None:
    refuses_cleanly(lambda d: DNAProfile(loci, d), data)


@pytest.mark.parametrize(
    ("kind", "fmt"), [("sltd", "csv"), ("sltd", "jsonl"), ("notice.red", "rednotice")]
)
@SETTINGS
@given(text=TEXT | JSON.map(json.dumps) | st.lists(JSON.map(json.dumps)).map("\n".join))
def test_import_files_answer_or_refuse_with_a_typed_error(kind: str, fmt: str, text: str) -> None:
    refuses_cleanly(lambda t: read_rows(kind, fmt, t), text)


@pytest.mark.parametrize("decoder", [decode, decode_entry, decode_frame])
@SETTINGS
@given(data=st.binary(max_size=300))
def test_wire_decoders_answer_or_refuse_with_a_typed_error(
    decoder: Callable[[bytes], object], data: bytes
) -> None:
    refuses_cleanly(decoder, data)
