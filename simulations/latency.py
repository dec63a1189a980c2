"""Latency between members: from distance between capitals, a given matrix, or a constant.

The distance model (docs/simulation.md gives the sources)::

    rtt_ms = 2 * great_circle_km * inflation / fibre_km_per_ms + overhead_ms
    one_way_ms = rtt_ms / 2

Light in silica fibre travels at about 2/3 c (refractive index ~1.47), about
200 km per millisecond; real routes are longer than the great circle
(`inflation`, 1.5 by default); `overhead_ms` covers switching, serialisation
and access links. A link's latency in the simulator is its one-way time,
and the physical lower bound of a delivery is the one-way time of the direct
path from publisher to receiver under the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .geo import Place, great_circle_km

LIGHT_KM_PER_MS = 299.792458
FIBRE_KM_PER_MS = LIGHT_KM_PER_MS * 2 / 3  # ~199.86 km/ms


@dataclass(frozen=True)
class LatencyModel:
    """How one-way latencies are made; `model` is "geo", "matrix" or "constant"."""

    model: str = "geo"
    inflation: float = 1.5
    overhead_ms: float = 2.0  # added to the round trip
    fibre_km_per_ms: float = FIBRE_KM_PER_MS
    constant_ms: float = 20.0  # one way, for model = "constant"
    matrix: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # one way, ms

    def rtt_ms(self, km: float) -> float:
        return 2 * km * self.inflation / self.fibre_km_per_ms + self.overhead_ms


def one_way_table(model: LatencyModel, places: Mapping[str, Place]) -> dict[tuple[str, str], float]:
    """One-way latency in ms for every ordered pair of members (symmetric)."""
    names = sorted(places)
    table: dict[tuple[str, str], float] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ms = _one_way(model, places, a, b)
            table[(a, b)] = table[(b, a)] = ms
    return table


def _one_way(model: LatencyModel, places: Mapping[str, Place], a: str, b: str) -> float:
    if model.model == "constant":
        return model.constant_ms
    if model.model == "matrix":
        row = model.matrix.get(a, {})
        if b in row:
            return float(row[b])
        back = model.matrix.get(b, {})
        if a in back:
            return float(back[a])
        raise ValueError(f"latency matrix has no entry for {a}-{b}")
    if model.model == "geo":
        return model.rtt_ms(great_circle_km(places[a], places[b])) / 2
    raise ValueError(f"unknown latency model {model.model!r}")


def lookup(table: dict[tuple[str, str], float]) -> Callable[[str, str], float]:
    """A latency function over a table, for SimNetwork."""

    def latency(a: str, b: str) -> float:
        return table[(a, b)]

    return latency
