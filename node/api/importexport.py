"""Import and export for national systems: JSON Lines, CSV, and public red notice JSON.

Pure conversions first (text <-> JSON records of a kind), then the glue a
node runs: `import_records` publishes rows idempotently and reports every
refused row with its reason; `export_views` walks a kind's readable records
(never a blocked or revoked one).

CSV columns follow the kind's schema: nested records flatten with dots
(`subject.name`), lists of words join with `;` (`subject.nationalities`),
lists of records and maps are JSON in their cell (`arrest_warrants`), bytes
are hex. An export's `id`, `author`, `issued_at` columns are ignored on import.

Idempotence: each published row leaves `j/<keyed hash of kind, recipients and
record>` in the node's store, written in the same batch as the entry; a row
whose hash is there is reported as a duplicate and not published again.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import types
import typing
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import trio

from noticenet.crypto.errors import NotARecipient, NoticenetError
from noticenet.crypto.hashing import blake2b256
from noticenet.node.errors import NotReady
from noticenet.protocol.errors import NotFound, SchemaError, StoreError
from noticenet.protocol.identifiers.normalise import normalise_date
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.schema import from_map, to_map
from noticenet.protocol.store.keyspace import key
from noticenet.protocol.store.kvstore import KVStore

if typing.TYPE_CHECKING:
    from noticenet.node.service import NodeService

FORMATS = ("jsonl", "csv", "rednotice")
META_COLUMNS = ("id", "author", "issued_at")
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Row:
    """One input row: its number (1-based line or record), the record, or why it is unusable."""

    number: int
    record: dict[str, Any] | None
    error: str = ""


# -- CSV columns from the schema ---------------------------------------------------


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field holds (directly or as Optional), else None."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _dataclass_in(args[0])
    return None


def _leaves(cls: type, prefix: str = "") -> list[tuple[str, Any]]:
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(cls):
        inner = _dataclass_in(hints[f.name])
        if inner is not None:
            out += _leaves(inner, f"{prefix}{f.name}.")
        else:
            out.append((prefix + f.name, hints[f.name]))
    return out


def columns(kind: str) -> list[str]:
    """The CSV columns of a record kind, in schema order."""
    return [name for name, _ in _leaves(_schema(kind))]


def _schema(kind: str) -> type:
    if kind not in RECORD_KINDS:
        raise SchemaError(f"kind must be one of {sorted(RECORD_KINDS)}")
    return spec(kind).schema


def _is_word_list(hint: Any) -> bool:
    return typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is str


def _base(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return hint


def _cell(hint: Any, value: Any) -> str:
    if value is None:
        return ""
    if _is_word_list(hint):
        return LIST_SEPARATOR.join(value)
    base = _base(hint)
    if base is int or base is str or typing.get_origin(base) is typing.Literal:
        return str(value)
    if base is bytes:
        return str(value)  # already hex in a JSON record
    return "" if not value else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _uncell(column: str, hint: Any, text: str) -> Any:
    if _is_word_list(hint):
        return [w.strip() for w in text.split(LIST_SEPARATOR) if w.strip()]
    base = _base(hint)
    if base is int:
        try:
            return int(text)
        except ValueError:
            raise SchemaError(f"column {column}: not a whole number") from None
    if base in (str, bytes) or typing.get_origin(base) is typing.Literal:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise SchemaError(f"column {column}: not valid JSON") from None


def record_to_row(kind: str, record: dict[str, Any]) -> dict[str, str]:
    """A JSON record (as the API returns it) as one CSV row."""
    row = {}
    for name, hint in _leaves(_schema(kind)):
        value: Any = record
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        row[name] = _cell(hint, value)
    return row


def row_to_record(kind: str, row: dict[str, str]) -> dict[str, Any]:
    """One CSV row as a JSON record; empty cells are left out (schema defaults apply)."""
    leaves = dict(_leaves(_schema(kind)))
    unknown = set(row) - set(leaves) - set(META_COLUMNS)
    if unknown:
        raise SchemaError(f"unknown columns {sorted(unknown)}")
    record: dict[str, Any] = {}
    for name, hint in leaves.items():
        text = (row.get(name) or "").strip()
        if not text:
            continue
        target = record
        *parents, last = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = _uncell(name, hint, text)
    return record


# -- reading input -------------------------------------------------------------------


def read_jsonl(text: str) -> list[Row]:
    """JSON Lines: each line a record, or an exported view `{"record": {...}, ...}`."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(Row(number, None, f"not JSON: {exc.msg}"))
            continue
        if isinstance(doc, dict) and isinstance(doc.get("record"), dict):
            doc = doc["record"]
        if not isinstance(doc, dict):
            rows.append(Row(number, None, "a line is a JSON object"))
            continue
        rows.append(Row(number, doc))
    return rows


