"""Operations: health, frontier, peers, metrics, users, and raw entries made elsewhere."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field

from noticenet.crypto.errors import NoticenetError
from noticenet.node.api.common import Admin, Conflict, Officer, StrictRequest, Svc, get_users
from noticenet.node.api.metrics import replication_lag
from noticenet.node.api.users import ROLES, AuthError
from noticenet.node.service import NodeService
from noticenet.protocol.errors import NotFound, SchemaError
from noticenet.protocol.ledger.ledger import IngestResult
from noticenet.protocol.records.entry import decode_entry

router = APIRouter(tags=["operations"])


class EntriesRequest(StrictRequest):
    entries: list[str] = Field(
        description="wire entries (canonical CBOR) in hex", max_length=10_000
    )


class NewUser(StrictRequest):
    name: str = Field(min_length=1, max_length=64)
    role: str = Field(description=f"one of {', '.join(ROLES)}")


@router.get("/health", summary="Liveness and neighbours (no token needed)")
async def health(service: Svc) -> dict[str, Any]:
    return {
        "status": "ok",
        "member": service.config.member,
        "peer_id": service.peer_id,
        "neighbours": list(service.config.neighbours),
        "connected": service.connected(),
        "linked": service.linked(),
        "own_feed": own_feed_view(service),
        "sessions": sessions_view(service),
    }


def own_feed_view(service: NodeService) -> dict[str, Any]:
    """Whether the node publishes, and what its peers said of its own feed."""
    status = service.own_feed_status()
    return {
        "ready": status.ready,
        "reason": status.reason,
        "local": status.local,
        "peers": status.peers,
        "heard": status.heard,
        "restored": status.restored,
    }


def sessions_view(service: NodeService) -> dict[str, Any]:
    """Replication sessions since the start: opened, reopened, closed by kind, bans."""
    st = service.stats
    now = time.time()
    return {
        "opened": st.opened,
        "reopened": st.reopened,
        "closed": dict(st.closed),
        "paused": st.paused,
        "open_failures": st.open_failures,
        "bans": st.bans,
        "banned": {m: round(t - now, 1) for m, t in sorted(st.banned.items()) if t > now},
    }


@router.get("/frontier", summary="The latest sequence number held per feed")
async def frontier(service: Svc, user: Officer) -> dict[str, Any]:
    return {a: {"seq": s, "id": i.hex()} for a, (s, i) in service.ledger.frontier().items()}


@router.get(
    "/frontier/findable",
    summary="Per feed, the sequence number up to which every entry held is opened and indexed",
)
async def findable(service: Svc, user: Officer) -> dict[str, int]:
    """Entries past it are stored and relayed but not opened yet: not found yet."""
    return service.ledger.findable()


@router.get("/peers", summary="Connected neighbours and replication counters")
async def peers(service: Svc, user: Admin) -> dict[str, Any]:
    lag = replication_lag(service)
    sessions = {
        peer: {
            "hello": s.hello,
            "credit": s.credit,
            "subscribed_feeds": len(s.cursors),
            "announced_feeds": len(s.frontier),
            "lag_entries": lag.get(peer, 0),
        }
        for peer, s in sorted(service.replicator.sessions.items())
    }
    c = service.replicator.counters
    return {
        "member": service.config.member,
        "neighbours": list(service.config.neighbours),
        "connected": service.connected(),
        "sessions": sessions,
        "sources": dict(sorted(service.replicator.source.items())),
        "counters": {
            "entries_sent": c.entries_sent,
            "entries_received": c.entries_received,
            "duplicates": c.duplicates,
            "frames_sent": c.frames_sent,
            "bytes_sent": c.bytes_sent,
            "bytes_received": c.bytes_received,
            "refused": dict(c.refused),
        },
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request, user: Admin) -> PlainTextResponse:
    text = await request.app.state.metrics.render()
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.post(
    "/entries", status_code=202, summary="Entries made elsewhere (a CCF ceremony's output)"
)
async def accept(req: EntriesRequest, service: Svc, user: Admin) -> dict[str, Any]:
    entries = []
    for i, text in enumerate(req.entries):
        try:
            entries.append(decode_entry(bytes.fromhex(text)))
        except ValueError:
            raise SchemaError(f"entries[{i}] is not hex") from None
    return {"results": [_result(r) for r in service.accept(entries)]}


def _result(result: object) -> dict[str, Any]:
    if isinstance(result, IngestResult):
        return {
            "id": result.id.hex(),
            "author": result.author,
            "seq": result.seq,
            "outcome": result.outcome.value,
            "reason": result.reason,
        }
    error = result if isinstance(result, NoticenetError) else NoticenetError(str(result))
    return {"outcome": "refused", "error": type(error).__name__, "detail": str(error)}


@router.get("/users", summary="API users of this node")
async def users_list(request: Request, user: Admin) -> list[dict[str, str]]:
    return [{"name": u.name, "role": u.role} for u in get_users(request).list()]


@router.post("/users", status_code=201, summary="Create an API user (the token is shown once)")
async def users_add(req: NewUser, request: Request, user: Admin) -> dict[str, str]:
    if req.role not in ROLES:
        raise SchemaError(f"role must be one of {list(ROLES)}")
    try:
        token = get_users(request).add(req.name, req.role)
    except AuthError as exc:
        raise Conflict(str(exc)) from None
    return {"name": req.name, "role": req.role, "token": token}


@router.delete("/users/{name}", summary="Revoke an API user's token")
async def users_revoke(name: str, request: Request, user: Admin) -> dict[str, Any]:
    if not get_users(request).revoke(name):
        raise NotFound("no such user")
    return {"name": name, "revoked": True}
