"""Replication between real node processes over libp2p on 127.0.0.1.

One local network of 7 members (`create_localnet`), each node a separate
`noticenet node run` process with its own LevelDB store under tmp_path and
its log in a file. Every wait polls an HTTP endpoint or a log file with a
short interval under an overall deadline; no fixed sleeps. The fixture
kills every process it started on teardown, whatever happened.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trio

from noticenet.crypto import frost
from noticenet.crypto.errors import BadShare
from noticenet.node.api.users import Users
from noticenet.node.config import load_config
from noticenet.node.demo.localnet import LocalNet, create_localnet
from noticenet.node.p2p.transport import Transport, TransportError
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.node.store.opening import ledger_path
from noticenet.protocol.ccf import ceremony as ccf_ceremony
from noticenet.protocol.ccf import dkg_ceremony
from noticenet.protocol.devnet import commission_setup
from noticenet.protocol.ledger.audit import verify_ledger
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.records import TravelDocument
from noticenet.protocol.replication.frames import Entries, Hello, encode_frame
from noticenet.protocol.store.kvstore import MemoryStore

STARTUP_S = 90.0  # 7 processes importing libp2p + FastAPI on a loaded 2-core machine
CONVERGE_S = 30.0
STOP_S = 20.0
POLL_S = 0.05
T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call `probe` every POLL_S until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_S)


class NodeProcess:
    """One member's node process, its HTTP client and its log file."""

    def __init__(self, member: str, config: Path, api: str, listen: str, peer_id: str) -> None:
        self.member, self.config, self.listen, self.peer_id = member, config, listen, peer_id
        data_dir = load_config(config).data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        token = Users(data_dir / "tokens.json").add("admin", "admin")
        self.http = httpx.Client(
            base_url=f"http://{api}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        self.log = config.parent / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = [sys.executable, "-c", "from noticenet.node.cli.main import main; main()"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "node", "run", "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NOTICENET_PASSPHRASE": ""},
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL if still running, and reap (teardown: never raises)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)

    # -- HTTP -------------------------------------------------------------------

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def health(self) -> dict[str, Any] | None:
        """GET /health, or None while the API is not up."""
        try:
            response = self.http.get("/health")
        except httpx.TransportError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def connected(self) -> list[str]:
        health = self.health()
        return list(health["connected"]) if health else []

    def frontier(self) -> dict[str, int]:
        response = self.get("/frontier")
        assert response.status_code == 200, response.text
        return {author: int(v["seq"]) for author, v in response.json().items()}

    def findable(self) -> dict[str, int]:
        """Per feed, the seq up to which this node has opened (and indexed) what it holds."""
        response = self.get("/frontier/findable")
        assert response.status_code == 200, response.text
        return {author: int(seq) for author, seq in response.json().items()}

    def publish(self, kind: str, record: dict[str, Any], recipients: tuple[str, ...] = ()) -> str:
        body = {"record": record, "recipients": list(recipients)}
        response = self.http.post(f"/records/{kind}", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, needle: str, timeout: float, after: int = 0) -> str:
        """Wait until `needle` appears in the log past character `after`; return that line."""

        def find() -> str | None:
            text = self.log_text()[after:]
            return next((line for line in text.splitlines() if needle in line), None)

        return poll(f"{needle!r} in {self.member}'s log", find, timeout)


class Cluster:
    """The local network's processes, by member id."""

    def __init__(self, net: LocalNet) -> None:
        self.net = net
        self.nodes = {
            m.id: NodeProcess(m.id, m.config, m.api, m.listen, m.peer_id)
            for m in net.members.values()
        }

    def __getitem__(self, member: str) -> NodeProcess:
        return self.nodes[member]

    def start(self, *members: str) -> None:
        for member in members:
            self.nodes[member].start()
        for member in members:
            self.wait_ready(member)

    def wait_ready(self, member: str, timeout: float = STARTUP_S) -> list[str]:
        node = self.nodes[member]

        def ready() -> list[str] | None:
            if not node.alive():
                raise AssertionError(f"{member} exited early:\n{node.log_text()[-3000:]}")
            health = node.health()
            if not health or not health["own_feed"]["ready"]:
                return None
            return list(health["connected"]) or None

        return poll(f"{member} to connect to a neighbour and publish", ready, timeout)

    def converged(self, members: list[str] | None = None) -> dict[str, int] | None:
        """The common frontier if every listed node has the same one and has opened all
        it holds (relayed entries are found once opened), else None."""
        nodes = [self.nodes[m] for m in members or sorted(self.nodes)]
        frontiers = [n.frontier() for n in nodes]
        if not all(f == frontiers[0] for f in frontiers):
            return None
        return frontiers[0] if all(n.findable() == frontiers[0] for n in nodes) else None

    def stop(self) -> None:
        for node in self.nodes.values():
            node.kill()
            node.http.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    net = create_localnet(tmp_path_factory.mktemp("localnet"))
    cluster = Cluster(net)
    try:
        cluster.start(*cluster.nodes)
        yield cluster
    finally:
        cluster.stop()