def read_csv(kind: str, text: str) -> list[Row]:
    """CSV with a header row of `columns(kind)` (any subset, any order)."""
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for number, raw in enumerate(reader, 2):
        try:
            rows.append(Row(number, row_to_record(kind, {k: v for k, v in raw.items() if k})))
        except SchemaError as exc:
            rows.append(Row(number, None, str(exc)))
    return rows


def read_rows(kind: str, fmt: str, text: str) -> list[Row]:
    """Rows of `text` in format `fmt` (jsonl, csv or rednotice)."""
    if fmt == "jsonl":
        return read_jsonl(text)
    if fmt == "csv":
        return read_csv(kind, text)
    if fmt == "rednotice":
        if not kind.startswith("notice."):
            raise SchemaError("red notice JSON imports as a notice kind (notice.red)")
        return read_red_notices(text)
    raise SchemaError(f"format must be one of {list(FORMATS)}")


# -- the public red notice format ----------------------------------------------------------

_ISO2 = (
    "AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AO AGO AQ ATA AR ARG AS ASM AT AUT AU AUS "
    "AW ABW AX ALA AZ AZE BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI BJ BEN BL BLM "
    "BM BMU BN BRN BO BOL BQ BES BR BRA BS BHS BT BTN BV BVT BW BWA BY BLR BZ BLZ CA CAN CC CCK "
    "CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM CMR CN CHN CO COL CR CRI CU CUB CV CPV "
    "CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA DO DOM DZ DZA EC ECU EE EST EG EGY "
    "EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK FM FSM FO FRO FR FRA GA GAB GB GBR GD GRD "
    "GE GEO GF GUF GG GGY GH GHA GI GIB GL GRL GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS GT GTM "
    "GU GUM GW GNB GY GUY HK HKG HM HMD HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR IM IMN "
    "IN IND IO IOT IQ IRQ IR IRN IS ISL IT ITA JE JEY JM JAM JO JOR JP JPN KE KEN KG KGZ KH KHM "
    "KI KIR KM COM KN KNA KP PRK KR KOR KW KWT KY CYM KZ KAZ LA LAO LB LBN LC LCA LI LIE LK LKA "
    "LR LBR LS LSO LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME MNE MF MAF MG MDG MH MHL "
    "MK MKD ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV MW MWI "
    "MX MEX MY MYS MZ MOZ NA NAM NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL NR NRU "
    "NU NIU NZ NZL OM OMN PA PAN PE PER PF PYF PG PNG PH PHL PK PAK PL POL PM SPM PN PCN PR PRI "
    "PS PSE PT PRT PW PLW PY PRY QA QAT RE REU RO ROU RS SRB RU RUS RW RWA SA SAU SB SLB SC SYC "
    "SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK SVK SL SLE SM SMR SN SEN SO SOM SR SUR SS SSD "
    "ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF TG TGO TH THA TJ TJK TK TKL TL TLS "
    "TM TKM TN TUN TO TON TR TUR TT TTO TV TUV TW TWN TZ TZA UA UKR UG UGA UM UMI US USA UY URY "
    "UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR VN VNM VU VUT WF WLF WS WSM YE YEM YT MYT ZA ZAF "
    "ZM ZMB ZW ZWE XK XKX"
).split()
ALPHA3 = dict(zip(_ISO2[::2], _ISO2[1::2], strict=True))
"""ISO 3166-1 alpha-2 -> alpha-3 (and Kosovo's user-assigned XK -> XKX)."""


