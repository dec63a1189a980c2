"""Bulk import and export of records for national systems (see `importexport`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from noticenet.node.api.common import Issuer, Officer, StrictRequest, Svc
from noticenet.node.api.importexport import export_views, import_records, write_jsonl

REPLICATE_S = 30.0
"""How long an import waits for a neighbour to hold what it published (see `replicated`)."""

router = APIRouter(tags=["import and export"])


class ImportRequest(StrictRequest):
    rows: list[dict[str, Any]] = Field(description="records (JSON, bytes as hex)", max_length=5_000)
    recipients: list[str] = Field(default=[], description="diffusions only: member ids")


@router.post("/import/{kind}", summary="Publish rows unless already imported; reasons for refusals")
async def import_rows(kind: str, req: ImportRequest, service: Svc, user: Issuer) -> dict[str, Any]:
    results = await import_records(service, kind, list(req.rows), tuple(req.recipients))
    head = service.ledger.head(service.config.member)
    replicated = await service.wait_replicated(0 if head is None else head[0], REPLICATE_S)
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"kind": kind, "counts": counts, "replicated": replicated, "results": results}


@router.get(
    "/export/{kind}",
    summary="Every readable record of a kind, as JSON Lines (never blocked or revoked ones)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export(
    kind: str, service: Svc, user: Officer, author: str = Query(default="", max_length=16)
) -> StreamingResponse:
    views = export_views(service, kind, author)
    first = await anext(views, None)  # errors (an unknown kind) surface before streaming starts

    async def lines() -> AsyncIterator[str]:
        if first is None:
            return
        for line in write_jsonl([first]):
            yield line
        async for view in views:
            for line in write_jsonl([view]):
                yield line

    return StreamingResponse(lines(), media_type="application/x-ndjson")
