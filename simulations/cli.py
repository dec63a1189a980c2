"""`noticenet simulate`: run a scenario file, or a sweep over a grid of its settings.

The main CLI (`noticenet simulate`) is this command;
`python -m noticenet.simulations.cli` runs it on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

ScenarioArg = Annotated[Path, typer.Argument(help="scenario TOML file (docs/simulation.md)")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="output folder [sim-out/<scenario name>]")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a setting: --set topology.degree=6 (repeatable)"),
]
GridOpt = Annotated[
    list[str] | None,
    typer.Option("--grid", help="sweep a setting: --grid churn.fraction=0,0.2,0.4 (repeatable)"),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="override the scenario's seed")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="parallel processes for a sweep")]
PlotsOpt = Annotated[bool, typer.Option("--plots/--no-plots", help="write PNG plots")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print the metrics as JSON instead (one run, no bar)")
]


def simulate_command(
    scenario: ScenarioArg,
    out: OutOpt = None,
    set_: SetOpt = None,
    grid: GridOpt = None,
    seed: SeedOpt = None,
    workers: WorkersOpt = 2,
    plots: PlotsOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a whole network from a scenario file: metrics, plots and a report."""
    from .scenario import ScenarioError, load_scenario, with_overrides
    from .sweep import parse_grid, parse_value

    try:
        base = load_scenario(scenario)
        overrides: dict[str, Any] = {}
        for item in set_ or []:
            key, _, value = item.partition("=")
            overrides[key.strip()] = parse_value(value)
        if seed is not None:
            overrides["seed"] = seed
        base = with_overrides(base, overrides)
        axes = parse_grid(grid or [])
    except (ScenarioError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    folder = out or Path("sim-out") / base.name
    if axes:
        _sweep(base, axes, folder, workers)
    elif as_json:
        from .runner import run_scenario

        metrics = run_scenario(base, out_dir=folder, plots=plots).metrics
        typer.echo(json.dumps(metrics, indent=1, sort_keys=True))
    else:
        _single(base, folder, plots)


def _single(scenario: Any, folder: Path, plots: bool) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .runner import run_scenario

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
    )
    with Progress(*columns, TimeElapsedColumn()) as bar:
        task = bar.add_task(f"simulating {scenario.name}", total=1.0)
        result = run_scenario(
            scenario, out_dir=folder, plots=plots, progress=lambda f: bar.update(task, completed=f)
        )
    m = result.metrics
    lat = m["latency_ms"]
    typer.echo(
        f"delivery {m['delivery']['ratio']:.4%}  latency p50 {lat['p50']:.0f} ms "
        f"p99 {lat['p99']:.0f} ms ({lat['p99_over_bound_p99']:.2f}x bound)  "
        f"tx/delivery {m['transmissions']['per_delivery']:.3f}  "
        f"resurrections {m['resurrections']}  re-entries caught (refused or held) "
        f"{m['reentry']['caught']}/{m['reentry']['entries_pushed']}  wall {result.wall_s:.0f} s"
    )
    if "processing" in m:
        p = m["processing"]
        typer.echo(
            f"{p['design']}: publish to stored p50 / p99 {p['stored_ms']['p50']:.0f} / "
            f"{p['stored_ms']['p99']:.0f} ms, to findable {p['findable_ms']['p50']:.0f} / "
            f"{p['findable_ms']['p99']:.0f} ms"
        )
    typer.echo(f"wrote {folder}/report.md and {len(result.files) - 1} other files")


def _sweep(base: Any, axes: dict[str, list[Any]], folder: Path, workers: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .sweep import points, run_sweep

    total = len(points(axes))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task(f"sweeping {base.name} ({workers} processes)", total=total)
        run_sweep(base, axes, folder, workers, on_done=lambda row: bar.advance(task))
    typer.echo(f"wrote {folder}/sweep.csv, sweep.md and plots ({total} runs)")


def main() -> None:
    typer.run(simulate_command)


if __name__ == "__main__":
    main()
