"""A scaled-down interpol-195: the same shape (partition, churn, revocations, two
adversaries) on the 24 most populous members over three hours, for tests and
`bench/simulate.py --quick`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .scenario import Scenario, load_scenario, with_overrides

INTERPOL_195 = Path(__file__).parent / "scenarios" / "interpol-195.toml"

QUICK: dict[str, Any] = {
    "name": "interpol-quick",
    "members.count": 24,
    "members.partners": ["EUROPOL"],
    "topology.degree": 5,
    "topology.nearest": 3,
    "duration_h": 3.0,
    "churn.online_mean_h": 1.0,
    "churn.offline_mean_h": 0.2,
    "workload.rates_per_day": {
        "notice.red": 160.0,
        "notice.yellow": 40.0,
        "diffusion": 160.0,
        "vehicle": 80.0,
    },
    "workload.sltd_imports_per_day": 24.0,
    "workload.sltd_batch": 20,
    "events": [
        {"type": "partition", "region": "AF", "at_h": 1.0, "duration_h": 0.5},
        {"type": "revoke", "at_h": 0.5, "count": 5, "every_h": 0.4},
    ],
    "adversaries": [
        {"type": "reentry", "member": "MEX", "at_h": 0.0, "every_h": 0.25, "count": 3},
        {"type": "withhold-ccf", "member": "DEU"},
    ],
}


def interpol_195() -> Scenario:
    return load_scenario(INTERPOL_195)


def quick() -> Scenario:
    return with_overrides(interpol_195(), QUICK)
