"""`noticenet ccf ...`: the commission's file-based signing ceremony and its requests.

ccf propose   the next action's proposal (from the CCF node's API, or its stopped store)
ccf show      what a proposal does, for every commissioner to read before signing
ccf commit    round one, on each commissioner's machine (keeps secret nonces)
ccf sign      round two: a signature share
ccf aggregate one Ed25519 signature from the shares: the entry to publish
ccf publish   hand the entry to the CCF node (POST /entries)
ccf subject-access   every record held about a person, for the case file
ccf held     the review queue: entries a similar guard holds, with the guard each met
ccf dkg ...   the key generation ceremony (see `noticenet.node.cli.ccf_dkg`)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from noticenet.node.ccf.ceremony_files import (
    CeremonyFileError,
    cmd_aggregate,
    cmd_commit,
    cmd_propose,
    cmd_show,
    cmd_sign,
    read_key_package,
)
from noticenet.node.cli.ccf_dkg import dkg_app
from noticenet.node.cli.common import ApiOpt, JsonOpt, TokenOpt, client, emit_json, friendly, out

ccf_app = typer.Typer(
    help="The CCF: signing ceremony and data-subject requests.", no_args_is_help=True
)
ccf_app.add_typer(dkg_app, name="dkg")
T = TypeVar("T")

ProposalArg = Annotated[Path, typer.Argument(help="the proposal file")]
KeyOpt = Annotated[Path, typer.Option("--key", help="your key package (revoke-<i>.key)")]
PassOpt = Annotated[
    str | None,
    typer.Option(
        envvar="NOTICENET_CCF_PASSPHRASE",
        help="key package passphrase (else asked)",
        show_default=False,
    ),
]
Repeat = Annotated[list[Path], typer.Option(help="repeat for each signer")]


def _unlocking(
    key: Path, passphrase: str | None, step: Callable[[str | None], T], needed: list[Path] = []  # noqa: B006
) -> T:
    """Run `step` with the key package's passphrase, asking for it if the file is locked.

    A missing key package (or `needed` input file) is an error before any prompt.
    """
    if not Path(key).is_file():
        raise CeremonyFileError(f"no key package at {key}")
    for path in needed:
        if not Path(path).is_file():
            raise CeremonyFileError(f"no file at {path}")
    if passphrase is None:
        try:
            read_key_package(key, None)
        except CeremonyFileError:
            passphrase = typer.prompt(f"passphrase for {key}", hide_input=True)
    return step(passphrase)


@ccf_app.command("propose")
@friendly
def propose(
    action: Annotated[str, typer.Option(help="block, revoke, unblock, readmit or release")],
    reason: Annotated[str, typer.Option(help="article-2, article-3, inaccurate, ...")],
    decision: Annotated[str, typer.Option(help="the commission's case reference")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write the proposal")],
    target: Annotated[list[str], typer.Option(help="entry id (hex), repeatable")] = [],  # noqa: B006
    guard: Annotated[list[str], typer.Option(help="extra guard tag (hex)")] = [],  # noqa: B006
    admit: Annotated[str | None, typer.Option(help="readmit: the admitted entry id")] = None,
    store: Annotated[
        Path | None, typer.Option(help="offline: the stopped CCF node's LevelDB store")
    ] = None,
    member: Annotated[str | None, typer.Option(help="offline: the CCF node's member id")] = None,
    key_file: Annotated[Path | None, typer.Option(help="offline: its member key file")] = None,
    passphrase: Annotated[
        str | None,
        typer.Option(
            envvar="NOTICENET_PASSPHRASE",
            help="offline: the member key's passphrase",
            show_default=False,
        ),
    ] = None,
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Write the proposal for the next CCF action (guards of revoked records included)."""
    if store is not None:
        proposal = cmd_propose(
            out_file,
            store,
            action,
            target,
            reason,
            decision,
            admit=admit,
            guards=guard,
            member=member,
            key_file=key_file,
            passphrase=passphrase,
        )
        lines, digest = proposal.describe(), proposal.digest.hex()
    else:
        with client(api, token) as c:
            answer = c.post(
                "/ccf/propose",
                {
                    "action": action,
                    "targets": target,
                    "reason": reason,
                    "decision": decision,
                    "guards": guard,
                    "admit": admit,
                },
            )
        out_file.write_bytes(bytes.fromhex(answer["proposal"]))
        lines, digest = answer["describe"], answer["digest"]
    if as_json:
        emit_json({"proposal": str(out_file), "digest": digest, "describe": lines})
    else:
        out.print("\n".join(lines), highlight=False)


@ccf_app.command("show")
@friendly
def show(proposal: ProposalArg, as_json: JsonOpt = False) -> None:
    """What a proposal does: read it before you commit or sign."""
    lines = cmd_show(proposal)
    emit_json({"describe": lines}) if as_json else out.print("\n".join(lines), highlight=False)