def country3(code: Any, what: str) -> str:
    """An alpha-3 code from the alpha-2 codes the public notice format uses (alpha-3 passes)."""
    text = str(code or "").strip().upper()
    if len(text) == 3 and text.isalpha():
        return text
    if text in ALPHA3:
        return ALPHA3[text]
    raise SchemaError(f"{what}: unknown country code {text!r}")


def red_notice_to_record(doc: dict[str, Any]) -> dict[str, Any]:
    """A notice record from one notice in the public red notice JSON format."""
    if not isinstance(doc, dict):
        raise SchemaError("a red notice is a JSON object")
    subject: dict[str, Any] = {"name": str(doc.get("name") or "").strip()}
    if doc.get("forename"):
        subject["forename"] = str(doc["forename"]).strip()
    if doc.get("date_of_birth"):
        subject["date_of_birth"] = normalise_date(str(doc["date_of_birth"]))
    subject["nationalities"] = [
        country3(c, "nationalities") for c in doc.get("nationalities") or []
    ]
    subject["sex"] = doc.get("sex_id") if doc.get("sex_id") in ("M", "F") else "U"
    for ours, theirs in (
        ("place_of_birth", "place_of_birth"),
        ("distinguishing_marks", "distinguishing_marks"),
    ):
        if doc.get(theirs):
            subject[ours] = str(doc[theirs]).strip()
    if doc.get("country_of_birth_id"):
        subject["country_of_birth"] = country3(doc["country_of_birth_id"], "country_of_birth_id")
    if doc.get("height"):
        subject["height"] = _centimetres(doc["height"])
    if doc.get("weight"):
        subject["weight"] = _whole(doc["weight"], "weight")
    subject["languages"] = [str(x).upper() for x in doc.get("languages_spoken_ids") or []]
    warrants = [
        {
            "charge": str(w.get("charge") or "").strip(),
            "issuing_country": country3(w.get("issuing_country_id"), "issuing_country_id"),
        }
        for w in doc.get("arrest_warrants") or []
        if isinstance(w, dict)
    ]
    record: dict[str, Any] = {"subject": subject, "arrest_warrants": warrants}
    if doc.get("entity_id"):
        record["reference"] = str(doc["entity_id"])
    return record


def _centimetres(value: Any) -> int:
    """Height: the public format gives metres (1.78); centimetres pass through."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SchemaError("height: not a number") from None
    return round(number * 100) if number < 3 else round(number)


def _whole(value: Any, what: str) -> int:
    try:
        return round(float(value))
    except (TypeError, ValueError):
        raise SchemaError(f"{what}: not a number") from None


def read_red_notices(text: str) -> list[Row]:
    """Notices from a JSON array, one notice, a search page (`_embedded.notices`), or lines."""
    try:
        doc: Any = json.loads(text)
        docs = _notice_list(doc)
    except json.JSONDecodeError:
        docs = None
    if docs is None:
        return [
            _red_row(number, line)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    rows = []
    for number, item in enumerate(docs, 1):
        try:
            rows.append(Row(number, red_notice_to_record(item)))
        except SchemaError as exc:
            rows.append(Row(number, None, str(exc)))
    return rows


def _notice_list(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("_embedded"), dict):
        notices = doc["_embedded"].get("notices")
        if isinstance(notices, list):
            return notices
    return [doc]


def _red_row(number: int, line: str) -> Row:
    try:
        return Row(number, red_notice_to_record(json.loads(line)))
    except json.JSONDecodeError as exc:
        return Row(number, None, f"not JSON: {exc.msg}")
    except SchemaError as exc:
        return Row(number, None, str(exc))


# -- writing output --------------------------------------------------------------------


def write_jsonl(views: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Lines of an export: `{"id", "author", "kind", "issued_at", "record"}` each."""
    for view in views:
        yield json.dumps(view, ensure_ascii=False, sort_keys=True) + "\n"


