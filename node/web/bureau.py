"""A bureau's further pages: diffusions to chosen members, updating one's records, a
record's status with its purge receipts node by node, and imports with a progress bar.

Each page calls what the API's route calls (`parse_record`, `update_entry`,
`entry_status`, `import_records`), so a refusal is the API's, placed beside its field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from noticenet.crypto.errors import NoticenetError
from noticenet.node import logs
from noticenet.node.api.common import record_view
from noticenet.node.api.importexport import FORMATS, Row, import_records, read_rows
from noticenet.node.api.records import entry_status, parse_record, update_entry
from noticenet.node.service import NodeService
from noticenet.node.web import forms
from noticenet.node.web.errors import said, shown
from noticenet.node.web.i18n import translator
from noticenet.node.web.pages import (
    SECURITY_HEADERS,
    Ctx,
    IssuerPage,
    OfficerPage,
    logger,
    published,
    redirect,
    render,
)
from noticenet.protocol.records.kinds import RECORD_KINDS

router = APIRouter(include_in_schema=False)
EDITABLE = {"sltd": "publish_sltd.html", "notice.red": "publish_red.html"}
IMPORT_KINDS = sorted(k for k in RECORD_KINDS if k != "diffusion")
IMPORT_STEP = 100  # rows published per step of an import (one request each)
MAX_ROWS = 50_000  # rows of one imported file (kept in memory while it runs)
MAX_IMPORTS = 32  # import jobs kept in memory per node


# -- diffusions --------------------------------------------------------------------------


def member_choices(service: NodeService) -> list[tuple[str, str]]:
    """(id, name) of the roster's members and partners a diffusion may go to."""
    roster, me = service.ledger.roster, service.config.member
    if roster is None:
        return []
    return [
        (m.id, m.name)
        for m in roster.members
        if m.role in ("member", "partner") and m.id != me
    ]


@router.get("/ui/publish/diffusion")
async def diffusion_form(ctx: IssuerPage) -> Response:
    return render(ctx, "publish_diffusion.html", members=member_choices(ctx.service), picked=[])


@router.post("/ui/publish/diffusion")
async def diffusion(ctx: IssuerPage) -> Response:
    picked = [m for m in ctx.multi.get("recipients", []) if m]
    record_map = forms.diffusion_record(ctx.form, picked)
    try:
        record = parse_record("diffusion", record_map)
        entry = ctx.service.publish("diffusion", record, tuple(picked))
    except NoticenetError as exc:
        where = forms.field_of(str(exc), "diffusion", forms.DIFFUSION_FIELDS)
        logs.event(logger, "web.publish_refused", kind="diffusion", error=type(exc).__name__,
                   field=where)
        return render(
            ctx,
            "publish_diffusion.html",
            422,
            form=ctx.form,
            errors={where: shown(exc, translator(ctx.lang))},
            members=member_choices(ctx.service),
            picked=picked,
        )
    return published(ctx, "diffusion", entry.id, "publish")


# -- update one's own record -----------------------------------------------------------


def _editable(ctx: Ctx, entry_id: str) -> dict[str, Any] | None:
    """The view of one of this member's records the pages can edit, else None."""
    try:
        view = record_view(ctx.service, bytes.fromhex(entry_id))
    except (ValueError, NoticenetError):
        return None
    if view["author"] != ctx.service.config.member or view["kind"] not in EDITABLE:
        return None
    return view


@router.get("/ui/records/{entry_id}/edit")
async def edit_form(entry_id: str, ctx: IssuerPage) -> Response:
    view = _editable(ctx, entry_id)
    if view is None:
        return render(ctx, "record.html", 404, view=None)
    form = forms.record_form(view["kind"], view["record"])
    return render(ctx, EDITABLE[view["kind"]], form=form, editing=view)


@router.post("/ui/records/{entry_id}/edit")
async def edit(entry_id: str, ctx: IssuerPage) -> Response:
    view = _editable(ctx, entry_id)
    if view is None:
        return render(ctx, "record.html", 404, view=None)
    kind = view["kind"]
    data = forms.updated_record(kind, view["record"], ctx.form)
    try:
        _, entry = update_entry(ctx.service, bytes.fromhex(entry_id), data)
    except NoticenetError as exc:
        fields, renames = (
            (forms.SLTD_FIELDS, {}) if kind == "sltd" else (forms.RED_FIELDS, forms.RED_RENAMES)
        )
        where = forms.field_of(str(exc), kind, fields, renames)
        logs.event(logger, "web.update_refused", kind=kind, error=type(exc).__name__, field=where)
        errors = {where: shown(exc, translator(ctx.lang))}
        return render(ctx, EDITABLE[kind], 422, form=ctx.form, errors=errors, editing=view)
    return published(ctx, kind, entry.id, "edit", replaces=entry_id)


# -- status and purge receipts ----------------------------------------------------------


@router.get("/ui/records/{entry_id}/status")
async def status(entry_id: str, ctx: OfficerPage) -> Response:
    """An entry's state ('held' says what a hold means and what comes next) and the purge
    receipts of a revocation, node by node."""
    try:
        facts = entry_status(ctx.service, bytes.fromhex(entry_id))
    except ValueError:
        return render(ctx, "record.html", 404, view=None)
    return render(ctx, "status.html", facts=facts)


