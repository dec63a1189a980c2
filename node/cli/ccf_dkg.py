"""`noticenet ccf dkg ...`: the commission's distributed key generation, offline, through files.

ccf dkg key      your ceremony key (once per commissioner; give the others its public key)
ccf dkg setup    the ceremony: group, threshold, commissioners (or an earlier one --exclude N)
ccf dkg show     what a setup says, and its digest: every commissioner checks it aloud
ccf dkg round1   your round-one package, into the exchange folder
ccf dkg digests  the consistency round: sign what you received from everyone
ccf dkg round2   only if every digests file agrees: a sealed share for each other commissioner
ccf dkg finish   your key package (locked) and the group's public package
ccf dkg judge    who is at fault according to a complaint file
ccf dkg retire   after a refresh, once everyone is done: destroy your old key package

A refresh or reshare (a commissioner leaves or joins, a share may be lost, the
threshold changes) runs the same steps from `ccf dkg setup --refresh GROUP.pub
--from SETUP [--exclude N] [--add NAME=PUB] [--threshold T]`; those who hold a
share now give it to `ccf dkg round1 --current`. The group key stays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from noticenet.node.ccf.ceremony_files import CeremonyFileError, read_secret
from noticenet.node.ccf.dkg_files import (
    cmd_digests,
    cmd_finish,
    cmd_judge,
    cmd_key,
    cmd_retire,
    cmd_round1,
    cmd_round2,
    cmd_setup,
    public_fingerprint,
    read_setup,
)
from noticenet.node.cli.common import JsonOpt, emit_json, friendly, out

dkg_app = typer.Typer(
    help="The CCF's key generation: no dealer, each commissioner on their own machine.",
    no_args_is_help=True,
)
T = TypeVar("T")

SetupArg = Annotated[Path, typer.Argument(help="the ceremony's setup file")]
CKeyOpt = Annotated[Path, typer.Option("--key", help="your ceremony key (from `ccf dkg key`)")]
DirOpt = Annotated[Path, typer.Option("--dir", help="the exchange folder carried between you")]
PassOpt = Annotated[
    str | None,
    typer.Option(
        envvar="NOTICENET_CCF_PASSPHRASE", help="your passphrase (else asked)", show_default=False
    ),
]


def _unlocking(key: Path, passphrase: str | None, step: Callable[[str | None], T]) -> T:
    """Run `step`, asking for the passphrase only once the key file is known to exist."""
    if not Path(key).is_file():
        raise CeremonyFileError(f"no ceremony key at {key}")
    if passphrase is None:
        try:
            read_secret(key, None)
        except CeremonyFileError:
            passphrase = typer.prompt(f"passphrase for {key}", hide_input=True)
    return step(passphrase)


def _done(as_json: bool, facts: dict[str, Any], lines: list[str] | None = None) -> None:
    if as_json:
        emit_json(facts)
    else:
        out.print("\n".join(lines or [" ".join(f"{k}={v}" for k, v in facts.items())]),
                  highlight=False)


@dkg_app.command("key")
@friendly
def key(
    out_file: Annotated[Path, typer.Option("--out", help="where to keep your ceremony key")],
    passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make your ceremony key (locked with your passphrase); prints its public key."""
    if passphrase is None:
        passphrase = typer.prompt("new passphrase", hide_input=True, confirmation_prompt=True)
    public = cmd_key(out_file, passphrase)
    _done(as_json, {"key": str(out_file), "public": public.hex()})


