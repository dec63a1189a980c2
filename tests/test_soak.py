"""The short fault run of issue 22 (`bench/soak.py --quick`) on real node processes.

Four nodes behind a TCP proxy per link, 3,000 SLTD rows over two importers,
one SIGKILL and restart of an importer in mid-import, one partition that puts
the importers on opposite sides, then a heal. Faults are triggered by import
progress and the seed is fixed, so the same faults happen on every run; every
wait polls HTTP under a deadline. Runs alone with `pytest tests/test_soak.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SOAK = Path(__file__).resolve().parent.parent / "bench" / "soak.py"
TIMEOUT_S = 110.0  # about 35 s on an idle 2-core machine


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    """Run the short harness once: exit code, report, output."""
    root = tmp_path_factory.mktemp("soak")
    report = root / "report.json"
    command = [sys.executable, str(SOAK), "--quick", "--root", str(root), "--json", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    output = done.stdout + done.stderr
    assert report.exists(), f"no report (exit {done.returncode}):\n{output[-4000:]}"
    return done.returncode, json.loads(report.read_text()), output


def test_the_planned_faults_were_injected(soak: tuple[int, dict[str, Any], str]) -> None:
    _, report, output = soak
    assert report["faults"] == {"kill": 1, "partition": 1}, output[-4000:]
    assert report["proxy"]["cut"] >= 1, "the partition cut no proxied connection"
    assert report["imports"]["FRA"]["failed_requests"] >= 1, "FRA was not killed mid-import"


def test_every_node_converges_and_no_acknowledged_row_is_lost(
    soak: tuple[int, dict[str, Any], str],
) -> None:
    code, report, output = soak
    tail = output[-4000:]
    for member, tally in report["imports"].items():
        assert tally["acknowledged"] == tally["rows"], (member, tally, tail)
    assert report["converged"], tail
    assert len(set(report["digests"].values())) == 1, report["digests"]
    assert report["losses"]["lost"] == 0, report["losses"]
    assert report["losses"]["sample_missing_somewhere"] == 0, report["losses"]
    assert not any(report["equivocations"].values()), report["equivocations"]
    assert report["unexpected_exits"] == {}, tail
    assert code == 0, tail
