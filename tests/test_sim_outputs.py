"""Determinism (same seed, same bytes), the files a run writes, the CLI and sweeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from noticenet.simulations import run_scenario
from noticenet.simulations.outputs import metrics_json
from noticenet.simulations.scenario import load_scenario, with_overrides
from noticenet.simulations.sweep import run_sweep

from .test_sim_line import LINE

SMALL = (
    LINE.replace("ccf = false", "ccf = true")
    .replace('[topology]\nlinks = [["FRA", "DEU"], ["DEU", "ESP"]]', "[topology]\ndegree = 2")
    .replace('model = "matrix"', 'model = "geo"')
    + """
[churn]
fraction = 0.34
online_mean_h = 0.5
offline_mean_h = 0.1
[[events]]
type = "revoke"
at_h = 0.5
[[adversaries]]
type = "reentry"
member = "ESP"
at_h = 0.5
every_h = 0.25
count = 2
"""
)
SMALL = "\n".join(
    line for line in SMALL.splitlines() if not line.startswith(("[latency.", "DEU =", "ESP ="))
)


def test_same_seed_same_metrics_bytes(tmp_path: Path) -> None:
    scenario = load_scenario(SMALL)
    first = metrics_json(run_scenario(scenario, plots=False).metrics)
    again = metrics_json(run_scenario(scenario, plots=False).metrics)
    assert first == again
    # and in another process, with another string-hash seed
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    env = dict(os.environ, PYTHONHASHSEED="12345")
    code = (
        "import sys; from noticenet.simulations import run_scenario; "
        "from noticenet.simulations.outputs import metrics_json; "
        "sys.stdout.write(metrics_json(run_scenario(sys.argv[1], plots=False).metrics))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout == first
    other = metrics_json(run_scenario(with_overrides(scenario, {"seed": 6}), plots=False).metrics)
    assert other != first


def test_cli_writes_metrics_plots_and_report(tmp_path: Path) -> None:
    """`noticenet simulate` itself, with the options docs/simulation.md shows."""
    from noticenet.node.cli.main import app

    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["simulate", str(path), "--out", str(out), "--set", "seed=9", "--seed", "9"]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "metrics.json",
        "metrics.csv",
        "nodes.csv",
        "report.md",
        "latency_cdf.png",
        "traffic.png",
        "purge_timeline.png",
        "convergence.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "latency_cdf.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "6.29" in report and "96.90%" in report and "resurrections" in report
    bad = CliRunner().invoke(app, ["simulate", str(path), "--set", "topology.nope=1"])
    assert bad.exit_code == 2
    again = CliRunner().invoke(
        app, ["simulate", str(path), "--out", str(tmp_path / "j"), "--seed", "9", "--no-plots",
              "--json"],
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads((out / "metrics.json").read_text())


def test_sweep_runs_points_in_processes(tmp_path: Path) -> None:
    base = with_overrides(load_scenario(SMALL), {"duration_h": 0.5})
    rows = run_sweep(base, {"topology.degree": [1, 2], "churn.fraction": [0.0]}, tmp_path, 2)
    assert [r["topology.degree"] for r in rows] == [1, 2]
    assert all(r["delivery"] == 1.0 for r in rows)
    assert (tmp_path / "sweep.csv").read_text().startswith("topology.degree,churn.fraction,")
    assert (tmp_path / "sweep_delivery.png").exists()
