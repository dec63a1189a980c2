"""Records: publish, read, cancel and update one's own, recent by kind, status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from noticenet.node.api.common import (
    Conflict,
    Issuer,
    Officer,
    StrictRequest,
    Svc,
    clamp,
    parse_entry_id,
    readable,
    record_view,
)
from noticenet.node.api.record_schemas import any_record
from noticenet.node.api.users import Forbidden
from noticenet.node.service import NodeService
from noticenet.protocol.ccf.receipts import purge_status
from noticenet.protocol.errors import NotFound, SchemaError
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.records import Cancellation, Update
from noticenet.protocol.records.schema import from_map, to_map

router = APIRouter(tags=["records"])


class PublishRequest(StrictRequest):
    record: dict[str, Any] = Field(description="the record (JSON; bytes as hex)",
                                   json_schema_extra=any_record())
    recipients: list[str] = Field(default=[], description="diffusions only: member ids")


class CancelRequest(StrictRequest):
    reason: str = Field(default="", max_length=512)


class UpdateRequest(StrictRequest):
    record: dict[str, Any] = Field(description="the new record, of the same kind",
                                   json_schema_extra=any_record())


class NotYourEntry(Forbidden):
    """Only an entry's author may cancel or update it."""


def parse_record(kind: str, data: Any) -> Any:
    """A record of `kind` from JSON (SchemaError if it does not fit)."""
    if kind not in RECORD_KINDS:
        raise SchemaError(f"cannot publish kind {kind!r}; one of {sorted(RECORD_KINDS)}")
    return from_map(spec(kind).schema, data, kind, hexed=True)


@router.post(
    "/records/{kind}",
    status_code=201,
    summary="Publish a record as this member (202 with state 'held' if a similar guard holds it)",
)
async def publish(
    kind: Annotated[str, Path(json_schema_extra={"enum": sorted(RECORD_KINDS)})],
    req: PublishRequest, service: Svc, user: Issuer, response: Response,
) -> dict[str, Any]:
    record = parse_record(kind, req.record)
    entry = service.publish(kind, record, tuple(req.recipients))
    out = {"id": entry.id.hex(), "seq": entry.header.seq, "kind": kind}
    return out | held_answer(service, entry.id, response)


def held_answer(service: NodeService, eid: bytes, response: Response) -> dict[str, Any]:
    """The state of an entry just published: 'held' (HTTP 202: stored, hidden from every
    answer until the CCF releases or revokes it) or 'live'."""
    if service.ledger.is_held(eid):
        response.status_code = 202
        return {"state": "held"}
    return {"state": "live"}


@router.get("/records/{entry_id}", summary="One record (never a blocked or revoked one)")
async def read(entry_id: str, service: Svc, user: Officer) -> dict[str, Any]:
    return record_view(service, parse_entry_id(entry_id))


def own_live_entry(service: NodeService, eid: bytes) -> tuple[str, Any]:
    """(record kind, entry) of one of this member's entries that still holds its body."""
    entry = service.ledger.entry(eid, with_body=False)
    if entry is None:
        raise NotFound("no such entry")
    if entry.header.author != service.config.member:
        raise NotYourEntry(f"entry is by {entry.header.author}; only its author may change it")
    if service.ledger.hidden(eid):
        raise Conflict("the CCF has blocked or revoked this entry")
    if service.ledger.tombstone(eid) is not None:
        raise Conflict("this entry was already withdrawn, replaced or purged")
    kind = entry.header.kind
    if kind == "update":
        kind = str(service.ledger.read(eid).record["kind"])
    if kind not in RECORD_KINDS:
        raise SchemaError(f"a {kind} entry cannot be cancelled or updated")
    return kind, entry


@router.post("/records/{entry_id}/cancel", status_code=201, summary="Cancel one's own entry")
async def cancel(entry_id: str, req: CancelRequest, service: Svc, user: Issuer) -> dict[str, Any]:
    entry = cancel_entry(service, parse_entry_id(entry_id), req.reason)
    return {"id": entry.id.hex(), "cancels": entry_id}


