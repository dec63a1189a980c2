"""The web pages: sign-in and out, border checks, person search, records, publishing.

Every page names the least role it needs, and `page(needed)` checks it with the
API's own `admit` (same users, same audit line). Every POST must carry the
session's CSRF token. Answers carry a Content-Security-Policy that allows no
inline script or style, and are never cached. Pages call the same node service
and helpers as the API's routes; nothing here logs a value a user typed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from noticenet.crypto.errors import NoticenetError
from noticenet.node import logs
from noticenet.node.api.common import (
    admit,
    get_users,
    hits,
    readable,
    record_view,
    require_ccf_node,
    status_for,
)
from noticenet.node.api.records import cancel_entry, parse_record
from noticenet.node.api.users import Forbidden, Unauthenticated, User
from noticenet.node.service import NodeService
from noticenet.node.web import forms
from noticenet.node.web.errors import shown
from noticenet.node.web.i18n import CATALOGUES, DIRECTION, choose, translator
from noticenet.node.web.sessions import COOKIE, Session, Sessions, csrf_ok
from noticenet.protocol.errors import NotFound, SchemaError
from noticenet.protocol.identifiers.normalise import normalise_country

logger = logging.getLogger("noticenet.web")
HERE = Path(__file__).parent
LANG_COOKIE = "nn_lang"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
MINE_KINDS = ("sltd", "notice.red", "vehicle", "firearm")

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["action_keys"] = frozenset(k for k in CATALOGUES["en"] if k.startswith("action."))
DOCUMENT_STATUSES = ("stolen", "lost", "revoked", "invalid", "stolen-blank")


def _statuses(t: Callable[..., str]) -> list[tuple[str, str]]:
    return [(s, t("status." + s)) for s in DOCUMENT_STATUSES]


templates.globals["statuses"] = _statuses
templates.globals["state_keys"] = frozenset(k for k in CATALOGUES["en"] if k.startswith("state."))
# (least role, where: any node / the CCF's only / members' only, address, message key) of
# every page in the menu. The CCF's node issues no records, so it shows no publishing.
NAV = (
    ("border", "any", "/ui/border", "nav.border"),
    ("officer", "any", "/ui/search", "nav.search"),
    ("issuer", "member", "/ui/publish/sltd", "nav.publish_sltd"),
    ("issuer", "member", "/ui/publish/red", "nav.publish_red"),
    ("issuer", "member", "/ui/publish/diffusion", "nav.publish_diffusion"),
    ("issuer", "member", "/ui/import", "nav.import"),
    ("issuer", "member", "/ui/mine", "nav.mine"),
    ("admin", "ccf", "/ui/ccf/subject-access", "nav.ccf_subject"),
    ("admin", "ccf", "/ui/ccf/proposals", "nav.ccf_proposals"),
    ("admin", "ccf", "/ui/ccf/held", "nav.ccf_held"),
    ("admin", "ccf", "/ui/ccf/revocations", "nav.ccf_revocations"),
    ("admin", "any", "/ui/admin/users", "nav.users"),
    ("admin", "any", "/ui/admin/network", "nav.network"),
)


def nav_links(user: User | None, ccf_node: bool) -> list[tuple[str, str]]:
    """The menu a user sees: the pages its role opens (the pages check again themselves)."""
    if user is None:
        return []
    shown = ("any", "ccf" if ccf_node else "member")
    return [(href, key) for role, where, href, key in NAV if user.allows(role) and where in shown]


templates.globals["nav_links"] = nav_links
templates.globals["pairs"] = lambda values: [(v, v) for v in values]
templates.globals["actions_t"] = lambda actions, t: [(a, t("action.ccf." + a)) for a in actions]
templates.globals["roles_t"] = lambda roles, t: [(r, t("role." + r)) for r in roles]


class WebDenied(Exception):
    """A page refused: `reason` is signin (no or ended session), forbidden, or csrf."""

    def __init__(self, reason: str, ctx: Ctx, needed: str = "") -> None:
        super().__init__(reason)
        self.reason, self.ctx, self.needed = reason, ctx, needed


@dataclass
class Ctx:
    """One page request: its session, user, language and (on POST) form."""

    request: Request
    session: Session | None
    lang: str
    user: User | None = None
    form: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def service(self) -> NodeService:
        service: NodeService = self.request.app.state.service
        return service

    @property
    def sessions(self) -> Sessions:
        sessions: Sessions = self.request.app.state.web_sessions
        return sessions


def page(needed: str | None) -> Callable[[Request], Awaitable[Ctx]]:
    """A dependency: the page's context once its role (if any) and CSRF token are checked."""

    async def dep(request: Request) -> Ctx:
        sessions: Sessions = request.app.state.web_sessions
        session = sessions.get(request.cookies.get(COOKIE))
        lang = choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language", ""))
        ctx = Ctx(request, session, lang)
        if needed is not None:
            ctx.user = _signed_in_user(ctx)
            try:
                admit(request, ctx.user, needed)
            except Forbidden:
                raise WebDenied("forbidden", ctx, needed) from None
        if request.method == "POST":
            body, kind = await request.body(), request.headers.get("content-type", "")
            if kind.startswith("multipart/form-data"):
                ctx.multi, ctx.files = forms.parse_multipart(kind, body)
            else:
                ctx.multi = forms.parse_multi(body)
            ctx.form = {name: values[-1] for name, values in ctx.multi.items()}
            if not csrf_ok(session, ctx.form.get("csrf", "")):
                logs.event(logger, "web.csrf_refused", path=_template(request))
                raise WebDenied("csrf", ctx)
        return ctx

    return dep


