"""`make demo`: a real local network of seven node processes, driven over HTTP.

Five member bureaus, Europol (a partner scoped to SLTD and vehicles) and the
CCF each run `noticenet node run` on 127.0.0.1 with LevelDB under one folder
(`demo-data/`, recreated each run). The tour publishes a red notice, a
diffusion and SLTD records, checks a passport at another member's border,
runs a 3-of-5 CCF revocation through the file-based ceremony, watches the
record disappear everywhere with purge receipts, shows a spelling variant
refused at re-entry, and stops every process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from noticenet.node.ccf.ceremony_files import cmd_aggregate, cmd_commit, cmd_sign
from noticenet.node.demo.cluster import Cluster, poll
from noticenet.protocol.identifiers.mrz import compose_mrz

SIGNERS = (1, 3, 5)
SUBJECT = {
    "name": "Müller",
    "forename": "Jürgen",
    "date_of_birth": "1971-04-09",
    "nationalities": ["DEU"],
    "sex": "M",
}
VARIANT = {"name": "MUELLER", "forename": "Jurgen", "date_of_birth": "1971-04-09"}
SIMILAR = {"name": "Miller", "forename": "Jürgen", "date_of_birth": "1971-04-09"}


SIGN_IN = ("FRA", "CCF")  # the nodes whose web address and tokens the demo prints


def run_network_demo(
    root: Path,
    console: Console | None = None,
    keep: bool = False,
    wait: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the tour under `root`; returns the facts it showed (the demo test checks them).

    With `keep`, the network stays up after the tour until `wait` returns (by default,
    until Ctrl-C), so a person can sign in with the tokens printed; then it stops.
    """
    out = console or Console()
    began = time.monotonic()
    facts: dict[str, Any] = {}
    out.rule("[bold]noticenet[/]: seven nodes on 127.0.0.1")
    cluster = Cluster.create(root)
    try:
        _members(out, cluster)
        facts["started_s"] = round(cluster.start(), 1)
        out.print(
            f"Started {len(cluster.nodes)} [bold]noticenet node run[/] processes in "
            f"{facts['started_s']} s; each holds its own LevelDB under {root}/<member>/data"
        )
        ids = _publish(out, cluster, facts)
        _border_check(out, cluster, facts)
        _diffusion_privacy(out, cluster, ids["diffusion"], facts)
        _search(out, cluster, ids["red"], facts)
        action = _revoke(out, cluster, root, ids["red"])
        _gone_everywhere(out, cluster, ids["red"], action, facts)
        _reentry(out, cluster, facts)
        _held_then_released(out, cluster, root, facts)
        facts["sign_in"] = sign_in_facts(cluster)
        if keep:
            _print_sign_in(out, facts["sign_in"], running=True)
            (wait or _until_interrupted)()
    finally:
        codes = cluster.stop()
        facts["exit_codes"] = codes
        out.print(
            f"Stopped every process with SIGTERM (exit codes: "
            f"{', '.join(f'{m} {c}' for m, c in codes.items())})"
        )
    facts["elapsed_s"] = round(time.monotonic() - began, 1)
    out.rule(f"done in {facts['elapsed_s']} s")
    if not keep and "sign_in" in facts:
        _print_sign_in(out, facts["sign_in"], running=False)
    return facts


