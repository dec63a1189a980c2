"""The `noticenet` command line (typer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="noticenet: a federated ledger of police notices.", no_args_is_help=True)
node_app = typer.Typer(help="Run a member node.", no_args_is_help=True)
net_app = typer.Typer(help="Local networks on 127.0.0.1.", no_args_is_help=True)
users_app = typer.Typer(help="API users of a node.", no_args_is_help=True)
app.add_typer(node_app, name="node")
app.add_typer(net_app, name="localnet")
app.add_typer(users_app, name="users")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="the node's node.toml")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


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


@node_app.command("run")
def node_run(config: ConfigOpt, verbose: bool = False) -> None:
    """Run the node in the foreground until SIGINT/SIGTERM."""
    import logging

    import trio

    from . import logs
    from .runner import run_node

    logs.setup(logging.DEBUG if verbose else logging.INFO)
    trio.run(run_node, config)


@net_app.command("create")
def localnet_create(
    root: Path, seed: str = "noticenet-local", neighbours: int = 3, as_json: JsonOpt = False
) -> None:
    """Write keys, configs and a genesis roster for a local network under ROOT."""
    from .localnet import create_localnet

    net = create_localnet(root, seed.encode(), neighbours=neighbours)
    rows = {
        m.id: {"config": str(m.config), "api": m.api, "peer_id": m.peer_id}
        for m in net.members.values()
    }
    typer.echo(
        json.dumps(rows, indent=1)
        if as_json
        else "\n".join(f"{k}: {v['config']} api={v['api']}" for k, v in rows.items())
    )


@users_app.command("add")
def users_add(config: ConfigOpt, name: str, role: str, as_json: JsonOpt = False) -> None:
    """Create an API user; prints its token once."""
    users = _users(config)
    token = users.add(name, role)
    typer.echo(json.dumps({"name": name, "role": role, "token": token}) if as_json else token)


@users_app.command("list")
def users_list(config: ConfigOpt, as_json: JsonOpt = False) -> None:
    """List API users and their roles."""
    rows = [{"name": u.name, "role": u.role} for u in _users(config).list()]
    typer.echo(
        json.dumps(rows) if as_json else "\n".join(f"{r['name']}\t{r['role']}" for r in rows)
    )


@users_app.command("revoke")
def users_revoke(config: ConfigOpt, name: str) -> None:
    """Revoke an API user's token."""
    if not _users(config).revoke(name):
        raise typer.Exit(1)


def _users(config: Path):  # type: ignore[no-untyped-def]
    from .config import load_config
    from .users import Users

    cfg = load_config(config)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    return Users(cfg.tokens_file or cfg.data_dir / "tokens.json")


def main() -> None:
    app()
