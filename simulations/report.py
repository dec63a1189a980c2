"""The Markdown report of a run: headline figures against expectations and published
anchors, the adversaries' traces, and the plots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import RunResult

# Figures quoted in the issue that asked for these simulations (docs/simulation.md).
ANCHOR_GOSSIPSUB_MSGS_PER_DELIVERY = 6.29  # libp2p gossipsub, simulated 1,000-node run
ANCHOR_CHURN = 0.20  # churn of the gossip protocol anchor below
ANCHOR_CHURN_DELIVERY = 0.969
ANCHOR_CHURN_P99_MS = 2500.0


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _ok(good: bool) -> str:
    return "yes" if good else "**no**"


def headline(m: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, value, expectation, met?) rows."""
    lat = m["latency_ms"]
    rows = [
        (
            "delivery to members online at the end",
            f"{_pct(m['delivery']['ratio'])} ({m['delivery']['delivered']} of "
            f"{m['delivery']['expected']}"
            + (
                f"; {m['delivery']['stranded']} more still only at authors offline at the end)"
                if m["delivery"].get("stranded")
                else ")"
            ),
            "100%",
            _ok(m["delivery"]["ratio"] == 1.0),
        ),
        (
            "record latency p50 / p95 / p99 / max",
            f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f} / {lat['max']:.0f} ms",
            "",
            "",
        ),
        (
            "lower bound p50 / p99 (direct one-way)",
            f"{lat['bound_p50']:.0f} / {lat['bound_p99']:.0f} ms",
            "",
            "",
        ),
        (
            "p99 latency / p99 lower bound",
            f"{lat['p99_over_bound_p99']:.2f}",
            "<= 1.5",
            _ok(lat["p99_over_bound_p99"] <= 1.5),
        ),
        (
            "p99 / bound: single records, bulk SLTD imports",
            f"{lat['by_publication']['single']['p99_over_bound_p99']:.2f} "
            f"({lat['by_publication']['single']['n']} deliveries), "
            f"{lat['by_publication']['bulk']['p99_over_bound_p99']:.2f} "
            f"({lat['by_publication']['bulk']['n']})",
            "",
            "",
        ),
        (
            "entry transmissions per delivery",
            f"{m['transmissions']['per_delivery']:.3f}",
            "< 1.5",
            _ok(m["transmissions"]["per_delivery"] < 1.5),
        ),
        (
            "resurrections of deleted data",
            str(m["resurrections"]),
            "0",
            _ok(m["resurrections"] == 0),
        ),
        (
            "re-entries caught (refused or held) / pushed",
            f"{m['reentry']['caught']} / {m['reentry']['entries_pushed']}",
            "all",
            _ok(m["reentry"]["caught"] == m["reentry"]["entries_pushed"]),
        ),
        (
            "state digests equal (online honest nodes)",
            f"{m['state']['digests_equal']} ({m['state']['distinct_digests']} distinct, "
            f"{m['state']['nodes_compared']} nodes)",
            "true",
            _ok(m["state"]["digests_equal"]),
        ),
    ]
    revoke = m["ccf"].get("revoke")
    if revoke:
        e = revoke["enforce_ms"]
        rows.insert(
            5,
            (
                "revocation enforced per node p50 / p99 (ratio to bound)",
                f"{e['p50']:.0f} / {e['p99']:.0f} ms ({revoke['p50_over_bound_p50']:.2f} / "
                f"{revoke['p99_over_bound_p99']:.2f})",
                "",
                "",
            ),
        )
        g = revoke["global_ms"]
        rows.insert(
            6,
            (
                "revocation time to global purge p50 / p99",
                f"{g['p50'] / 1000:.1f} / {g['p99'] / 1000:.1f} s",
                "",
                "",
            ),
        )
    for p in m["partitions"]:
        rows.append(
            (
                f"converged after the {p['duration_h']:g} h partition at {p['start_h']:g} h",
                f"{p['converge_ms'] / 1000:.2f} s ({p['backlog_deliveries']} deliveries due)",
                "",
                "",
            )
        )
    return rows


def anchors(m: dict[str, Any]) -> list[str]:
    churn = m["scenario"]["churn_fraction"]
    return [
        "| anchor | published | this run |",
        "|---|---|---|",
        f"| messages per delivery (libp2p gossipsub, simulated 1,000 nodes) | "
        f"{ANCHOR_GOSSIPSUB_MSGS_PER_DELIVERY} | {m['transmissions']['per_delivery']:.3f} "
        f"entry transmissions per delivery |",
        f"| delivery under churn (gossip protocol, {ANCHOR_CHURN:.0%} churn) | "
        f"{_pct(ANCHOR_CHURN_DELIVERY)} | {_pct(m['delivery']['ratio'])} at {churn:.0%} churn |",
        f"| p99 latency under churn | {ANCHOR_CHURN_P99_MS / 1000:.1f} s | "
        f"{m['latency_ms']['p99'] / 1000:.3f} s (all deliveries incl. faults: "
        f"{m['latency_ms']['all_deliveries']['p99'] / 1000:.1f} s) |",
    ]