def sign_in_facts(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Per node in SIGN_IN: its web address and one API token per role."""
    return {m: {"url": f"{cluster[m].url}/", "tokens": dict(cluster[m].tokens)} for m in SIGN_IN}


def _print_sign_in(out: Console, nodes: dict[str, dict[str, Any]], running: bool) -> None:
    """Where to sign in: each node's address and a token per role (a demo's throwaway tokens)."""
    out.rule("[bold]In a browser[/]")
    if running:
        out.print("The network keeps running until Ctrl-C. Open an address and paste a token:")
    else:
        out.print(
            "These nodes are stopped now; [bold]noticenet demo --keep[/] (or "
            "[bold]make demo-keep[/]) runs the same tour and keeps them up until Ctrl-C. "
            "This run's addresses and tokens:"
        )
    for member, facts in nodes.items():  # plain lines: a terminal must never cut a token
        for role, token in facts["tokens"].items():
            out.print(f"  {member:4} {facts['url']}  {role:8} {token}", soft_wrap=True,
                      highlight=False, markup=False)


def _until_interrupted() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _members(out: Console, cluster: Cluster) -> None:
    table = Table(title="Members (keys, configs and genesis roster written by localnet)")
    for col in ("member", "role", "API", "libp2p peer id", "dials"):
        table.add_column(col)
    for member in cluster.net.devnet.members:
        node = cluster[member.id]
        peer = cluster.net.members[member.id].peer_id
        table.add_row(member.id, member.role, node.api, peer[:20] + "…", ",".join(node.neighbours))
    out.print(table)


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
    return dict(response.json())


def _publish(out: Console, cluster: Cluster, facts: dict[str, Any]) -> dict[str, str]:
    notice = {
        "subject": SUBJECT,
        "arrest_warrants": [{"charge": "Armed robbery", "issuing_country": "FRA"}],
        "reference": "FRA/2026/0001",
    }
    red = _post(cluster["FRA"].client("issuer"), "/records/notice.red", {"record": notice})
    diffusion = {"purpose": "locate", "recipients": ["FRA", "DEU"], "subject": SUBJECT}
    diff = _post(
        cluster["USA"].client("issuer"),
        "/records/diffusion",
        {"record": diffusion, "recipients": ["FRA", "DEU"]},
    )
    for i in range(3):
        number = f"C01X0{i}T4{i}"
        doc = {
            "document_number": number,
            "document_type": "P",
            "issuing_country": "DEU",
            "status": "stolen",
        }
        _post(cluster["DEU"].client("issuer"), "/records/sltd", {"record": doc})
    out.print(
        f"[bold]FRA[/] published a red notice {red['id'][:12]}; [bold]USA[/] a diffusion "
        f"{diff['id'][:12]} to FRA and DEU only; [bold]DEU[/] three stolen passports (SLTD)"
    )
    facts["published"] = 5
    return {"red": red["id"], "diffusion": diff["id"]}


def _border_check(out: Console, cluster: Cluster, facts: dict[str, Any]) -> None:
    mrz = compose_mrz(
        "TD3",
        document_code="P",
        issuing_state="DEU",
        document_number="C01X00T47",
        nationality="DEU",
        date_of_birth="710409",
        sex="M",
        date_of_expiry="310101",
        surname="MUELLER",
        given_names="JUERGEN",
    )
    doc = {
        "document_number": "C01X00T47",
        "document_type": "P",
        "issuing_country": "DEU",
        "status": "stolen",
        "mrz": list(mrz),
    }
    border = cluster["JPN"].client("border")
    began = time.monotonic()
    _post(cluster["DEU"].client("issuer"), "/records/sltd", {"record": doc})

    def hit() -> dict[str, Any] | None:
        answer = _post(border, "/check/mrz", {"lines": list(mrz)})
        return answer if answer["hit"] else None

    answer = poll("the passport at JPN's border", hit, 10)
    facts["border_ms"] = round((time.monotonic() - began) * 1000)
    facts["border_hit"] = True
    status = answer["records"][0]["record"]["status"]
    out.print(
        f"[bold]JPN border[/] reads the MRZ of a passport DEU just reported: [red bold]HIT[/] "
        f"({status}, reported by {answer['records'][0]['author']}) "
        f"[bold]{facts['border_ms']} ms[/] after DEU's publish request"
    )
    bad = list(mrz)
    bad[1] = bad[1][:19] + ("0" if bad[1][19] != "0" else "1") + bad[1][20:]
    refused = border.post("/check/mrz", json={"lines": bad})
    facts["bad_mrz_status"] = refused.status_code
    out.print(f"  a mistyped MRZ is answered {refused.status_code}: {refused.json()['detail']}")


def _diffusion_privacy(
    out: Console, cluster: Cluster, diffusion: str, facts: dict[str, Any]
) -> None:
    poll(
        "the diffusion at BRA",
        lambda: cluster["BRA"].client().get(f"/status/{diffusion}").json()["state"] == "live",
        10,
    )
    bra = cluster["BRA"].client("officer").get(f"/records/{diffusion}")
    deu = poll(
        "the diffusion at DEU",
        lambda: _ok(cluster["DEU"].client("officer").get(f"/records/{diffusion}")),
        10,
    )
    facts["bra_diffusion_status"] = bra.status_code
    facts["deu_reads_diffusion"] = deu["record"]["purpose"] == "locate"
    out.print(
        f"[bold]BRA[/] holds and relays the diffusion but may not read it: "
        f"{bra.status_code} {bra.json()['error']}; [bold]DEU[/], a recipient, reads "
        f"purpose={deu['record']['purpose']!r}"
    )


def _ok(response: httpx.Response) -> dict[str, Any] | None:
    return dict(response.json()) if response.status_code == 200 else None


def _search(out: Console, cluster: Cluster, red: str, facts: dict[str, Any]) -> None:
    deu = cluster["DEU"].client("officer")
    params = {"name": "MUELLER", "forename": "Juergen", "date_of_birth": "1971/04/09"}

    def found() -> list[dict[str, Any]] | None:
        records = deu.get("/search/persons", params=params).json()["records"]
        return records if any(r["id"] == red for r in records) else None

    records = poll("the red notice at DEU", found, 10)
    facts["search_variant_hit"] = True
    names = ", ".join(f"{r['author']}'s {r['kind']}" for r in records)
    out.print(
        f"[bold]DEU[/] searches 'MUELLER Juergen, 1971/04/09' and finds the records on "
        f"'Müller Jürgen': {names}"
    )


def _revoke(out: Console, cluster: Cluster, root: Path, red: str) -> str:
    ccf = cluster["CCF"].client("admin")
    poll("the red notice at the CCF", lambda: _ok(ccf.get(f"/records/{red}")), 10)
    return _ceremony(out, cluster, root / "ceremony", "revoke", red, "article-3", "CCF/2026/0042")


def _ceremony(
    out: Console,
    cluster: Cluster,
    folder: Path,
    action: str,
    target: str,
    reason: str,
    decision: str,
) -> str:
    """A revoke-key action on `target`: proposed by the CCF node, signed by SIGNERS in
    file rounds, published at the CCF node; the action's entry id."""
    folder.mkdir(exist_ok=True)
    ccf = cluster["CCF"].client("admin")
    answer = _post(
        ccf,
        "/ccf/propose",
        {"action": action, "targets": [target], "reason": reason, "decision": decision},
    )
    proposal = folder / "proposal.cbor"
    proposal.write_bytes(bytes.fromhex(answer["proposal"]))
    out.print("[bold]CCF[/] Requests Chamber: the proposal every commissioner reviews:")
    for line in answer["describe"]:
        out.print(f"    {line}")
    keys = folder.parent / "ccf"
    commitments = [folder / f"commitment-{i}.cbor" for i in SIGNERS]
    for i, c in zip(SIGNERS, commitments, strict=True):
        cmd_commit(proposal, keys / f"revoke-{i}.key", folder / f"nonces-{i}.key", c)
    shares = [folder / f"share-{i}.cbor" for i in SIGNERS]
    for i, s in zip(SIGNERS, shares, strict=True):
        cmd_sign(proposal, keys / f"revoke-{i}.key", folder / f"nonces-{i}.key", commitments, s)
    entry = cmd_aggregate(
        proposal, keys / "revoke.pub", commitments, shares, folder / f"{action}.entry"
    )
    result = _post(ccf, "/entries", {"entries": [entry.to_wire().hex()]})["results"][0]
    out.print(
        f"  commissioners {', '.join(map(str, SIGNERS))} of 5 ran [bold]ccf commit[/], "
        f"[bold]ccf sign[/]; [bold]ccf aggregate[/] made one Ed25519 signature; the CCF node "
        f"took the {action}: {result['outcome']}"
    )
    return entry.id.hex()


