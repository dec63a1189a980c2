"""CLI commands that talk to a running node's HTTP API (token from --token or $NOTICENET_TOKEN)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from noticenet.node.api.importexport import FORMATS, read_rows, write_csv, write_jsonl
from noticenet.node.cli.common import (
    ApiOpt,
    JsonOpt,
    TokenOpt,
    client,
    emit_json,
    friendly,
    out,
    read_json_file,
    records_table,
)
from noticenet.protocol.errors import SchemaError

check_app = typer.Typer(help="Border checks against your node.", no_args_is_help=True)
dna_app = typer.Typer(help="DNA profiles.", no_args_is_help=True)

ToOpt = Annotated[
    list[str], typer.Option("--to", help="diffusion recipients (member ids), repeatable")
]


def _hits(answer: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        emit_json(answer)
        return
    if not answer["hit"]:
        out.print(f"[green]no hit[/] for {what}")
        return
    out.print(f"[red bold]HIT[/] for {what}")
    out.print(records_table("records", answer["records"]))


def register(app: typer.Typer) -> None:
    """Add the online commands to the root app."""
    app.add_typer(check_app, name="check")
    app.add_typer(dna_app, name="dna")
    for fn in (publish, search, cancel, update, status, recent, peers, import_, export):
        name = fn.__name__.rstrip("_")
        app.command(name)(friendly(fn))


def publish(
    kind: Annotated[str, typer.Argument(help="notice.red, diffusion, sltd, vehicle, ...")],
    file: Annotated[Path, typer.Argument(help="the record as JSON (bytes as hex)")],
    to: ToOpt = [],  # noqa: B006 - typer reads the default
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Publish one record as your member (issuer role)."""
    doc = read_json_file(file)
    body = doc if isinstance(doc, dict) and "record" in doc else {"record": doc}
    if to:
        body["recipients"] = list(to)
    with client(api, token) as c:
        answer = c.post(f"/records/{kind}", body)
    if as_json:
        emit_json(answer)
    elif answer.get("state") == "held":
        out.print(f"held {kind} {answer['id']}: it meets a revoked person's similar guard; "
                  "stored, hidden on every node until the CCF releases or revokes it")
    else:
        out.print(f"published {kind} {answer['id']}")