def adversary_rows(m: dict[str, Any]) -> list[str]:
    out = ["| member | adversary | did | refused or noticed by honest nodes |", "|---|---|---|---|"]
    for member, a in sorted(m["adversaries"].items()):
        did = ", ".join(f"{k}: {v}" for k, v in a["did"].items()) or "-"
        seen = ", ".join(f"{k}: {v}" for k, v in a["refused_or_noticed"].items()) or "-"
        out.append(f"| {member} | {a['type']} | {did} | {seen} |")
    return out


def processing_rows(m: dict[str, Any]) -> list[str]:
    """The processing-time section (simulations/cpu.py), if the run charged any."""
    p = m.get("processing")
    if p is None:
        return []
    behind = p["design"] == "relay-then-open"
    rows = [
        "## Processing time",
        "",
        f"Design `{p['design']}`: each node has {p['cores']} processors and spends "
        f"{p['relay_us']:g} us an entry to relay (decode, chain, signature, guard tags, "
        f"store) plus {p['frame_us']:g} us a frame (the synced write), and {p['open_us']:g} us "
        "an entry to open (decrypt, parse, tag honesty, index), "
        + (
            "after it has acknowledged and forwarded the frame."
            if behind
            else "before it acknowledges and forwards the frame."
        ),
        "",
        "| publish to (ms) | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("stored", "stored_ms"), ("findable", "findable_ms")):
        s = p[key]
        rows.append(
            f"| {label} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['max']:.0f} |"
        )
    cpu = p["cpu"]
    rows += [
        "",
        f"Stored to findable p50 / p99: {p['open_lag_ms']['p50']:.0f} / "
        f"{p['open_lag_ms']['p99']:.0f} ms. Processor time over the run: "
        f"{cpu['busy_ms']['p50'] / 1000:.1f} s at the median node, "
        f"{cpu['busy_ms']['max'] / 1000:.1f} s at the busiest; an Entries frame waited "
        f"{cpu['frame_wait_ms']['p99']:.1f} ms (p99) for a processor. Compare the "
        "designs with `--grid processing.design=open-then-relay,relay-then-open`.",
        "",
    ]
    return rows


def render(result: RunResult, pictures: dict[str, Path]) -> str:
    m = result.metrics
    s = result.scenario
    sc = m["scenario"]
    lines = [
        f"# Simulation report: {s.name}",
        "",
        f"{sc['nodes']} nodes ({', '.join(f'{v} {k}' for k, v in sc['roles'].items())}), "
        f"{s.duration_h:g} h of virtual time plus {s.settle_min:g} min to settle, seed {s.seed}. "
        f"Topology {sc['topology']} ({sc['links']} links, mean degree {sc['degree']['mean']}); "
        f"latency model `{sc['latency_model']}`; churn {s.churn.fraction:.0%}; "
        f"{m['workload']['records']} records published "
        f"({', '.join(f'{k} {v}' for k, v in m['workload']['by_kind'].items())}); "
        f"{m['workload']['ccf_actions']} CCF actions. Simulated in {result.wall_s:.0f} s of "
        "wall time (not part of the metrics file).",
        "",
        "## Headline",
        "",
        "| metric | this run | expected | met |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in headline(m)],
        "",
        "Latency counts deliveries of workload records whose publisher and receiver were both",
        "up and on the same side of any partition from publication to delivery "
        f"({m['latency_ms']['n']} deliveries; {m['latency_ms']['fault_affected']} others were",
        f"held up by churn or the partition: their p99 is "
        f"{m['latency_ms']['all_deliveries']['p99'] / 1000:.1f} s).",
        "",
        "## Beside published anchors",
        "",
        *anchors(m),
        "",
        "The anchors come from other systems under other workloads; they place this run, they",
        "are not a like-for-like comparison (docs/simulation.md).",
        "",
        *processing_rows(m),
        "## Adversaries",
        "",
        *adversary_rows(m),
        "",
        "## Plots",
        "",
        *[f"![{name}]({path.name})" for name, path in pictures.items()],
        "",
        "Definitions of every figure: docs/simulation.md. All numbers: metrics.json.",
        "",
    ]
    return "\n".join(lines)
