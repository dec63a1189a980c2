"""Scenario files, members, the latency formula and neighbour choice."""

from __future__ import annotations

import random

import numpy as np
import pycountry
import pytest

from noticenet.protocol.identifiers.normalise import name_key
from noticenet.simulations.geo import great_circle_km, place
from noticenet.simulations.latency import FIBRE_KM_PER_MS, LatencyModel, lookup, one_way_table
from noticenet.simulations.members import INTERPOL_MEMBERS, roster
from noticenet.simulations.recordgen import FORENAMES, SURNAMES
from noticenet.simulations.scenario import (
    ScenarioError,
    TopologySpec,
    load_scenario,
    with_overrides,
)
from noticenet.simulations.topology import build_links, components, path_latencies


def test_interpol_has_195_members_with_capitals() -> None:
    assert len(INTERPOL_MEMBERS) == len(set(INTERPOL_MEMBERS)) == 195
    assert all(pycountry.countries.get(alpha_3=c) for c in INTERPOL_MEMBERS)
    assert {"VAT", "PSE", "ABW", "CUW", "SXM"} <= set(INTERPOL_MEMBERS)
    assert not {"PRK", "PLW", "TUV"} & set(INTERPOL_MEMBERS)
    assert all(place(c).city for c in INTERPOL_MEMBERS)
    members = roster(INTERPOL_MEMBERS, ["EUROPOL", "FRONTEX"])
    assert [m.role for m in members].count("member") == 195 and members[-1].id == "CCF"


def test_latency_formula() -> None:
    paris, new_york = place("FRA"), place("USA", "New York City")
    km = great_circle_km(paris, new_york)
    assert 5800 < km < 5880
    model = LatencyModel(inflation=1.5, overhead_ms=2.0)
    assert model.rtt_ms(km) == pytest.approx(2 * km * 1.5 / FIBRE_KM_PER_MS + 2.0)
    table = one_way_table(model, {"FRA": paris, "USA": new_york})
    assert table[("FRA", "USA")] == table[("USA", "FRA")] == pytest.approx(model.rtt_ms(km) / 2)
    assert 40 < table[("FRA", "USA")] < 50  # measured Paris-New York RTTs are about 75-90 ms


def test_scenario_is_strict_and_overridable() -> None:
    with pytest.raises(ScenarioError, match="unknown keys"):
        load_scenario("name = 'x'\n[topology]\ndegre = 3\n")
    with pytest.raises(ScenarioError, match="expected int"):
        load_scenario("[topology]\ndegree = 'three'\n")
    s = load_scenario("[churn]\nfraction = 0.1\n")
    t = with_overrides(s, {"topology.degree": 5, "churn.fraction": 0.3})
    assert (t.topology.degree, t.churn.fraction, s.churn.fraction) == (5, 0.3, 0.1)
    with pytest.raises(ScenarioError, match="no such setting"):
        with_overrides(s, {"topology.nope": 1})
    assert with_overrides(s, {"network.loss_model": "tcp"}).network.loss_model == "tcp"
    with pytest.raises(ScenarioError, match="loss_model is one of"):
        load_scenario("[network]\nloss_model = 'udp'\n")


def test_shipped_scenario_loads() -> None:
    s = load_scenario("simulations/scenarios/interpol-195.toml")
    assert s.duration_h == 24 and s.churn.fraction == 0.1 and len(s.adversaries) == 2
    assert sum(e.count for e in s.events if e.type == "revoke") == 5


@pytest.mark.parametrize("mode", ["random", "nearest", "mix", "spanner"])
def test_topologies_are_connected_with_about_k_neighbours(mode: str) -> None:
    names = sorted(INTERPOL_MEMBERS[:60])
    places = {n: place(n) for n in names}
    latency = lookup(one_way_table(LatencyModel(), places))
    links = build_links(names, TopologySpec(mode, 6, 3), latency, random.Random(1))
    assert len(components(names, links)) == 1
    degree = {n: sum(n in p for p in links) for n in names}
    assert min(degree.values()) >= 6 - 1 and sum(degree.values()) / len(names) < 8


def test_spanner_keeps_paths_close_to_the_direct_latencies() -> None:
    """Same members, degree and nearest links: the spanner's worst detours are far shorter
    than with random long links."""
    names = sorted(INTERPOL_MEMBERS[:60])
    places = {n: place(n) for n in names}
    latency = lookup(one_way_table(LatencyModel(), places))

    def worst_detours(mode: str, seed: int) -> float:
        links = build_links(names, TopologySpec(mode, 6, 2), latency, random.Random(seed))
        direct, best = path_latencies(names, links, latency)
        return float(np.percentile(best - direct, 99))

    for seed in (1, 2, 3):
        assert worst_detours("spanner", seed) < 0.6 * worst_detours("mix", seed)


def test_name_variants_share_a_key() -> None:
    for canonical, variants in FORENAMES + SURNAMES:
        assert {name_key(v) for v in variants} == {name_key(canonical)}
