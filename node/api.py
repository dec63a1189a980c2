"""The node's HTTP API (FastAPI, served by hypercorn's trio worker in the node's trio run).

Every route names the least role it needs (see `users.ROLES`); answers never
contain a body the CCF has blocked or revoked. Errors from bad input come
back as 4xx with a one-line reason; the audit log records who asked what,
never record plaintext.
"""


import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from noticenet.crypto.errors import NotARecipient, NoticenetError
from noticenet.protocol.entry import decode_entry
from noticenet.protocol.errors import (
    NotFound,
    ReentryBlocked,
    SchemaError,
    UnknownAuthor,
    ValidationError,
)
from noticenet.protocol.kinds import KINDS, RECORD_KINDS, spec
from noticenet.protocol.schema import from_map, to_json

from . import logs
from .service import NodeService
from .users import AuthError, User, Users

audit = logging.getLogger("noticenet.audit")


def _status(exc: NoticenetError) -> int:
    if isinstance(exc, AuthError):
        return 401 if "token" in str(exc) else 403
    if isinstance(exc, NotFound | NotARecipient):
        return 404
    if isinstance(exc, ReentryBlocked):
        return 409
    if isinstance(exc, SchemaError | ValidationError | UnknownAuthor):
        return 422
    return 400


def create_app(service: NodeService, users: Users) -> FastAPI:
    """The API of one node."""
    app = FastAPI(title="noticenet node", version="1", summary=f"member {service.config.member}")

    @app.exception_handler(NoticenetError)
    async def _typed_error(request: Request, exc: NoticenetError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, _status(exc))

    def role(needed: str) -> Callable[..., User]:
        def check(request: Request, authorization: Annotated[str, Header()] = "") -> User:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise AuthError("missing bearer token")
            user = users.authenticate(token)
            if not user.allows(needed):
                raise AuthError(f"role {user.role} may not do this (needs {needed})")
            logs.event(
                audit,
                "api.request",
                user=user.name,
                role=user.role,
                method=request.method,
                path=request.url.path,
            )
            return user

        return check

    Border = Annotated[User, Depends(role("border"))]
    Officer = Annotated[User, Depends(role("officer"))]
    Issuer = Annotated[User, Depends(role("issuer"))]
    Admin = Annotated[User, Depends(role("admin"))]
    Doc = Annotated[dict[str, Any], Body()]

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "member": service.config.member,
            "peer_id": service.peer_id,
            "connected": service.connected(),
        }

    @app.get("/frontier")
    async def frontier(user: Officer) -> dict[str, Any]:
        return {a: {"seq": s, "id": i.hex()} for a, (s, i) in service.ledger.frontier().items()}

    @app.post("/records/{kind}", status_code=201)
    async def publish(
        kind: str,
        doc: Doc,
        user: Issuer,
    ) -> dict[str, Any]:
        if kind not in RECORD_KINDS:
            raise SchemaError(f"cannot publish kind {kind!r}; one of {sorted(RECORD_KINDS)}")
        record = from_map(spec(kind).schema, doc.get("record"), kind, hexed=True)
        recipients = tuple(str(r) for r in doc.get("recipients", ()))
        entry = service.publish(kind, record, recipients)
        return {"id": entry.id.hex(), "seq": entry.header.seq, "kind": kind}

    @app.get("/records/{entry_id}")
    async def read(entry_id: str, user: Officer) -> dict[str, Any]:
        eid = _entry_id(entry_id)
        entry = service.ledger.entry(eid, with_body=False)
        if entry is None:
            raise NotFound("no such entry")
        record = service.ledger.read(eid)
        return {
            "id": entry_id,
            "author": entry.header.author,
            "seq": entry.header.seq,
            "kind": entry.header.kind,
            "issued_at": entry.header.issued_at,
            "record": to_json(record),
        }

    @app.get("/check/document")
    async def check_document(country: str, number: str, user: Border) -> dict[str, Any]:
        return _hits(service, service.ledger.find_document(country, number))

    @app.post("/entries", status_code=202)
    async def accept(doc: Doc, user: Admin) -> dict[str, Any]:
        """Raw wire entries (hex) made elsewhere, e.g. a CCF ceremony's output."""
        entries = [decode_entry(bytes.fromhex(str(w))) for w in doc.get("entries", [])]
        results = service.accept(entries)
        return {
            "results": [
                getattr(r, "outcome", None)
                and r.outcome.value  # type: ignore[attr-defined]
                or f"refused: {type(r).__name__}: {r}"
                for r in results
            ]
        }

    assert KINDS
    return app


def _entry_id(text: str) -> bytes:
    try:
        eid = bytes.fromhex(text)
    except ValueError:
        raise SchemaError("entry id is 64 hex digits") from None
    if len(eid) != 32:
        raise SchemaError("entry id is 64 hex digits")
    return eid


def _hits(service: NodeService, ids: list[bytes]) -> dict[str, Any]:
    records = []
    for eid in ids:
        entry = service.ledger.entry(eid, with_body=False)
        assert entry is not None
        records.append(
            {
                "id": eid.hex(),
                "author": entry.header.author,
                "kind": entry.header.kind,
                "record": to_json(service.ledger.read(eid)),
            }
        )
    return {"hit": bool(records), "records": records}


async def serve_api(app: FastAPI, bind: str, task_status: Any) -> None:
    """Serve `app` with hypercorn's trio worker until cancelled."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = logging.getLogger("noticenet.api.server")
    await serve(app, config, task_status=task_status)  # type: ignore[arg-type]
