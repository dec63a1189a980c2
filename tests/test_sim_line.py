"""Hand-computed expectations on a line of three nodes with known latencies."""

from __future__ import annotations

import pytest

from noticenet.simulations.runner import run_scenario
from noticenet.simulations.scenario import load_scenario

LINE = """
name = "line"
seed = 5
duration_h = 2.0
settle_min = 1.0
[members]
countries = ["FRA", "DEU", "ESP"]
partners = []
ccf = false
[topology]
links = [["FRA", "DEU"], ["DEU", "ESP"]]
[latency]
model = "matrix"
[latency.matrix.FRA]
DEU = 10.0
ESP = 35.0
[latency.matrix.DEU]
ESP = 30.0
[network]
bandwidth_mbps = 0.0
loss = 0.0
maintenance_s = 0.0
[workload]
activity = "uniform"
rates_per_day = { "notice.red" = 120.0, vehicle = 120.0 }
"""

# the links alone: nodes take no processing time (tests/test_sim_cpu.py adds it)
NO_PROCESSING = "[processing]\nrelay_us = 0.0\nopen_us = 0.0\nframe_us = 0.0\n"

# one-way path latency along the line FRA -10- DEU -30- ESP
PATH = {
    ("FRA", "DEU"): 10,
    ("DEU", "FRA"): 10,
    ("DEU", "ESP"): 30,
    ("ESP", "DEU"): 30,
    ("FRA", "ESP"): 40,
    ("ESP", "FRA"): 40,
}


@pytest.fixture(scope="module")
def line():  # type: ignore[no-untyped-def]
    return run_scenario(load_scenario(LINE + NO_PROCESSING), plots=False)


def test_every_record_arrives_after_exactly_its_path_latency(line) -> None:  # type: ignore[no-untyped-def]
    world = line.world
    assert len(world.publications) > 5
    for pub in world.publications:
        for node in ("FRA", "DEU", "ESP"):
            if node == pub.author:
                continue
            arrivals = [
                t for t, a, s in world.net.nodes[node].arrivals if (a, s) == (pub.author, pub.seq)
            ]
            assert arrivals == [pub.t + PATH[(pub.author, node)]], (pub.author, node)


def test_metrics_match_the_hand_computed_latencies(line) -> None:  # type: ignore[no-untyped-def]
    m = line.metrics
    assert m["delivery"]["ratio"] == 1.0
    lat = m["latency_ms"]
    assert lat["max"] == 40.0 and lat["fault_affected"] == 0
    assert lat["n"] == 2 * len(line.world.publications)
    # FRA-ESP goes through DEU: 40 ms against a direct 35 ms
    assert lat["stretch_p99"] == round(40 / 35, 4)
    assert m["transmissions"]["per_delivery"] == 1.0
    assert m["state"]["digests_equal"]


def test_entries_stranded_at_an_author_offline_at_the_end_are_counted_apart() -> None:
    """ESP crashes for good at 1 h and its bureau goes on publishing: no one can get those."""
    crashed = LINE + '[[events]]\ntype = "crash"\nmembers = ["ESP"]\nat_h = 1.0\nduration_h = 0.0\n'
    result = run_scenario(load_scenario(crashed), plots=False)
    world, delivery = result.world, result.metrics["delivery"]
    cut = world.at_h(1.0)
    late = [p for p in world.publications if p.author == "ESP" and p.t >= cut]
    assert late and delivery["stranded"] == len(late)
    assert delivery["ratio"] == 1.0 and delivery["nodes_offline_at_end"] == 1
    esp = world.net.nodes["ESP"].replicator.heads()["ESP"]
    assert world.net.nodes["FRA"].replicator.heads()["ESP"] == esp - len(late)
