"""The commission's pages, on the CCF's own node for its admins: subject-access search and
case file; proposals with the exact text every commissioner signs; the signing
ceremony's progress as commissioners upload their files; the review queue of held
records (release or revoke each through a ceremony); purge receipts per revocation.

The pages call the API's own routes (`propose`, `subject_access`) and the CLI's ceremony
steps (`noticenet.node.ccf.ceremony_files`): a ceremony is a folder of the same files
`noticenet ccf commit|sign|aggregate` read and write, under the node's data folder
(`<data_dir>/ceremonies/<digest>/`). Secret files (key packages, nonces) never come
here: commissioners run `ccf commit` and `ccf sign` on their own machines and upload
only commitments and shares.

The roster names no commissioner (it holds group keys) and a key package only a number;
the names are in the group's DKG setup file (`ccf dkg setup`, public). Uploaded once to
any ceremony of the group, it is kept as `<data_dir>/commission/<group>.setup.cbor`, and
every ceremony of that group shows each commissioner's name beside their number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError

from noticenet.crypto.errors import NoticenetError
from noticenet.node import logs
from noticenet.node.api import ccf as ccf_api
from noticenet.node.api.common import require_ccf_node
from noticenet.node.api.ops import EntriesRequest
from noticenet.node.api.ops import accept as accept_entries
from noticenet.node.ccf.ceremony_files import (
    cmd_aggregate,
    read_proposal,
    read_public_package,
)
from noticenet.node.service import NodeService
from noticenet.node.web import forms
from noticenet.node.web.errors import request_errors, said, shown
from noticenet.node.web.i18n import translator
from noticenet.node.web.pages import AdminPage, Ctx, WebDenied, logger, redirect, render
from noticenet.protocol.ccf.ceremony import Commitment, Proposal, Share
from noticenet.protocol.ccf.dkg_setup import Setup
from noticenet.protocol.ccf.receipts import purge_status
from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.records.governance import CCF_BLOCK_FEED, CCF_FEED, REASONS

router = APIRouter(include_in_schema=False)
SUBJECT_FIELDS = ("name", "forename", "date_of_birth", "country", "number")
PROPOSAL_FIELDS = ("action", "targets", "reason", "decision", "guards", "admit")
ACTIONS = ("revoke", "block", "unblock", "readmit", "release")


def _commission(ctx: Ctx) -> NodeService:
    """The node's service if it is the CCF's own (the page is refused otherwise)."""
    try:
        require_ccf_node(ctx.service)
    except NoticenetError:
        raise WebDenied("forbidden", ctx, "the CCF's node") from None
    return ctx.service


# -- subject access ------------------------------------------------------------------


@router.get("/ui/ccf/subject-access")
async def subject_access_form(ctx: AdminPage) -> Response:
    _commission(ctx)
    return render(ctx, "ccf_subject.html")


@router.post("/ui/ccf/subject-access")
async def subject_access(ctx: AdminPage) -> Response:
    service = _commission(ctx)
    values = {k: ctx.form.get(k, "").strip() for k in SUBJECT_FIELDS}
    try:
        req = ccf_api.SubjectAccessRequest(**values)
        case = await ccf_api.subject_access(req, service, ctx.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = request_errors(exc, SUBJECT_FIELDS, translator(ctx.lang))
        return render(ctx, "ccf_subject.html", 422, form=ctx.form, errors=errors)
    except NoticenetError as exc:
        where = forms.field_of(str(exc), "", SUBJECT_FIELDS)
        where = "name" if where == forms.FORM_ERROR else where
        errors = {where: shown(exc, translator(ctx.lang))}
        return render(ctx, "ccf_subject.html", 422, form=ctx.form, errors=errors)
    logs.event(logger, "web.subject_access", records=case["count"])
    case_json = json.dumps(case, indent=1, ensure_ascii=False, sort_keys=True)
    return render(ctx, "ccf_subject.html", form=ctx.form, case=case, case_json=case_json)


# -- proposals and the ceremony ----------------------------------------------------------


def _folder(service: NodeService) -> Path:
    folder = Path(service.config.data_dir) / "ceremonies"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _ceremony(service: NodeService, digest: str) -> Path | None:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    path = _folder(service) / digest
    return path if (path / "proposal.cbor").is_file() else None


def _identifiers(folder: Path, prefix: str) -> list[int]:
    return sorted(int(p.stem.split("-", 1)[1]) for p in folder.glob(f"{prefix}-*.cbor"))


def ceremony_view(service: NodeService, folder: Path) -> dict[str, Any]:
    """What the ceremony page shows: the proposal's text, who committed, who signed, the entry."""
    proposal = read_proposal(folder / "proposal.cbor")
    entry = folder / "entry.cbor"
    done = folder / "published.json"
    published = json.loads(done.read_text()) if done.is_file() else None
    head = service.ledger.head(proposal.feed)
    committed, signed = _identifiers(folder, "commitment"), _identifiers(folder, "share")
    return {
        "digest": folder.name,
        "proposal": proposal,
        "describe": proposal.describe(),
        "action": proposal.action.action,
        "threshold": proposal.threshold,
        "committed": committed,
        "signed": signed,
        "commissioners": commissioners(service, proposal, committed, signed),
        "public": (folder / "group.pub").is_file(),
        "entry": entry.is_file(),
        "published": published,
        # the feed moved on since the proposal: its entry could no longer go in
        "stale": published is None and (0 if head is None else head[0]) >= proposal.seq,
    }


