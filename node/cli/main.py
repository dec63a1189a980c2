"""The `noticenet` command line (typer).

Offline commands work on files: `init`, `node run`, `localnet create`,
`users`, `verify`, `repair`, the CCF ceremony rounds. Online commands talk to your
node's HTTP API with a token (`--api`, `--token`, or $NOTICENET_API and
$NOTICENET_TOKEN). Every command has `--help`; most have `--json`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from noticenet.node.cli import online
from noticenet.node.cli.ccf import ccf_app
from noticenet.node.cli.common import ConfigOpt, JsonOpt, emit_json, err, friendly, out
from noticenet.simulations.cli import simulate_command

app = typer.Typer(
    help="noticenet: a federated ledger of police notices.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
node_app = typer.Typer(help="Run a member node.", no_args_is_help=True)
net_app = typer.Typer(help="Local networks on 127.0.0.1.", no_args_is_help=True)
users_app = typer.Typer(help="API users of a node (works while it runs).", no_args_is_help=True)
app.add_typer(node_app, name="node")
app.add_typer(net_app, name="localnet")
app.add_typer(users_app, name="users")
app.add_typer(ccf_app, name="ccf")
online.register(app)
app.command("simulate")(simulate_command)


@app.callback()
def _root() -> None:
    """noticenet: a federated ledger of police notices."""


@app.command()
def demo(
    offline: Annotated[
        bool, typer.Option(help="the in-process tour over the simulated network instead")
    ] = False,
    root: Annotated[Path, typer.Option(help="data folder, recreated each run")] = Path("demo-data"),
    keep: Annotated[
        bool, typer.Option(help="leave the network running after the tour, until Ctrl-C")
    ] = False,
) -> None:
    """Run the demonstration: seven node processes, border check, CCF revocation, re-entry.

    It ends by printing where to sign in with a browser (a member node's and the CCF
    node's address, and a token per role).
    """
    if offline:
        from noticenet.simulations.tour import run_demo

        facts = run_demo()
        ok = bool(facts["hit"] and facts["gone"] and facts["reentry_refused"])
        ok = ok and bool(facts["similar_held"] and facts["released"])
    else:
        from noticenet.node.demo.network import run_network_demo

        facts = run_network_demo(root.resolve(), keep=keep)
        ok = bool(facts.get("revoked_everywhere") and facts.get("reentry_status") == 409)
        ok = ok and bool(facts.get("similar_status") == 202 and facts.get("released_everywhere"))
    if not ok:
        raise typer.Exit(1)


@app.command()
@friendly
def init(
    member: Annotated[str, typer.Option(help="your member id (e.g. FRA)")],
    folder: Annotated[Path, typer.Option("--dir", help="where to write keys and config")],
    genesis: Annotated[Path | None, typer.Option(help="the network's genesis.cbor")] = None,
    anchor: Annotated[str, typer.Option(help="governance group key (hex), out of band")] = "",
    listen: Annotated[str, typer.Option(help="libp2p listen address")] = ("/ip4/0.0.0.0/tcp/4101"),
    api: Annotated[str, typer.Option(help="HTTP API bind address")] = "127.0.0.1:8101",
    neighbour: Annotated[list[str], typer.Option(help="member to dial, repeatable")] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(help="overwrite an existing key")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a real member's keys (locked with argon2id) and node.toml."""
    from noticenet.node.cli.offline import init_member

    passphrase = os.environ.get("NOTICENET_PASSPHRASE")
    if passphrase is None:
        passphrase = typer.prompt(
            "passphrase for the member key", hide_input=True, confirmation_prompt=True
        )
    with out.status("deriving the key file's lock (argon2id)…"):
        identity = init_member(
            folder,
            member,
            passphrase,
            genesis=genesis,
            anchor=anchor,
            listen=listen,
            api=api,
            neighbours=tuple(neighbour),
            force=force,
        )
    if as_json:
        emit_json(identity)
        return
    out.print(f"wrote {folder}/member.key (locked), {folder}/node.toml, {folder}/identity.json")
    if genesis is not None:
        out.print(f"created the store {folder}/data/ledger with the genesis roster")
    out.print("send identity.json to the governance for the roster:")
    out.print(json.dumps(identity, indent=1), highlight=False)
    if genesis is None:
        err.print("node.toml lacks genesis and anchor: add them when the governance sends them")


@app.command()
@friendly
def verify(config: ConfigOpt, as_json: JsonOpt = False) -> None:
    """Offline: re-check every signature, chain, body and index in the node's store."""
    from noticenet.node.cli.offline import verify_store

    with out.status("verifying the ledger (signatures, chains, bodies, indexes)…"):
        summary, problems = verify_store(config)
    if as_json:
        emit_json({"summary": summary, "problems": problems})
    else:
        out.print(", ".join(f"{k} {v}" for k, v in summary.items()))
        for p in problems[:50]:
            out.print(f"[red]problem[/] {p['author']}#{p['seq']}: {p['what']}", highlight=False)
        out.print("[green]ledger verifies[/]" if not problems else f"{len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@app.command()
@friendly
def repair(
    config: ConfigOpt,
    keep_old: Annotated[
        bool,
        typer.Option(
            "--keep-old",
            help="keep the old store aside as ledger.damaged (it may hold revoked bodies)",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Offline: rebuild the node's store from every entry that verifies (stop the node first).

    Each feed is kept up to its first missing or bad entry; the node fetches the
    rest back from its peers when it next runs. A missing store is created with
    the genesis roster (how a wiped member comes back).
    """
    from noticenet.node.config import load_config
    from noticenet.node.store.opening import repair_store

    cfg = load_config(config)
    with out.status("repairing the store (re-checking every entry)…"):
        report = repair_store(cfg, cfg.keys(), keep_old=keep_old)
    rows = [
        {"author": f.author, "held": f.held, "kept": f.kept, "dropped": f.dropped, "cut": f.cut}
        for f in report.feeds
    ]
    if as_json:
        emit_json(
            {
                "store": str(report.path),
                "created": report.created,
                "leveldb_repaired": report.leveldb_repaired,
                "feeds": rows,
                "evidence": report.evidence,
            }
        )
        return
    if report.created:
        out.print(f"no store was there: created {report.path} with the genesis roster")
    for r in rows:
        cut = f" (cut: {r['cut']})" if r["cut"] else ""
        out.print(f"{r['author']}: kept {r['kept']}, dropped {r['dropped']}{cut}", highlight=False)
    if report.leveldb_repaired:
        out.print("LevelDB's own repair ran first: the store did not open")
    aside = f"kept aside at {report.kept_aside}" if report.kept_aside else "removed"
    out.print(
        f"kept {report.kept}, dropped {report.dropped}; the old store was {aside}. "
        "Start the node: it fetches what was dropped from its peers.",
        highlight=False,
    )


@app.command()
@friendly
def emulate(
    out_dir: Annotated[Path, typer.Option("--out", help="emulation.md, emulation.json")] = Path(
        "emulation-out"
    ),
    countries: Annotated[
        str, typer.Option(help="ISO codes of the members, comma-separated (the CCF is added)")
    ] = "",
    records: Annotated[int, typer.Option(help="records published in the measured part")] = 40,
    seed: Annotated[int, typer.Option(help="the scenario's seed")] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Run one small scenario in the simulator and as real node processes on 127.0.0.1,
    with the same link latencies, and compare p50/p99 (exit 1 if not within 20%)."""
    from noticenet.simulations.emulation import EmulationSpec
    from noticenet.simulations.emulation import emulate as run_emulation

    spec = EmulationSpec(records=records, seed=seed)
    if countries:
        picked = tuple(c.strip().upper() for c in countries.split(",") if c.strip())
        spec = dataclasses.replace(spec, countries=picked)
    report = run_emulation(spec, out_dir / "net", out_dir)
    if as_json:
        emit_json(report)
    else:
        out.print((out_dir / "emulation.md").read_text(), highlight=False)
    if not report["comparison"]["within"]:
        raise typer.Exit(1)


@node_app.command("run")
@friendly
def node_run(
    config: ConfigOpt,
    verbose: bool = False,
    alone: Annotated[
        bool,
        typer.Option(help="publish without first hearing this node's feed head from a peer"),
    ] = False,
) -> None:
    """Run the node in the foreground until SIGINT/SIGTERM.

    After a start the node publishes only once its peers have told it how far its own
    feed reached (a restored store must not fork it); `--alone` is for a network of one.
    """
    import logging

    import trio

    from noticenet.node import logs
    from noticenet.node.runner import run_node

    logs.setup(logging.DEBUG if verbose else logging.INFO)
    from noticenet.node.stalls import StallLog

    trio.run(run_node, config, None, alone, instruments=[StallLog()])


@net_app.command("create")
@friendly
def localnet_create(
    root: Path, seed: str = "noticenet-local", neighbours: int = 3, as_json: JsonOpt = False
) -> None:
    """Write keys, configs and a genesis roster for a local network under ROOT."""
    from noticenet.node.demo.localnet import create_localnet

    net = create_localnet(root, seed.encode(), neighbours=neighbours)
    rows = {
        m.id: {"config": str(m.config), "api": m.api, "peer_id": m.peer_id}
        for m in net.members.values()
    }
    if as_json:
        emit_json(rows)
    else:
        out.print("\n".join(f"{k}: {v['config']} api={v['api']}" for k, v in rows.items()))


@users_app.command("add")
@friendly
def users_add(config: ConfigOpt, name: str, role: str, as_json: JsonOpt = False) -> None:
    """Create an API user (border, officer, issuer or admin); prints its token once."""
    token = _users(config).add(name, role)
    if as_json:
        emit_json({"name": name, "role": role, "token": token})
    else:
        typer.echo(token)


@users_app.command("list")
def users_list(config: ConfigOpt, as_json: JsonOpt = False) -> None:
    """List API users and their roles."""
    rows = [{"name": u.name, "role": u.role} for u in _users(config).list()]
    if as_json:
        emit_json(rows)
    else:
        typer.echo("\n".join(f"{r['name']}\t{r['role']}" for r in rows))


@users_app.command("revoke")
def users_revoke(config: ConfigOpt, name: str) -> None:
    """Revoke an API user's token."""
    if not _users(config).revoke(name):
        err.print(f"no user {name!r}")
        raise typer.Exit(1)


def _users(config: Path):  # type: ignore[no-untyped-def]
    from noticenet.node.api.users import Users
    from noticenet.node.config import load_config

    cfg = load_config(config)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    return Users(cfg.tokens_file or cfg.data_dir / "tokens.json")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
