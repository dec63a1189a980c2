"""The HTTP API over real node processes (LevelDB, libp2p), one network for the module.

Four nodes (FRA, DEU, EUROPOL as a partner, the CCF) start once; every test
makes its own records so tests do not depend on each other's order. Waits
poll an endpoint under a deadline; there are no fixed sleeps. Teardown stops
every process, whatever happened.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from typer.testing import CliRunner

from noticenet.node.ccf.ceremony_files import cmd_aggregate, cmd_commit, cmd_sign
from noticenet.node.cli.main import app as cli_app
from noticenet.node.demo.cluster import Cluster, poll
from noticenet.node.demo.localnet import MemberRow
from noticenet.protocol.ccf.ceremony import ConflictingProposal
from noticenet.protocol.identifiers.mrz import compose_mrz
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.schema import to_json

from .samples import CODIS_SAMPLE, diffusion, records

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

MEMBERS: tuple[MemberRow, ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("EUROPOL", "partner", "Europol", ("sltd", "vehicle")),
    ("CCF", "ccf", "Commission for the Control of INTERPOL's Files", ()),
)
ROLE_ORDER = ("border", "officer", "issuer", "admin")
WAIT = 15.0
_serial = iter(range(10**6))


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster.create(tmp_path_factory.mktemp("apinet"), MEMBERS, b"api-tests")
    try:
        cluster.start(timeout=90)
        yield cluster
    finally:
        cluster.stop()


def fresh(prefix: str = "T") -> str:
    """A document-number-like value no other test uses."""
    return f"{prefix}{next(_serial):07d}"


def sltd(number: str, country: str = "FRA", **extra: Any) -> dict[str, Any]:
    return {
        "document_number": number,
        "document_type": "P",
        "issuing_country": country,
        "status": "stolen",
        **extra,
    }


def publish(net: Cluster, member: str, kind: str, record: Any, **body: Any) -> str:
    response = (
        net[member].client("issuer").post(f"/records/{kind}", json={"record": record, **body})
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def arrives(net: Cluster, member: str, eid: str) -> dict[str, Any]:
    """Wait until `member` can read entry `eid`; returns the view."""
    client = net[member].client("officer")

    def probe() -> dict[str, Any] | None:
        response = client.get(f"/records/{eid}")
        return dict(response.json()) if response.status_code == 200 else None

    return poll(f"{eid[:8]} at {member}", probe, WAIT)


def person(name: str, forename: str, dob: str, **extra: Any) -> dict[str, Any]:
    return {"subject": {"name": name, "forename": forename, "date_of_birth": dob, **extra}}


def ccf_action(net: Cluster, action: str, targets: list[str], signers: tuple[int, ...]) -> str:
    """Propose through the CCF node's API, sign with key files, publish; the action's id."""
    entry = ccf_sign(net, ccf_propose(net, action, targets), action, signers)
    result = net["CCF"].client("admin").post("/entries", json={"entries": [entry.to_wire().hex()]})
    assert result.json()["results"][0]["outcome"] == "stored", result.text
    return entry.id.hex()


def ccf_propose(net: Cluster, action: str, targets: list[str]) -> Path:
    """A proposal file from the CCF node's API (it fixes the feed's next seq and prev)."""
    folder = net.net.root / f"ceremony-{fresh('C')}"
    folder.mkdir()
    answer = (
        net["CCF"]
        .client("admin")
        .post(
            "/ccf/propose",
            json={
                "action": action,
                "targets": targets,
                "reason": "article-3",
                "decision": "CCF/T/1",
            },
        )
    )
    assert answer.status_code == 200, answer.text
    proposal = folder / "proposal"
    proposal.write_bytes(bytes.fromhex(answer.json()["proposal"]))
    return proposal


def ccf_sign(net: Cluster, proposal: Path, action: str, signers: tuple[int, ...]) -> Entry:
    """Both rounds with the commissioners' key files, then aggregation."""
    folder = proposal.parent
    group = "block" if action == "block" else "revoke"
    keys = net.net.root / "ccf"
    commits = [folder / f"c{i}" for i in signers]
    for i, c in zip(signers, commits, strict=True):
        cmd_commit(proposal, keys / f"{group}-{i}.key", folder / f"n{i}", c)
    shares = [folder / f"s{i}" for i in signers]
    for i, s in zip(signers, shares, strict=True):
        cmd_sign(proposal, keys / f"{group}-{i}.key", folder / f"n{i}", commits, s)
    return cmd_aggregate(proposal, keys / f"{group}.pub", commits, shares, folder / "entry")


# -- roles -------------------------------------------------------------------------