def sltd(
    number: str, country: str = "FRA", holder: tuple[str, str] = ("DUPONT", "JEAN")
) -> dict[str, Any]:
    return {
        "document_number": number,
        "document_type": "P",
        "issuing_country": country,
        "status": "stolen",
        "holder_name": holder[0],
        "holder_forename": holder[1],
    }


def test_a_record_reaches_its_whole_audience_and_no_one_else(cluster: Cluster) -> None:
    members = sorted(cluster.nodes)
    record_id = cluster["FRA"].publish("sltd", sltd("NET0000001"))

    def readable_everywhere() -> bool:
        return all(cluster[m].get(f"/records/{record_id}").status_code == 200 for m in members)

    poll("the SLTD record on every node", readable_everywhere, CONVERGE_S)
    for member in members:
        doc = cluster[member].get(f"/records/{record_id}").json()
        assert doc["author"] == "FRA" and doc["record"]["document_number"] == "NET0000001"
    hit = cluster["EUROPOL"].get("/check/document", country="FRA", number="NET0000001").json()
    assert hit["hit"] and hit["records"][0]["id"] == record_id

    diffusion = {"purpose": "locate", "recipients": ["DEU"], "subject": {"name": "ERIKSSON"}}
    diffusion_id = cluster["FRA"].publish("diffusion", diffusion, ("DEU",))
    head = cluster["FRA"].frontier()
    poll("the diffusion's header on every node", lambda: cluster.converged(), CONVERGE_S)
    assert cluster.converged() == head
    for member in ("DEU", "CCF"):
        doc = cluster[member].get(f"/records/{diffusion_id}")
        assert doc.status_code == 200, doc.text
        assert doc.json()["record"]["recipients"] == ["DEU"]
    for member in ("USA", "BRA", "JPN", "EUROPOL"):
        refused = cluster[member].get(f"/records/{diffusion_id}")
        assert refused.status_code == 404
        assert refused.json()["error"] == "NotARecipient"


def test_a_node_killed_while_others_publish_catches_up(cluster: Cluster) -> None:
    victim = cluster["JPN"]
    authors = ["FRA", "DEU", "USA"]
    ids = []
    for i in range(18):
        ids.append(cluster[authors[i % 3]].publish("sltd", sltd(f"KIL{i:07d}")))
        if i == 5:
            victim.signal(signal.SIGKILL)
            assert victim.wait(STOP_S) == -signal.SIGKILL
        if i == 11:
            log_mark = len(victim.log_text())
            victim.start()
    cluster.wait_ready("JPN")
    assert victim.wait_log("event=node.started", STARTUP_S, after=log_mark)
    heads = {a: cluster[a].frontier()[a] for a in authors}
    converged = poll("every node to hold and open every feed", cluster.converged, CONVERGE_S)
    assert {a: converged[a] for a in authors} == heads
    for record_id in ids:
        assert victim.get(f"/records/{record_id}").status_code == 200


def forged_entries(net: LocalNet, member: str) -> list[Entry]:
    """Entries a real member could have signed but never published: they would be accepted."""
    spec = net.devnet.member(member)
    ledger = Ledger.of_member(MemoryStore(), net.devnet.governance.public_key, member, spec.keys)
    ledger.ingest(decode_entry(net.devnet.genesis.to_wire()), int(time.time() * 1000))
    publisher = Publisher(ledger, member, spec.keys)
    record = TravelDocument("ROGUE0001", "P", "BRA", "stolen")
    publisher.publish("sltd", record, int(time.time() * 1000))
    return list(ledger.feed(member))


async def rogue_attempt(target: NodeProcess, entries: list[Entry]) -> str:
    """Dial `target` from a peer id not on the roster; try to replicate entries to it."""
    seed = random.Random(20260801).randbytes(32)
    async with Transport(seed, allowlist=[target.peer_id]) as rogue:
        try:
            await rogue.connect(target.peer_id, target.listen)
            stream = await rogue.open_stream(target.peer_id)
            hello = Hello("BRA", {"BRA": len(entries)}, 1024)
            await stream.send(encode_frame(hello))
            await stream.send(encode_frame(Entries(tuple(e.to_wire() for e in entries))))
            await stream.receive()
        except TransportError as exc:
            return f"refused: {type(exc).__name__}"
        return "accepted"


