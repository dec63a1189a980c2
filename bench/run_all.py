"""Run every benchmark in bench/ in turn (`--quick` is passed on to each).

    python bench/run_all.py [--quick]

Every `bench/*.py` but this one and `_*.py` helpers runs, `ui.py` (the border check in
a browser against the JSON API; it drives Debian's Chromium) included.

Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    unknown = [a for a in argv if a != "--quick"]
    if unknown:
        print(f"usage: {Path(__file__).name} [--quick] (unknown: {' '.join(unknown)})")
        return 2
    benches = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    failed = []
    for bench in benches:
        command = [sys.executable, str(bench), *(["--quick"] if quick else [])]
        print(f"=== {bench.name} {'--quick' if quick else ''}".rstrip(), flush=True)
        began = time.perf_counter()
        code = subprocess.call(command)
        print(f"=== {bench.name}: exit {code} in {time.perf_counter() - began:.0f} s\n", flush=True)
        if code != 0:
            failed.append(bench.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
