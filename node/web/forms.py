"""Forms: reading urlencoded bodies, building records from them, and placing the API's
422 messages beside the field that caused them.

A SchemaError's message names the field it is about, as a dotted path with the
kind in front (`notice.red.subject.sex: must be one of ...`), a bare name
(`place_of_birth is longer than 200 characters`), or a parent with the missing
field (`notice.red.subject: missing field 'name'`). `field_of` turns each into
the name of the form field that holds it; a message naming none stays on the form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

FORM_ERROR = "_form"
_PATH = re.compile(r"^([A-Za-z_][\w.]*)")
_MISSING = re.compile(r"missing field '(\w+)'")
# Words some messages use for a field whose name differs (`nationality 'QQ' is not...`).
ALIASES = {"nationality": "nationalities", "country": "issuing_country"}
# Messages that name no path but one field's subject.
KEYWORDS = {"recipient": "recipients"}


def parse_form(body: bytes) -> dict[str, str]:
    """An urlencoded body as name -> value (the last value of a repeated name)."""
    return {name: values[-1] for name, values in parse_multi(body).items()}


def parse_multi(body: bytes) -> dict[str, list[str]]:
    """An urlencoded body as name -> every value (checkbox groups)."""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, list[str]], dict[str, list[bytes]]]:
    """A multipart/form-data body (file uploads): (text fields, files), every value of each.

    Parsed with the standard library's MIME parser: no extra package for a few uploads.
    """
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, list[str]] = {}
    files: dict[str, list[bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if part.get_filename() is not None:
            if data:
                files.setdefault(name, []).append(data)
        else:
            fields.setdefault(name, []).append(data.decode("utf-8", errors="replace"))
    return fields, files


def field_of(
    message: str, kind: str, fields: Sequence[str], renames: dict[str, str] | None = None
) -> str:
    """The form field a SchemaError `message` is about, or FORM_ERROR.

    `renames` maps a record path to the form field holding it when their names differ.
    """
    match = _PATH.match(message)
    if match is None:
        return FORM_ERROR
    path = match.group(1)
    for prefix in (kind + ".", kind):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    path = re.sub(r"\.\d+(?=\.|$)", "", path)  # list positions: arrest_warrants.0.charge
    path = (renames or {}).get(path, path)
    if path in fields:
        return path
    last = path.rsplit(".", 1)[-1]
    last = ALIASES.get(last, last)
    for name in fields:
        if name == last or name.endswith("." + last):
            return name
    for word, name in KEYWORDS.items():  # `a diffusion names at least one recipient`
        if word in message and name in fields:
            return name
    return FORM_ERROR


def words(text: str) -> list[str]:
    """A list field typed as words separated by spaces or commas."""
    return [w for w in re.split(r"[\s,;]+", text.strip()) if w]


def drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    """A record map without its empty optional fields (the schema fills defaults)."""
    return {k: v for k, v in data.items() if v not in ("", [], None)}


SLTD_FIELDS = (
    "document_number",
    "document_type",
    "issuing_country",
    "status",
    "holder_name",
    "holder_forename",
    "holder_date_of_birth",
)
RED_RENAMES = {"arrest_warrants.issuing_country": "warrant_country"}
RED_FIELDS = (
    "subject.name",
    "subject.forename",
    "subject.date_of_birth",
    "subject.sex",
    "subject.nationalities",
    "subject.place_of_birth",
    "subject.distinguishing_marks",
    "charge",
    "warrant_country",
    "summary",
)


def sltd_record(form: dict[str, str]) -> dict[str, Any]:
    """An SLTD record map from its form."""
    return drop_empty({name: form.get(name, "").strip() for name in SLTD_FIELDS})


def red_record(form: dict[str, str]) -> dict[str, Any]:
    """A red notice map from its form (one arrest warrant)."""
    subject: dict[str, Any] = {
        name.split(".", 1)[1]: form.get(name, "").strip()
        for name in RED_FIELDS
        if name.startswith("subject.")
    }
    subject["nationalities"] = words(subject.get("nationalities", ""))
    record: dict[str, Any] = {
        "subject": drop_empty(subject),
        "summary": form.get("summary", "").strip(),
    }
    charge, country = form.get("charge", "").strip(), form.get("warrant_country", "").strip()
    if charge or country:
        record["arrest_warrants"] = [{"charge": charge, "issuing_country": country}]
    return drop_empty(record)


DIFFUSION_FIELDS = (
    "purpose",
    "recipients",
    "subject.name",
    "subject.forename",
    "subject.date_of_birth",
    "summary",
)


def diffusion_record(form: dict[str, str], recipients: Sequence[str]) -> dict[str, Any]:
    """A diffusion map from its form and the members picked."""
    subject = {
        name.split(".", 1)[1]: form.get(name, "").strip()
        for name in DIFFUSION_FIELDS
        if name.startswith("subject.")
    }
    record: dict[str, Any] = {
        "purpose": form.get("purpose", "").strip(),
        "recipients": list(recipients),
        "subject": drop_empty(subject),
        "summary": form.get("summary", "").strip(),
    }
    return drop_empty(record)


def record_form(kind: str, record: dict[str, Any]) -> dict[str, str]:
    """The form fields of a record (JSON), for its update page."""
    if kind == "sltd":
        return {name: str(record.get(name, "")) for name in SLTD_FIELDS}
    subject = record.get("subject") or {}
    form = {
        name: str(subject.get(name.split(".", 1)[1], ""))
        for name in RED_FIELDS
        if name.startswith("subject.")
    }
    form["subject.nationalities"] = " ".join(subject.get("nationalities", []))
    warrants = record.get("arrest_warrants") or [{}]
    form["charge"] = str(warrants[0].get("charge", ""))
    form["warrant_country"] = str(warrants[0].get("issuing_country", ""))
    form["summary"] = str(record.get("summary", ""))
    return form


def updated_record(kind: str, old: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The record an update form describes, keeping what the form does not show.

    The fields on the form replace the old ones (an emptied field is dropped); other
    fields of the old record (a red notice's reference, its further warrants...) stay.
    """
    if kind == "sltd":
        shown = set(SLTD_FIELDS)
        return {**{k: v for k, v in old.items() if k not in shown}, **sltd_record(form)}
    new = red_record(form)
    subject_shown = {n.split(".", 1)[1] for n in RED_FIELDS if n.startswith("subject.")}
    old_subject = {k: v for k, v in (old.get("subject") or {}).items() if k not in subject_shown}
    merged = {k: v for k, v in old.items() if k not in ("subject", "summary", "arrest_warrants")}
    merged.update(new)
    merged["subject"] = {**old_subject, **new.get("subject", {})}
    warrants = list(old.get("arrest_warrants") or [])[1:]
    merged["arrest_warrants"] = list(new.get("arrest_warrants", [])) + warrants
    return drop_empty(merged)
