"""Replication between real node processes under load and faults (issue 22).

Two members of a local network, FRA and DEU, each a `noticenet node run`
process with its LevelDB store, joined by libp2p on 127.0.0.1. Every wait
polls HTTP under a deadline (see test_network.poll); nothing sleeps.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from noticenet.node.config import load_config
from noticenet.node.demo.localnet import create_localnet

from .test_network import CONVERGE_S, STOP_S, Cluster, poll, sltd

FRA, DEU = "FRA", "DEU"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Cluster]:
    net = create_localnet(tmp_path / "net", topology={FRA: [DEU], DEU: [FRA]})
    cluster = Cluster(net)
    try:
        cluster.start(FRA, DEU)
        yield cluster
    finally:
        cluster.stop()


def converge(cluster: Cluster) -> dict[str, int]:
    return poll("FRA and DEU to converge", lambda: cluster.converged([FRA, DEU]), CONVERGE_S)


def import_rows(cluster: Cluster, member: str, prefix: str, count: int) -> None:
    rows = [sltd(f"{prefix}{i:07d}") for i in range(count)]
    response = cluster[member].http.post("/import/sltd", json={"rows": rows}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json()["counts"] == {"published": count}
    assert response.json()["replicated"]  # a neighbour held every row before the answer


def test_a_bulk_import_keeps_replicating(pair: Cluster) -> None:
    """2,000 rows published back to back: the sender's queue to DEU fills, sending pauses
    instead of ending the session, and DEU gets every entry (it froze at ~1,300 before)."""
    import_rows(pair, FRA, "S", 2_000)
    frontier = converge(pair)
    assert frontier[FRA] >= 2_000
    for member in (FRA, DEU):
        health = pair[member].health()
        assert health is not None
        assert health["connected"] == [DEU if member == FRA else FRA]
        assert health["sessions"]["closed"].get("fault", 0) == 0
        assert "peer.overflow" not in pair[member].log_text()
    found = pair[DEU].get("/check/document", country="FRA", number="S0001999")
    assert found.status_code == 200 and found.json()["hit"], found.text


def test_a_node_restored_from_an_older_copy_does_not_fork_its_feed(pair: Cluster) -> None:
    """FRA's store goes back to a copy taken 20 entries ago. It learns from DEU that its
    feed reached further, fetches it back, and only then publishes, at the next seq."""
    fra = pair[FRA]
    import_rows(pair, FRA, "A", 10)
    converge(pair)
    data_dir = load_config(fra.config).data_dir
    stop(pair, FRA)
    backup = data_dir.parent / "backup"
    shutil.copytree(data_dir, backup)
    pair.start(FRA)
    import_rows(pair, FRA, "B", 20)
    before = converge(pair)[FRA]
    stop(pair, FRA)
    shutil.rmtree(data_dir)
    shutil.copytree(backup, data_dir)
    pair.start(FRA)  # ready (own feed) only once it holds what DEU holds of it
    assert fra.frontier()[FRA] == before
    health = fra.health()
    assert health is not None and health["own_feed"]["restored"]
    assert "store.behind_peers" in fra.log_text()
    import_rows(pair, FRA, "C", 1)
    after = converge(pair)
    assert after[FRA] == before + 1
    for member in (FRA, DEU):
        metrics = pair[member].get("/metrics").text
        assert "noticenet_equivocations 0" in metrics


def test_a_wiped_node_fetches_its_feed_back_before_publishing(pair: Cluster) -> None:
    """FRA's store is lost: `noticenet repair` makes an empty one (node run never does),
    and FRA takes its feed back from DEU before it publishes at the next seq."""
    fra = pair[FRA]
    import_rows(pair, FRA, "W", 30)
    before = converge(pair)[FRA]
    stop(pair, FRA)
    data_dir = load_config(fra.config).data_dir
    shutil.rmtree(data_dir / "ledger")
    refused = run_cli("node", "run", "-c", str(fra.config))
    assert refused.returncode != 0 and "repair" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run_cli("repair", "-c", str(fra.config)).returncode == 0
    pair.start(FRA)
    assert fra.frontier()[FRA] == before
    import_rows(pair, FRA, "X", 1)
    assert converge(pair)[FRA] in (before + 1, before + 2)  # a fresh key epoch, perhaps
    for member in (FRA, DEU):
        assert "noticenet_equivocations 0" in pair[member].get("/metrics").text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from noticenet.node.cli.main import main; main()", *args]
    env = {**os.environ, "NOTICENET_PASSPHRASE": ""}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_an_import_says_when_no_neighbour_holds_it_yet(pair: Cluster) -> None:
    """With DEU down, FRA's import is stored and answered at once, saying it is held on
    FRA only (so an importer can tell it apart from one a restore or lost disk cannot
    take back)."""
    import_rows(pair, FRA, "R", 3)
    stop(pair, DEU)
    poll("FRA without a session", lambda: not pair[FRA].connected(), CONVERGE_S)
    rows = [sltd(f"U{i:07d}") for i in range(3)]
    response = pair[FRA].http.post("/import/sltd", json={"rows": rows}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["replicated"] is False
    assert response.json()["counts"] == {"published": 3}


def test_a_node_alone_does_not_publish_until_told_to(tmp_path: Path) -> None:
    """With no peer up, publishing answers 503 with the reason; `alone` lifts it."""
    net = create_localnet(tmp_path / "net", topology={FRA: [DEU], DEU: [FRA]})
    cluster = Cluster(net)
    fra = cluster[FRA]
    try:
        fra.start()
        poll("FRA's API", fra.health, 90)
        response = fra.http.post("/records/sltd", json={"record": sltd("L0000001")})
        assert response.status_code == 503, response.text
        assert "hear our feed's head" in response.json()["detail"]
        health = fra.health()
        assert health is not None and not health["own_feed"]["ready"]
        stop(cluster, FRA)
        with fra.config.open("a") as config:
            config.write("alone = true\n")
        fra.start()
        poll("FRA's API", fra.health, 90)
        response = fra.http.post("/records/sltd", json={"record": sltd("L0000001")})
        assert response.status_code == 201, response.text
    finally:
        cluster.stop()


def stop(cluster: Cluster, member: str) -> None:
    node = cluster[member]
    node.signal(signal.SIGTERM)
    assert node.wait(STOP_S) == 0
