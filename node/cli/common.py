"""Shared pieces of the command line: options, error handling, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from noticenet.crypto.errors import NoticenetError
from noticenet.node.cli.client import API_ENV, DEFAULT_API, TOKEN_ENV, ApiClient

F = TypeVar("F", bound=Callable[..., Any])

ApiOpt = Annotated[
    str, typer.Option("--api", envvar=API_ENV, help="the node's API address (host:port or URL)")
]
TokenOpt = Annotated[
    str, typer.Option("--token", envvar=TOKEN_ENV, help="your API token", show_default=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="the node's node.toml")]

out = Console()
err = Console(stderr=True)


def friendly(fn: F) -> F:
    """Report noticenet errors as one red line and exit 1, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NoticenetError as exc:
            err.print(
                f"[red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def client(api: str, token: str) -> ApiClient:
    return ApiClient(api or DEFAULT_API, token)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc.msg} (line {exc.lineno})") from None


def summary(view: dict[str, Any]) -> str:
    """One line about a record, for people reading a table."""
    r, kind = view.get("record", {}), str(view.get("kind", ""))
    subject = r.get("subject") or {}
    person = " ".join(x for x in (subject.get("forename"), subject.get("name")) if x)
    if subject.get("date_of_birth"):
        person += f" ({subject['date_of_birth']})"
    if kind == "sltd":
        return (
            f"{r.get('issuing_country')} {r.get('document_type')} {r.get('document_number')}: "
            f"{r.get('status')}"
        )
    if kind == "vehicle":
        return f"VIN {r.get('vin')} {r.get('make', '')} {r.get('model', '')}".strip()
    if kind == "firearm":
        return f"{r.get('make')} serial {r.get('serial')} {r.get('model', '')}".strip()
    if kind == "diffusion":
        return f"{r.get('purpose')} -> {','.join(r.get('recipients', []))} {person}".strip()
    if kind == "dna":
        return f"DNA {r.get('loci_set')} {r.get('reference', '')} {person}".strip()
    warrants = "; ".join(w.get("charge", "") for w in r.get("arrest_warrants", []))
    return f"{person} {warrants}".strip()


def records_table(title: str, views: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("id", "author", "kind", "record"):
        table.add_column(col)
    for v in views:
        table.add_row(v["id"][:16], v["author"], v["kind"], summary(v))
    return table
