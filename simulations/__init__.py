"""noticenet.simulations: the real protocol between simulated nodes, in virtual time.

`run_scenario(path_or_scenario, out_dir=...)` runs a scenario file and writes
its metrics, plots and report; `noticenet simulate SCENARIO.toml` does the
same from the command line (docs/simulation.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import RunResult

__all__ = ["run_scenario"]


def run_scenario(*args: Any, **kwargs: Any) -> RunResult:
    """See `noticenet.simulations.runner.run_scenario`."""
    from noticenet.simulations.runner import run_scenario as run

    return run(*args, **kwargs)