def cancel_entry(service: NodeService, eid: bytes, reason: str) -> Entry:
    """Withdraw one of this member's live entries (the API's and the web pages' one path)."""
    own_live_entry(service, eid)
    return service.publish("cancel", Cancellation(target=eid, reason=reason))


@router.put("/records/{entry_id}", status_code=201, summary="Replace one's own entry")
async def update(
    entry_id: str, req: UpdateRequest, service: Svc, user: Issuer, response: Response
) -> dict[str, Any]:
    kind, entry = update_entry(service, parse_entry_id(entry_id), req.record)
    out = {"id": entry.id.hex(), "replaces": entry_id, "kind": kind}
    return out | held_answer(service, entry.id, response)


def update_entry(service: NodeService, eid: bytes, data: Any) -> tuple[str, Entry]:
    """Replace one of this member's live entries with `data` (JSON) of the same kind."""
    kind, _ = own_live_entry(service, eid)
    if spec(kind).keying != "broadcast":
        raise SchemaError(f"a {kind} cannot be updated; cancel it and send a new one")
    record = parse_record(kind, data)
    entry = service.publish(
        "update", Update(target=eid, record={"kind": kind, "record": to_map(record)})
    )
    return kind, entry


@router.get("/recent/{kind}", summary="The latest readable records of a kind")
async def recent(
    kind: str, service: Svc, user: Officer, limit: int = Query(default=50, ge=1, le=500)
) -> dict[str, Any]:
    if kind not in RECORD_KINDS and kind != "update":
        raise SchemaError(f"kind must be one of {sorted(RECORD_KINDS)}")
    records = readable(service, service.ledger.recent(kind, clamp(limit)))
    return {"kind": kind, "records": records}


@router.get(
    "/status/{entry_id}", summary="Whether an entry is live, held, blocked, revoked or purged"
)
async def status(entry_id: str, service: Svc, user: Officer) -> dict[str, Any]:
    eid = parse_entry_id(entry_id)
    return entry_status(service, eid)


def entry_status(service: NodeService, eid: bytes) -> dict[str, Any]:
    """The lifecycle of one entry on this node, with purge receipts for a revocation."""
    ledger = service.ledger
    entry = ledger.entry(eid, with_body=True)
    ccf, tomb = ledger.ccf_status(eid), ledger.tombstone(eid)
    out: dict[str, Any] = {"id": eid.hex(), "known": entry is not None}
    if entry is not None:
        h = entry.header
        out.update(author=h.author, seq=h.seq, kind=h.kind, issued_at=h.issued_at)
    out["state"] = _state(
        entry is not None, entry is not None and entry.body is not None, ccf, tomb
    )
    if out["state"] in ("live", "header-only") and ledger.is_held(eid):
        out["state"] = "held"
    out["ccf"] = None if ccf is None else {"state": ccf["state"], "by": bytes(ccf["by"]).hex()}
    out["tombstone"] = None if tomb is None else _tombstone(tomb)
    action = None
    if ccf is not None and ccf["state"] == "revoked":
        action = bytes(ccf["by"])
    elif entry is not None and entry.header.kind == "revoke":
        action = eid
    if action is not None:
        purged, outstanding = purge_status(ledger, action)
        out["purge"] = {"action": action.hex(), "purged": purged, "outstanding": outstanding}
    return out


TOMBSTONE_STATES = {"cancelled": "withdrawn", "updated": "replaced"}


def _tombstone(tomb: dict[str, Any]) -> dict[str, Any]:
    by = bytes(tomb.get("by", b""))
    return {"reason": tomb.get("reason"), "at": tomb.get("at"), "by": by.hex()}


def _state(known: bool, body: bool, ccf: dict[str, Any] | None, tomb: dict[str, Any] | None) -> str:
    """live, header-only, unknown, blocked, revoked, or why the body went."""
    if ccf is not None:
        return str(ccf["state"])
    if tomb is not None:
        reason = str(tomb.get("reason"))
        return TOMBSTONE_STATES.get(reason, reason)
    if not known:
        return "unknown"
    return "live" if body else "header-only"