@ccf_app.command("commit")
@friendly
def commit(
    proposal: ProposalArg,
    key: KeyOpt,
    nonces: Annotated[Path, typer.Option(help="where to keep your secret nonces")],
    commitment: Annotated[Path, typer.Option(help="the commitment to send to the others")],
    passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Round one: keep secret nonces, send a commitment."""
    made = _unlocking(
        key, passphrase, lambda p: cmd_commit(proposal, key, nonces, commitment, p), [proposal]
    )
    _done(as_json, {"commitment": str(commitment), "signer": made.identifier})


@ccf_app.command("sign")
@friendly
def sign(
    proposal: ProposalArg,
    key: KeyOpt,
    nonces: Annotated[Path, typer.Option(help="your nonces from `ccf commit`")],
    commitment: Repeat,
    out_file: Annotated[Path, typer.Option("--out", help="where to write your share")],
    signed: Annotated[
        Path | None,
        typer.Option(
            help="your record of signed positions (default: KEY.signed): one proposal per "
            "position, so two ceremonies cannot fork the CCF feed",
            show_default=False,
        ),
    ] = None,
    passphrase: PassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Round two: sign your share (the nonces file is destroyed afterwards)."""
    share = _unlocking(
        key,
        passphrase,
        lambda p: cmd_sign(proposal, key, nonces, commitment, out_file, p, signed),
        [proposal, nonces, *commitment],
    )
    _done(as_json, {"share": str(out_file), "signer": share.identifier})


@ccf_app.command("aggregate")
@friendly
def aggregate(
    proposal: ProposalArg,
    public: Annotated[Path, typer.Option(help="the group's public package (revoke.pub)")],
    commitment: Repeat,
    share: Repeat,
    out_file: Annotated[Path, typer.Option("--out", help="where to write the signed entry")],
    as_json: JsonOpt = False,
) -> None:
    """Combine the shares into the signed entry, ready for `ccf publish`."""
    entry = cmd_aggregate(proposal, public, commitment, share, out_file)
    _done(as_json, {"entry": str(out_file), "id": entry.id.hex()})


@ccf_app.command("publish")
@friendly
def publish(
    entry: Annotated[Path, typer.Argument(help="the signed entry from `ccf aggregate`")],
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Hand a signed CCF entry to the node, which replicates it to every member (admin)."""
    with client(api, token) as c:
        answer = c.post("/entries", {"entries": [entry.read_bytes().hex()]})
    result = answer["results"][0]
    if as_json:
        emit_json(result)
    else:
        out.print(f"{result.get('id', '')} {result['outcome']} {result.get('detail', '')}".strip())
    if result["outcome"] == "refused":
        raise typer.Exit(1)


@ccf_app.command("subject-access")
@friendly
def subject_access(
    out_file: Annotated[Path, typer.Option("--out", help="the case file export (JSON)")],
    name: Annotated[str, typer.Option(help="family name")] = "",
    forename: Annotated[str, typer.Option(help="forename(s)")] = "",
    dob: Annotated[str, typer.Option("--dob", help="date of birth")] = "",
    country: Annotated[str, typer.Option(help="document issuing country")] = "",
    number: Annotated[str, typer.Option(help="document number")] = "",
    api: ApiOpt = "",
    token: TokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Every record held about a person, from the CCF's node (admin); nothing is published."""
    body = {
        "name": name,
        "forename": forename,
        "date_of_birth": dob,
        "country": country,
        "number": number,
    }
    with client(api, token) as c:
        answer = c.post("/ccf/subject-access", body)
    out_file.write_text(json.dumps(answer, indent=1, ensure_ascii=False, sort_keys=True))
    _done(as_json, {"file": str(out_file), "records": answer["count"]})


@ccf_app.command("held")
@friendly
def held(api: ApiOpt = "", token: TokenOpt = "", as_json: JsonOpt = False) -> None:
    """The review queue: entries held by a similar guard on every node until the CCF
    releases (`propose --action release`) or revokes them (CCF node, admin)."""
    with client(api, token) as c:
        answer = c.get("/ccf/held")
    if as_json:
        emit_json(answer)
        return
    out.print(f"{answer['count']} held entr{'y' if answer['count'] == 1 else 'ies'}")
    for item in answer["held"]:
        out.print(f"{item['id']}  {item['author']}#{item['seq']} {item['kind']}")
        for guard in item["guards"]:
            for rid in guard["revocations"]:
                rev = answer["revocations"][rid]
                out.print(
                    f"  met similar guard {guard['tag'][:16]}… of revocation {rid[:16]}… "
                    f"({rev['decision']}, {rev['reason']})"
                )


def _done(as_json: bool, facts: dict[str, Any]) -> None:
    if as_json:
        emit_json(facts)
    else:
        out.print(" ".join(f"{k}={v}" for k, v in facts.items()), highlight=False)