def test_a_long_catch_up_is_checked_on_the_intake_workers(cluster: Cluster) -> None:
    """Frames of many entries are verified and decrypted on worker processes, and the
    node ends with every entry, readable and findable, exactly as if checked in-process."""
    victim = cluster["BRA"]
    victim.signal(signal.SIGKILL)
    assert victim.wait(STOP_S) == -signal.SIGKILL
    rows = [sltd(f"BULK{i:05d}") for i in range(300)]
    response = cluster["FRA"].http.post("/import/sltd", json={"rows": rows}, timeout=120)
    assert response.status_code == 200 and response.json()["counts"] == {"published": 300}
    head = cluster["FRA"].frontier()["FRA"]
    log_mark = len(victim.log_text())
    victim.start()
    cluster.wait_ready("BRA")
    line = victim.wait_log("event=intake.pooled", CONVERGE_S, after=log_mark)
    assert "entries=" in line and "workers=" in line
    poll("BRA to open FRA's feed", lambda: victim.findable().get("FRA") == head or None, CONVERGE_S)
    hits = victim.get("/check/document", country="FRA", number="BULK00299").json()
    assert hits["hit"] is True, hits


async def test_a_peer_off_the_roster_cannot_connect_or_inject(cluster: Cluster) -> None:
    target = cluster["DEU"]
    entries = forged_entries(cluster.net, "BRA")
    before = target.frontier()
    assert before.get("BRA", 0) < entries[-1].header.seq
    log_mark = len(target.log_text())
    with trio.fail_after(30):
        outcome = await rogue_attempt(target, entries)
    rogue_id = Transport(random.Random(20260801).randbytes(32)).peer_id
    assert outcome.startswith("refused"), outcome
    line = target.wait_log(f"event=gate_refused peer={rogue_id}", CONVERGE_S, after=log_mark)
    assert "direction=inbound" in line
    assert target.frontier() == before
    mentions = [x for x in target.log_text()[log_mark:].splitlines() if rogue_id in x]
    assert mentions and all("event=gate_refused" in x for x in mentions), mentions


def test_sigterm_stops_a_node_cleanly_and_it_restarts(cluster: Cluster) -> None:
    node = cluster["EUROPOL"]
    log_mark = len(node.log_text())
    node.signal(signal.SIGTERM)
    assert node.wait(STOP_S) == 0, node.log_text()[log_mark:][-3000:]
    tail = node.log_text()[log_mark:]
    assert "event=node.signal signal=SIGTERM" in tail
    assert "event=node.stopped member=EUROPOL" in tail
    assert "Traceback" not in tail
    node.start()
    cluster.wait_ready("EUROPOL")
    poll("EUROPOL to catch up after its restart", cluster.converged, CONVERGE_S)


def _revocation(
    ccf: NodeProcess, target: str, packages: dict[int, frost.KeyPackage],
    public: frost.PublicKeyPackage, forced: bool = False,
) -> dict[str, Any]:
    """The commission revokes `target` with the shares `packages`, through the CCF node: its
    proposal, commit and sign by each signer, aggregate with `public` (or, `forced`, a raw
    combination with no share check, as a careless coordinator would), POST /entries."""
    answer = ccf.http.post("/ccf/propose", json={
        "action": "revoke", "targets": [target], "reason": "article-3", "decision": "CCF/R/1",
    })
    assert answer.status_code == 200, answer.text
    proposal = ccf_ceremony.Proposal.from_bytes(bytes.fromhex(answer.json()["proposal"]))
    rounds = {i: ccf_ceremony.commit(proposal, p) for i, p in packages.items()}
    commitments = [c for _, c in rounds.values()]
    shares = [ccf_ceremony.sign_share(proposal, packages[i], rounds[i][0], commitments)
              for i in packages]
    if forced:
        entry = proposal.entry(frost.combine_signature(
            [c.commitment for c in commitments], proposal.message, public.group_public_key,
            [s.share for s in shares]))
    else:
        entry = ccf_ceremony.aggregate(proposal, commitments, shares, public)
    posted = ccf.http.post("/entries", json={"entries": [entry.to_wire().hex()]})
    assert posted.status_code == 202, posted.text
    result: dict[str, Any] = posted.json()["results"][0]
    return result