MRZ = list(
    compose_mrz(
        "TD3",
        document_code="P",
        issuing_state="FRA",
        document_number="MRZ000001",
        nationality="FRA",
        date_of_birth="800101",
        sex="F",
        date_of_expiry="300101",
        surname="DUPONT",
        given_names="MARIE",
    )
)
ZERO = "00" * 32
ENDPOINTS: list[tuple[str, str, Any, str]] = [
    ("GET", "/frontier", None, "officer"),
    ("GET", "/peers", None, "admin"),
    ("GET", "/metrics", None, "admin"),
    ("POST", "/entries", {"entries": []}, "admin"),
    ("GET", "/users", None, "admin"),
    ("POST", "/users", {"name": "mallory", "role": "admin"}, "admin"),
    ("DELETE", "/users/admin", None, "admin"),
    ("POST", "/records/sltd", {"record": sltd("ROLE0001")}, "issuer"),
    ("GET", f"/records/{ZERO}", None, "officer"),
    ("POST", f"/records/{ZERO}/cancel", {}, "issuer"),
    ("PUT", f"/records/{ZERO}", {"record": {}}, "issuer"),
    ("GET", "/recent/sltd", None, "officer"),
    ("GET", f"/status/{ZERO}", None, "officer"),
    ("GET", "/check/document?country=FRA&number=X1", None, "border"),
    ("POST", "/check/mrz", {"lines": MRZ}, "border"),
    ("GET", "/check/vehicle?vin=1M8GDM9AXKP042788", None, "border"),
    ("GET", "/check/firearm?make=Glock&serial=1", None, "border"),
    ("GET", "/search/persons?name=Dupont", None, "officer"),
    ("POST", "/dna/match", {"loci_set": "CODIS20", "alleles": {}}, "officer"),
    (
        "POST",
        "/ccf/propose",
        {"action": "block", "targets": [ZERO], "reason": "other", "decision": "x"},
        "admin",
    ),
    ("POST", "/ccf/subject-access", {"name": "Dupont"}, "admin"),
    ("GET", "/ccf/held", None, "admin"),
    ("POST", "/import/sltd", {"rows": [sltd("ROLE0002")]}, "issuer"),
    ("GET", "/export/sltd", None, "officer"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "needed"),
    ENDPOINTS,
    ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ENDPOINTS],
)
def test_every_route_refuses_missing_unknown_and_low_roles(
    net: Cluster, method: str, path: str, body: Any, needed: str
) -> None:
    node = net["CCF"]
    before = node.client("admin").get("/frontier").json().get("CCF")
    anonymous = httpx.request(method, node.url + path, json=body, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "Unauthenticated"
    bogus = httpx.request(
        method,
        node.url + path,
        json=body,
        timeout=10,
        headers={"Authorization": "Bearer nn_not-a-token"},
    )
    assert bogus.status_code == 401
    for role in ROLE_ORDER[: ROLE_ORDER.index(needed)]:
        low = node.client(role).request(method, path, json=body)
        assert low.status_code == 403, (role, low.text)
        assert f"needs {needed}" in low.json()["detail"]
    assert node.client("admin").get("/frontier").json().get("CCF") == before  # none published


def test_health_needs_no_token_and_openapi_is_valid(net: Cluster) -> None:
    health = httpx.get(net["FRA"].url + "/health").json()
    assert health["member"] == "FRA" and health["status"] == "ok"
    assert set(health["neighbours"]) <= set(health["connected"])
    spec = httpx.get(net["FRA"].url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/health",
        "/frontier",
        "/frontier/findable",
        "/peers",
        "/metrics",
        "/entries",
        "/users",
        "/users/{name}",
        "/records/{kind}",
        "/records/{entry_id}",
        "/records/{entry_id}/cancel",
        "/recent/{kind}",
        "/status/{entry_id}",
        "/check/document",
        "/check/mrz",
        "/check/vehicle",
        "/check/firearm",
        "/search/persons",
        "/dna/match",
        "/ccf/propose",
        "/ccf/subject-access",
        "/ccf/held",
        "/import/{kind}",
        "/export/{kind}",
    }
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for op in operations.values():
            assert op["responses"] and op.get("summary")
            assert ("security" in op) == (path != "/health")


# -- publishing and reading ----------------------------------------------------------------


def test_publish_every_kind_and_read_it_on_another_node(net: Cluster) -> None:
    ids = {}
    for kind, record in records().items():
        data = to_json(record)
        if kind == "sltd":
            data["document_number"] = fresh("K")
        ids[kind] = publish(net, "FRA", kind, data)
    ids["diffusion"] = publish(
        net, "FRA", "diffusion", to_json(diffusion(("DEU",))), recipients=["DEU"]
    )
    for kind, eid in ids.items():
        view = arrives(net, "DEU", eid)
        assert view["kind"] == kind and view["author"] == "FRA"
    assert arrives(net, "DEU", ids["sltd"])["record"]["holder_name"] == "ERIKSSON"
    europol = net["EUROPOL"].client("officer")
    poll(
        "vehicle at EUROPOL",
        lambda: europol.get(f"/records/{ids['vehicle']}").status_code == 200,
        WAIT,
    )
    assert europol.get(f"/records/{ids['notice.red']}").status_code == 404  # out of scope


def test_diffusion_is_read_only_by_its_recipients(net: Cluster) -> None:
    eid = publish(net, "DEU", "diffusion", to_json(diffusion(("FRA",))), recipients=["FRA"])
    assert arrives(net, "FRA", eid)["record"]["purpose"] == "locate"
    europol = net["EUROPOL"].client("admin")
    poll("diffusion header at EUROPOL", lambda: europol.get(f"/status/{eid}").json()["known"], WAIT)
    refused = europol.get(f"/records/{eid}")
    assert refused.status_code == 404 and refused.json()["error"] == "NotARecipient"


def test_bad_input_is_answered_4xx_with_a_clear_message(net: Cluster) -> None:
    fra = net["FRA"].client("issuer")
    raw = fra.post(
        "/records/sltd", content=b'{"record": ', headers={"content-type": "application/json"}
    )
    assert raw.status_code == 400 and raw.json() == {
        "error": "BadJSON",
        "detail": "the request body is not valid JSON",
    }
    listed = fra.post("/records/sltd", json=[1, 2])
    assert listed.status_code == 422 and "JSON object" in listed.json()["detail"]
    missing = fra.post("/records/sltd", json={"recipients": []})
    assert missing.status_code == 422 and "record" in missing.json()["detail"]
    unknown = fra.post("/records/sltd", json={"record": {**sltd("BAD0001"), "colour": "red"}})
    assert unknown.status_code == 422 and "unknown fields ['colour']" in unknown.json()["detail"]
    kind = fra.post("/records/notice.pink", json={"record": {}})
    assert kind.status_code == 422 and kind.json()["error"] == "SchemaError"
    bad_id = fra.get("/records/xyz")
    assert bad_id.status_code == 422 and "64 hex digits" in bad_id.json()["detail"]
    nowhere = fra.get("/no/such/route")
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "NotFound"
    method = fra.delete("/frontier")
    assert method.status_code == 405 and method.json()["error"] == "MethodNotAllowed"


def post_raw_json(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST `body` as JSON with non-ASCII escaped, so a lone surrogate travels as \\udXXX."""
    data = json.dumps(body, ensure_ascii=True).encode()
    return client.post(path, content=data, headers={"content-type": "application/json"})


def test_text_cbor_cannot_carry_is_a_422_naming_the_field_and_writes_nothing(
    net: Cluster,
) -> None:
    """A lone UTF-16 surrogate was a 500 after sealing began; in an import, the rows after
    it were lost. Now it is refused before anything is drawn, each row on its own."""
    fra = net["FRA"].client("issuer")
    head = net["FRA"].client("admin").get("/frontier").json()["FRA"]["seq"]
    notice = person("Du\ud800pont", "Jean", "1970-01-01")
    refused = post_raw_json(fra, "/records/notice.red", {"record": notice})
    assert refused.status_code == 422, refused.text
    assert "name" in refused.json()["detail"] and "surrogate" in refused.json()["detail"]
    vehicle = {"vin": "1M8GDM9AXKP042788", "model": "Golf\udfff"}
    assert post_raw_json(fra, "/records/vehicle", {"record": vehicle}).status_code == 422
    assert net["FRA"].client("admin").get("/frontier").json()["FRA"]["seq"] == head
    rows = [sltd(fresh("SU")), sltd(fresh("SU"), holder_name="Du\ud800pont"), sltd(fresh("SU"))]
    imported = post_raw_json(net["FRA"].client("issuer"), "/import/sltd", {"rows": rows})
    assert imported.status_code == 200, imported.text
    results = imported.json()["results"]
    assert [r["status"] for r in results] == ["published", "refused", "published"]
    assert results[1]["code"] == 422 and "holder_name" in results[1]["detail"]


def test_unknown_request_fields_and_recipients_of_a_broadcast_are_422(net: Cluster) -> None:
    fra = net["FRA"].client("issuer")
    extra = fra.post("/records/sltd", json={"record": sltd(fresh("UF")), "urgent": True})
    assert extra.status_code == 422 and "urgent" in extra.text
    red = person("Moreau", "Luc", "1966-02-02")
    aimed = fra.post("/records/notice.red", json={"record": red, "recipients": ["DEU"]})
    assert aimed.status_code == 422, aimed.text
    assert "only diffusions name them" in aimed.json()["detail"]


def raw_request(api: str, head: str, body: bytes = b"", wait: float = 20.0) -> bytes:
    """Send raw HTTP/1.1 bytes and read until the server closes (or `wait` passes)."""
    host, _, port = api.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_is_not_read_before_the_token_is_known(net: Cluster) -> None:
    """An unauthenticated request announcing 100 MB is answered 401 at once: the server
    reads none of it (it parsed the whole body first, then answered 400)."""
    api = net["FRA"].api
    answer = raw_request(
        api,
        f"POST /records/sltd HTTP/1.1\nHost: {api}\nContent-Type: application/json\n"
        "Content-Length: 100000000\n",
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"Unauthenticated" in answer


def test_bodies_over_the_route_limit_are_413(net: Cluster) -> None:
    fra = net["FRA"].client("issuer")
    big = {"record": sltd(fresh("BB"), holder_name="A" * (2 * 1024 * 1024))}
    declared = fra.post("/records/sltd", json=big)
    assert declared.status_code == 413 and declared.json()["error"] == "BodyTooLarge"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"record": {"holder_name": "'
        for _ in range(40):
            yield b"A" * 65536
        yield b'"}}'

    streamed = fra.post(
        "/records/sltd", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text


def test_a_client_that_stops_sending_its_body_is_cut_off(net: Cluster) -> None:
    """Announcing 1,000 bytes and sending 10 held a connection for good (40 s seen)."""
    api = net["FRA"].api
    token = net["FRA"].tokens["issuer"]
    began = time.monotonic()
    answer = raw_request(
        api,
        f"POST /records/sltd HTTP/1.1\nHost: {api}\nAuthorization: Bearer {token}\n"
        "Content-Type: application/json\nContent-Length: 1000\n",
        b'{"record":',
    )
    assert time.monotonic() - began < 19  # answered after 10 s without body
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_long_answer_is_waited_for(net: Cluster) -> None:
    """A client waiting quietly for a long answer (an import of many rows) is not a slow
    client: it must get its answer, however long the server works."""
    rows = [sltd(fresh("LA")) for _ in range(1_500)]
    answer = net["FRA"].client("issuer").post("/import/sltd", json={"rows": rows}, timeout=300)
    assert answer.status_code == 200 and answer.json()["counts"] == {"published": 1_500}


async def test_many_concurrent_clients_of_one_token_are_all_answered(net: Cluster) -> None:
    """Past the per-client limit requests wait their turn; none is refused or dropped."""
    node = net["FRA"]
    headers = {"Authorization": f"Bearer {node.tokens['border']}"}
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=node.url, headers=headers, limits=limits) as client:

        async def check(i: int) -> None:
            answer = await client.get("/check/document", params={"country": "FRA", "number": i})
            statuses.append(answer.status_code)

        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(check, i)
    assert statuses == [200] * 100


# -- border checks ---------------------------------------------------------------------------


def test_document_check_hits_on_another_node_and_misses_cleanly(net: Cluster) -> None:
    number = fresh("D")
    publish(net, "FRA", "sltd", sltd(number))
    border = net["EUROPOL"].client("border")

    def hit() -> dict[str, Any] | None:
        answer = border.get("/check/document", params={"country": "fra", "number": number})
        return answer.json() if answer.json()["hit"] else None

    answer = poll("document hit at EUROPOL", hit, WAIT)
    assert answer["records"][0]["record"]["document_number"] == number
    miss = border.get("/check/document", params={"country": "FRA", "number": fresh("N")})
    assert miss.json() == {"hit": False, "records": []}


def test_mrz_check_and_a_bad_check_digit_is_named(net: Cluster) -> None:
    number = fresh("M")
    lines = list(
        compose_mrz(
            "TD3",
            document_code="P",
            issuing_state="FRA",
            document_number=number,
            nationality="FRA",
            date_of_birth="800101",
            sex="F",
            date_of_expiry="300101",
            surname="DUPONT",
            given_names="MARIE",
        )
    )
    publish(net, "FRA", "sltd", sltd(number, mrz=lines))
    border = net["DEU"].client("border")
    poll(
        "MRZ hit at DEU",
        lambda: border.post("/check/mrz", json={"lines": lines}).json()["hit"],
        WAIT,
    )
    bad = [lines[0], lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]]
    answer = border.post("/check/mrz", json={"lines": bad})
    assert answer.status_code == 422
    assert answer.json()["error"] == "MRZCheckDigitError"
    assert answer.json()["field"] == "document number"
    assert "document number check digit" in answer.json()["detail"]
    short = border.post("/check/mrz", json={"lines": [lines[0]]})
    assert short.status_code == 422 and "2 (TD2, TD3) or 3 (TD1) lines" in short.json()["detail"]


def test_vehicle_and_firearm_checks(net: Cluster) -> None:
    serial = fresh("SN")
    publish(net, "DEU", "vehicle", {"vin": "WVWZZZ1JZXW000001", "make": "Volkswagen"})
    publish(net, "DEU", "firearm", {"make": "Glock", "serial": serial, "model": "17"})
    border = net["FRA"].client("border")
    poll(
        "vehicle at FRA",
        lambda: border.get("/check/vehicle", params={"vin": "wvwzzz1jzxw000001"}).json()["hit"],
        WAIT,
    )
    poll(
        "firearm at FRA",
        lambda: border.get(
            "/check/firearm", params={"make": "GLOCK", "serial": serial.lower()}
        ).json()["hit"],
        WAIT,
    )
    assert not border.get("/check/firearm", params={"make": "Beretta", "serial": serial}).json()[
        "hit"
    ]
    bad = border.get("/check/vehicle", params={"vin": "!!!"})
    assert bad.status_code == 422


def test_person_search_tolerates_spelling_and_filters_nationality(net: Cluster) -> None:
    eid = publish(
        net,
        "FRA",
        "notice.yellow",
        person("Wąsowski", "Jürgen", "1966-02-03", nationalities=["POL"]),
    )
    officer = net["DEU"].client("officer")
    arrives(net, "DEU", eid)
    for params in (
        {"name": "WASOWSKI", "forename": "Juergen"},
        {"name": "Wasowski", "forename": "Jurgen", "date_of_birth": "1966/02/03"},
        {"name": "wasowski", "nationality": "pol"},
    ):
        found = officer.get("/search/persons", params=params).json()
        assert eid in [r["id"] for r in found["records"]], params
    other = officer.get("/search/persons", params={"name": "Wasowski", "nationality": "DEU"})
    assert eid not in [r["id"] for r in other.json()["records"]]
    assert officer.get("/search/persons").status_code == 422


def test_dna_match(net: Cluster) -> None:
    alleles = {**{k: list(v) for k, v in CODIS_SAMPLE.items()}, "D16S539": ["9", "13"]}
    eid = publish(
        net, "FRA", "dna", {"loci_set": "CODIS20", "alleles": alleles, "reference": "LAB-T"}
    )
    officer = net["DEU"].client("officer")
    arrives(net, "DEU", eid)
    answer = officer.post("/dna/match", json={"loci_set": "CODIS20", "alleles": alleles})
    match = {m["id"]: m["match"] for m in answer.json()["matches"]}
    assert match[eid]["verdict"] == "match" and match[eid]["compared"] == 11
    bad = officer.post("/dna/match", json={"loci_set": "NOPE", "alleles": alleles})
    assert bad.status_code == 422


def test_recent_frontier_peers_and_metrics(net: Cluster) -> None:
    first = publish(net, "FRA", "sltd", sltd(fresh("R")))
    second = publish(net, "FRA", "sltd", sltd(fresh("R")))
    recent = net["FRA"].client("officer").get("/recent/sltd", params={"limit": 2}).json()
    assert [r["id"] for r in recent["records"]] == [second, first]
    frontier = net["FRA"].client("officer").get("/frontier").json()
    assert frontier["FRA"]["seq"] >= 3
    peers = net["FRA"].client("admin").get("/peers").json()
    assert set(peers["sessions"]) == {"DEU", "EUROPOL", "CCF"}
    assert peers["counters"]["entries_sent"] >= 0
    metrics = net["FRA"].client("admin").get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$')
    names = set()
    for line in metrics.text.splitlines():
        if not line.startswith("#"):
            assert sample.match(line), line
            names.add(line.split("{")[0].split(" ")[0])
    assert {
        "noticenet_entries",
        "noticenet_bodies",
        "noticenet_tombstones",
        "noticenet_replication_lag_entries",
        "noticenet_purge_receipts_outstanding",
        "noticenet_unopened_entries",
    } <= names


# -- cancel, update, status -------------------------------------------------------------------


def test_cancel_and_update_own_entries_only(net: Cluster) -> None:
    eid = publish(net, "FRA", "notice.blue", person("Okafor", "Chidi", "1990-05-06"))
    arrives(net, "DEU", eid)
    foreign = net["DEU"].client("issuer").post(f"/records/{eid}/cancel", json={})
    assert foreign.status_code == 403 and foreign.json()["error"] == "NotYourEntry"
    replaced = (
        net["FRA"]
        .client("issuer")
        .put(
            f"/records/{eid}",
            json={"record": person("Okafor", "Chidi", "1990-05-06", nationalities=["NGA"])},
        )
    )
    assert replaced.status_code == 201, replaced.text
    new = replaced.json()["id"]
    view = arrives(net, "DEU", new)
    assert view["kind"] == "notice.blue" and view["replaces"] == eid
    assert view["record"]["subject"]["nationalities"] == ["NGA"]
    officer = net["DEU"].client("officer")
    poll(
        "old one replaced at DEU",
        lambda: officer.get(f"/status/{eid}").json()["state"] == "replaced",
        WAIT,
    )
    again = net["FRA"].client("issuer").put(f"/records/{eid}", json={"record": {}})
    assert again.status_code == 409
    cancelled = (
        net["FRA"].client("issuer").post(f"/records/{new}/cancel", json={"reason": "located"})
    )
    assert cancelled.status_code == 201
    poll(
        "withdrawn at DEU",
        lambda: officer.get(f"/status/{new}").json()["state"] == "withdrawn",
        WAIT,
    )
    assert officer.get(f"/records/{new}").status_code == 404
    assert net["FRA"].client("issuer").post(f"/records/{new}/cancel", json={}).status_code == 409
    unknown = officer.get(f"/status/{ZERO}").json()
    assert unknown["known"] is False and unknown["state"] == "unknown"


# -- the CCF ---------------------------------------------------------------------------------


def test_block_hides_everywhere(net: Cluster) -> None:
    number = fresh("B")
    eid = publish(net, "DEU", "sltd", sltd(number, "DEU"))
    arrives(net, "FRA", eid)
    ccf_action(net, "block", [eid], (2, 4))
    fra = net["FRA"].client("admin")
    poll("block at FRA", lambda: fra.get(f"/status/{eid}").json()["state"] == "blocked", WAIT)
    assert fra.get(f"/records/{eid}").status_code == 404
    assert not fra.get("/check/document", params={"country": "DEU", "number": number}).json()["hit"]
    assert eid not in [
        r["id"] for r in fra.get("/recent/sltd", params={"limit": 500}).json()["records"]
    ]
    assert eid not in fra.get("/export/sltd").text
    assert net["DEU"].client("issuer").post(f"/records/{eid}/cancel", json={}).status_code == 409


def test_revocation_purges_everywhere_and_guards_reentry(net: Cluster) -> None:
    eid = publish(
        net,
        "FRA",
        "notice.red",
        {
            **person("Oyelaran", "Babatunde", "1958-11-30"),
            "arrest_warrants": [{"charge": "Fraud", "issuing_country": "FRA"}],
        },
    )
    for member in net.nodes:
        if member != "EUROPOL":
            arrives(net, member, eid)
    action = ccf_action(net, "revoke", [eid], (1, 3, 5))
    for member, node in net.nodes.items():
        client = node.client("officer")
        poll(
            f"revoked at {member}",
            lambda c=client: c.get(f"/status/{eid}").json()["state"] == "revoked",
            WAIT,
        )
        assert client.get(f"/records/{eid}").status_code == 404
        assert eid not in client.get("/search/persons", params={"name": "Oyelaran"}).text
    ccf = net["CCF"].client("officer")
    purge = poll(
        "all purge receipts",
        lambda: (p := ccf.get(f"/status/{eid}").json()["purge"]) and not p["outstanding"] and p,
        30,
    )
    assert purge["action"] == action and set(purge["purged"]) == set(net.nodes)
    variant = person("OYELARAN", "Babatundé", "1958-11-30")
    refused = net["DEU"].client("issuer").post("/records/notice.red", json={"record": variant})
    assert refused.status_code == 409 and refused.json()["error"] == "ReentryBlocked"
    imported = net["DEU"].client("issuer").post("/import/notice.red", json={"rows": [variant]})
    assert imported.json()["results"][0] | {"detail": ""} == {
        "row": 0,
        "status": "refused",
        "code": 409,
        "error": "ReentryBlocked",
        "detail": "",
    }
    assert eid not in net["FRA"].client("officer").get("/export/notice.red").text


def test_a_similar_reentry_is_held_everywhere_until_the_ccf_decides(net: Cluster) -> None:
    """Revoked: Yusuf Nguyen. Re-entered by DEU as 'Ngyuen' (publish: 202 held) and by
    FRA as 'Josef Nguyen' born that year (import: row held); both replicate held and
    hidden on every node; the CCF's queue names the guard and the revocation; the CCF
    releases the first (it appears everywhere) and revokes the second."""
    eid = publish(net, "FRA", "notice.red", person("Nguyen", "Yusuf", "1961-05-17"))
    for member in ("DEU", "CCF"):
        arrives(net, member, eid)
    action = ccf_action(net, "revoke", [eid], (1, 3, 5))
    for member, node in net.nodes.items():
        client = node.client("officer")
        poll(f"revoked at {member}", lambda c=client: c.get(f"/status/{eid}").json()["state"]
             == "revoked", WAIT)
    same = person("NGUYEN", "Yusuf", "1961-05-17")
    assert net["DEU"].client("issuer").post("/records/notice.red", json={"record": same}) \
        .status_code == 409
    typo = net["DEU"].client("issuer").post(
        "/records/notice.red", json={"record": person("Ngyuen", "Yusuf", "1961-05-17")}
    )
    assert typo.status_code == 202 and typo.json()["state"] == "held", typo.text
    imported = net["FRA"].client("issuer").post(
        "/import/notice.red", json={"rows": [person("Nguyen", "Josef", "1961")]}
    )
    [row] = imported.json()["results"]
    assert row["status"] == "held", row
    kept, gone = typo.json()["id"], row["id"]
    for member, node in net.nodes.items():
        client = node.client("officer")
        for held in (kept, gone):
            poll(f"held at {member}", lambda c=client, h=held: c.get(f"/status/{h}").json()
                 ["state"] == "held", WAIT)
            assert client.get(f"/records/{held}").status_code == 404
        found = client.get("/search/persons", params={"name": "Nguyen", "forename": "Yusuf"})
        assert kept not in found.text and gone not in found.text
        exported = client.get("/export/notice.red").text
        assert kept not in exported and gone not in exported
    queue = net["CCF"].client("admin").get("/ccf/held").json()
    held = {item["id"]: item for item in queue["held"]}
    assert {kept, gone} <= set(held)
    for item in (held[kept], held[gone]):
        assert item["guards"] and all(action in g["revocations"] for g in item["guards"])
        assert item["record"]["subject"]["name"] in ("Ngyuen", "Nguyen")
    assert queue["revocations"][action]["targets"] == [eid]
    ccf_action(net, "release", [kept], (1, 3, 5))
    ccf_action(net, "revoke", [gone], (2, 3, 4))
    for member in ("FRA", "DEU", "CCF"):
        assert arrives(net, member, kept)["record"]["subject"]["name"] == "Ngyuen"
    for member, node in net.nodes.items():
        client = node.client("officer")
        poll(f"revoked at {member}", lambda c=client: c.get(f"/status/{gone}").json()["state"]
             == "revoked", WAIT)
    later = {item["id"] for item in net["CCF"].client("admin").get("/ccf/held").json()["held"]}
    assert kept not in later and gone not in later


def test_ccf_requests_only_on_the_ccf_node(net: Cluster) -> None:
    body = {"action": "block", "targets": [ZERO], "reason": "other", "decision": "x"}
    elsewhere = net["FRA"].client("admin").post("/ccf/propose", json=body)
    assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "NotCCFNode"
    access = net["DEU"].client("admin").post("/ccf/subject-access", json={"name": "X"})
    assert access.status_code == 403


def test_subject_access_finds_spelling_variants_and_documents(net: Cluster) -> None:
    number = fresh("S")
    notice = publish(net, "FRA", "notice.red", person("Kowalczyk", "Zbigniew", "1971-07-01"))
    diff = publish(
        net,
        "DEU",
        "diffusion",
        {
            "purpose": "locate",
            "recipients": ["FRA"],
            **person("KOVALCHIK", "Zbigniew", "1971-07-01"),
        },
        recipients=["FRA"],
    )
    other = publish(net, "FRA", "notice.red", person("Kowalczyk", "Zbigniew", "1985-01-01"))
    doc = publish(net, "DEU", "sltd", sltd(number, "DEU", holder_name="KOWALCZYK"))
    ccf = net["CCF"].client("admin")
    for eid in (notice, diff, other, doc):
        arrives(net, "CCF", eid)
    answer = ccf.post(
        "/ccf/subject-access",
        json={
            "name": "Kowalczik",
            "forename": "Zbigniew",
            "date_of_birth": "1971-07-01",
            "country": "DEU",
            "number": number,
        },
    ).json()
    found = {r["id"] for r in answer["records"]}
    assert {notice, diff, doc} <= found and other not in found
    assert answer["count"] == len(answer["records"])
    before = ccf.get("/frontier").json()
    assert ccf.post("/ccf/subject-access", json={}).status_code == 422
    assert ccf.get("/frontier").json() == before  # nothing published
    log = net["CCF"].log.read_text()
    assert "path=/ccf/subject-access" in log
    assert "Kowalczik" not in log and "KOWALCZYK" not in log and number not in log


def test_audit_log_names_route_templates_not_values(net: Cluster) -> None:
    number = fresh("A")
    net["DEU"].client("border").get("/check/document", params={"country": "FRA", "number": number})
    net["DEU"].client("officer").get("/search/persons", params={"name": "Zyxwvutsr"})
    log = net["DEU"].log.read_text()
    assert "event=api.request user=border role=border method=GET path=/check/document" in log
    assert "path=/search/persons" in log
    assert number not in log and "Zyxwvutsr" not in log
    assert "event=api.refused reason=no-token" in net["CCF"].log.read_text()


# -- users, entries, import, export ---------------------------------------------------------


def test_users_over_the_api(net: Cluster) -> None:
    admin = net["DEU"].client("admin")
    made = admin.post("/users", json={"name": "desk-7", "role": "border"})
    assert made.status_code == 201
    token = made.json()["token"]
    desk = httpx.Client(base_url=net["DEU"].url, headers={"Authorization": f"Bearer {token}"})
    assert desk.get("/check/vehicle", params={"vin": "WVWZZZ1JZXW000001"}).status_code == 200
    assert {"name": "desk-7", "role": "border"} in admin.get("/users").json()
    assert admin.post("/users", json={"name": "desk-7", "role": "border"}).status_code == 409
    assert admin.post("/users", json={"name": "x", "role": "root"}).status_code == 422
    assert admin.delete("/users/desk-7").status_code == 200
    assert desk.get("/check/vehicle", params={"vin": "WVWZZZ1JZXW000001"}).status_code == 401
    assert admin.delete("/users/desk-7").status_code == 404
    desk.close()


def test_entries_endpoint(net: Cluster) -> None:
    admin = net["FRA"].client("admin")
    assert admin.post("/entries", json={"entries": ["zz"]}).status_code == 422
    assert admin.post("/entries", json={"entries": ["a0"]}).status_code == 422
    genesis = (net.net.root / "genesis.cbor").read_bytes()
    result = admin.post("/entries", json={"entries": [genesis.hex()]}).json()["results"][0]
    assert result["outcome"] == "duplicate"


def test_a_stale_ceremony_is_refused_not_forked(net: Cluster) -> None:
    """Two proposals for the same #CCF-BLOCK position: a signer of the first refuses the
    second; the second, signed by others (2 of 5 allows two disjoint groups) after the
    first was published, is refused (409) instead of freezing the commission's feed."""
    targets = [publish(net, "FRA", "sltd", sltd(fresh("S"))) for _ in range(2)]
    first = ccf_propose(net, "block", targets[:1])
    second = ccf_propose(net, "block", targets[1:])
    ccf = net["CCF"].client("admin")
    entry = ccf_sign(net, first, "block", (1, 2))
    assert ccf.post("/entries", json={"entries": [entry.to_wire().hex()]}).status_code == 202
    with pytest.raises(ConflictingProposal):
        ccf_sign(net, second, "block", (2, 3))
    stale = ccf_sign(net, second, "block", (4, 5))
    answer = ccf.post("/entries", json={"entries": [stale.to_wire().hex()]})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "StaleEntry"
    metrics = ccf.get("/metrics").text
    assert "noticenet_equivocations 0" in metrics


def test_import_is_idempotent_and_reports_refused_rows(net: Cluster) -> None:
    numbers = [fresh("I") for _ in range(3)]
    good = [sltd(n) for n in numbers]
    lines = list(
        compose_mrz(
            "TD3",
            document_code="P",
            issuing_state="FRA",
            document_number=numbers[0],
            nationality="FRA",
            date_of_birth="800101",
            sex="F",
            date_of_expiry="300101",
            surname="DUPONT",
            given_names="MARIE",
        )
    )
    bad_mrz = sltd(fresh("I"), mrz=[lines[0], lines[1][:27] + "0" + lines[1][28:]])
    rows = [*good, bad_mrz, {"document_number": "X"}]
    issuer = net["FRA"].client("issuer")
    first = issuer.post("/import/sltd", json={"rows": rows}).json()
    assert first["counts"] == {"published": 3, "refused": 2}
    assert first["results"][3]["error"] == "MRZCheckDigitError"
    assert first["results"][4]["code"] == 422 and "missing field" in first["results"][4]["detail"]
    again = issuer.post("/import/sltd", json={"rows": rows}).json()
    assert again["counts"] == {"duplicate": 3, "refused": 2}
    lines_out = net["FRA"].client("officer").get("/export/sltd", params={"author": "FRA"})
    exported = [json.loads(x) for x in lines_out.text.splitlines()]
    held = {v["record"]["document_number"] for v in exported}
    assert set(numbers) <= held and all(v["author"] == "FRA" for v in exported)
    assert net["FRA"].client("officer").get("/export/nope").status_code == 422


# -- the CLI against a running node ---------------------------------------------------------


def cli(net: Cluster, member: str, role: str, *args: str, exit_code: int = 0) -> Any:
    node = net[member]
    result = CliRunner().invoke(
        cli_app, [*args, "--api", node.api, "--token", node.tokens[role], "--json"]
    )
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def test_cli_publish_check_search_status(net: Cluster, tmp_path: Path) -> None:
    number = fresh("L")
    record = tmp_path / "doc.json"
    record.write_text(json.dumps(sltd(number)))
    eid = cli(net, "FRA", "issuer", "publish", "sltd", str(record))["id"]
    hit = cli(net, "FRA", "border", "check", "document", "--country", "FRA", "--number", number)
    assert hit["hit"] and hit["records"][0]["id"] == eid
    assert cli(net, "FRA", "officer", "status", eid)["state"] == "live"
    notice = tmp_path / "notice.json"
    notice.write_text(json.dumps(to_json(records()["notice.green"])))
    cli(net, "FRA", "issuer", "publish", "notice.green", str(notice))
    found = cli(net, "FRA", "officer", "search", "--name", "Erikson", "--forename", "Ana Maria")
    assert found["count"] >= 1
    refused = CliRunner().invoke(
        cli_app,
        [
            "check",
            "document",
            "--country",
            "FRA",
            "--number",
            number,
            "--api",
            net["FRA"].api,
            "--token",
            "nope",
        ],
    )
    assert refused.exit_code == 1 and "Unauthenticated" in refused.output


def test_cli_import_csv_and_red_notices_then_export(net: Cluster, tmp_path: Path) -> None:
    numbers = [fresh("V") for _ in range(2)]
    csv_file = tmp_path / "sltd.csv"
    csv_file.write_text(
        "document_number,document_type,issuing_country,status,holder_name\n"
        f"{numbers[0]},P,FRA,stolen,\n{numbers[1]},P,FRA,lost,Łukasz\n,P,FRA,x,\n"
    )
    args = ("import", "sltd", str(csv_file), "--format", "csv")
    report = cli(net, "FRA", "issuer", *args, exit_code=3)  # 3: some rows were refused
    assert report["counts"] == {"published": 2, "refused": 1}
    again = cli(net, "FRA", "issuer", *args, "--refused-ok")
    assert again["counts"] == {"duplicate": 2, "refused": 1}
    red = tmp_path / "red.json"
    red.write_text(
        json.dumps(
            {
                "_embedded": {
                    "notices": [
                        {
                            "forename": "IVAN",
                            "name": "PETRENKO",
                            "date_of_birth": "1980/03/04",
                            "nationalities": ["UA"],
                            "sex_id": "M",
                            "height": 1.82,
                            "weight": 80,
                            "arrest_warrants": [{"charge": "Murder", "issuing_country_id": "UA"}],
                            "entity_id": "2024/99999",
                        }
                    ]
                }
            }
        )
    )
    report = cli(net, "DEU", "issuer", "import", "notice.red", str(red), "--format", "rednotice")
    assert report["counts"] == {"published": 1}
    out = tmp_path / "out.csv"
    cli(net, "FRA", "officer", "export", "sltd", str(out), "--format", "csv", "--author", "FRA")
    text = out.read_text()
    assert text.startswith("id,author,issued_at,document_number") and numbers[1] in text
    assert "Łukasz" in text


def test_cli_import_of_another_encoding_names_the_line(net: Cluster, tmp_path: Path) -> None:
    """A Latin-1 CSV ended in a UnicodeDecodeError traceback."""
    number = fresh("E")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        "document_number,document_type,issuing_country,status,holder_name\n"
        f"{number},P,FRA,stolen,Müller\n".encode("latin-1")
    )
    node = net["FRA"]
    auth = ["--api", node.api, "--token", node.tokens["issuer"]]
    refused = CliRunner().invoke(cli_app, ["import", "sltd", str(latin), "--format", "csv", *auth])
    assert refused.exit_code == 1, refused.output
    assert "line 2 is not utf-8 (byte 0xfc)" in refused.output
    assert "Traceback" not in refused.output
    report = cli(net, "FRA", "issuer", "import", "sltd", str(latin), "--format", "csv",
                 "--encoding", "latin-1")
    assert report["counts"] == {"published": 1}


def test_cli_ccf_propose_through_the_api(net: Cluster, tmp_path: Path) -> None:
    eid = publish(net, "DEU", "sltd", sltd(fresh("P"), "DEU"))
    arrives(net, "CCF", eid)
    proposal = tmp_path / "proposal"
    answer = cli(
        net,
        "CCF",
        "admin",
        "ccf",
        "propose",
        "--action",
        "revoke",
        "--target",
        eid,
        "--reason",
        "inaccurate",
        "--decision",
        "CCF/T/9",
        "--out",
        str(proposal),
    )
    assert any("guard tag" in line for line in answer["describe"])
    shown = CliRunner().invoke(cli_app, ["ccf", "show", str(proposal)])
    assert shown.exit_code == 0 and eid in shown.output


def test_cli_remaining_online_commands(net: Cluster, tmp_path: Path) -> None:
    serial = fresh("G")
    gun = tmp_path / "gun.json"
    gun.write_text(json.dumps({"record": {"make": "Beretta", "serial": serial}}))
    eid = cli(net, "DEU", "issuer", "publish", "firearm", str(gun))["id"]
    assert cli(net, "DEU", "border", "check", "firearm", "--make", "beretta", "--serial", serial)[
        "hit"
    ]
    assert not cli(net, "DEU", "border", "check", "vehicle", "WVWZZZ1JZXW000002")["hit"]
    assert (
        cli(net, "DEU", "officer", "recent", "firearm", "--limit", "1")["records"][0]["id"] == eid
    )
    assert "sessions" in cli(net, "DEU", "admin", "peers")
    changed = tmp_path / "gun2.json"
    changed.write_text(json.dumps({"make": "Beretta", "serial": serial, "model": "92"}))
    new = cli(net, "DEU", "issuer", "update", eid, str(changed))["id"]
    assert cli(net, "DEU", "issuer", "cancel", new, "--reason", "found")["cancels"] == new
    probe = tmp_path / "probe.json"
    probe.write_text(
        json.dumps(
            {"loci_set": "CODIS20", "alleles": {k: list(v) for k, v in CODIS_SAMPLE.items()}}
        )
    )
    assert "matches" in cli(net, "DEU", "officer", "dna", "match", str(probe))
    case = tmp_path / "case.json"
    report = cli(
        net, "CCF", "admin", "ccf", "subject-access", "--name", "Nobody-Known", "--out", str(case)
    )
    assert report["records"] == 0 and json.loads(case.read_text())["count"] == 0
    bad = CliRunner().invoke(
        cli_app,
        [
            "check",
            "mrz",
            MRZ[0],
            MRZ[1][:9] + "0" + MRZ[1][10:],
            "--api",
            net["DEU"].api,
            "--token",
            net["DEU"].tokens["border"],
        ],
    )
    assert bad.exit_code == 1 and "check digit" in bad.output
    genesis = tmp_path / "genesis.entry"
    genesis.write_bytes((net.net.root / "genesis.cbor").read_bytes())
    assert cli(net, "CCF", "admin", "ccf", "publish", str(genesis))["outcome"] == "duplicate"
