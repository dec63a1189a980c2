"""Order statistics that give the same numbers on every machine (nearest rank, rounded)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank `p`th percentile of an already sorted sequence (0 if empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int]:
    """n, p50, p95, p99, max and mean of `values`, rounded."""
    ordered = sorted(values)
    out: dict[str, float | int] = {"n": len(ordered)}
    for p in (50, 95, 99):
        out[f"p{p}"] = round(percentile(ordered, p), digits)
    out["max"] = round(float(ordered[-1]), digits) if ordered else 0.0
    out["mean"] = round(sum(ordered) / len(ordered), digits) if ordered else 0.0
    return out


def ratio(a: float, b: float, digits: int = 4) -> float:
    return round(a / b, digits) if b else 0.0