def test_relayed_entries_wait_unopened_through_a_revocation_and_a_kill(cluster: Cluster) -> None:
    """JPN relays only (`open_entries = false`): FRA's records reach it and are stored and
    acknowledged, but not found. A revocation of one arrives while they wait: JPN purges it
    and receipts the purge. JPN is killed: its store holds the rest unopened, and the
    verification pass accepts it. Restarted with the open stage on, it opens and indexes
    what it holds, and never answers the revoked one."""
    devnet = cluster.net.devnet
    cluster.start(*[m for m, n in cluster.nodes.items() if not n.alive()])
    victim, ccf, fra = cluster["JPN"], cluster["CCF"], cluster["FRA"]
    config = victim.config.read_text()
    victim.signal(signal.SIGKILL)
    assert victim.wait(STOP_S) == -signal.SIGKILL
    victim.config.write_text("open_entries = false\n" + config)  # top level, before any table
    try:
        holders = [("WAITE", "AUGUSTINE"), ("KOWALCZYK", "BOGUMILA"), ("NAKASHIMA", "TORU")]
        ids = [fra.publish("sltd", sltd(f"WAIT{i}", holder=h)) for i, h in enumerate(holders)]
        head = fra.frontier()["FRA"]
        victim.start()
        cluster.wait_ready("JPN")
        poll("JPN to hold FRA's feed", lambda: victim.frontier().get("FRA") == head, CONVERGE_S)
        assert victim.findable()["FRA"] < head
        for i, record_id in enumerate(ids):
            assert victim.get(f"/records/{record_id}").status_code == 404
            hit = victim.get("/check/document", country="FRA", number=f"WAIT{i}").json()
            assert hit["hit"] is False, hit
        poll("the record at the CCF", lambda: ccf.get(f"/records/{ids[0]}").status_code == 200,
             CONVERGE_S)
        old, public = devnet.revoke.packages, devnet.revoke.public
        revoked = _revocation(ccf, ids[0], {i: old[i] for i in (1, 2, 3)}, public)
        assert revoked["outcome"] == "stored", revoked

        def receipted() -> bool:
            status = ccf.get(f"/status/{ids[0]}").json()
            return "JPN" in status.get("purge", {}).get("purged", [])

        poll("JPN's purge receipt at the CCF", receipted, CONVERGE_S)
        assert victim.get(f"/status/{ids[0]}").json()["state"] == "revoked"
        victim.signal(signal.SIGKILL)
        assert victim.wait(STOP_S) == -signal.SIGKILL
    finally:
        victim.config.write_text(config)
    node_config = load_config(victim.config)
    store = LevelDBStore(str(ledger_path(node_config.data_dir)))
    try:
        ledger = Ledger.of_member(store, node_config.anchor, "JPN", node_config.keys(""))
        waiting = {e.id.hex() for e in ledger.waiting(1_000)}
        assert {ids[1], ids[2]} <= waiting and ids[0] not in waiting
        assert ledger.store.get(b"b/" + bytes.fromhex(ids[0])) is None
        assert verify_ledger(ledger) == []
    finally:
        store.close()
    log_mark = len(victim.log_text())
    victim.start()
    cluster.wait_ready("JPN")
    victim.wait_log("event=open.batch", CONVERGE_S, after=log_mark)
    poll("JPN to open FRA's feed", lambda: victim.findable().get("FRA", 0) >= head, CONVERGE_S)
    for i in (1, 2):
        assert victim.get(f"/records/{ids[i]}").status_code == 200
        hit = victim.get("/check/document", country="FRA", number=f"WAIT{i}").json()
        assert hit["hit"] is True and hit["records"][0]["id"] == ids[i], hit
    assert victim.get(f"/records/{ids[0]}").status_code == 404
    assert victim.get("/check/document", country="FRA", number="WAIT0").json()["hit"] is False


