"""An admin's pages: the node's users and roles, and the network as `/peers` and `/metrics`
count it (neighbours, their lag, refusals by reason).

Users are added and revoked through the API's own routes; a new token is shown once.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError

from noticenet.crypto.errors import NoticenetError
from noticenet.node import logs
from noticenet.node.api import ops
from noticenet.node.api.metrics import refusal_rows
from noticenet.node.api.users import ROLES
from noticenet.node.web.errors import request_errors, shown
from noticenet.node.web.i18n import translator
from noticenet.node.web.pages import AdminPage, Ctx, logger, redirect, render

router = APIRouter(include_in_schema=False)
USER_FIELDS = ("name", "role")


def _users_page(ctx: Ctx, status: int = 200, **values: object) -> Response:
    users = [{"name": u.name, "role": u.role} for u in ctx.request.app.state.users.list()]
    values.setdefault("form", {"role": "officer"})
    return render(ctx, "admin_users.html", status, users=users, roles=ROLES, **values)


@router.get("/ui/admin/users")
async def users(ctx: AdminPage) -> Response:
    return _users_page(ctx)


@router.post("/ui/admin/users")
async def add_user(ctx: AdminPage) -> Response:
    try:
        req = ops.NewUser(name=ctx.form.get("name", "").strip(), role=ctx.form.get("role", ""))
        made = await ops.users_add(req, ctx.request, ctx.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = request_errors(exc, USER_FIELDS, translator(ctx.lang))
        return _users_page(ctx, 422, form=ctx.form, errors=errors)
    except NoticenetError as exc:
        where = "role" if "role" in str(exc) else "name"
        errors = {where: shown(exc, translator(ctx.lang))}
        return _users_page(ctx, 422, form=ctx.form, errors=errors)
    logs.event(logger, "web.user_added", user=made["name"], role=made["role"])
    return _users_page(ctx, 201, made=made)


@router.post("/ui/admin/users/{name}/revoke")
async def revoke_user(name: str, ctx: AdminPage) -> Response:
    t = translator(ctx.lang)
    try:
        await ops.users_revoke(name, ctx.request, ctx.user)  # type: ignore[arg-type]
    except NoticenetError as exc:
        return redirect(ctx, "/ui/admin/users", shown(exc, t).text)
    logs.event(logger, "web.user_revoked", user=name)
    return redirect(ctx, "/ui/admin/users", t("users.revoked", name=name))


@router.get("/ui/admin/network")
async def network(ctx: AdminPage) -> Response:
    service = ctx.service
    peers = await ops.peers(service, ctx.user)  # type: ignore[arg-type]
    ledger, counters = service.ledger, service.replicator.counters
    refusals = [
        {"source": labels["source"], "reason": labels["reason"], "count": n}
        for labels, n in refusal_rows(ledger.stats.refusals, counters.refused)
    ]
    health = ops.own_feed_view(service)
    return render(
        ctx,
        "admin_network.html",
        peers=peers,
        refusals=refusals,
        own_feed=health,
        sessions=ops.sessions_view(service),
    )
