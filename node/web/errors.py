"""Errors as the pages show them: the API's typed errors said in the page's language.

The API answers in English (`{"error": type, "detail": message}`), and its messages
are free text made by the protocol layer. A page shows a message from the catalogue
instead, chosen by the error's type (along its class hierarchy) and, for the schema's
many refusals, by the shape of its message (`is longer than 200 characters`,
`must be one of [...]`, a missing field...). The API's own English detail stays beside
it (`Shown.detail`), since it names the exact path and value; an error no rule knows
gets a general message of its type, with that detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import ValidationError as RequestInvalid

Translate = Callable[..., str]


@dataclass(frozen=True)
class Shown:
    """An error as a page shows it: `text` in the page's language, `detail` the API's
    own words (English), shown beside it when they differ."""

    text: str
    detail: str = ""

    def __str__(self) -> str:
        return self.text


# Error types with one message each when no message shape below is more precise (first
# match along the MRO).
BY_TYPE = {
    "ReentryBlocked": "err.reentry",
    "NotYourEntry": "err.not_yours",
    "StaleEntry": "err.stale",
    "NotReady": "err.not_ready",
    "NotARecipient": "err.not_found",
    "NotFound": "err.not_found",
    "Unreadable": "err.unreadable",
}
# Message shapes of the schema's refusals (and a few others), tried first, first match
# wins; the named groups fill the message's blanks.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"missing field '\w+'|\bis required\b|[Ff]ield required", "err.required"),
        (r"is longer than (?P<n>\d+)", "err.too_long"),
        (r"holds more than (?P<n>\d+) items", "err.too_many"),
        (r"must be one of \[(?P<choices>[^\]]*)\]", "err.one_of"),
        (r"ISO 3166-1|unknown country code|nationality '", "err.country"),
        (r"is not a member or organisation code", "err.member"),
        (r"is not YYYY|date '.*' has (year|month|day)|must be YYMMDD|has (month|day) \d",
         "err.date"),
        (r"has no letters or digits", "err.no_letters"),
        (r"names at least one recipient", "err.recipient"),
        (r"recipients repeat", "err.repeat"),
        (r"a VIN has (?P<n>\d+) characters, got (?P<got>\d+)", "err.vin_length"),
        (r"not allowed in a VIN", "err.vin_chars"),
        (r"check digit", "err.check_digit"),
        (r"MRZ must be 3 lines|an MRZ has 2", "err.mrz_lines"),
        (r"outside A-Z, 0-9|not allowed in an MRZ", "err.mrz_chars"),
        (r"unknown (fields|columns)|[Ee]xtra inputs", "err.unknown_fields"),
        (r"32-byte entry id|64 hex digits|entry id", "err.entry_id"),
        (r"needs at least one target", "err.targets"),
        (r"give a name .* or a document's country and number", "err.subject"),
        (r"blocked or revoked", "err.hidden"),
        (r"already withdrawn, replaced or purged", "err.gone"),
        (r"was made for proposal", "err.other_proposal"),
        (r"public package is for another group key|setup is for the (\w+) group",
         "err.other_group"),
        (r"is already here with other contents", "err.file_clash"),
        (r"not a commitment, a share", "err.not_ceremony_file"),
        (r"no such user", "err.no_user"),
        (r"user '.*' exists", "err.user_exists"),
        (r"a user name is", "err.user_name"),
        (r"not valid JSON|not a whole number|not a number|expected ", "err.type"),
    )
)
# What is said when nothing more precise is known, by type along the MRO.
GENERAL = {
    "MRZError": "err.mrz",
    "VINError": "err.vin",
    "Conflict": "err.conflict",
    "Forbidden": "err.forbidden",
    "CeremonyFileError": "err.ceremony",
    "ThresholdError": "err.ceremony",
    "SchemaError": "err.invalid",
    "CodecError": "err.invalid",
    "ValidationError": "err.invalid",
}


def shown(exc: BaseException, t: Translate) -> Shown:
    """A typed error, said in `t`'s language."""
    names = [c.__name__ for c in type(exc).__mro__]
    field = getattr(exc, "field", None)
    return said(names, str(exc), t, field if isinstance(field, str) else None)


def said(names: Iterable[str], detail: str, t: Translate, mrz_field: str | None = None) -> Shown:
    """The message for an error named `names` (its type first, then its bases), whose API
    detail is `detail`; an MRZ error naming its field says which one."""
    names = list(names)
    if mrz_field is not None:
        return Shown(t("error.mrz", field=mrz_field_name(mrz_field, t)), detail)
    key, values = _by_pattern(detail)
    if key is None:
        key = next((BY_TYPE[n] for n in names if n in BY_TYPE), None)
    if key is None:
        key = next((GENERAL[n] for n in names if n in GENERAL), "err.other")
    text = t(key, **values)
    return Shown(text, "" if detail == text else detail)


def _by_pattern(detail: str) -> tuple[str | None, dict[str, str]]:
    for pattern, key in PATTERNS:
        match = pattern.search(detail)
        if match:
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            if "choices" in values:
                values["choices"] = ", ".join(c.strip(" '\"") for c in values["choices"].split(","))
            return key, values
    return None, {}


def mrz_field_name(field: str, t: Translate) -> str:
    """An MRZ field's name (`date of birth`) in the page's language."""
    key = "mrz.field." + field.replace(" ", "_")
    text = t(key)
    return field if text == key else text


def request_errors(exc: RequestInvalid, fields: Iterable[str], t: Translate) -> dict[str, Shown]:
    """A request model's refusals (pydantic: `loc` names the field) as form field -> Shown;
    one naming no field of the form goes on the form (`_form`)."""
    known = set(fields)
    out: dict[str, Shown] = {}
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()) if not isinstance(part, int))
        detail = f"{loc}: {error.get('msg', '')}"
        kind = str(error.get("type", ""))
        limit = (error.get("ctx") or {}).get("max_length")
        if kind == "missing":
            message = Shown(t("err.required"), detail)
        elif kind == "string_too_long" and limit is not None:
            message = Shown(t("err.too_long", n=limit), detail)
        else:
            message = said(["SchemaError"], detail, t)
        out.setdefault(loc if loc in known else "_form", message)
    return out