def test_a_refresh_retires_a_commissioner_with_no_gap(cluster: Cluster) -> None:
    """Commissioner 5 leaves: the other four refresh the revoke key's shares (same group key,
    so nodes change nothing). A revocation signed before, and one signed after with new
    shares, hold on every node; one made with 5's retired share is refused by the coordinator
    naming 5, and, forced through, by the nodes (bad signature); its target stays."""
    devnet = cluster.net.devnet
    cluster.start(*[m for m, n in cluster.nodes.items() if not n.alive()])
    # Holders far apart: revoking a document guards its holder, and would hold another
    # document of a like-named holder (issue 17's similar tier).
    holders = [("ABERNATHY", "QUINCE"), ("OKONKWO", "ZELDA"), ("VILLANUEVA", "PIOTR")]
    targets = [cluster["FRA"].publish("sltd", sltd(f"REFRESH{i}", holder=h))
               for i, h in enumerate(holders)]
    ccf, deu = cluster["CCF"], cluster["DEU"]
    poll("the records at the CCF",
         lambda: all(ccf.get(f"/records/{t}").status_code == 200 for t in targets), CONVERGE_S)
    old, public = devnet.revoke.packages, devnet.revoke.public

    def revoked(target: str) -> bool:
        return bool(deu.get(f"/status/{target}").json()["state"] == "revoked")

    before = _revocation(ccf, targets[0], {i: old[i] for i in (1, 2, 3)}, public)
    assert before["outcome"] == "stored", before
    setup, keys = commission_setup(b"noticenet-local", "revoke", 5, 3)
    refresh = setup.refreshing(public, excluded=[5])
    new, new_public = dkg_ceremony.run_in_process(
        refresh, {i: keys[i] for i in refresh.ids}, os.urandom, old)
    assert new_public.group_public_key == public.group_public_key
    after = _revocation(ccf, targets[1], {i: new[i] for i in (2, 3, 4)}, new_public)
    assert after["outcome"] == "stored", after
    poll("both revocations on DEU", lambda: revoked(targets[0]) and revoked(targets[1]),
         CONVERGE_S)
    retired = {1: new[1], 2: new[2], 5: old[5]}
    with pytest.raises(BadShare) as named:
        _revocation(ccf, targets[2], retired, new_public)
    assert named.value.member == 5
    forced = _revocation(ccf, targets[2], retired, new_public, forced=True)
    assert forced["outcome"] == "refused" and forced["error"] == "BadSignature", forced
    assert deu.get(f"/records/{targets[2]}").status_code == 200 and not revoked(targets[2])
    assert ccf.frontier()["#CCF"] == after["seq"]  # the forged one was not stored


def test_a_new_roster_gates_out_a_removed_member(cluster: Cluster) -> None:
    """Runs last: a governance-signed roster without BRA reaches every node, which then
    drop BRA's connection and refuse it from then on."""
    from noticenet.protocol.ccf.bootstrap import build_roster, threshold_entry
    from noticenet.protocol.devnet import group_spec
    from noticenet.protocol.records.governance import GOVERNANCE_FEED

    devnet = cluster.net.devnet
    cluster.start(*[m for m, n in cluster.nodes.items() if not n.alive()])
    keep = [m for m in devnet.members if m.id != "BRA"]
    roster = build_roster(
        2,
        keep,
        group_spec(devnet.governance),
        group_spec(devnet.block),
        group_spec(devnet.revoke),
        devnet.guard_key,
    )
    entry = threshold_entry(
        GOVERNANCE_FEED,
        (1, devnet.genesis.id),
        int(time.time() * 1000),
        "roster",
        roster,
        devnet.governance.sign,
    )
    response = cluster["FRA"].http.post("/entries", json={"entries": [entry.to_wire().hex()]})
    assert response.status_code == 202, response.text
    others = [m.id for m in keep]
    poll(
        "the new roster everywhere",
        lambda: all(cluster[m].frontier().get(GOVERNANCE_FEED) == 2 for m in others),
        CONVERGE_S,
    )
    poll(
        "BRA disconnected from every remaining member",
        lambda: all("BRA" not in cluster[m].connected() for m in others),
        CONVERGE_S,
    )
    cluster["FRA"].wait_log("event=roster.gate", CONVERGE_S)
    cluster["BRA"].wait_log("event=roster.removed", CONVERGE_S)
    record_id = cluster["FRA"].publish("sltd", sltd("GATE0001"))
    poll(
        "the record on DEU",
        lambda: cluster["DEU"].get(f"/records/{record_id}").status_code == 200,
        CONVERGE_S,
    )

    def behind() -> bool | None:
        try:  # a node's API may be briefly unreachable on a loaded machine: ask again
            return cluster["BRA"].frontier().get("FRA", 0) < cluster["DEU"].frontier()["FRA"]
        except httpx.TransportError:
            return None

    assert poll("BRA's and DEU's frontiers", behind, CONVERGE_S)
    assert cluster["BRA"].alive(), cluster["BRA"].log_text()[-3000:]  # removed, not broken