def write_csv(kind: str, views: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text of an export: the meta columns, then `columns(kind)`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, [*META_COLUMNS, *columns(kind)], lineterminator="\n")
    writer.writeheader()
    for view in views:
        row = record_to_row(kind, view["record"])
        writer.writerow({**{c: view.get(c, "") for c in META_COLUMNS}, **row})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# -- on the node -------------------------------------------------------------------------


def content_hash(index_key: bytes, kind: str, record: Any, recipients: tuple[str, ...]) -> bytes:
    """A keyed hash of what an imported row publishes (no identifier in clear on disk)."""
    data = encode([kind, sorted(recipients), to_map(record)])
    return blake2b256(data, person=b"nn-import", key=index_key)


async def import_records(
    service: NodeService, kind: str, rows: list[Any], recipients: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Publish each row unless already imported; one result per row, refusals with reasons.

    Each row is one synced write; the loop yields between rows so border checks
    are answered while a large import runs.
    """
    _schema(kind)
    service.require_publishable()  # 503 for the whole import, before any row
    results = []
    for i, data in enumerate(rows):
        results.append(_import_one(service, kind, i, data, recipients))
        await trio.sleep(0)
    return results


def _import_one(
    service: NodeService, kind: str, index: int, data: Any, recipients: tuple[str, ...]
) -> dict[str, Any]:
    from noticenet.node.api.common import status_for

    try:
        record: Any = from_map(spec(kind).schema, data, kind, hexed=True)
        marker = key(b"j", content_hash(service.keys.index_key, kind, record, recipients))
        if service.ledger.store.get(marker) is not None:
            return {"row": index, "status": "duplicate"}
        entry = service.publish(kind, record, recipients, extra={marker: b"\x01"})
    except NotReady:
        raise  # the node stopped publishing mid-import: 503; re-importing is idempotent
    except NoticenetError as exc:
        return {
            "row": index,
            "status": "refused",
            "code": status_for(exc),
            "error": type(exc).__name__,
            "detail": str(exc),
        }
    status = "held" if service.ledger.is_held(entry.id) else "published"
    return {"row": index, "status": status, "id": entry.id.hex()}


EXPORT_PAGE = 500  # index keys read at once, with no await while the store iterator is open


def _page(store: KVStore, prefix: bytes, after: bytes | None) -> list[bytes]:
    """Up to EXPORT_PAGE keys under `prefix` after `after`, read in one go: a purge's
    compaction reopens the store and closes open iterators, so none stays open across
    an await."""
    for attempt in range(3):
        found = store.iterate(prefix, start=None if after is None else after + b"\x00")
        try:
            return [k for k, _ in itertools.islice(found, EXPORT_PAGE)]
        except StoreError:
            if attempt == 2:
                raise
        finally:
            close = getattr(found, "close", None)
            if close is not None:
                close()
    return []


async def _ids_in_pages(store: KVStore, prefix: bytes) -> AsyncIterator[bytes]:
    """The entry ids of an index prefix in key order, a page at a time."""
    after: bytes | None = None
    while True:
        keys = _page(store, prefix, after)
        for k in keys:
            yield k[-32:]
        if len(keys) < EXPORT_PAGE:
            return
        after = keys[-1]
        await trio.sleep(0)


async def export_views(
    service: NodeService, kind: str, author: str = ""
) -> AsyncIterator[dict[str, Any]]:
    """Every readable record of `kind` (oldest first), never a blocked or revoked one."""
    from noticenet.node.api.common import record_view

    _schema(kind)
    ledger = service.ledger
    prefix = key(b"k", kind.encode()) + b"/"
    async for eid in _ids_in_pages(ledger.store, prefix):
        if ledger.hidden(eid):
            continue
        try:
            view = record_view(service, eid)
        except (NotFound, NotARecipient):
            continue
        if author and view["author"] != author:
            continue
        yield view
