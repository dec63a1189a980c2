"""Commission requests, answered only by the CCF's own node and only to its admins.

- `POST /ccf/propose`: the proposal file for the next CCF action (the feed's
  head read off the running node, the targets' guard tags computed from the
  decrypted records), to be signed offline with `noticenet ccf commit|sign|
  aggregate` and published with `POST /entries`.
- `POST /ccf/subject-access`: every record held about one person, for the
  case file of a data-subject request. Nothing is published; the audit log
  names the route, never the person.
- `GET /ccf/held`: the review queue: entries a similar guard holds (stored,
  hidden everywhere) with the guard each met and the revocation behind it, for
  the CCF to release (`action release`) or revoke.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from noticenet.crypto.errors import NoticenetError
from noticenet.node.api.common import (
    Admin,
    StrictRequest,
    Svc,
    parse_entry_id,
    require_ccf_node,
    unwrap_update,
)
from noticenet.node.service import NodeService
from noticenet.protocol.ccf import actions, ceremony
from noticenet.protocol.ccf.review import Revocation, review_queue
from noticenet.protocol.errors import SchemaError
from noticenet.protocol.identifiers.normalise import (
    name_key,
    normalise_country,
    normalise_date,
    normalise_document_number,
    person_key,
)
from noticenet.protocol.index.indexes import lookup
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.records.schema import to_json
from noticenet.protocol.store.keyspace import key

router = APIRouter(prefix="/ccf", tags=["commission"])


class ProposeRequest(StrictRequest):
    action: str = Field(description="block, revoke, unblock, readmit or release")
    targets: list[str] = Field(default=[], description="entry ids (hex)")
    reason: str = Field(description="article-2, article-3, inaccurate, ...")
    decision: str = Field(description="the commission's case reference")
    guards: list[str] = Field(default=[], description="extra guard tags (hex)")
    admit: str | None = Field(default=None, description="readmit only: the admitted entry id")


class SubjectAccessRequest(StrictRequest):
    name: str = Field(default="", max_length=200)
    forename: str = Field(default="", max_length=200)
    date_of_birth: str = Field(default="", max_length=10)
    country: str = Field(default="", max_length=3, description="document issuing country")
    number: str = Field(default="", max_length=40, description="document number")


@router.post("/propose", summary="Proposal for the next CCF action (CCF node, admin)")
async def propose(req: ProposeRequest, service: Svc, user: Admin) -> dict[str, Any]:
    require_ccf_node(service)
    ledger = service.ledger
    targets = tuple(parse_entry_id(t) for t in req.targets)
    record = actions.action_for(
        ledger,
        req.action,
        targets,
        req.reason,
        req.decision,
        {_hex32(g, "guard tag") for g in req.guards},
        None if req.admit is None else parse_entry_id(req.admit),
    )
    roster = ledger.roster
    assert roster is not None
    group = roster.block if req.action == "block" else roster.revoke
    feed = ceremony.feed_for(req.action)
    head = ledger.head(feed)
    proposal = ceremony.propose(head, service.clock(), record, group)
    return {
        "proposal": proposal.to_bytes().hex(),
        "digest": proposal.digest.hex(),
        "feed": feed,
        "seq": proposal.seq,
        "head": None if head is None else {"seq": head[0], "id": head[1].hex()},
        "guards": [t.hex() for t in record.guards],
        "similar": [t.hex() for t in record.similar or ()],
        "describe": proposal.describe(),
    }


def _hex32(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise SchemaError(f"a {what} is 64 hex digits")
    return value


@router.post("/subject-access", summary="Every record held about a person (CCF node, admin)")
async def subject_access(req: SubjectAccessRequest, service: Svc, user: Admin) -> dict[str, Any]:
    require_ccf_node(service)
    if not req.name.strip() and not (req.country and req.number):
        raise SchemaError(
            "give a name (with forename and date of birth if known), "
            "or a document's country and number"
        )
    ledger = service.ledger
    ids = set()
    if req.name.strip():
        ids |= person_candidates(ledger, req.name, req.forename, req.date_of_birth)
    if req.country and req.number:
        ids |= _raw(
            ledger,
            "document",
            normalise_country(req.country),
            normalise_document_number(req.number),
        )
    records = [r for r in (_held_record(service, eid) for eid in sorted(ids)) if r is not None]
    if req.date_of_birth:
        records = [r for r in records if _birth_compatible(r["record"], req.date_of_birth)]
    return {
        "request": "subject-access",
        "node": service.config.member,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "criteria": req.model_dump(exclude_defaults=True),
        "count": len(records),
        "records": records,
    }


def person_candidates(ledger: Ledger, name: str, forename: str, dob: str) -> set[bytes]:
    """Entry ids indexed under the person: exact key + birth date, full name, every name token."""
    ids: set[bytes] = set()
    full = person_key(forename, name)
    if dob:
        ids |= _raw(ledger, "person", full, normalise_date(dob))
    ids |= _raw(ledger, "name", full)
    tokens = name_key(f"{forename} {name}").split()
    if tokens:
        ids |= set.intersection(*(_raw(ledger, "name", t) for t in tokens))
    return ids


def _raw(ledger: Ledger, index: str, *parts: str) -> set[bytes]:
    """Index lookup including blocked entries (the commission reviews those too)."""
    found = lookup(ledger.store, ledger.index_key, index, parts)
    return {eid for eid in found if ledger.store.get(key(b"b", eid)) is not None}


def _held_record(service: NodeService, eid: bytes) -> dict[str, Any] | None:
    """A held record even while blocked: the case file shows what is held, flagged.

    (`Ledger.read` refuses blocked bodies, which is right for every other answer.)
    """
    ledger = service.ledger
    try:
        entry, record = ledger.read_held(eid)
    except NoticenetError:
        return None
    status = ledger.ccf_status(eid)
    h = entry.header
    view = {
        "id": eid.hex(),
        "author": h.author,
        "kind": h.kind,
        "issued_at": h.issued_at,
        "ccf_status": None if status is None else status["state"],
        "record": to_json(record),
    }
    return unwrap_update(view, record)


def _birth_compatible(record: dict[str, Any], dob: str) -> bool:
    """Keep records with no birth date, or one that agrees with the request's."""
    subject = record.get("subject") or {}
    theirs = str(subject.get("date_of_birth", ""))
    if not theirs:
        return True
    mine = normalise_date(dob)
    return theirs.startswith(mine) or mine.startswith(theirs)


@router.get(
    "/held", summary="Entries held by a similar guard, for the CCF to decide (CCF node, admin)"
)
async def held(service: Svc, user: Admin) -> dict[str, Any]:
    require_ccf_node(service)
    queue = review_queue(service.ledger)
    revocations: dict[str, Any] = {}
    entries = []
    for item in queue:
        guards = []
        for tag, revs in item.guards:
            guards.append({"tag": tag.hex(), "revocations": [r.id.hex() for r in revs]})
            revocations.update((r.id.hex(), _revocation_view(r)) for r in revs)
        view = _held_record(service, item.id) or {"id": item.id.hex(), "record": None}
        view.update(author=item.author, seq=item.seq, kind=item.kind, guards=guards)
        entries.append(view)
    return {"count": len(entries), "held": entries, "revocations": revocations}


def _revocation_view(r: Revocation) -> dict[str, Any]:
    return {
        "reason": r.reason,
        "decision": r.decision,
        "targets": [t.hex() for t in r.targets],
    }