def _gone_everywhere(
    out: Console, cluster: Cluster, red: str, action: str, facts: dict[str, Any]
) -> None:
    began = time.monotonic()
    table = Table(title="The revoked red notice on every node")
    for col in ("node", "state", "body", "GET /records", "confirmed after"):
        table.add_column(col)
    gone = True
    for member, node in cluster.nodes.items():
        client = node.client("officer")

        def revoked(client: httpx.Client = client) -> dict[str, Any] | None:
            status = client.get(f"/status/{red}").json()
            tomb = status.get("tombstone") or {}
            return status if status["state"] == "revoked" and tomb.get("reason") else None

        status = poll(f"the revocation at {member}", revoked, 30)
        read = client.get(f"/records/{red}").status_code
        gone = gone and read == 404
        table.add_row(
            member,
            status["state"],
            f"deleted ({status['tombstone']['reason']})",
            str(read),
            f"{(time.monotonic() - began) * 1000:.0f} ms",
        )
    out.print(table)
    ccf = cluster["CCF"].client("officer")
    purge = poll("purge receipts from every node", lambda: _complete(ccf, red), 30)
    facts["revoked_everywhere"] = gone
    facts["purge_receipts"] = len(purge["purged"])
    facts["purge_outstanding"] = purge["outstanding"]
    out.print(
        f"[bold]Purge receipts[/] for revocation {action[:12]} at the CCF: "
        f"{len(purge['purged'])} of {len(purge['purged']) + len(purge['outstanding'])} nodes "
        f"({', '.join(purge['purged'])}) after {time.monotonic() - began:.1f} s"
    )


