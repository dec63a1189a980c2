"""Sweeps: one scenario run over a grid of settings, in parallel processes.

    grid = {"topology.degree": [3, 6, 9, 12], "churn.fraction": [0.0, 0.2, 0.4]}
    rows = run_sweep(scenario, grid, out_dir, workers=2)

Each point of the grid is an independent run (same seed, so points differ only
by the setting). The table (sweep.csv, sweep.md) has one row per point;
sweep_*.png plot the main metrics against the first setting, one line per
value of the second.
"""

from __future__ import annotations

import csv
import io
import itertools
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .scenario import Scenario, with_overrides

COLUMNS: tuple[tuple[str, str], ...] = (
    ("delivery", "delivery.ratio"),
    ("latency_p50_ms", "latency_ms.p50"),
    ("latency_p99_ms", "latency_ms.p99"),
    ("p99_over_bound", "latency_ms.p99_over_bound_p99"),
    ("tx_per_delivery", "transmissions.per_delivery"),
    ("mb_sent_per_node", "traffic.bytes_sent_per_node.mean"),
    ("purge_p99_ms", "ccf.revoke.enforce_ms.p99"),
    ("converge_ms", "partitions.0.converge_ms"),
    ("resurrections", "resurrections"),
    ("reentry_refused", "reentry.refused"),
    ("reentry_attempts", "reentry.attempts"),
    ("digests_equal", "state.digests_equal"),
    ("findable_p50_ms", "processing.findable_ms.p50"),
    ("findable_p99_ms", "processing.findable_ms.p99"),
    ("findable_max_ms", "processing.findable_ms.max"),
    ("open_lag_p99_ms", "processing.open_lag_ms.p99"),
    ("cpu_ms_max", "processing.cpu.busy_ms.max"),
)
DESIGN = "processing.design"


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`["topology.degree=3,6,9", "churn.fraction=0,0.2"]` -> {key: [values]}."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, _, values = item.partition("=")
        if not key or not values:
            raise ValueError(f"a grid axis is key=v1,v2,...: {item!r}")
        grid[key.strip()] = [parse_value(v) for v in values.split(",")]
    return grid


def parse_value(text: str) -> Any:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text in ("true", "false"):
        return text == "true"
    return text


def points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def pick(metrics: dict[str, Any], path: str) -> Any:
    value: Any = metrics
    for part in path.split("."):
        if isinstance(value, list):
            index = int(part)
            value = value[index] if index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
        if value is None:
            return None
    return value


def _one(job: tuple[Scenario, dict[str, Any], str | None]) -> dict[str, Any]:
    from .runner import run_scenario

    base, point, out = job
    scenario = with_overrides(base, point)
    result = run_scenario(scenario, out_dir=out, plots=False)
    row = dict(point)
    row.update({name: pick(result.metrics, path) for name, path in COLUMNS})
    row["wall_s"] = round(result.wall_s, 1)
    return row


def run_sweep(
    base: Scenario,
    grid: dict[str, list[Any]],
    out_dir: Path,
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    keep_runs: bool = False,
) -> list[dict[str, Any]]:
    """Run every point of `grid` and write sweep.csv, sweep.md and plots into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = points(grid)
    for point in todo:
        with_overrides(base, point)  # fail before starting anything
    jobs = [
        (base, p, str(out_dir / f"run-{i:03d}") if keep_runs else None) for i, p in enumerate(todo)
    ]
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(max(1, workers)) as pool:
        for row in pool.imap(_one, jobs):
            rows.append(row)
            if on_done is not None:
                on_done(row)
    write_table(rows, list(grid), out_dir)
    plot_sweep(rows, list(grid), out_dir)
    return rows


def write_table(rows: list[dict[str, Any]], keys: list[str], out_dir: Path) -> None:
    header = keys + [name for name, _ in COLUMNS] + ["wall_s"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h) for h in header])
    (out_dir / "sweep.csv").write_text(text.getvalue())
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(h)) for h in header) + " |")
    lines += design_comparison(rows, keys)
    (out_dir / "sweep.md").write_text("\n".join(lines) + "\n")


def design_comparison(rows: list[dict[str, Any]], keys: list[str]) -> list[str]:
    """With `processing.design` on the grid: relay-then-open beside open-then-relay, per point."""
    if DESIGN not in keys:
        return []
    others = [k for k in keys if k != DESIGN]
    pairs: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for row in rows:
        pairs.setdefault(tuple(row.get(k) for k in others), {})[row[DESIGN]] = row
    out = ["", "## Relay before opening, beside open then relay", ""]
    out += [
        "| "
        + " | ".join(
            others + ["figure (ms)", "open-then-relay", "relay-then-open", "second / first"]
        )
        + " |",
        "|" + "---|" * (len(others) + 4),
    ]
    figures = (
        ("stored p50", "latency_p50_ms"),
        ("stored p99", "latency_p99_ms"),
        ("findable p50", "findable_p50_ms"),
        ("findable p99", "findable_p99_ms"),
        ("findable max", "findable_max_ms"),
    )
    for point, by_design in pairs.items():
        before, after = by_design.get("open-then-relay"), by_design.get("relay-then-open")
        if before is None or after is None:
            continue
        for label, column in figures:
            a, b = before.get(column), after.get(column)
            share = f"{b / a:.3f}" if a and b is not None else ""
            cells = [*map(_cell, point), label, _cell(a), _cell(b), share]
            out.append("| " + " | ".join(cells) + " |")
    return out


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def plot_sweep(rows: list[dict[str, Any]], keys: list[str], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not keys:
        return []
    x, lines = keys[0], keys[1] if len(keys) > 1 else None
    made = []
    for name in ("delivery", "latency_p99_ms", "p99_over_bound", "tx_per_delivery"):
        fig, ax = plt.subplots(figsize=(6, 3.8))
        groups = sorted({row.get(lines) for row in rows}, key=str) if lines else [None]
        for g in groups:
            sel = [r for r in rows if lines is None or r.get(lines) == g]
            sel = [r for r in sel if r.get(name) is not None]
            sel.sort(key=lambda r: r[x])
            label = f"{lines}={g}" if lines else name
            ax.plot([r[x] for r in sel], [float(r[name]) for r in sel], marker="o", label=label)
        ax.set_xlabel(x)
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"sweep_{name}.png"
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        made.append(path)
    return made