@dkg_app.command("setup")
@friendly
def setup(
    out_file: Annotated[Path, typer.Option("--out", help="where to write the setup")],
    group: Annotated[str | None, typer.Option(help="governance, block or revoke")] = None,
    threshold: Annotated[int | None, typer.Option(help="shares needed to sign")] = None,
    participant: Annotated[
        list[str], typer.Option(help="NAME=PUBLICKEY, in identifier order; repeat")
    ] = [],  # noqa: B006
    from_setup: Annotated[
        Path | None, typer.Option("--from", help="restart: an earlier setup")
    ] = None,
    exclude: Annotated[
        list[int], typer.Option(help="restart, or refresh: a participant left out; repeat")
    ] = [],  # noqa: B006
    refresh: Annotated[
        Path | None, typer.Option(help="reshare the key of this public package (with --from)")
    ] = None,
    add: Annotated[
        list[str], typer.Option(help="reshare: a commissioner who joins, NAME=PUBLICKEY; repeat")
    ] = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Write a ceremony's setup; every commissioner checks its digest before round one."""
    made = cmd_setup(out_file, group, threshold, participant, from_setup=from_setup,
                     exclude=exclude, refresh=refresh, add=add)
    _done(as_json, {"setup": str(out_file), "digest": made.digest.hex(),
                    "describe": made.describe()}, made.describe())


@dkg_app.command("show")
@friendly
def show(setup_file: SetupArg, as_json: JsonOpt = False) -> None:
    """What a setup says: group, threshold, who is participant 1..n, and its digest."""
    lines = read_setup(setup_file).describe()
    _done(as_json, {"describe": lines}, lines)


@dkg_app.command("round1")
@friendly
def round1(
    setup_file: SetupArg, key: CKeyOpt, folder: DirOpt,
    current: Annotated[
        Path | None, typer.Option(help="a reshare: your key package of the group, if you hold "
                                       "one (kept until `ccf dkg retire`)")
    ] = None,
    passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Round one: your package (signed) into the folder; the secret stays beside your key."""
    made = _unlocking(key, passphrase, lambda p: cmd_round1(setup_file, key, folder, p, current))
    if made is None:
        _done(as_json, {"round1": None},
              ["you hold no share of this group yet: nothing to send in round one"])
    else:
        _done(as_json, {"round1": str(made)})


@dkg_app.command("digests")
@friendly
def digests(
    setup_file: SetupArg, key: CKeyOpt, folder: DirOpt, passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The consistency round: sign the digest of every round-one package in the folder."""
    made = _unlocking(key, passphrase, lambda p: cmd_digests(setup_file, key, folder, p))
    _done(as_json, {"digests": str(made)})


@dkg_app.command("round2")
@friendly
def round2(
    setup_file: SetupArg, key: CKeyOpt, folder: DirOpt, passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Round two, only if everyone saw the same round one: sealed shares into the folder."""
    made = _unlocking(key, passphrase, lambda p: cmd_round2(setup_file, key, folder, p))
    _done(as_json, {"round2": [str(p) for p in made]})


@dkg_app.command("finish")
@friendly
def finish(
    setup_file: SetupArg,
    key: CKeyOpt,
    folder: DirOpt,
    key_package: Annotated[
        Path, typer.Option(help="where to write your key package (e.g. revoke-<i>.key)")
    ],
    public: Annotated[Path, typer.Option(help="where to write the public package (revoke.pub)")],
    passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check your shares; write your key package (locked) and the group's public package."""
    package, made = _unlocking(
        key, passphrase, lambda p: cmd_finish(setup_file, key, folder, key_package, public, p)
    )
    facts = {"key_package": str(key_package), "public": str(public),
             "identifier": package.identifier, "group_key": made.group_public_key.hex()}
    _done(as_json, facts, [
        f"participant {package.identifier}: key package {key_package}, public package {public}",
        f"group key {public_fingerprint(made)}: compare it with every other commissioner's",
    ])


@dkg_app.command("judge")
@friendly
def judge(
    setup_file: SetupArg,
    folder: DirOpt,
    complaint: Annotated[Path, typer.Argument(help="a complaint file from `ccf dkg finish`")],
    as_json: JsonOpt = False,
) -> None:
    """Who is at fault according to a complaint (the accused, or a false complainant)."""
    fault = cmd_judge(setup_file, folder, complaint)
    _done(as_json, {"at_fault": fault.member, "name": fault.name, "reason": fault.reason},
          [str(fault)])


@dkg_app.command("retire")
@friendly
def retire(
    setup_file: SetupArg,
    folder: DirOpt,
    current: Annotated[Path, typer.Option(help="your old key package of the group (shredded)")],
    public: Annotated[Path, typer.Option(help="the public package `finish` wrote you")],
    as_json: JsonOpt = False,
) -> None:
    """After a refresh, once every commissioner's done file names the same result: shred your
    old key package. From now on sign with the new one and coordinate with the new public
    package."""
    agreed = cmd_retire(setup_file, folder, current, public)
    _done(as_json, {"retired": str(current), "public": agreed.hex()},
          [f"shredded {current}; every participant finished with public package "
           f"{agreed.hex()[:16]}: sign with your new key package from now on"])
