"""What one run of a scenario gives: its metrics, series, final world and files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .metrics import Series
from .scenario import Scenario
from .world import World


@dataclass
class RunResult:
    scenario: Scenario
    metrics: dict[str, Any]
    series: Series
    world: World
    wall_s: float
    files: list[Path]
