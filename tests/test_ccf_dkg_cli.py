"""`noticenet ccf dkg`: the key generation ceremony through files, as commissioners run it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from noticenet.crypto import frost
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.node.ccf import dkg_files
from noticenet.node.ccf.ceremony_files import read_key_package, read_public_package
from noticenet.node.cli.main import app
from noticenet.protocol.ccf import dkg_ceremony

runner = CliRunner()
NAMES = ("ada", "bruno", "chiara")


def invoke(*args: str, code: int = 0, env: dict[str, str] | None = None,
           stdin: str | None = None) -> Any:
    result = runner.invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == code, result.output
    return result


def _keys(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in NAMES:
        (tmp_path / name).mkdir()
        paths[name] = tmp_path / name / "ceremony.key"
    return paths


def _pub(name: str) -> str:
    return f"pass-{name}"


def test_three_commissioners_make_a_block_key_through_files(tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    publics = {}
    for name, path in keys.items():
        made = json.loads(invoke("ccf", "dkg", "key", "--out", str(path), "--passphrase",
                                 _pub(name), "--json").stdout)
        publics[name] = made["public"]
    assert path.stat().st_mode & 0o777 == 0o600
    setup = tmp_path / "block.setup"
    rows = [x for n in NAMES for x in ("--participant", f"{n}={publics[n]}")]
    shown = invoke("ccf", "dkg", "setup", "--group", "block", "--threshold", "2", *rows,
                   "--out", str(setup)).stdout
    assert "2 of 3" in shown and "ceremony digest" in shown
    exchange = tmp_path / "usb"
    for step in ("round1", "digests", "round2"):
        for name in NAMES:
            invoke("ccf", "dkg", step, str(setup), "--key", str(keys[name]), "--dir",
                   str(exchange), "--passphrase", _pub(name))
    # round one is never run twice for a ceremony (a second package would be an equivocation)
    invoke("ccf", "dkg", "round1", str(setup), "--key", str(keys["ada"]), "--dir",
           str(exchange), "--passphrase", _pub("ada"), code=1)
    packages = {}
    for i, name in enumerate(NAMES, start=1):
        out = invoke("ccf", "dkg", "finish", str(setup), "--key", str(keys[name]), "--dir",
                     str(exchange), "--key-package", str(tmp_path / name / f"block-{i}.key"),
                     "--public", str(tmp_path / name / "block.pub"),
                     "--passphrase", _pub(name)).stdout
        assert "compare it" in out
        packages[i] = read_key_package(tmp_path / name / f"block-{i}.key", _pub(name))
        assert packages[i].signing_share not in (tmp_path / name / f"block-{i}.key").read_bytes()
        assert not list((tmp_path / name).glob("ceremony.key.*"))  # round secrets shredded
    publics_read = [read_public_package(tmp_path / n / "block.pub") for n in NAMES]
    assert publics_read[0] == publics_read[1] == publics_read[2]
    group = ThresholdGroup(packages, publics_read[0])
    for signers in ((1, 2), (2, 3), (1, 3)):
        signature = group.sign(b"block", signers)
        assert frost.verify_signature(group.public_key, b"block", signature)


def test_a_split_view_through_files_names_the_equivocator(tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    publics = {n: dkg_files.cmd_key(keys[n], _pub(n)).hex() for n in NAMES}
    setup = tmp_path / "revoke.setup"
    dkg_files.cmd_setup(setup, "revoke", 2, [f"{n}={publics[n]}" for n in NAMES])
    shared = tmp_path / "shared"
    for name in NAMES:
        dkg_files.cmd_round1(setup, keys[name], shared, _pub(name))
    # Bruno (2) makes a second round-one package (with a tool of his own) for Chiara.
    chiara = tmp_path / "chiara-copy"
    shutil.copytree(shared, chiara)
    made = dkg_files.read_setup(setup)
    bruno = dkg_files.read_ceremony_key(keys["bruno"], _pub("bruno"))
    _, other = dkg_ceremony.round1(made, 2, bruno)
    (chiara / "round1-2.cbor").write_bytes(other.to_bytes())
    for name in ("ada", "bruno"):
        dkg_files.cmd_digests(setup, keys[name], shared, _pub(name))
    dkg_files.cmd_digests(setup, keys["chiara"], chiara, _pub("chiara"))
    shutil.copy(chiara / "digests-3.cbor", shared / "digests-3.cbor")
    shutil.copy(shared / "digests-1.cbor", chiara)
    shutil.copy(shared / "digests-2.cbor", chiara)
    for name, folder in (("ada", shared), ("chiara", chiara)):
        refused = invoke("ccf", "dkg", "round2", str(setup), "--key", str(keys[name]), "--dir",
                         str(folder), "--passphrase", _pub(name), code=1)
        assert "participant 2 (bruno) is at fault" in refused.output
        assert "different round-one packages" in refused.output
    assert not list(shared.glob("round2-*"))  # no share left anyone's machine
    restart = tmp_path / "restart.setup"
    shown = invoke("ccf", "dkg", "setup", "--from", str(setup), "--exclude", "2",
                   "--out", str(restart)).stdout
    assert "bruno" not in shown and "2 of 2" in shown


def test_a_missing_key_file_is_an_error_before_any_prompt(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.key")
    for args in (
        ("ccf", "sign", str(tmp_path / "p"), "--key", missing, "--nonces", "n",
         "--commitment", "c", "--out", "o"),
        ("ccf", "commit", str(tmp_path / "p"), "--key", missing, "--nonces", "n",
         "--commitment", "c"),
        ("ccf", "dkg", "round1", str(tmp_path / "s"), "--key", missing, "--dir", "d"),
    ):
        result = invoke(*args, code=1, stdin="")
        assert "passphrase" not in result.output.split("error")[0]
        assert "nowhere.key" in result.output and "no " in result.output


def _run_steps(setup: Path, keys: dict[str, Path], exchange: Path, names: tuple[str, ...],
               current: dict[str, Path] | None = None) -> None:
    for step in ("round1", "digests", "round2"):
        for name in names:
            extra = ["--current", str(current[name])] if (
                step == "round1" and current and name in current) else []
            invoke("ccf", "dkg", step, str(setup), "--key", str(keys[name]), "--dir",
                   str(exchange), "--passphrase", _pub(name), *extra)


def test_a_reshare_through_files_retires_one_commissioner_and_admits_another(
        tmp_path: Path) -> None:
    """Ada, Bruno and Chiara hold a 2-of-3 block key; Chiara leaves and Dara joins. Ada and
    Bruno reshare: same group key, new shares for Ada, Bruno and Dara; Chiara's old share no
    longer signs with theirs."""
    keys = _keys(tmp_path)
    (tmp_path / "dara").mkdir()
    keys["dara"] = tmp_path / "dara" / "ceremony.key"
    publics = {n: json.loads(invoke("ccf", "dkg", "key", "--out", str(keys[n]), "--passphrase",
                                    _pub(n), "--json").stdout)["public"] for n in keys}
    setup = tmp_path / "block.setup"
    rows = [x for n in NAMES for x in ("--participant", f"{n}={publics[n]}")]
    invoke("ccf", "dkg", "setup", "--group", "block", "--threshold", "2", *rows,
           "--out", str(setup))
    _run_steps(setup, keys, tmp_path / "usb", NAMES)
    old = {}
    for i, n in enumerate(NAMES, start=1):
        invoke("ccf", "dkg", "finish", str(setup), "--key", str(keys[n]), "--dir",
               str(tmp_path / "usb"), "--key-package", str(tmp_path / n / "block.key"),
               "--public", str(tmp_path / n / "block.pub"), "--passphrase", _pub(n))
        old[i] = read_key_package(tmp_path / n / "block.key", _pub(n))
    public = read_public_package(tmp_path / "ada" / "block.pub")
    reshare = tmp_path / "block-r1.setup"
    shown = invoke("ccf", "dkg", "setup", "--refresh", str(tmp_path / "ada" / "block.pub"),
                   "--from", str(setup), "--exclude", "3", "--add", f"dara={publics['dara']}",
                   "--out", str(reshare)).stdout
    assert "Refresh of the CCF block key" in shown and "retiring share(s) [3]" in shown
    assert "new participant(s) [4]" in shown
    invoke("ccf", "dkg", "round1", str(reshare), "--key", str(keys["ada"]), "--dir",
           str(tmp_path / "usb-x"), "--passphrase", _pub("ada"), code=1)  # a dealer needs --current
    members = ("ada", "bruno", "dara")
    exchange = tmp_path / "usb2"
    _run_steps(reshare, keys, exchange, members,
               {n: tmp_path / n / "block.key" for n in ("ada", "bruno")})
    new = {}
    for i, n in zip((1, 2, 4), members, strict=True):
        invoke("ccf", "dkg", "finish", str(reshare), "--key", str(keys[n]), "--dir",
               str(exchange), "--key-package", str(tmp_path / n / "block-new.key"),
               "--public", str(tmp_path / n / "block-new.pub"), "--passphrase", _pub(n))
        new[i] = read_key_package(tmp_path / n / "block-new.key", _pub(n))
        if i == 1:  # the others have not finished: Ada may not retire her old share yet
            failed = invoke("ccf", "dkg", "retire", str(reshare), "--dir", str(exchange),
                            "--current", str(tmp_path / n / "block.key"),
                            "--public", str(tmp_path / n / "block-new.pub"), code=1)
            assert "not finished" in failed.output
    new_public = read_public_package(tmp_path / "dara" / "block-new.pub")
    assert new_public.group_public_key == public.group_public_key
    assert sorted(new_public.verifying_shares) == [1, 2, 4]
    for n in ("ada", "bruno"):
        invoke("ccf", "dkg", "retire", str(reshare), "--dir", str(exchange),
               "--current", str(tmp_path / n / "block.key"),
               "--public", str(tmp_path / n / "block-new.pub"))
        assert not (tmp_path / n / "block.key").exists()  # the old share is gone
    for signers in ((1, 4), (2, 4)):
        signature = ThresholdGroup(new, new_public).sign(b"block", signers)
        assert frost.verify_signature(public.group_public_key, b"block", signature)
    mixed = {1: new[1], 3: old[3]}
    rounds = {i: frost.commit(p) for i, p in mixed.items()}
    commitments = [c for _, c in rounds.values()]
    shares = [frost.sign(mixed[i], rounds[i][0], b"block", commitments) for i in mixed]
    raw = frost.combine_signature(commitments, b"block", public.group_public_key, shares)
    assert not frost.verify_signature(public.group_public_key, b"block", raw)


def test_a_local_network_writes_each_groups_setup_for_the_ccf_node(tmp_path: Path) -> None:
    """`localnet create` (and the demo) keep each group's DKG setup beside its key packages
    and in the CCF's node, whose ceremony pages then name the commissioners; the setup's
    commissioners are the public package's."""
    from noticenet.node.demo.localnet import create_localnet

    net = create_localnet(tmp_path / "net")
    for group in ("block", "revoke"):
        kept = (tmp_path / "net" / "CCF" / "data" / "commission" / f"{group}.setup.cbor")
        beside = tmp_path / "net" / "ccf" / f"{group}.setup.cbor"
        assert kept.read_bytes() == beside.read_bytes()
        setup = dkg_ceremony.Setup.from_bytes(kept.read_bytes())
        public = read_public_package(tmp_path / "net" / "ccf" / f"{group}.pub")
        assert set(setup.ids) == set(public.verifying_shares)
        assert setup.threshold == getattr(net.devnet, group).threshold
        assert setup.name_of(1) == "commissioner 1"
