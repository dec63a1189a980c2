"""The `noticenet` command line (typer)."""

from __future__ import annotations

import typer

app = typer.Typer(help="noticenet: a federated ledger of police notices.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """noticenet: a federated ledger of police notices."""


@app.command()
def demo() -> None:
    """Run the demonstration: members, records, border check, CCF revocation."""
    from .demo import run_demo

    facts = run_demo()
    if not (facts["hit"] and facts["gone"] and facts["reentry_refused"]):
        raise typer.Exit(1)


def main() -> None:
    app()