def group_of(proposal: Proposal) -> str:
    """The commission group whose key signs the proposal: block, or revoke for the rest."""
    return "block" if proposal.feed == CCF_BLOCK_FEED else "revoke"


def _setup_path(service: NodeService, group: str) -> Path:
    return Path(service.config.data_dir) / "commission" / f"{group}.setup.cbor"


def commissioners(
    service: NodeService, proposal: Proposal, committed: list[int], signed: list[int]
) -> dict[int, str]:
    """Number -> name of the proposal group's commissioners (from its DKG setup file, if one
    was uploaded) and of anyone who took part without being in it (named '')."""
    path = _setup_path(service, group_of(proposal))
    names: dict[int, str] = {}
    if path.is_file():
        setup = Setup.from_bytes(path.read_bytes())
        names = {i: setup.name_of(i) for i in setup.ids}
    for i in (*committed, *signed):
        names.setdefault(i, "")
    return dict(sorted(names.items()))


def _keep_setup(service: NodeService, folder: Path, proposal: Proposal, setup: Setup) -> Path:
    """Check a DKG setup file against the ceremony (its group; the group key of a reshare;
    the public package's commissioners, once that is here) and keep it for the group."""
    group = group_of(proposal)
    if setup.group != group:
        raise SchemaError(f"this setup is for the {setup.group} group, not {group}")
    if setup.refresh is not None and setup.refresh.group_public_key != proposal.group_key:
        raise SchemaError("this setup's public package is for another group key")
    if (folder / "group.pub").is_file():
        public = read_public_package(folder / "group.pub")
        if set(setup.ids) != set(public.verifying_shares):
            raise SchemaError(
                f"this setup names commissioners {setup.ids}, and the group's public package "
                f"{sorted(public.verifying_shares)}: the public package is for another group key"
            )
    path = _setup_path(service, group)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(setup.to_bytes())
    return path


