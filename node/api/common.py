"""What every part of the HTTP API shares: roles, the audit log, errors, record views.

Routes take the node service and the caller through FastAPI dependencies:
`Svc` (the `NodeService` in `app.state`) and one of `Border`, `Officer`,
`Issuer`, `Admin` (the least role the route needs). The role check writes
the audit line `event=api.request user=... role=... method=... path=...`
with the route's path *template*, so no name or number a caller sends
reaches the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from noticenet.crypto.errors import NotARecipient, NoticenetError
from noticenet.node import logs
from noticenet.node.api.users import Forbidden, Unauthenticated, User, Users
from noticenet.node.errors import NotReady
from noticenet.node.service import NodeService, StaleEntry
from noticenet.protocol.errors import (
    CodecError,
    MRZError,
    NotFound,
    ReentryBlocked,
    SchemaError,
    UnknownAuthor,
    ValidationError,
)
from noticenet.protocol.records.kinds import parse_body
from noticenet.protocol.records.records import Update
from noticenet.protocol.records.schema import to_json

audit = logging.getLogger("noticenet.audit")
MAX_LIMIT = 500


class Conflict(NoticenetError):
    """The request clashes with the entry's state (already withdrawn, blocked...)."""


class NotCCFNode(Forbidden):
    """A commission-only request sent to a node that is not the CCF's."""


def status_for(exc: NoticenetError) -> int:
    """The HTTP status of a typed error."""
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound | NotARecipient):
        return 404
    if isinstance(exc, NotReady):
        return 503
    if isinstance(exc, ReentryBlocked | Conflict | StaleEntry):
        return 409
    if isinstance(exc, SchemaError | CodecError | ValidationError | UnknownAuthor):
        return 422
    return 400


def error_body(exc: NoticenetError) -> dict[str, Any]:
    """`{"error": type, "detail": message}`, plus the failing field of an MRZ check."""
    body: dict[str, Any] = {"error": type(exc).__name__, "detail": str(exc)}
    field = getattr(exc, "field", None)
    if isinstance(exc, MRZError) and isinstance(field, str):
        body["field"] = field
    return body


class StrictRequest(BaseModel):
    """A request body: a field the route does not know is a 422, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


# -- dependencies ----------------------------------------------------------------


async def get_service(request: Request) -> NodeService:
    service: NodeService = request.app.state.service
    return service


def get_users(request: Request) -> Users:
    users: Users = request.app.state.users
    return users


def _template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "?"))


def require(needed: str) -> Callable[..., Awaitable[User]]:
    """A dependency admitting users whose role is at least `needed`; audits the request.

    Dependencies are `async def` so FastAPI runs them on the node's event loop, not
    in worker threads (which would contend for the GIL with the node itself).
    """

    async def check(request: Request) -> User:
        path, method = _template(request), request.method
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            logs.event(audit, "api.refused", reason="no-token", method=method, path=path)
            raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
        try:
            user = get_users(request).authenticate(token.strip())
        except Unauthenticated:
            logs.event(audit, "api.refused", reason="unknown-token", method=method, path=path)
            raise
        return admit(request, user, needed)

    return check


def admit(request: Request, user: User, needed: str) -> User:
    """`user` if its role is at least `needed` (Forbidden otherwise); writes the audit line.

    The one role check of the node: the API's bearer tokens and the web pages' sessions
    both end here.
    """
    path, method = _template(request), request.method
    if not user.allows(needed):
        logs.event(
            audit,
            "api.refused",
            reason="role",
            user=user.name,
            role=user.role,
            method=method,
            path=path,
        )
        raise Forbidden(f"role {user.role} may not do this (needs {needed})")
    logs.event(audit, "api.request", user=user.name, role=user.role, method=method, path=path)
    return user


Svc = Annotated[NodeService, Depends(get_service)]
Border = Annotated[User, Depends(require("border"))]
Officer = Annotated[User, Depends(require("officer"))]
Issuer = Annotated[User, Depends(require("issuer"))]
Admin = Annotated[User, Depends(require("admin"))]


def require_ccf_node(service: NodeService) -> None:
    """Refuse unless this node is the commission's own."""
    roster = service.ledger.roster
    me = roster.member(service.config.member) if roster else None
    if me is None or me.role != "ccf":
        raise NotCCFNode("only the CCF's own node answers commission requests")


# -- record views ------------------------------------------------------------------


def parse_entry_id(text: str) -> bytes:
    """An entry id from 64 hex digits (SchemaError otherwise)."""
    try:
        eid = bytes.fromhex(text)
    except ValueError:
        raise SchemaError("an entry id is 64 hex digits") from None
    if len(eid) != 32:
        raise SchemaError("an entry id is 64 hex digits")
    return eid


def record_view(service: NodeService, eid: bytes) -> dict[str, Any]:
    """An entry's header facts and its decrypted record (NotFound if hidden or gone)."""
    entry, record = service.ledger.read_entry(eid)
    h = entry.header
    view = {
        "id": eid.hex(),
        "author": h.author,
        "seq": h.seq,
        "kind": h.kind,
        "issued_at": h.issued_at,
        "expires_at": h.expires_at,
        "record": to_json(record),
    }
    return unwrap_update(view, record)


def unwrap_update(view: dict[str, Any], record: Any) -> dict[str, Any]:
    """An update is shown as the record it carries, with the id it replaces."""
    if isinstance(record, Update):
        view.update(kind=str(record.record["kind"]), replaces=record.target.hex())
        view["record"] = to_json(parse_body(view["kind"], record.record["record"]))
    return view


def readable(service: NodeService, ids: Iterable[bytes]) -> list[dict[str, Any]]:
    """Views of the entries among `ids` this node can show (hidden and foreign ones left out)."""
    out = []
    for eid in ids:
        try:
            out.append(record_view(service, eid))
        except (NotFound, NotARecipient):
            continue
    return out


def hits(service: NodeService, ids: Iterable[bytes]) -> dict[str, Any]:
    """A border-check answer: hit or no hit, with the records."""
    records = readable(service, ids)
    return {"hit": bool(records), "records": records}


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))
