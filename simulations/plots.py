"""PNG plots of a run (matplotlib, Agg backend): latency CDF, per-node traffic, purge
timeline, convergence after a partition heals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from .result import RunResult

DPI = 110


def _cdf(ax: Any, values: Sequence[float], label: str, **style: Any) -> None:
    ordered = sorted(values)
    if not ordered:
        return
    n = len(ordered)
    ax.step(ordered, [(i + 1) / n for i in range(n)], where="post", label=label, **style)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path


def latency_cdf(result: RunResult, path: Path) -> Path:
    s = result.series
    fig, ax = plt.subplots(figsize=(7, 4.2))
    _cdf(ax, s.latencies, "publish to delivery (simulated)", color="tab:blue")
    _cdf(ax, s.bounds, "direct one-way latency (lower bound)", color="tab:gray", linestyle="--")
    m = result.metrics["latency_ms"]
    ax.axvline(m["p99"], color="tab:red", linewidth=0.8, label=f"p99 {m['p99']:.0f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale)")
    ax.set_ylabel("share of deliveries")
    ax.set_title(f"{result.scenario.name}: delivery latency of records ({m['n']} deliveries)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def traffic(result: RunResult, path: Path) -> Path:
    rows = sorted(result.series.traffic, key=lambda r: -r[1])
    fig, ax = plt.subplots(figsize=(9, 4.2))
    xs = range(len(rows))
    ax.bar(xs, [r[1] / 1e6 for r in rows], width=1.0, color="tab:blue", label="sent")
    ax.plot(xs, [r[2] / 1e6 for r in rows], ".", color="tab:orange", markersize=3, label="received")
    ax.set_xlabel("nodes, by bytes sent")
    ax.set_ylabel("MB")
    ax.set_title(f"{result.scenario.name}: traffic per node")
    step = max(1, len(rows) // 25)
    ax.set_xticks(list(xs)[::step], [r[0] for r in rows][::step], rotation=90, fontsize=7)
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def purge_timeline(result: RunResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    nodes = max(1, sum(1 for n in result.world.net.nodes if result.world.honest(n)) - 1)
    for action, at_h, delays in result.series.purges:
        if not delays:
            continue
        xs = [max(d, 1) for d in delays]
        ys = [(i + 1) / nodes for i in range(len(xs))]
        ax.step(xs, ys, where="post", label=f"{action} at {at_h:g} h")
    ax.set_xscale("log")
    ax.set_xlabel("ms since the action entered the network (log scale)")
    ax.set_ylabel("share of honest nodes enforcing it")
    ax.set_title(f"{result.scenario.name}: CCF actions reaching every node")
    ax.grid(True, which="both", alpha=0.3)
    if result.series.purges:
        ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def convergence(result: RunResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for at_h, delays, pending in result.series.convergence:
        if not pending:
            continue
        xs = [max(d, 1) for d in delays]
        ax.step(
            xs,
            [(i + 1) / pending for i in range(len(xs))],
            where="post",
            label=f"partition at {at_h:g} h ({pending} deliveries due)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("ms since the partition healed (log scale)")
    ax.set_ylabel("share of the backlog delivered")
    ax.set_title(f"{result.scenario.name}: convergence after heal")
    ax.grid(True, which="both", alpha=0.3)
    if result.series.convergence:
        ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_all(result: RunResult, out_dir: Path) -> dict[str, Path]:
    return {
        "latency": latency_cdf(result, out_dir / "latency_cdf.png"),
        "traffic": traffic(result, out_dir / "traffic.png"),
        "purge": purge_timeline(result, out_dir / "purge_timeline.png"),
        "convergence": convergence(result, out_dir / "convergence.png"),
    }