Anyone = Annotated[Ctx, Depends(page(None))]
BorderPage = Annotated[Ctx, Depends(page("border"))]
OfficerPage = Annotated[Ctx, Depends(page("officer"))]
IssuerPage = Annotated[Ctx, Depends(page("issuer"))]
AdminPage = Annotated[Ctx, Depends(page("admin"))]


def _signed_in_user(ctx: Ctx) -> User:
    """The session's user, checked against the users' table now (WebDenied otherwise)."""
    session = ctx.session
    if session is None or session.token is None:
        raise WebDenied("signin", ctx)
    try:
        return get_users(ctx.request).authenticate(session.token)
    except Unauthenticated:
        ctx.sessions.end(session)
        raise WebDenied("signin", ctx) from None


def _template(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", "?"))


def render(ctx: Ctx, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page from its template, with the security headers and the session cookie."""
    if ctx.session is None:
        ctx.session = ctx.sessions.new()
    html = templates.get_template(name).render(
        t=translator(ctx.lang),
        lang=ctx.lang,
        dir=DIRECTION.get(ctx.lang, "ltr"),
        languages={code: cat["lang.name"] for code, cat in CATALOGUES.items()},
        user=ctx.user,
        member=ctx.service.config.member,
        ccf_node=is_ccf_node(ctx.service),
        here=ctx.request.url.path,
        csrf=ctx.session.csrf,
        flash=_take_flash(ctx.session),
        **values,
    )
    response = HTMLResponse(html, status, headers=SECURITY_HEADERS)
    _set_cookie(ctx, response, ctx.session)
    return response


def is_ccf_node(service: NodeService) -> bool:
    """Whether this node is the commission's own (its pages for the CCF are shown)."""
    try:
        require_ccf_node(service)
    except Forbidden:
        return False
    return True


def _take_flash(session: Session) -> list[str]:
    messages, session.flash = session.flash, []
    return messages


def _set_cookie(ctx: Ctx, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.sid,
        httponly=True,
        samesite="strict",
        secure=_over_tls(ctx.request),
        path="/",
    )


def _over_tls(request: Request) -> bool:
    """Whether the browser reached the node over TLS: directly, or through a proxy that says
    so (a cookie marked Secure by mistake only stops being sent over plain HTTP)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def redirect(ctx: Ctx, to: str, flash: str = "") -> RedirectResponse:
    """A 303 to `to`, carrying a one-time message."""
    if ctx.session is not None and flash:
        ctx.session.flash.append(flash)
    response = RedirectResponse(to, 303, headers=SECURITY_HEADERS)
    if ctx.session is not None:
        _set_cookie(ctx, response, ctx.session)
    return response


# -- sign-in and out -----------------------------------------------------------------


@router.get("/")
async def root(ctx: Anyone) -> Response:
    return redirect(ctx, "/ui/")


@router.get("/ui/signin")
async def signin_form(ctx: Anyone) -> Response:
    return render(ctx, "signin.html")


@router.post("/ui/signin")
async def signin(ctx: Anyone) -> Response:
    token = ctx.form.get("token", "").strip()
    try:
        user = get_users(ctx.request).authenticate(token) if token else None
    except Unauthenticated:
        user = None
    if user is None or ctx.session is None:
        logs.event(logger, "web.signin_refused")
        return render(ctx, "signin.html", 401, error=translator(ctx.lang)("signin.bad"))
    ctx.session = ctx.sessions.sign_in(ctx.session, token)
    logs.event(logger, "web.signin", user=user.name, role=user.role)
    return redirect(ctx, "/ui/")


@router.post("/ui/signout")
async def signout(ctx: Anyone) -> Response:
    if ctx.session is not None:
        ctx.sessions.end(ctx.session)
        logs.event(logger, "web.signout")
    ctx.session = ctx.sessions.new()
    return redirect(ctx, "/ui/signin", translator(ctx.lang)("signout.done"))


@router.get("/ui/lang/{code}")
async def language(code: str, ctx: Anyone) -> Response:
    """Remember a language choice, then go home."""
    response = redirect(ctx, "/ui/")
    if code in CATALOGUES:
        response.set_cookie(LANG_COOKIE, code, samesite="strict", path="/")
    return response


@router.get("/ui/")
async def home(ctx: BorderPage) -> Response:
    return render(ctx, "home.html")


@router.get("/ui/static/{name}")
async def static(name: str) -> Response:
    """The pages' own CSS and JS (no CDN, no build step)."""
    path = HERE / "static" / name
    kind = STATIC_TYPES.get(path.suffix)
    if kind is None or "/" in name or not path.is_file():
        return Response("not found", 404, media_type="text/plain")
    headers = {"x-content-type-options": "nosniff", "cache-control": "max-age=3600"}
    return Response(path.read_bytes(), media_type=kind, headers=headers)


# -- border ------------------------------------------------------------------------


@router.get("/ui/border")
async def border(ctx: BorderPage) -> Response:
    return render(ctx, "border.html")


@router.post("/ui/border")
async def border_check(ctx: BorderPage) -> Response:
    """One check, named by the form's `check` field: mrz, document, vehicle or firearm."""
    check, form, ledger = ctx.form.get("check", ""), ctx.form, ctx.service.ledger
    # The page's script asks for the answer alone and puts it in place (no new page).
    page_name = "border_answer.html" if ctx.request.headers.get("x-fragment") else "border.html"
    try:
        if check == "mrz":
            lines = [line.strip() for line in form.get("mrz", "").splitlines() if line.strip()]
            if not 2 <= len(lines) <= 3:
                raise SchemaError("an MRZ has 2 (TD2, TD3) or 3 (TD1) lines")
            ids = ledger.find_mrz(lines)
        elif check == "document":
            country = normalise_country(form.get("country", "").strip())
            ids = ledger.find_document(country, form.get("number", "").strip())
        elif check == "vehicle":
            ids = ledger.find_vin(form.get("vin", "").strip())
        elif check == "firearm":
            ids = ledger.find_firearm(form.get("make", "").strip(), form.get("serial", "").strip())
        else:
            return render(ctx, page_name, 422, form=form)
    except NoticenetError as exc:  # an MRZError names the field at fault
        error = shown(exc, translator(ctx.lang))
        return render(ctx, page_name, 422, form=form, check=check, error=error)
    answer = hits(ctx.service, ids)
    return render(ctx, page_name, form=form, check=check, answer=answer)


# -- bureau: search, read ------------------------------------------------------------


@router.get("/ui/search")
async def search_form(ctx: OfficerPage) -> Response:
    return render(ctx, "search.html")


@router.post("/ui/search")
async def search(ctx: OfficerPage) -> Response:
    form = ctx.form
    name = form.get("name", "").strip()[:200]
    if not name:
        return render(ctx, "search.html", 422, form=form, errors={"name": "error.field"})
    found = ctx.service.ledger.find_person(
        name, form.get("forename", "").strip()[:200], form.get("date_of_birth", "").strip()[:10]
    )
    return render(ctx, "search.html", form=form, results=readable(ctx.service, found))


@router.get("/ui/records/{entry_id}")
async def record(entry_id: str, ctx: OfficerPage) -> Response:
    try:
        eid = bytes.fromhex(entry_id)
        view = record_view(ctx.service, eid)
    except (ValueError, NoticenetError):
        held = own_held(ctx.service, entry_id)
        if held is not None:  # its author is told it is held (the body stays hidden)
            return render(ctx, "record.html", view=None, held=held)
        return render(ctx, "record.html", 404, view=None)
    return render(ctx, "record.html", view=view)


def own_held(service: NodeService, entry_id: str) -> dict[str, Any] | None:
    """The header facts of one of this member's entries held for the CCF's review, else None.

    Only its author is told: for everyone else a held entry does not exist (as in the API,
    whose `/records` answers 404 everywhere; `/status` says 'held' to any officer).
    """
    try:
        eid = bytes.fromhex(entry_id)
    except ValueError:
        return None
    ledger = service.ledger
    entry = ledger.entry(eid, with_body=False) if ledger.is_held(eid) else None
    if entry is None or entry.header.author != service.config.member:
        return None
    h = entry.header
    return {"id": entry_id, "kind": h.kind, "author": h.author, "issued_at": h.issued_at}


# -- bureau: publish, mine, cancel ----------------------------------------------------


@router.get("/ui/publish/sltd")
async def publish_sltd_form(ctx: IssuerPage) -> Response:
    return render(ctx, "publish_sltd.html", form={"document_type": "P", "status": "stolen"})


@router.post("/ui/publish/sltd")
async def publish_sltd(ctx: IssuerPage) -> Response:
    record_map = forms.sltd_record(ctx.form)
    return _publish(ctx, "sltd", record_map, forms.SLTD_FIELDS, "publish_sltd.html", {})


@router.get("/ui/publish/red")
async def publish_red_form(ctx: IssuerPage) -> Response:
    return render(ctx, "publish_red.html", form={"subject.sex": "U"})


@router.post("/ui/publish/red")
async def publish_red(ctx: IssuerPage) -> Response:
    record_map = forms.red_record(ctx.form)
    return _publish(
        ctx, "notice.red", record_map, forms.RED_FIELDS, "publish_red.html", forms.RED_RENAMES
    )


def _publish(
    ctx: Ctx,
    kind: str,
    record_map: dict[str, Any],
    fields: Sequence[str],
    template: str,
    renames: dict[str, str],
) -> Response:
    """Publish as the API does; a refusal goes back to the form beside its field."""
    try:
        entry = ctx.service.publish(kind, parse_record(kind, record_map))
    except NoticenetError as exc:
        where = forms.field_of(str(exc), kind, fields, renames)
        logs.event(logger, "web.publish_refused", kind=kind, error=type(exc).__name__, field=where)
        errors = {where: shown(exc, translator(ctx.lang))}
        return render(ctx, template, status_for(exc), form=ctx.form, errors=errors)
    return published(ctx, kind, entry.id, "publish")


def published(ctx: Ctx, kind: str, eid: bytes, step: str, **facts: str) -> Response:
    """After a publish (`step` publish) or an update (`edit`): the new record's page, or,
    if a similar re-entry guard holds it for the CCF's review, its status page saying so."""
    held = ctx.service.ledger.is_held(eid)
    event = "web.published" if step == "publish" else "web.updated"
    state = "held" if held else "live"
    logs.event(logger, event, logging.INFO, kind=kind, id=eid.hex(), state=state, **facts)
    t, short = translator(ctx.lang), eid.hex()[:16]
    if held:
        return redirect(ctx, f"/ui/records/{eid.hex()}/status", t(f"{step}.held", id=short))
    return redirect(ctx, f"/ui/records/{eid.hex()}", t(f"{step}.done", id=short))


@router.get("/ui/mine")
async def mine(ctx: IssuerPage) -> Response:
    return render(ctx, "mine.html", records=my_records(ctx.service), held=my_held(ctx.service))


def my_held(service: NodeService) -> list[dict[str, Any]]:
    """This member's entries held for the CCF's review, newest first."""
    ids = (eid.hex() for eid in service.ledger.held_ids())
    views = [v for v in (own_held(service, eid) for eid in ids) if v is not None]
    return sorted(views, key=lambda v: v["issued_at"], reverse=True)


def my_records(service: NodeService) -> list[dict[str, Any]]:
    """This member's newest live records of the kinds the pages publish."""
    me, ledger = service.config.member, service.ledger
    views: list[dict[str, Any]] = []
    for kind in MINE_KINDS:
        ids = [eid for eid in ledger.recent(kind, 200) if ledger.tombstone(eid) is None]
        views += [v for v in readable(service, ids) if v["author"] == me]
    return sorted(views, key=lambda v: v["issued_at"], reverse=True)


@router.post("/ui/records/{entry_id}/cancel")
async def cancel(entry_id: str, ctx: IssuerPage) -> Response:
    t = translator(ctx.lang)
    try:
        eid = bytes.fromhex(entry_id)
        cancel_entry(ctx.service, eid, ctx.form.get("reason", "").strip()[:512])
    except (ValueError, NotFound):
        return render(ctx, "record.html", 404, view=None)
    except NoticenetError as exc:
        return redirect(ctx, "/ui/mine", t("error.publish", detail=shown(exc, t).text))
    logs.event(logger, "web.cancelled", id=entry_id)
    return redirect(ctx, "/ui/mine", t("mine.cancelled", id=entry_id[:16]))


# -- wiring ---------------------------------------------------------------------------


async def denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebDenied)
    ctx = exc.ctx
    if exc.reason == "signin":
        to = "/ui/signin"
        flash = translator(ctx.lang)("signin.expired") if ctx.session else ""
        return redirect(ctx, to, flash if request.cookies.get(COOKIE) else "")
    if exc.reason == "forbidden":
        role = ctx.user.role if ctx.user else ""
        return render(ctx, "denied.html", 403, kind="forbidden", role=role, needed=exc.needed)
    return render(ctx, "denied.html", 403, kind="csrf")