def search(
    name: Annotated[str, typer.Option(help="family name (spelling variants match)")],
    forename: Annotated[str, typer.Option(help="forename(s)")] = "",
    dob: Annotated[str, typer.Option("--dob", help="date of birth, YYYY-MM-DD")] = "",
    nationality: Annotated[str, typer.Option(help="ISO 3166-1 alpha-3")] = "",
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Search persons in notices, diffusions and biometric records (officer role)."""
    with client(api, token) as c:
        answer = c.get(
            "/search/persons",
            name=name,
            forename=forename,
            date_of_birth=dob,
            nationality=nationality,
        )
    if as_json:
        emit_json(answer)
    else:
        out.print(records_table(f"{answer['count']} record(s)", answer["records"]))


@check_app.command("document")
@friendly
def check_document(
    country: Annotated[str, typer.Option(help="issuing country, alpha-3")],
    number: Annotated[str, typer.Option(help="document number")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Is this travel document reported stolen or lost? (border role)"""
    with client(api, token) as c:
        _hits(c.get("/check/document", country=country, number=number), as_json, "the document")


@check_app.command("mrz")
@friendly
def check_mrz(
    lines: Annotated[list[str], typer.Argument(help="the 2 or 3 MRZ lines")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Check a document by its machine-readable zone (check digits verified first)."""
    with client(api, token) as c:
        _hits(c.post("/check/mrz", {"lines": lines}), as_json, "the MRZ")


@check_app.command("vehicle")
@friendly
def check_vehicle(
    vin: Annotated[str, typer.Argument(help="vehicle identification number")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Is this vehicle reported stolen?"""
    with client(api, token) as c:
        _hits(c.get("/check/vehicle", vin=vin), as_json, "the VIN")


@check_app.command("firearm")
@friendly
def check_firearm(
    make: Annotated[str, typer.Option(help="manufacturer")],
    serial: Annotated[str, typer.Option(help="serial number")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Is this firearm reported lost or stolen?"""
    with client(api, token) as c:
        _hits(c.get("/check/firearm", make=make, serial=serial), as_json, "the firearm")


@dna_app.command("match")
@friendly
def dna_match(
    file: Annotated[Path, typer.Argument(help='JSON: {"loci_set": ..., "alleles": {...}}')],
    min_loci: Annotated[int, typer.Option(help="loci that must be comparable")] = 8,
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Stored DNA profiles that match a probe profile (officer role)."""
    doc = read_json_file(file)
    body = {"loci_set": doc.get("loci_set"), "alleles": doc.get("alleles"), "min_loci": min_loci}
    with client(api, token) as c:
        answer = c.post("/dna/match", body)
    if as_json:
        emit_json(answer)
        return
    for m in answer["matches"]:
        r = m["match"]
        out.print(
            f"{m['id'][:16]} {m['author']}: {r['verdict']} on {len(r['matching'])} of "
            f"{r['compared']} loci"
        )
    if not answer["matches"]:
        out.print("[green]no match[/]")


def cancel(
    entry_id: Annotated[str, typer.Argument(help="the entry to withdraw (yours)")],
    reason: Annotated[str, typer.Option(help="why")] = "",
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Cancel one of your own entries; its body is purged everywhere (issuer role)."""
    with client(api, token) as c:
        answer = c.post(f"/records/{entry_id}/cancel", {"reason": reason})
    emit_json(answer) if as_json else out.print(f"cancelled by entry {answer['id']}")


def update(
    entry_id: Annotated[str, typer.Argument(help="the entry to replace (yours)")],
    file: Annotated[Path, typer.Argument(help="the new record as JSON")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Replace one of your own entries with a new record of the same kind (issuer role)."""
    doc = read_json_file(file)
    body = doc if isinstance(doc, dict) and "record" in doc else {"record": doc}
    with client(api, token) as c:
        answer = c.put(f"/records/{entry_id}", body)
    emit_json(answer) if as_json else out.print(f"replaced by entry {answer['id']}")


def status(
    entry_id: Annotated[str, typer.Argument(help="an entry id")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Whether an entry is live, withdrawn, blocked or revoked, with purge receipts."""
    with client(api, token) as c:
        answer = c.get(f"/status/{entry_id}")
    if as_json:
        emit_json(answer)
        return
    out.print(f"{entry_id[:16]}: [bold]{answer['state']}[/]")
    if answer.get("tombstone"):
        out.print(f"  body deleted: {answer['tombstone']['reason']}")
    purge = answer.get("purge")
    if purge:
        out.print(
            f"  purge receipts: {len(purge['purged'])} done, outstanding: "
            f"{', '.join(purge['outstanding']) or 'none'}"
        )


def recent(
    kind: Annotated[str, typer.Argument(help="record kind")],
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """The latest records of a kind."""
    with client(api, token) as c:
        answer = c.get(f"/recent/{kind}", limit=limit)
    emit_json(answer) if as_json else out.print(records_table(kind, answer["records"]))


def peers(api: ApiOpt = "", token: TokenOpt = "", as_json: JsonOpt = False) -> None:
    """Connected neighbours and replication counters (admin role)."""
    with client(api, token) as c:
        answer = c.get("/peers")
    if as_json:
        emit_json(answer)
        return
    for peer, s in answer["sessions"].items():
        out.print(f"{peer}: lag {s['lag_entries']} entries, {s['subscribed_feeds']} feeds served")
    out.print(f"counters: {answer['counters']}")


def import_(
    kind: Annotated[str, typer.Argument(help="record kind (notice.red for red notices)")],
    file: Annotated[Path, typer.Argument(help="the rows")],
    fmt: Annotated[str, typer.Option("--format", help=f"one of {', '.join(FORMATS)}")] = "jsonl",
    to: ToOpt = [],  # noqa: B006 - typer reads the default
    batch: Annotated[int, typer.Option(help="rows per request")] = 200,
    encoding: Annotated[str, typer.Option(help="the file's text encoding")] = "utf-8",
    refused_ok: Annotated[
        bool, typer.Option("--refused-ok", help="exit 0 even if rows were refused")
    ] = False,
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Import rows from a national system; re-importing publishes nothing new (issuer role).

    Each row stands alone: a refused row is reported with its line and reason and the
    others go on. Exit status: 0 if every row was published or already there,
    3 if some were refused (0 with --refused-ok), 1 if the import could not run.
    """
    rows = read_rows(kind, fmt, read_text(file, encoding))
    report: list[dict[str, Any]] = [
        {"row": r.number, "status": "refused", "error": "BadRow", "detail": r.error}
        for r in rows
        if r.record is None
    ]
    good = [r for r in rows if r.record is not None]
    with client(api, token) as c, _progress(as_json) as progress:
        task = progress.add_task(f"importing {kind}", total=len(good))
        for start in range(0, len(good), max(1, batch)):
            chunk = good[start : start + batch]
            body = {"rows": [r.record for r in chunk], "recipients": list(to)}
            answer = c.post(f"/import/{kind}", body)
            for r, result in zip(chunk, answer["results"], strict=True):
                report.append({**result, "row": r.number})
            progress.advance(task, len(chunk))
    report.sort(key=lambda r: r["row"])
    _import_report(report, as_json)
    if not refused_ok and any(r["status"] == "refused" for r in report):
        raise typer.Exit(REFUSED_ROWS)


REFUSED_ROWS = 3
"""`noticenet import`'s exit status when some rows were refused."""


def read_text(file: Path, encoding: str) -> str:
    """The file as text; a byte that is not `encoding` is one line naming the line."""
    data = file.read_bytes()
    try:
        return data.decode(encoding)
    except LookupError:
        raise SchemaError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SchemaError(
            f"{file} line {line} is not {encoding} (byte 0x{data[exc.start]:02x}): "
            "pass --encoding (e.g. latin-1 or cp1252) or convert the file"
        ) from None


def _import_report(report: list[dict[str, Any]], as_json: bool) -> None:
    counts: dict[str, int] = {}
    for r in report:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if as_json:
        emit_json({"counts": counts, "results": report})
        return
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to import")
    for r in report:
        if r["status"] == "refused":
            out.print(f"  row {r['row']}: [red]{r['error']}[/] {r['detail']}", highlight=False)
        elif r["status"] == "held":
            out.print(f"  row {r['row']}: held for the CCF's review ({r['id']})", highlight=False)


def export(
    kind: Annotated[str, typer.Argument(help="record kind")],
    file: Annotated[Path, typer.Argument(help="where to write")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    author: Annotated[str, typer.Option(help="only this member's records")] = "",
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Export the readable records of a kind (never blocked or revoked ones; officer role)."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("--format is jsonl or csv")
    views = []
    with client(api, token) as c, _progress(as_json) as progress:
        task = progress.add_task(f"exporting {kind}", total=None)
        for view in c.stream_lines(f"/export/{kind}", author=author):
            views.append(view)
            progress.advance(task)
    writer = write_jsonl(views) if fmt == "jsonl" else write_csv(kind, views)
    with file.open("w", encoding="utf-8", newline="") as f:
        f.writelines(writer)
    if as_json:
        emit_json({"kind": kind, "records": len(views), "file": str(file)})
    else:
        out.print(f"exported {len(views)} {kind} record(s) to {file}")


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out,
        disable=quiet,
        transient=True,
    )
