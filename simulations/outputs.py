"""Writing a run's results: metrics.json and .csv, nodes.csv, plots and report.md.

metrics.json, metrics.csv and nodes.csv depend only on the scenario and its
seed. run.json holds what does not (wall time, versions), so the metrics
files of two runs can be compared byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import RunResult


def metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted key paths to scalar values (lists of scalars joined with spaces)."""
    if isinstance(value, dict):
        rows = []
        for k in sorted(value):
            rows += flatten(value[k], f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return [(prefix, " ".join(str(v) for v in value))]
        rows = []
        for i, v in enumerate(value):
            rows += flatten(v, f"{prefix}[{i}]")
        return rows
    return [(prefix, value)]


def metrics_csv(metrics: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    writer.writerows(flatten(metrics))
    return out.getvalue()


def nodes_csv(result: RunResult) -> str:
    world = result.world
    degree: dict[str, int] = {}
    for a, b in world.links:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "node",
            "role",
            "degree",
            "online_at_end",
            "bytes_sent",
            "bytes_received",
            "frames_sent",
            "entries_sent",
            "entries_received",
            "duplicates",
        ]
    )
    for name, node in sorted(world.net.nodes.items()):
        c = node.replicator.counters
        writer.writerow(
            [
                name,
                world.members[name].role,
                degree.get(name, 0),
                int(node.online),
                node.bytes_out,
                node.bytes_in,
                node.frames_out,
                c.entries_sent,
                c.entries_received,
                c.duplicates,
            ]
        )
    return out.getvalue()


def write_all(result: RunResult, out_dir: Path, plots: bool = True) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "metrics.json": metrics_json(result.metrics),
        "metrics.csv": metrics_csv(result.metrics),
        "nodes.csv": nodes_csv(result),
        "run.json": json.dumps(
            {"wall_s": round(result.wall_s, 2), "python": platform.python_version()}, indent=1
        )
        + "\n",
    }
    written = []
    for name, text in files.items():
        (out_dir / name).write_text(text)
        written.append(out_dir / name)
    pictures: dict[str, Path] = {}
    if plots:
        from .plots import plot_all

        pictures = plot_all(result, out_dir)
        written += list(pictures.values())
    from .report import render

    (out_dir / "report.md").write_text(render(result, pictures))
    written.append(out_dir / "report.md")
    return written
