"""Border checks (documents, MRZ, vehicles, firearms), person search and DNA matching.

Every answer comes from the node's own indexes, so a check works while the
network is cut off. Hidden (blocked or revoked) records never show up.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from noticenet.crypto.errors import NotARecipient
from noticenet.node.api.common import Border, Officer, StrictRequest, Svc, hits, record_view
from noticenet.protocol.errors import NotFound, SchemaError
from noticenet.protocol.identifiers.normalise import normalise_country
from noticenet.protocol.records.records import DNARecord
from noticenet.protocol.records.schema import from_map

router = APIRouter(tags=["checks"])


class MRZRequest(StrictRequest):
    lines: list[str] = Field(description="the machine-readable zone, one string per line")


class DNAMatchRequest(StrictRequest):
    loci_set: str = Field(description="CODIS20 or ESS")
    alleles: dict[str, list[str]] = Field(description="locus -> one or two alleles")
    min_loci: int = Field(default=8, ge=1, le=30)


@router.get("/check/document", summary="Border check: a travel document by country and number")
async def check_document(
    service: Svc,
    user: Border,
    country: str = Query(max_length=3),
    number: str = Query(max_length=40),
) -> dict[str, Any]:
    return hits(service, service.ledger.find_document(normalise_country(country), number))


@router.post("/check/mrz", summary="Border check: the MRZ lines of a document (checked first)")
async def check_mrz(req: MRZRequest, service: Svc, user: Border) -> dict[str, Any]:
    if not 2 <= len(req.lines) <= 3:
        raise SchemaError("an MRZ has 2 (TD2, TD3) or 3 (TD1) lines")
    return hits(service, service.ledger.find_mrz(list(req.lines)))


@router.get("/check/vehicle", summary="Border check: a vehicle by VIN")
async def check_vehicle(
    service: Svc, user: Border, vin: str = Query(max_length=40)
) -> dict[str, Any]:
    return hits(service, service.ledger.find_vin(vin))


@router.get("/check/firearm", summary="Border check: a firearm by make and serial number")
async def check_firearm(
    service: Svc, user: Border, make: str = Query(max_length=80), serial: str = Query(max_length=60)
) -> dict[str, Any]:
    return hits(service, service.ledger.find_firearm(make, serial))


@router.get("/search/persons", summary="Persons by name, tolerant to spelling variants")
async def search_persons(
    service: Svc,
    user: Officer,
    name: str = Query(min_length=1, max_length=200),
    forename: str = Query(default="", max_length=200),
    date_of_birth: str = Query(default="", max_length=10),
    nationality: str = Query(default="", max_length=3),
) -> dict[str, Any]:
    wanted = normalise_country(nationality) if nationality else ""
    found = service.ledger.find_person(name, forename, date_of_birth)
    records = []
    for eid in found:
        try:
            view = record_view(service, eid)
        except (NotFound, NotARecipient):
            continue
        if wanted and wanted not in _nationalities(view["record"]):
            continue
        records.append(view)
    return {"count": len(records), "records": records}


def _nationalities(record: dict[str, Any]) -> list[str]:
    subject = record.get("subject") or {}
    return list(subject.get("nationalities", []))


@router.post("/dna/match", summary="Stored DNA profiles matching a probe profile")
async def dna_match(req: DNAMatchRequest, service: Svc, user: Officer) -> dict[str, Any]:
    probe = from_map(
        DNARecord, {"loci_set": req.loci_set, "alleles": req.alleles}, "probe", hexed=True
    )
    matches = []
    for eid, report in service.ledger.dna_match(probe, req.min_loci):
        view = record_view(service, eid)
        view["match"] = {
            "verdict": report.verdict,
            "compared": len(report.compared),
            "matching": list(report.matching),
            "mismatching": list(report.mismatching),
            "shared_allele": list(report.shared_allele),
            "amelogenin_mismatch": report.amelogenin_mismatch,
        }
        matches.append(view)
    return {"hit": bool(matches), "matches": matches}
