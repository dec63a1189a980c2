"""The command line, offline: help everywhere, init, verify, users, the CCF ceremony on files.

(Commands that talk to a node are tested against real processes in test_api.py.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from noticenet.crypto.keyfile import unlock
from noticenet.crypto.keys import MemberKeys
from noticenet.node.ccf.ceremony_files import read_proposal
from noticenet.node.cli.main import app
from noticenet.node.config import load_config
from noticenet.node.demo.localnet import LocalNet, MemberRow, create_localnet
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.devnet import make_devnet
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import decode_entry

from .samples import notice

runner = CliRunner()
MEMBERS: tuple[MemberRow, ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("CCF", "ccf", "Commission", ()),
)


def invoke(*args: str, env: dict[str, str] | None = None, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in getattr(group, "commands", {}).items():
        yield from command_paths(command, (*prefix, name))


def test_every_command_has_help() -> None:
    paths = list(command_paths(typer.main.get_command(app)))
    assert ("check", "mrz") in paths and ("ccf", "aggregate") in paths and ("import",) in paths
    assert len(paths) > 30
    for path in paths:
        result = invoke(*path, "--help")
        assert "Usage" in result.output, path


def test_init_writes_a_locked_key_and_a_config(tmp_path: Path) -> None:
    env = {"NOTICENET_PASSPHRASE": "correct horse"}
    folder = tmp_path / "fra"
    identity = json.loads(
        invoke("init", "--member", "FRA", "--dir", str(folder), "--json", env=env).stdout
    )
    key_file = folder / "member.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    keys = MemberKeys(unlock(key_file.read_bytes(), "correct horse"))
    assert identity["signing_key"] == keys.public.signing_key.hex()
    assert identity["peer_id"].startswith("12D3KooW")
    assert json.loads((folder / "identity.json").read_text()) == identity
    assert 'member = "FRA"' in (folder / "node.toml").read_text()
    again = invoke("init", "--member", "FRA", "--dir", str(folder), env=env, code=1)
    assert "exists" in again.output
    genesis = tmp_path / "genesis.cbor"
    genesis.write_bytes(b"")
    invoke(
        "init",
        "--member",
        "FRA",
        "--dir",
        str(folder),
        "--force",
        "--genesis",
        str(genesis),
        env=env,
        code=1,
    )
    wrong = invoke(  # the genesis must verify against the anchor: the store starts with it
        "init",
        "--member",
        "FRA",
        "--dir",
        str(folder),
        "--force",
        "--genesis",
        str(genesis),
        "--anchor",
        "ab" * 32,
        env=env,
        code=1,
    )
    assert "error:" in wrong.output
    devnet = make_devnet(now_ms=now() - 60_000)  # a genesis issued in the past
    genesis.write_bytes(devnet.genesis.to_wire())
    anchor = devnet.governance.public_key.hex()
    args = ("init", "--member", "FRA", "--dir", str(folder), "--force", "--genesis", str(genesis))
    invoke(*args, "--anchor", anchor, env=env)
    assert load_config(folder / "node.toml").anchor == bytes.fromhex(anchor)
    assert (folder / "data" / "ledger" / "CURRENT").exists()  # init made the store


@pytest.fixture
def localnet(tmp_path: Path) -> LocalNet:
    return create_localnet(tmp_path / "net", b"cli-tests", MEMBERS, passphrase="pw")


def open_ledger(net: LocalNet, member: str) -> tuple[Ledger, Publisher]:
    config = load_config(net.members[member].config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    keys = config.keys("pw")
    store = LevelDBStore(str(config.data_dir / "ledger"))
    ledger = Ledger.of_member(store, config.anchor, member, keys)
    if ledger.roster is None:
        ledger.ingest(decode_entry(config.genesis.read_bytes()), now())
    return ledger, Publisher(ledger, member, keys)


def now() -> int:
    return int(time.time() * 1000)


def test_verify_a_stopped_store(localnet: LocalNet) -> None:
    ledger, publisher = open_ledger(localnet, "FRA")
    publisher.publish("notice.red", notice(), now())
    config = str(localnet.members["FRA"].config)
    locked = invoke("verify", "-c", config, code=1)
    assert "stop it first" in locked.output
    ledger.store.close()
    report = json.loads(invoke("verify", "-c", config, "--json").stdout)
    assert report["problems"] == [] and report["summary"]["entries"] == 3
    store = LevelDBStore(str(load_config(Path(config)).data_dir / "ledger"))
    _drop(store, b"f/FRA")
    store.close()
    broken = invoke("verify", "-c", config, code=1)
    assert "problem" in broken.output


def _drop(store: LevelDBStore, key: bytes) -> None:
    batch = store.batch()
    batch.delete(key)
    batch.commit(sync=True)


def test_users_commands(localnet: LocalNet) -> None:
    config = str(localnet.members["DEU"].config)
    token = invoke("users", "add", "-c", config, "ana", "officer").stdout.strip()
    assert token.startswith("nn_")
    listed = json.loads(invoke("users", "list", "-c", config, "--json").stdout)
    assert listed == [{"name": "ana", "role": "officer"}]
    assert (
        "role must be one of" in invoke("users", "add", "-c", config, "bob", "root", code=1).output
    )
    invoke("users", "revoke", "-c", config, "ana")
    invoke("users", "revoke", "-c", config, "ana", code=1)


def test_ccf_ceremony_through_files(localnet: LocalNet, tmp_path: Path) -> None:
    fra, publisher = open_ledger(localnet, "FRA")
    target = publisher.publish("notice.red", notice(), now())
    ccf, _ = open_ledger(localnet, "CCF")
    for entry in fra.feed("FRA"):
        ccf.ingest(entry, now())
    fra.store.close()
    ccf.store.close()
    root = localnet.root
    env = {"NOTICENET_CCF_PASSPHRASE": "pw"}
    proposal = tmp_path / "proposal"
    described = json.loads(
        invoke(
            "ccf",
            "propose",
            "--store",
            str(root / "CCF/data/ledger"),
            "--member",
            "CCF",
            "--key-file",
            str(root / "CCF/member.key"),
            "--passphrase",
            "pw",
            "--action",
            "revoke",
            "--target",
            target.id.hex(),
            "--reason",
            "article-3",
            "--decision",
            "CCF/2026/7",
            "--out",
            str(proposal),
            "--json",
        ).stdout
    )
    assert any("guard tag" in line for line in described["describe"])
    assert target.id.hex() in invoke("ccf", "show", str(proposal)).output
    signers = (2, 3, 5)
    commits = [str(tmp_path / f"c{i}") for i in signers]
    for i, c in zip(signers, commits, strict=True):
        invoke(
            "ccf",
            "commit",
            str(proposal),
            "--key",
            str(root / f"ccf/revoke-{i}.key"),
            "--nonces",
            str(tmp_path / f"n{i}"),
            "--commitment",
            c,
            env=env,
        )
    shares = [str(tmp_path / f"s{i}") for i in signers]
    for i, s in zip(signers, shares, strict=True):
        args = [a for c in commits for a in ("--commitment", c)]
        invoke(
            "ccf",
            "sign",
            str(proposal),
            "--key",
            str(root / f"ccf/revoke-{i}.key"),
            "--nonces",
            str(tmp_path / f"n{i}"),
            *args,
            "--out",
            s,
            env=env,
        )
        assert not (tmp_path / f"n{i}").exists()  # nonces are destroyed after use
    # A rival ceremony for the same position (same head, another decision) cannot fork
    # the feed: signer 2 has signed there already and refuses.
    first = read_proposal(proposal)
    rival = tmp_path / "rival"
    rival.write_bytes(
        dataclasses.replace(
            first, action=dataclasses.replace(first.action, decision="CCF/2026/8")
        ).to_bytes()
    )
    rivals = (1, 2, 4)  # 2 signed the first proposal; 1 and 4 did not
    rival_commits = [a for i in rivals for a in ("--commitment", str(tmp_path / f"rc{i}"))]
    for i in rivals:
        invoke("ccf", "commit", str(rival), "--key", str(root / f"ccf/revoke-{i}.key"),
               "--nonces", str(tmp_path / f"rn{i}"), "--commitment", str(tmp_path / f"rc{i}"),
               env=env)
    for i in rivals:
        signed = invoke("ccf", "sign", str(rival), "--key", str(root / f"ccf/revoke-{i}.key"),
                        "--nonces", str(tmp_path / f"rn{i}"), *rival_commits,
                        "--out", str(tmp_path / f"rs{i}"), env=env, code=1 if i == 2 else 0)
        assert ("ConflictingProposal" in signed.output) == (i == 2)
    assert not (tmp_path / "rs2").exists() and (root / "ccf/revoke-2.key.signed").exists()
    short = invoke("ccf", "aggregate", str(rival), "--public", str(root / "ccf/revoke.pub"),
                   *rival_commits, "--share", str(tmp_path / "rs1"), "--share",
                   str(tmp_path / "rs4"), "--out", str(tmp_path / "rival.entry"), code=1)
    assert "BelowThreshold" in short.output  # 2 of the 3 shares: the rival never exists
    out = tmp_path / "revoke.entry"
    made = json.loads(
        invoke(
            "ccf",
            "aggregate",
            str(proposal),
            "--public",
            str(root / "ccf/revoke.pub"),
            *[a for c in commits for a in ("--commitment", c)],
            *[a for s in shares for a in ("--share", s)],
            "--out",
            str(out),
            "--json",
        ).stdout
    )
    ccf, _ = open_ledger(localnet, "CCF")
    result = ccf.ingest(decode_entry(out.read_bytes()), now())
    assert result.id.hex() == made["id"] and result.outcome.value == "stored"
    assert ccf.ccf_status(target.id)["state"] == "revoked"
    ccf.store.close()
    few = invoke(
        "ccf",
        "aggregate",
        str(proposal),
        "--public",
        str(root / "ccf/revoke.pub"),
        "--commitment",
        commits[0],
        "--share",
        shares[0],
        "--out",
        str(out),
        code=1,
    )
    assert "BelowThreshold" in few.output


def test_online_commands_report_an_unreachable_node(tmp_path: Path) -> None:
    result = invoke("status", "00" * 32, "--api", "127.0.0.1:9", "--token", "x", code=1)
    assert "Unreachable" in result.output
    env = {**os.environ, "NOTICENET_API": "127.0.0.1:9", "NOTICENET_TOKEN": "x"}
    assert "Unreachable" in invoke("recent", "sltd", env=env, code=1).output