def _complete(client: httpx.Client, red: str) -> dict[str, Any] | None:
    purge = client.get(f"/status/{red}").json().get("purge")
    return purge if purge and not purge["outstanding"] else None


def _reentry(out: Console, cluster: Cluster, facts: dict[str, Any]) -> None:
    notice = {
        "subject": VARIANT,
        "arrest_warrants": [{"charge": "Robbery", "issuing_country": "BRA"}],
    }
    response = cluster["BRA"].client("issuer").post("/records/notice.red", json={"record": notice})
    facts["reentry_status"] = response.status_code
    out.print(
        f"[bold]Re-entry[/]: BRA tries 'MUELLER Jurgen, 1971-04-09' as a new red notice: "
        f"[bold]{response.status_code}[/] {response.json()['error']}: {response.json()['detail']}"
    )


def _held_then_released(
    out: Console, cluster: Cluster, root: Path, facts: dict[str, Any]
) -> None:
    """A name that only looks alike is held on every node (202), listed in the CCF's
    queue with the guard it met, and released by three commissioners."""
    warrant = {"charge": "Fraud", "issuing_country": "JPN"}
    notice = {"subject": SIMILAR, "arrest_warrants": [warrant]}
    response = cluster["JPN"].client("issuer").post("/records/notice.red", json={"record": notice})
    facts["similar_status"] = response.status_code
    eid = str(response.json()["id"])
    out.print(
        f"[bold]Similar name[/]: JPN publishes 'Miller Jürgen, 1971-04-09' (another person, "
        f"or the deleted one respelt?): [bold]{response.status_code}[/] "
        f"state {response.json()['state']}"
    )

    def state_everywhere(wanted: str) -> bool:
        states = {
            m: n.client("officer").get(f"/status/{eid}").json()["state"]
            for m, n in cluster.nodes.items()
        }
        return all((s == "held") == (wanted == "held") for s in states.values())

    poll("the hold on every node", lambda: state_everywhere("held") or None, 30)
    facts["held_everywhere"] = True
    hidden = cluster["DEU"].client("officer").get(f"/records/{eid}").status_code
    queue = cluster["CCF"].client("admin").get("/ccf/held").json()
    [item] = [i for i in queue["held"] if i["id"] == eid]
    revocation = item["guards"][0]["revocations"][0]
    out.print(
        f"  held on all {len(cluster.nodes)} nodes (GET /records on DEU: {hidden}); the CCF's "
        f"queue ([bold]noticenet ccf held[/]) shows it met a similar guard of revocation "
        f"{revocation[:12]} ({queue['revocations'][revocation]['decision']})"
    )
    _ceremony(out, cluster, root / "release", "release", eid, "inaccurate", "CCF/2026/0043")
    poll("the release on every node", lambda: state_everywhere("live") or None, 30)
    read = cluster["DEU"].client("officer").get(f"/records/{eid}").status_code
    facts["released_everywhere"] = read == 200
    out.print(f"  released: visible on every node (GET /records on DEU: {read})")
