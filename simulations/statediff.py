"""Why two nodes' state digests differ: the keys of the digested tables that differ.

`Ledger.state_digest` hashes the tables h/ b/ t/ s/ g/ a/ q/ (tombstone values
left out). When a run ends with more than one digest group, `explain(world)`
compares each minority node with a node of the largest group, table by table,
and says which keys only one side holds or hold different values, with the
feed position and kind of the entry a key is about where that is known. It
is a debugging aid: `python -m noticenet.simulations.statediff SCENARIO.toml
[--set key=value ...]` runs a scenario and prints the explanation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from noticenet.protocol.ledger.ledger import Ledger

from .world import World

ID_TABLES = (b"b/", b"t/", b"s/", b"a/")  # keyed by an entry id


@dataclass(frozen=True)
class KeyDiff:
    """One digested key that differs between node `a` and node `b`."""

    table: str
    key: bytes
    in_a: bytes | None
    in_b: bytes | None
    about: str  # "author#seq kind" of the entry the key is about, if known


def digested(ledger: Ledger) -> dict[bytes, bytes]:
    """The digested tables of `ledger` as one dict (tombstone values blanked, as hashed)."""
    return dict(ledger.digested())


def describe(ledgers: tuple[Ledger, ...], k: bytes) -> str:
    """The entry a key is about, from whichever ledger knows it."""
    if k[:2] not in ID_TABLES:
        return ""
    eid = k[2:]
    for ledger in ledgers:
        entry = ledger.entry(eid, with_body=False)
        if entry is not None:
            h = entry.header
            return f"{h.author}#{h.seq} {h.kind} issued {h.issued_at} expires {h.expires_at}"
    return "unknown entry"


def diff(a: Ledger, b: Ledger) -> list[KeyDiff]:
    """Every digested key whose presence or value differs between `a` and `b`."""
    da, db = digested(a), digested(b)
    out = []
    for k in sorted(set(da) | set(db)):
        va, vb = da.get(k), db.get(k)
        if va != vb:
            out.append(KeyDiff(k[:1].decode(), k, va, vb, describe((a, b), k)))
    return out


def _show_key(k: bytes) -> str:
    if k.startswith(b"h/") or k.startswith(b"q/"):
        author, _, rest = k[2:].partition(b"\x00")
        return f"{k[:2].decode()}{author.decode()}#{int.from_bytes(rest[:8], 'big')}"
    return f"{k[:2].decode()}{k[2:].hex()[:16]}"


def _tombstone(ledger: Ledger, k: bytes) -> dict[str, Any] | None:
    return ledger.tombstone(k[2:]) if k.startswith((b"b/", b"t/")) else None


def explain(world: World) -> list[str]:
    """Lines describing how each minority-digest node differs from the majority."""
    nodes = world.net.nodes
    groups: dict[bytes, list[str]] = {}
    for name in sorted(nodes):
        if world.honest(name) and nodes[name].online:
            groups.setdefault(nodes[name].ledger.state_digest(), []).append(name)
    ranked = sorted(groups.values(), key=lambda g: (-len(g), g))
    if len(ranked) <= 1:
        return ["state digests equal"]
    ref = ranked[0][0]
    lines = [f"reference node {ref} (group of {len(ranked[0])})"]
    for group in ranked[1:]:
        for name in group:
            lines.append(f"{name}: differs from {ref}")
            a, b = nodes[name].ledger, nodes[ref].ledger
            for d in diff(a, b):
                lines.append(
                    f"  {_show_key(d.key)} {d.about}: {name}="
                    f"{'-' if d.in_a is None else len(d.in_a)} {ref}="
                    f"{'-' if d.in_b is None else len(d.in_b)}"
                    f" tomb {name}={_tombstone(a, d.key)} {ref}={_tombstone(b, d.key)}"
                )
    return lines


def main(argv: list[str]) -> None:
    """Run a scenario (path, then key=value overrides) and print `explain`."""
    from .runner import build, play
    from .scenario import load_scenario, with_overrides
    from .sweep import parse_value

    scenario = load_scenario(argv[0])
    overrides = {}
    for item in argv[1:]:
        k, _, v = item.partition("=")
        overrides[k] = parse_value(v)
    world = build(with_overrides(scenario, overrides))
    play(world)
    for line in explain(world):
        print(line)
    for name in sorted(world.outages):
        print(f"outages of {name}: {world.outages[name]}")
    for w in world.partitions:
        print(f"partition {w.start}..{w.end}: {sorted(w.side)}")


if __name__ == "__main__":
    main(sys.argv[1:])
