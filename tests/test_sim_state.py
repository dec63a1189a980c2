"""Nodes end with equal state digests whatever order a revocation and a re-entry reach them.

The interpol-195 run ended with MDG and SYC in a second digest group: cut off
by the partition while the CCF revoked a notice and VEN re-entered its
subject, they got VEN's re-entries (bare headers: every node that had the
guard refused the bodies) before the revocation. A bare header with no guard
yet was stored with neither body nor tombstone, and the guard arriving
afterwards left it so, while every other node held a `reentry-blocked`
tombstone. This scenario forces that order at ITA: it is down while the
revocation and the re-entry happen; on return its fast neighbour CHE (which
withholds CCF entries until 0.9 h) serves VEN's feed at once, and the
revocation comes only after ITA gives up on CHE for the CCF feed and asks JPN.
ESP, whose only neighbours are CHE and VEN, gets no revocation before 0.9 h
and so takes VEN's re-entries with their bodies: the revocation must delete
them when it comes.
"""

from __future__ import annotations

import pytest

from noticenet.protocol.store.keyspace import key
from noticenet.simulations.runner import build, play
from noticenet.simulations.scenario import load_scenario
from noticenet.simulations.statediff import explain
from noticenet.simulations.world import World

SCENARIO = """
name = "reentry-before-revocation"
seed = 3
duration_h = 1.5
settle_min = 5.0
[members]
countries = ["CHE", "DEU", "ESP", "FRA", "ITA", "JPN", "VEN"]
partners = []
[topology]
links = [["CCF", "FRA"], ["FRA", "DEU"], ["DEU", "JPN"], ["JPN", "ITA"], ["ITA", "CHE"],
         ["CHE", "FRA"], ["CHE", "VEN"], ["CHE", "ESP"], ["ESP", "VEN"]]
[network]
lag_ms = 1000
loss = 0.0
[workload]
rates_per_day = { "notice.red" = 400.0 }
sltd_imports_per_day = 0.0
[churn]
fraction = 0.0
[[events]]
type = "crash"
members = ["ITA"]
at_h = 0.3
duration_h = 0.55
[[events]]
type = "revoke"  # the second gets through CHE and, by the gap it leaves, the first
at_h = 0.5
count = 2
every_h = 0.5
[[adversaries]]
type = "reentry"
member = "VEN"
at_h = 0.0
every_h = 0.25
count = 3
[[adversaries]]
type = "withhold-ccf"
member = "CHE"
duration_h = 0.9
"""


@pytest.fixture(scope="module")
def world() -> World:
    w = build(load_scenario(SCENARIO))
    play(w)
    return w


def test_the_orders_happened(world: World) -> None:
    """ITA got the re-entries after it came back; ESP held their bodies for a while."""
    (down,) = world.outages["ITA"]
    assert world.reentries, "VEN re-entered nothing"
    ita = world.net.nodes["ITA"].ledger
    for eid, _ in world.reentries:
        where = ita.locate(eid)
        assert where is not None
        arrived = next(t for t, a, s in world.net.nodes["ITA"].arrivals if (a, s) == where)
        assert down[1] is not None and arrived >= down[1]
    assert world.adversary_stats["CHE"]["governance entries withheld"] > 0
    revocation = world.ccf[0]
    esp = world.net.nodes["ESP"]
    enforced = next(t for t, a, s in esp.arrivals if (a, s) == (revocation.feed, revocation.seq))
    first_reentry = min(t for t, a, _ in esp.arrivals if a == "VEN" and t > revocation.t)
    assert first_reentry < enforced


def test_no_resurrection(world: World) -> None:
    assert world.resurrections == []


def test_reentries_are_tombstoned_in_either_order(world: World) -> None:
    for name in ("DEU", "ESP", "FRA", "ITA", "JPN"):
        ledger = world.net.nodes[name].ledger
        for eid, _ in world.reentries:
            assert ledger.store.get(key(b"b", eid)) is None
            assert (ledger.tombstone(eid) or {}).get("reason") == "reentry-blocked", name


def test_state_digests_are_equal(world: World) -> None:
    assert explain(world) == ["state digests equal"]
