"""JSON Schemas of the record kinds, for `/openapi.json`: what the server really checks.

Derived from the record dataclasses and their documented bounds
(`noticenet.protocol.records.records`), so the published schema and the
validation cannot drift apart: field names and types, which are required,
text lengths and list sizes, countries as three capital letters and dates as
YYYY[-MM[-DD]], bytes as hex. Rules that span fields (an MRZ agreeing with
the holder, a VIN's check digit) stay in the record rules; a client that
breaks them gets a 422 naming the field.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import types
import typing
from typing import Any

from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.records import (
    COUNTRY,
    DATE,
    MAX_NAME,
    MEMBER_ID,
    bounded_fields,
)

HEX = "^([0-9a-fA-F]{2})*$"


COUNTRIES = frozenset({"issuing_country", "nationalities", "country_of_birth",
                       "holder_nationality", "registration_country"})
DATES = frozenset({"date_of_birth", "holder_date_of_birth", "date_of_expiry"})
NOT_BLANK = frozenset({"charge", "name", "purpose", "make", "serial"})


def _pattern(name: str) -> str | None:
    """The shape a text field of this name must have (the records' shared constraints)."""
    if name in COUNTRIES:
        return f"^({COUNTRY.pattern})?$"
    if name in DATES:
        return f"^({DATE.pattern})?$"
    if name == "recipients":
        return f"^{MEMBER_ID.pattern}$"
    if name in NOT_BLANK:
        return r"\S"
    return None


def _field(hint: Any, name: str, bound: int | None) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        inner = _field(kept[0], name, bound) if len(kept) == 1 else {}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is tuple:
        items = _field(args[0], name, None)
        if items.get("type") == "string":
            items["maxLength"] = MAX_NAME  # every text item of a list
        return {"type": "array", "items": items, "maxItems": bound or 32}
    if origin is dict:
        return {"type": "object", "additionalProperties": _field(args[1], name, None)}
    if dataclasses.is_dataclass(hint):
        return record_schema(hint)
    if hint is str:
        out: dict[str, Any] = {"type": "string"}
        if bound is not None:
            out["maxLength"] = bound
        pattern = _pattern(name)
        if pattern:
            out["pattern"] = pattern
        return out
    if hint is bytes:
        return {"type": "string", "pattern": HEX}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    return {}


@functools.cache
def record_schema(cls: Any) -> dict[str, Any]:
    """The JSON Schema of one record dataclass."""
    hints = typing.get_type_hints(cls)
    bounds = {name: bound for name, _, bound in bounded_fields(cls)}
    properties = {f.name: _field(hints[f.name], f.name, bounds.get(f.name))
                  for f in dataclasses.fields(cls)}
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    out: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": properties,
                           "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def any_record() -> dict[str, Any]:
    """A record of any kind a member publishes (the path names which)."""
    classes = sorted({spec(k).schema for k in RECORD_KINDS}, key=lambda c: c.__name__)
    return {"anyOf": [copy.deepcopy(record_schema(c)) for c in classes]}