# -- imports ------------------------------------------------------------------------------


@dataclass
class ImportJob:
    """An import under way: its rows, and one result per row done."""

    id: str
    owner: str  # the API token's user, so another user cannot watch or drive it
    kind: str
    rows: list[Row]
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def finished(self) -> bool:
        return self.done >= len(self.rows)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    def progress(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": len(self.rows),
            "finished": self.finished,
            "counts": self.counts(),
        }


def _jobs(ctx: Ctx) -> dict[str, ImportJob]:
    state = ctx.request.app.state
    if not hasattr(state, "web_imports"):
        state.web_imports = {}
    jobs: dict[str, ImportJob] = state.web_imports
    return jobs


@router.get("/ui/import")
async def import_form(ctx: IssuerPage) -> Response:
    return render(
        ctx, "import.html", kinds=IMPORT_KINDS, formats=FORMATS, form={"kind": "sltd"}
    )


@router.post("/ui/import")
async def import_start(ctx: IssuerPage) -> Response:
    """Read the uploaded file into rows (nothing is published yet), then show the progress."""
    kind, fmt = ctx.form.get("kind", ""), ctx.form.get("format", "")
    uploads = ctx.files.get("file", [])
    errors: dict[str, object] = {}
    rows: list[Row] = []
    t = translator(ctx.lang)
    if kind not in IMPORT_KINDS:
        errors["kind"] = t("error.field")
    if not uploads:
        errors["file"] = t("import.nofile")
    if not errors:
        try:
            rows = read_rows(kind, fmt, uploads[0].decode("utf-8-sig", errors="replace"))
        except NoticenetError as exc:
            errors["format" if "format" in str(exc) else "file"] = shown(exc, t)
    if not errors and not rows:
        errors["file"] = t("import.empty")
    if len(rows) > MAX_ROWS:
        errors["file"] = t("import.toomany", rows=len(rows), most=MAX_ROWS)
    if errors:
        return render(
            ctx, "import.html", 422, kinds=IMPORT_KINDS, formats=FORMATS, form=ctx.form,
            errors=errors,
        )
    assert ctx.user is not None
    job = ImportJob(secrets.token_urlsafe(12), ctx.user.name, kind, rows)
    jobs = _jobs(ctx)
    jobs[job.id] = job
    while len(jobs) > MAX_IMPORTS:
        jobs.pop(next(iter(jobs)))
    logs.event(logger, "web.import_started", kind=kind, rows=len(rows))
    return redirect(ctx, f"/ui/import/{job.id}")


def _job(ctx: Ctx, job_id: str) -> ImportJob | None:
    job = _jobs(ctx).get(job_id)
    if job is None or ctx.user is None or job.owner != ctx.user.name:
        return None
    return job


@router.get("/ui/import/{job_id}")
async def import_page(job_id: str, ctx: IssuerPage) -> Response:
    job = _job(ctx, job_id)
    if job is None:
        return render(ctx, "record.html", 404, view=None)
    t = translator(ctx.lang)
    return render(ctx, "import_job.html", job=job, refused=_refused(job, t), held=_held(job))


@router.post("/ui/import/{job_id}/step")
async def import_step(job_id: str, ctx: IssuerPage) -> Response:
    """Publish the next rows through the API's import path; JSON progress for the page's
    script, or the page again without script."""
    job = _job(ctx, job_id)
    if job is None:
        return render(ctx, "record.html", 404, view=None)
    if not job.finished:
        chunk = job.rows[job.done : job.done + IMPORT_STEP]
        usable = [row for row in chunk if row.record is not None]
        try:
            published = iter(
                await import_records(ctx.service, job.kind, [r.record for r in usable])
            )
        except NoticenetError as exc:  # the node stopped publishing: try again later
            return redirect(ctx, f"/ui/import/{job.id}", shown(exc, translator(ctx.lang)).text)
        for row in chunk:
            result: dict[str, Any]
            if row.record is None:
                result = {"status": "refused", "error": "Unreadable", "detail": row.error}
            else:
                result = dict(next(published))
            result["row"] = row.number
            job.results.append(result)
        if job.finished:
            logs.event(logger, "web.import_done", kind=job.kind, **job.counts())
    if "application/json" in ctx.request.headers.get("accept", ""):
        return JSONResponse(job.progress(), headers=SECURITY_HEADERS)
    return redirect(ctx, f"/ui/import/{job.id}")


def _refused(job: ImportJob, t: Any) -> list[dict[str, Any]]:
    """The refused rows, each with its error said in the page's language."""
    return [
        r | {"message": said([r.get("error", ""), "SchemaError"], r.get("detail", ""), t)}
        for r in job.results
        if r["status"] == "refused"
    ]


def _held(job: ImportJob) -> list[dict[str, Any]]:
    """The rows published but held for the CCF's review (hidden everywhere for now)."""
    return [r for r in job.results if r["status"] == "held"]
