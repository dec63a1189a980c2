"""A border check in the browser, from pressing Check to the answer shown, against the same
check over the JSON API in the same run.

Set-up (not timed) is bench/api.py's: a local network's FRA node gets RECORDS stolen
passports (SLTD with full TD3 MRZ) through the real ingest path, and filler records
in the same key layout up to TOTAL (1,000,000 by default) so the indexes are that big.
Then `noticenet node run` serves the node on 127.0.0.1, and:

- in the browser (Playwright driving Debian's Chromium, signed in as the border role):
  type the document's country and number on /ui/border, press Check, and time until
  the answer (`#result`) is on the new page;
- over the JSON API: `GET /check/document` from this process (httpx, keep-alive), one
  at a time, interleaved with the browser's checks (one API check after each) so both
  see the same machine, for other documents drawn the same way (a lookup would warm
  the store's cache for the same document).

Printed: p50 and p99 of both, and the browser's ratio to the API's (targets: p99 under
100 ms, and within 3x of the API's). `--quick` (20,000 records in all) is what
bench/run_all.py --quick runs.

    python bench/ui.py [--quick] [--records N] [--total N] [--checks N]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import httpx
from playwright.sync_api import Page, sync_playwright
from rich.console import Console
from rich.table import Table

from noticenet.node.api.users import Users
from noticenet.node.config import load_config
from noticenet.node.demo.cluster import NodeProc, poll
from noticenet.node.demo.localnet import create_localnet
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.entry import decode_entry

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make test` installs it where missing)
TARGET_P99_MS = 100.0
TARGET_RATIO = 3.0
WARMUP = 10
console = Console(width=None if sys.stdout.isatty() else 132)


def bench_api() -> ModuleType:
    """bench/api.py, for its set-up (passports, preload through the real path, filler)."""
    spec = importlib.util.spec_from_file_location("bench_api", Path(__file__).with_name("api.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare(root: Path, records: int, total: int) -> tuple[NodeProc, str, float]:
    """The FRA node's store filled (not timed); its process, a border token, the fill time."""
    api = bench_api()
    net = create_localnet(root, b"bench-ui", api.MEMBERS, neighbours=1)
    config = load_config(net.members["FRA"].config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    keys = config.keys("")
    now = int(time.time() * 1000)
    began = time.perf_counter()
    store = LevelDBStore(str(config.data_dir / "ledger"))
    ledger = Ledger.of_member(store, config.anchor, "FRA", keys)
    ledger.ingest(decode_entry(config.genesis.read_bytes()), now)
    _, first = api.preload(ledger, Publisher(ledger, "FRA", keys), records, now)
    if total > records:
        api.fill(store, first, keys.index_key, total - records)
    store.close()
    token = Users(config.data_dir / "tokens.json").add("bench", "border")
    member = net.members["FRA"]
    node = NodeProc("FRA", member.config, member.api, (), {"border": token},
                    member.config.parent / "node.log")
    return node, token, time.perf_counter() - began


# Installed in the border page by the bench (not part of the page's own script): the time
# of the form's submit event, and of the first animation frame after the answer is in the
# page (the frame that shows it), in the page's own clock.
PROBE = """() => {
  window.__bench = {samples: []};
  document.addEventListener("submit", () => { window.__bench.t0 = performance.now(); }, true);
  new MutationObserver(() => {
    const fresh = document.querySelector("#answer:not([data-old]) #result");
    if (fresh && window.__bench.t0 !== undefined) {
      const t0 = window.__bench.t0;
      window.__bench.t0 = undefined;
      requestAnimationFrame(() => window.__bench.samples.push(performance.now() - t0));
    }
  }).observe(document.querySelector("main"), {childList: true, subtree: true});
}"""


def in_browser(
    page: Page, url: str, token: str, numbers: list[str], between: Callable[[int], None]
) -> tuple[list[float], list[float]]:
    """Per document, seconds from pressing Check to the answer shown: in the page's clock
    (submit event to the frame showing the answer) and as the driver sees it (Playwright's
    click to the answer found, round trips to the browser included). `between(i)` runs
    after check i (the API's check, interleaved so both see the same machine)."""
    page.goto(f"{url}/ui/signin")
    page.locator("#f-token").fill(token)
    page.locator("form[action='/ui/signin'] button").click()
    page.wait_for_url(f"{url}/ui/")
    page.goto(f"{url}/ui/border")
    page.evaluate(PROBE)
    check = page.locator("form:has(#f-number) button[type=submit]")
    fresh = page.locator("#answer:not([data-old]) #result.hit")
    driver = []
    for i, number in enumerate(numbers):
        page.locator("#f-country").fill("FRA")
        page.locator("#f-number").fill(number)
        page.evaluate("document.getElementById('answer').dataset.old = '1'")
        began = time.perf_counter()
        check.click()
        fresh.wait_for(state="visible")
        took = time.perf_counter() - began
        if i >= WARMUP:
            driver.append(took)
        between(i)
    page.wait_for_function(f"window.__bench.samples.length >= {len(numbers)}")
    in_page = [ms / 1000 for ms in page.evaluate("window.__bench.samples")[WARMUP:]]
    return in_page, driver


class OverAPI:
    """`GET /check/document`, one at a time on a kept-alive connection; seconds per check."""

    def __init__(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=30)
        self.samples: list[float] = []

    def check(self, number: str, timed: bool) -> None:
        began = time.perf_counter()
        answer = self.client.get("/check/document", params={"country": "FRA", "number": number})
        took = time.perf_counter() - began
        assert answer.status_code == 200 and answer.json()["hit"], answer.text
        if timed:
            self.samples.append(took)


def run(root: Path, records: int, total: int, checks: int) -> dict[str, float]:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    console.print(f"Filling FRA's store: {records:,} SLTD records through the real path, "
                  f"{total:,} in all (not timed)")
    node, token, fill_s = prepare(root, records, total)
    console.print(f"  filled in {fill_s:.0f} s")
    rng = random.Random(11)
    # Different documents for the two ways (a lookup warms the store's cache for the next).
    numbers = [f"F{rng.randrange(records):08d}" for _ in range(checks + WARMUP)]
    others = [f"F{rng.randrange(records):08d}" for _ in range(checks + WARMUP)]
    node.start()
    try:
        poll("the node's API", node.health, 120)
        api = OverAPI(node.url, token)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_context(locale="en-GB").new_page()
                ui, driver = in_browser(
                    page, node.url, token, numbers, lambda i: api.check(others[i], i >= WARMUP)
                )
            finally:
                browser.close()
                api.client.close()
    finally:
        node.terminate()
    return report(total, ui, driver, api.samples)


def report(
    total: int, ui: list[float], driver: list[float], api: list[float]
) -> dict[str, float]:
    figures = {
        "ui_p50_ms": percentile(ui, 0.50) * 1000,
        "ui_p99_ms": percentile(ui, 0.99) * 1000,
        "driver_p50_ms": percentile(driver, 0.50) * 1000,
        "driver_p99_ms": percentile(driver, 0.99) * 1000,
        "api_p50_ms": percentile(api, 0.50) * 1000,
        "api_p99_ms": percentile(api, 0.99) * 1000,
    }
    figures["p50_ratio"] = figures["ui_p50_ms"] / figures["api_p50_ms"]
    figures["p99_ratio"] = figures["ui_p99_ms"] / figures["api_p99_ms"]
    table = Table(title=f"Border check by document, {total:,} SLTD records, {len(ui)} checks each")
    for column in ("way", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "way" else "left")
    table.add_row("browser: Check pressed -> answer shown (page's clock)",
                  f"{figures['ui_p50_ms']:.1f}", f"{figures['ui_p99_ms']:.1f}")
    table.add_row("  the same, seen by the driver (Playwright round trips in)",
                  f"{figures['driver_p50_ms']:.1f}", f"{figures['driver_p99_ms']:.1f}")
    table.add_row("JSON API: GET /check/document (anchor)",
                  f"{figures['api_p50_ms']:.1f}", f"{figures['api_p99_ms']:.1f}")
    table.add_row("ratio browser / API", f"{figures['p50_ratio']:.2f}x",
                  f"{figures['p99_ratio']:.2f}x")
    console.print(table)
    p99_ok = figures["ui_p99_ms"] < TARGET_P99_MS
    ratio_ok = figures["p99_ratio"] <= TARGET_RATIO
    console.print(
        f"targets: browser p99 under {TARGET_P99_MS:.0f} ms: "
        f"{'met' if p99_ok else 'NOT met'}; within {TARGET_RATIO:.0f}x of the API's p99: "
        f"{'met' if ratio_ok else 'NOT met'}"
    )
    return figures


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 records, 60 checks")
    parser.add_argument("--records", type=int, default=None, help="SLTD through the real path")
    parser.add_argument("--total", type=int, default=None, help="store size incl. filler")
    parser.add_argument("--checks", type=int, default=None, help="timed checks per way")
    args = parser.parse_args(argv)
    records = args.records or (3_000 if args.quick else 40_000)
    total = max(records, args.total or (20_000 if args.quick else 1_000_000))
    checks = args.checks or (60 if args.quick else 300)
    root = Path(tempfile.mkdtemp(prefix="nn-bench-ui-"))
    try:
        run(root, records, total, checks)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
