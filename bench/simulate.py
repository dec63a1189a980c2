"""Simulator speed on the shipped interpol-195 scenario (24 h, 195 members + partners + CCF).

    python bench/simulate.py [--quick] [--out DIR]

Prints virtual seconds simulated per wall second, entries delivered per wall
second, CPU time, and the run's headline figures; writes the run's metrics,
plots and report to DIR (default sim-out/<scenario>). `--quick` runs the
scaled-down version the tests use (24 members, 3 h).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from noticenet.simulations import run_scenario
from noticenet.simulations.quick import interpol_195, quick


def main(argv: list[str]) -> int:
    scenario = quick() if "--quick" in argv else interpol_195()
    out = (
        Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("sim-out") / scenario.name
    )
    began, cpu = time.perf_counter(), time.process_time()
    result = run_scenario(scenario, out_dir=out)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    m = result.metrics
    virtual_s = (scenario.duration_h * 3600) + scenario.settle_min * 60
    deliveries = m["transmissions"]["deliveries"]
    figures = {
        "scenario": scenario.name,
        "nodes": m["scenario"]["nodes"],
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "virtual_s_per_wall_s": round(virtual_s / wall, 1),
        "entries_delivered": deliveries,
        "entries_delivered_per_wall_s": round(deliveries / wall, 1),
        "entries_delivered_per_cpu_s": round(deliveries / cpu, 1),
        "frames_delivered": m["transmissions"]["frames_delivered"],
        "delivery_ratio": m["delivery"]["ratio"],
        "p99_over_bound_p99": m["latency_ms"]["p99_over_bound_p99"],
        "transmissions_per_delivery": m["transmissions"]["per_delivery"],
        "resurrections": m["resurrections"],
        "reentry_refused_of_attempts": f"{m['reentry']['refused']}/{m['reentry']['attempts']}",
    }
    print(json.dumps(figures, indent=1))
    print(f"report: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