@router.get("/ui/ccf/proposals")
async def proposals(ctx: AdminPage) -> Response:
    service = _commission(ctx)
    items = []
    for folder in sorted(_folder(service).iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        if (folder / "proposal.cbor").is_file():
            items.append(ceremony_view(service, folder))
    return render(ctx, "ccf_proposals.html", items=items, actions=ACTIONS, form={})


@router.post("/ui/ccf/proposals")
async def propose(ctx: AdminPage) -> Response:
    service = _commission(ctx)
    f = ctx.form
    body: dict[str, Any] = {
        "action": f.get("action", ""),
        "targets": forms.words(f.get("targets", "")),
        "reason": f.get("reason", "").strip(),
        "decision": f.get("decision", "").strip(),
        "guards": forms.words(f.get("guards", "")),
        "admit": f.get("admit", "").strip() or None,
    }
    try:
        req = ccf_api.ProposeRequest(**body)
        answer = await ccf_api.propose(req, service, ctx.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = request_errors(exc, PROPOSAL_FIELDS, translator(ctx.lang))
        return render(
            ctx, "ccf_proposals.html", 422, items=[], actions=ACTIONS, form=f, errors=errors
        )
    except NoticenetError as exc:
        where = forms.field_of(str(exc), "", PROPOSAL_FIELDS)
        if where == forms.FORM_ERROR and ("entry id" in str(exc) or "target" in str(exc)):
            where = "targets"
        errors = {where: shown(exc, translator(ctx.lang))}
        return render(
            ctx, "ccf_proposals.html", 422, items=[], actions=ACTIONS, form=f, errors=errors
        )
    folder = _folder(service) / answer["digest"]
    folder.mkdir(exist_ok=True)
    (folder / "proposal.cbor").write_bytes(bytes.fromhex(answer["proposal"]))
    logs.event(logger, "web.proposed", action=body["action"], digest=answer["digest"])
    return redirect(ctx, f"/ui/ccf/ceremonies/{answer['digest']}")


@router.get("/ui/ccf/ceremonies/{digest}")
async def ceremony(digest: str, ctx: AdminPage) -> Response:
    service = _commission(ctx)
    folder = _ceremony(service, digest)
    if folder is None:
        return render(ctx, "record.html", 404, view=None)
    return render(ctx, "ccf_ceremony.html", c=ceremony_view(service, folder))


FILES = {"proposal.cbor", "entry.cbor", "group.pub"}


@router.get("/ui/ccf/ceremonies/{digest}/{name}")
async def ceremony_file(digest: str, name: str, ctx: AdminPage) -> Response:
    """A ceremony's public file: the proposal, a commitment, the signed entry."""
    service = _commission(ctx)
    folder = _ceremony(service, digest)
    public = name in FILES or (
        name.startswith("commitment-") and name.endswith(".cbor") and "/" not in name
    )
    if folder is None or not public or not (folder / name).is_file():
        return Response("not found", 404, media_type="text/plain")
    return Response(
        (folder / name).read_bytes(),
        media_type="application/cbor",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )


def _file_kind(data: bytes, proposal: Proposal) -> tuple[str, int | None]:
    """('commitment'|'share'|'setup'|'public', signer) of an uploaded ceremony file.

    Decoded with the ceremony's own readers; a file made for another proposal is refused.
    """
    for reader, kind in ((Commitment.from_bytes, "commitment"), (Share.from_bytes, "share")):
        try:
            record = reader(data)
        except (SchemaError, CodecError, NoticenetError):
            continue
        if record.proposal != proposal.digest:
            raise SchemaError(
                f"this {kind} was made for proposal {record.proposal.hex()[:16]}, "
                f"not {proposal.digest.hex()[:16]}"
            )
        return kind, record.identifier
    try:
        Setup.from_bytes(data)
    except (SchemaError, CodecError, NoticenetError):
        return "public", None
    return "setup", None


@router.post("/ui/ccf/ceremonies/{digest}/upload")
async def upload(digest: str, ctx: AdminPage) -> Response:
    """Commissioners' commitments and shares, and the group's public package."""
    service = _commission(ctx)
    folder = _ceremony(service, digest)
    if folder is None:
        return render(ctx, "record.html", 404, view=None)
    t = translator(ctx.lang)
    proposal = read_proposal(folder / "proposal.cbor")
    uploads = ctx.files.get("files", [])
    error: object = "" if uploads else t("import.nofile")
    taken: list[str] = []
    for data in uploads:
        try:
            kind, signer = _file_kind(data, proposal)
            if kind == "setup":
                taken.append(_keep_setup(service, folder, proposal, Setup.from_bytes(data)).name)
                continue
            if kind == "public":
                try:
                    package = _public_package(folder, data)
                except NoticenetError:
                    raise SchemaError(
                        "not a commitment, a share or a public package file of this ceremony"
                    ) from None
                if package.group_public_key != proposal.group_key:
                    raise SchemaError("this public package is for another group key")
                name = "group.pub"
            else:
                name = f"{kind}-{signer}.cbor"
            if (folder / name).exists() and (folder / name).read_bytes() != data:
                raise SchemaError(f"{name} is already here with other contents")
            (folder / name).write_bytes(data)
            taken.append(name)
        except NoticenetError as exc:
            error = shown(exc, t)
            break
    logs.event(logger, "web.ceremony_upload", digest=digest[:16], files=len(taken))
    view = ceremony_view(service, folder)
    if error:
        return render(ctx, "ccf_ceremony.html", 422, c=view, errors={"files": error})
    done = t("ceremony.uploaded", files=", ".join(taken))
    return redirect(ctx, f"/ui/ccf/ceremonies/{digest}", done)


def _public_package(folder: Path, data: bytes) -> Any:
    """A FROST public package, read as `ccf aggregate --public` reads it."""
    probe = folder / "upload.pub.tmp"
    probe.write_bytes(data)
    try:
        return read_public_package(probe)
    finally:
        probe.unlink(missing_ok=True)


@router.post("/ui/ccf/ceremonies/{digest}/publish")
async def publish(digest: str, ctx: AdminPage) -> Response:
    """`ccf aggregate` over the uploaded files, then `ccf publish` to this node."""
    service = _commission(ctx)
    folder = _ceremony(service, digest)
    if folder is None:
        return render(ctx, "record.html", 404, view=None)
    t = translator(ctx.lang)
    signers = _identifiers(folder, "share")
    try:
        if not (folder / "group.pub").is_file():
            raise SchemaError(t("ceremony.needpub"))
        entry = cmd_aggregate(
            folder / "proposal.cbor",
            folder / "group.pub",
            [folder / f"commitment-{i}.cbor" for i in signers],
            [folder / f"share-{i}.cbor" for i in signers],
            folder / "entry.cbor",
        )
        req = EntriesRequest(entries=[entry.to_wire().hex()])
        result = (await accept_entries(req, service, ctx.user))["results"][0]  # type: ignore[arg-type]
    except NoticenetError as exc:
        view = ceremony_view(service, folder)
        return render(ctx, "ccf_ceremony.html", 422, c=view, errors={"publish": shown(exc, t)})
    (folder / "published.json").write_text(json.dumps(result))
    logs.event(logger, "web.ceremony_published", digest=digest[:16], outcome=result["outcome"])
    if result["outcome"] == "refused":
        names = [str(result.get("error", "")), "SchemaError"]
        refused = said(names, str(result.get("detail", "")), t)
        return redirect(ctx, f"/ui/ccf/ceremonies/{digest}", refused.text)
    action = read_proposal(folder / "proposal.cbor").action
    if action.action == "release" and len(action.targets) == 1:  # where it now shows as live
        done = t("ceremony.released")
        return redirect(ctx, f"/ui/records/{action.targets[0].hex()}/status", done)
    return redirect(ctx, f"/ui/records/{entry.id.hex()}/status", t("ceremony.published"))


# -- the review queue of held records ---------------------------------------------------


@router.get("/ui/ccf/held")
async def held_queue(ctx: AdminPage) -> Response:
    """Each held record, the similar guard it met and the revocation behind it (as the API's
    `GET /ccf/held` gives them), with a form proposing its release or its revocation."""
    service = _commission(ctx)
    queue = await ccf_api.held(service, ctx.user)  # type: ignore[arg-type]
    return render(ctx, "ccf_held.html", queue=queue, reasons=REASONS)


# -- revocations and their receipts ----------------------------------------------------


def revocations(service: NodeService) -> list[dict[str, Any]]:
    """Every revocation in the commission's feed, newest first, with its purge receipts."""
    ledger = service.ledger
    out = []
    for entry in ledger.feed(CCF_FEED):
        if entry.header.kind != "revoke":
            continue
        purged, outstanding = purge_status(ledger, entry.id)
        out.append(
            {
                "id": entry.id.hex(),
                "seq": entry.header.seq,
                "issued_at": entry.header.issued_at,
                "purged": purged,
                "outstanding": outstanding,
            }
        )
    return out[::-1]


@router.get("/ui/ccf/revocations")
async def revocation_list(ctx: AdminPage) -> Response:
    service = _commission(ctx)
    items = revocations(service)
    return render(
        ctx, "ccf_revocations.html", items=items, refresh=any(i["outstanding"] for i in items)
    )

