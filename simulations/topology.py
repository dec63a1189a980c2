"""Choosing neighbours: random, nearest by latency, a mix, or a spanner; one connected graph.

Each node gets about `degree` neighbours: first up to `nearest` of the
closest nodes that still have room, then (random, mix) random nodes that
still have room, or (spanner) the pairs whose best path over the links so
far is the longest detour past their direct latency. Links are symmetric.
If the result falls apart into components (nearest-only graphs split along
oceans), the closest pair between components is linked until one component
remains.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from .scenario import TopologySpec

Pair = tuple[str, str]


def build_links(
    names: list[str], spec: TopologySpec, latency: Callable[[str, str], float], rng: random.Random
) -> list[Pair]:
    """The sorted list of neighbour pairs (a < b) for `names`."""
    if spec.links:
        pairs = {(min(a, b), max(a, b)) for a, b in spec.links}
        unknown = sorted({m for p in pairs for m in p} - set(names))
        if unknown:
            raise ValueError(f"topology.links name non-members {unknown}")
        return sorted(pairs)
    nearest = {"random": 0, "nearest": spec.degree, "mix": spec.nearest, "spanner": spec.nearest}[
        spec.mode
    ]
    degree = min(spec.degree, len(names) - 1)
    links: set[Pair] = set()
    count = dict.fromkeys(names, 0)

    def add(a: str, b: str) -> None:
        _add(links, count, a, b)

    def linked(a: str, b: str) -> bool:
        return (min(a, b), max(a, b)) in links

    order = sorted(names)
    rng.shuffle(order)
    for a in order:
        by_distance = sorted((b for b in names if b != a), key=lambda b: (latency(a, b), b))
        made = 0
        for room_needed in (True, False):
            for b in by_distance:
                if made >= min(nearest, degree) or count[a] >= degree:
                    break
                if not linked(a, b) and (count[b] < degree or not room_needed):
                    add(a, b)
                    made += 1
    if spec.mode == "spanner":
        _shorten_detours(names, links, count, degree, latency)
    for a in order:
        while count[a] < degree:
            free = [b for b in sorted(names) if b != a and not linked(a, b)]
            roomy = [b for b in free if count[b] < degree]
            if not free:
                break
            add(a, rng.choice(roomy or free))
    _connect(names, links, latency)
    return sorted(links)


def _add(links: set[Pair], count: dict[str, int], a: str, b: str) -> None:
    """Link a and b (stored as the sorted pair) and count the link at both ends."""
    links.add((min(a, b), max(a, b)))
    count[a] += 1
    count[b] += 1


def _shorten_detours(
    names: list[str],
    links: set[Pair],
    count: dict[str, int],
    degree: int,
    latency: Callable[[str, str], float],
) -> None:
    """Link the pair with the longest detour (best path minus direct), again and again.

    A greedy spanner with a degree cap: while two nodes have room, the pair
    whose best path over the links so far exceeds its direct latency the most
    gets a link, and the paths are updated. The overlay's paths then stay
    close to the direct latencies, so trees built on it do too. Ties go to
    the first pair in name order.
    """
    index = {m: i for i, m in enumerate(names)}
    direct, best = path_latencies(names, links, latency)
    linked = np.zeros(best.shape, dtype=bool)
    for a, b in links:
        linked[index[a], index[b]] = linked[index[b], index[a]] = True
    room = np.array([count[m] < degree for m in names])
    while room.sum() >= 2:
        open_pairs = room[:, None] & room[None, :] & ~linked
        np.fill_diagonal(open_pairs, False)
        if not open_pairs.any():
            return
        i, j = divmod(int(np.argmax(np.where(open_pairs, best - direct, -1.0))), len(names))
        _add(links, count, names[i], names[j])
        linked[i, j] = linked[j, i] = True
        room[i], room[j] = count[names[i]] < degree, count[names[j]] < degree
        _relax(best, direct, i, j)


def path_latencies(
    names: list[str], links: set[Pair] | list[Pair], latency: Callable[[str, str], float]
) -> tuple[np.ndarray, np.ndarray]:
    """(direct, best): direct latencies and best path latencies over `links`, in `names` order.

    Unreachable pairs are infinite. Built by adding the links one at a time,
    each a vectorised update of every pair's best path.
    """
    index = {m: i for i, m in enumerate(names)}
    direct = np.array([[0.0 if a == b else latency(a, b) for b in names] for a in names])
    best = np.full(direct.shape, np.inf)
    np.fill_diagonal(best, 0.0)
    for a, b in links:
        _relax(best, direct, index[a], index[b])
    return direct, best


def _relax(best: np.ndarray, direct: np.ndarray, i: int, j: int) -> None:
    """A new link i-j: every path may now go through it, either way."""
    np.minimum(best, best[:, i, None] + direct[i, j] + best[None, j, :], out=best)
    np.minimum(best, best[:, j, None] + direct[j, i] + best[None, i, :], out=best)


def _connect(names: list[str], links: set[Pair], latency: Callable[[str, str], float]) -> None:
    """Join components through their closest pair until the graph is connected."""
    while True:
        parts = components(names, links)
        if len(parts) == 1:
            return
        first, rest = parts[0], [m for p in parts[1:] for m in p]
        a, b = min(((x, y) for x in first for y in rest), key=lambda p: (latency(*p), p))
        links.add((min(a, b), max(a, b)))


def components(names: list[str], links: set[Pair] | list[Pair]) -> list[list[str]]:
    """Connected components, each sorted, in order of their smallest member."""
    adjacent: dict[str, list[str]] = {n: [] for n in names}
    for a, b in links:
        adjacent[a].append(b)
        adjacent[b].append(a)
    seen: set[str] = set()
    parts = []
    for start in sorted(names):
        if start in seen:
            continue
        stack, part = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            part.append(node)
            for nxt in adjacent[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        parts.append(sorted(part))
    return parts
