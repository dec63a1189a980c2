"""Replication between node processes over libp2p, against Hypercore in the same run.

(a) throughput: FRA's LevelDB store is preloaded with N SLTD records (a
    ~340-byte sealed body each, ~690 bytes per entry on the wire) before its
    process starts; then DEU starts empty, connects and fetches them all.
    DEU relays before it opens (docs/protocol.md 4.4.1): the relay stage
    checks chain, signatures (one verify per chained run), times, body hash
    and guard tags, stores and acknowledges; the open stage decrypts, parses
    and indexes behind, on the intake workers. The relay rate is timed from
    DEU's first replication session (GET /health) until its GET /frontier
    shows FRA's head; the same polls read GET /frontier/findable, giving
    each entry's lag from stored to findable (p50, p99, at the poll
    interval's resolution) and the time until all of it is findable.
    Hypercore (which checks, stores and serves blocks without opening them:
    the same work as the relay stage) replicates N blocks of 400 bytes
    between two cores over loopback TCP (`shared/peers/hypercore/replicate.mjs`),
    run just before and just after ours (this machine's speed drifts within
    minutes); ratio = our relay entries/s over the mean of its blocks/s.
    Target >= 1.5.
(b) latency: five nodes (FRA DEU USA BRA JPN) up and connected; FRA
    publishes S records one at a time over HTTP; the other four are polled
    concurrently (GET /frontier/findable, tight loop) until each has opened
    and indexed the record. Reported: p50 / p99 from sending the POST to
    findable on the last node, and the poll interval (the resolution).
(c) profile (`--profile`, or automatically when (a) misses its target):
    DEU replays a slice of the feed into an empty store under py-spy
    (`pip install py-spy`, not a dependency); time by step of the receive path
    in the node's own process (its intake workers, which verify, decrypt and
    parse big frames, are separate processes and not sampled).

The preload writes FRA's entries with its Publisher (real sealing and
signing) straight into the store's feed tables, skipping FRA's own indexes
and checks, which only FRA's local lookups would need; the receiver checks
everything.

    python bench/replicate.py [--quick] [--entries N] [--samples S] [--profile]
                              [--no-hypercore] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from noticenet.node.api.users import Users
from noticenet.node.config import load_config
from noticenet.node.demo.localnet import LocalNet, create_localnet
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.node.store.opening import create_store, repair_store
from noticenet.protocol.identifiers.mrz import compose_mrz
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.publisher import Publisher
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.records import TravelDocument
from noticenet.protocol.records.schema import to_json
from noticenet.protocol.store.keyspace import Txn, header_key, key, position, seq_bytes

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared"
HYPERCORE = SHARED / "peers" / "hypercore"
BLOCK_BYTES = 400
TARGET_RATIO = 1.5
SOURCE, SINK = "FRA", "DEU"
LATENCY_NODES = ("FRA", "DEU", "USA", "BRA", "JPN")
STARTUP_S = 120.0
console = Console()


# -- node processes ------------------------------------------------------------


class NodeProcess:
    """A `noticenet node run` process with an admin token and a log file."""

    def __init__(self, net: LocalNet, member: str) -> None:
        spec = net.members[member]
        self.member = member
        self.config = spec.config
        self.data_dir = load_config(spec.config).data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        users = Users(self.data_dir / "tokens.json")
        token = users.add(f"bench{len(users.list())}", "admin")
        self.http = httpx.Client(
            base_url=f"http://{spec.api}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        self.log = spec.config.parent / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-c", "from noticenet.node.cli.main import main; main()"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "node", "run", "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NOTICENET_PASSPHRASE": ""},
            )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; never raises."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def connected(self) -> list[str]:
        if self.proc is None or self.proc.poll() is not None:
            raise SystemExit(f"{self.member} exited; see {self.log}")
        try:
            response = self.http.get("/health", timeout=2)
        except httpx.TransportError:
            return []
        return list(response.json()["connected"]) if response.status_code == 200 else []

    def head(self, author: str) -> int:
        doc = self.http.get("/frontier").json()
        return int(doc.get(author, {}).get("seq", 0))

    def findable(self, author: str) -> int:
        """The seq up to which this node has opened and indexed `author`'s feed."""
        return int(self.http.get("/frontier/findable").json().get(author, 0))


@contextmanager
def running(net: LocalNet, members: tuple[str, ...]) -> Iterator[dict[str, NodeProcess]]:
    """Node processes for `members`, stopped on the way out whatever happens."""
    nodes = {m: NodeProcess(net, m) for m in members}
    try:
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()
            node.http.close()


def wait_until(what: str, probe: Callable[[], Any], timeout: float, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)
    return value


# -- preloading the source -------------------------------------------------------


def sltd(i: int) -> TravelDocument:
    """A stolen passport with a full TD3 MRZ."""
    number = f"F{i:08d}"
    born = f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    lines = compose_mrz(
        "TD3",
        document_code="P",
        issuing_state="FRA",
        document_number=number,
        nationality="FRA",
        date_of_birth=born[2:].replace("-", ""),
        sex="F" if i % 2 else "M",
        date_of_expiry="310101",
        surname="DUPONT",
        given_names="JEAN PIERRE",
    )
    return TravelDocument(
        document_number=number,
        document_type="P",
        issuing_country="FRA",
        status="stolen",
        holder_name="DUPONT",
        holder_forename="JEAN PIERRE",
        holder_date_of_birth=born,
        holder_nationality="FRA",
        date_of_expiry="2031-01-01",
        mrz=lines,
    )


def sltd_range(start: int, stop: int) -> list[TravelDocument]:
    return [sltd(i) for i in range(start, stop)]


def records(start: int, stop: int, chunk: int = 1_000) -> Iterator[TravelDocument]:
    """sltd(i) for i in range(start, stop), built in a worker process (MRZs are slow)."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        starts = range(start, stop, chunk)
        for batch in pool.map(sltd_range, starts, [min(s + chunk, stop) for s in starts]):
            yield from batch


class PreloadLedger(Ledger):
    """The publisher's view of its own head while entries go straight to the store."""

    tracked: tuple[int, bytes] | None = None

    def head(self, author: str) -> tuple[int, bytes] | None:
        if self.tracked is not None and author == SOURCE:
            return self.tracked
        return super().head(author)


def put_entry(txn: Txn, entry: Entry) -> None:
    """The feed tables the relay stage writes for a stored entry: FRA holds them
    unopened (`c/`), and runs with `open_entries = false` so that it never opens
    them: its own indexes would serve only its own lookups."""
    h, eid = entry.header, entry.id
    assert entry.body is not None and h.expires_at is not None
    txn.put(header_key(h.author, h.seq), entry.signed_header)
    txn.put(key(b"e", eid), position(h.author, h.seq))
    txn.put(key(b"f", h.author.encode()), encode([h.seq, eid]))
    txn.put(key(b"b", eid), entry.body)
    txn.put(key(b"x", seq_bytes(h.expires_at) + eid), b"")
    txn.put(key(b"c", position(h.author, h.seq)), eid)


def preload(net: LocalNet, count: int) -> dict[str, float]:
    """Write `count` FRA records (plus its key epoch) into FRA's store; a few facts."""
    path = net.members[SOURCE].config
    path.write_text("open_entries = false\n" + path.read_text())  # top level, before tables
    config = load_config(path)
    spec = net.devnet.member(SOURCE)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = LevelDBStore(str(config.data_dir / "ledger"))
    began = time.perf_counter()
    now = int(time.time() * 1000) - count - 60_000  # every issue time in the past
    try:
        ledger = PreloadLedger.of_member(store, config.anchor, SOURCE, spec.keys)
        ledger.ingest(net.devnet.genesis, now)
        publisher = Publisher(ledger, SOURCE, spec.keys)
        first = publisher.publish("sltd", sltd(0), now)  # with its key epoch, the real way
        ledger.tracked = (first.header.seq, first.id)
        sizes = [len(first.body or b""), len(first.to_wire())]
        txn = Txn(store)
        for i, record in enumerate(records(1, count), start=1):
            (entry,) = publisher.prepare("sltd", record, now + i)
            put_entry(txn, entry)
            ledger.tracked = (entry.header.seq, entry.id)
            if i % 2_000 == 0:
                txn.commit(sync=False)
                txn = Txn(store)
                progress(f"preloading {SOURCE}: {i:,}/{count:,}")
        txn.commit(sync=True)
    finally:
        store.close()
    progress("")
    return {
        "seconds": time.perf_counter() - began,
        "entries": count + 1,
        "body": sizes[0],
        "wire": sizes[1],
    }


def progress(text: str) -> None:
    if console.is_terminal:
        console.print(f"[dim]{text}[/]" if text else "", end="\r")


# -- hypercore -------------------------------------------------------------------


@contextmanager
def hypercore_peer(skip: bool) -> Iterator[Callable[[int], dict[str, Any]] | None]:
    """A prepared copy of shared/peers/hypercore (one `npm ci`); yields a function
    that runs replicate.mjs for `count` blocks and returns its JSON line, or None."""
    if skip:
        yield None
        return
    if not HYPERCORE.is_dir() or not shutil.which("node") or not shutil.which("npm"):
        console.print(f"[yellow]hypercore skipped: need node, npm and {HYPERCORE}[/]")
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="nn-hypercore-") as work:
        for path in HYPERCORE.iterdir():
            if path.is_file():
                shutil.copy(path, work)
        subprocess.run(["npm", "ci", "--silent"], cwd=work, check=True, timeout=900)

        def run(count: int) -> dict[str, Any]:
            done = subprocess.run(
                ["node", "replicate.mjs", str(count), str(BLOCK_BYTES)],
                cwd=work,
                capture_output=True,
                text=True,
                check=True,
                timeout=3_600,
            )
            line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
            result: dict[str, Any] = json.loads(line)
            return result

        yield run


# -- (a) throughput --------------------------------------------------------------


def one_pass_sink(net: LocalNet) -> None:
    """DEU again with an empty store, taking entries in one pass (`relay_first = false`:
    each opened, checked and indexed before it is acknowledged and forwarded), the design
    before issue 20: the same catch-up, for the same work compared in the same run."""
    config = net.members[SINK].config
    shutil.rmtree(load_config(config).data_dir / "ledger")
    spec = net.devnet.member(SINK)
    create_store(
        load_config(config).data_dir,
        SINK,
        net.devnet.governance.public_key,
        spec.keys,
        net.devnet.genesis.to_wire(),
    )
    config.write_text("relay_first = false\n" + config.read_text())  # top level


def throughput(net: LocalNet, count: int) -> dict[str, Any]:
    """Start FRA (preloaded), then DEU; time DEU's catch-up: relayed, then findable."""
    with running(net, (SOURCE, SINK)) as nodes:
        source, sink = nodes[SOURCE], nodes[SINK]
        source.start()
        wait_until("FRA's API", lambda: _up(source), STARTUP_S)
        head = source.head(SOURCE)
        sink.start()
        wait_until("DEU's session with FRA", lambda: SOURCE in sink.connected(), STARTUP_S)
        began = time.perf_counter()
        cpu = {m: cpu_seconds(n) for m, n in nodes.items()}
        polls: list[float] = []
        seen: list[tuple[float, int, int]] = []  # (time, stored, findable)
        relayed: list[float] = []

        def caught_up() -> bool:
            polled = time.perf_counter()
            stored, found = sink.head(SOURCE), sink.findable(SOURCE)
            now = time.perf_counter()
            polls.append(now - polled)
            seen.append((now - began, stored, found))
            if stored >= head and not relayed:
                relayed.append(now - began)
                cpu.update({f"{m} relayed": cpu_seconds(n) - cpu[m] for m, n in nodes.items()})
            progress(f"{SINK} catching up with {SOURCE}: {stored:,} stored, {found:,} findable")
            return found >= head

        wait_until("DEU to catch up", caught_up, 6 * 3_600, every=POLL_S)
        seconds = time.perf_counter() - began
        cpu = {m: cpu_seconds(n) - cpu[m] for m, n in nodes.items() if m in (SOURCE, SINK)} | {
            k: v for k, v in cpu.items() if k.endswith("relayed")
        }
        progress("")
        refused = sink.log.read_text(errors="replace").count("event=entry.refused")
        frontiers_equal = sink.http.get("/frontier").json() == source.http.get("/frontier").json()
        return {
            "entries": head,
            "seconds": relayed[0],
            "rate": head / relayed[0],
            "findable_seconds": seconds,
            "findable_rate": head / seconds,
            "lags": stored_to_findable(seen, head),
            "resolution": POLL_S + max(polls),
            "api_p50": statistics.median(polls),
            "api_max": max(polls),
            "refused": refused,
            "equal": frontiers_equal,
            "cpu": cpu,
        }


POLL_S = 0.05


def stored_to_findable(seen: list[tuple[float, int, int]], head: int) -> list[float]:
    """Each entry's lag from the first poll that saw it stored to the first that saw it
    findable (seconds; zero when both came in one poll)."""
    lags = []
    stored_at = found_at = 0
    for seq in range(1, head + 1):
        while seen[stored_at][1] < seq:
            stored_at += 1
        while seen[found_at][2] < seq:
            found_at += 1
        lags.append(seen[found_at][0] - seen[stored_at][0])
    return lags


def cpu_seconds(node: NodeProcess) -> float:
    """User + system CPU time so far of a node process and its live children (its
    intake workers), from Linux /proc."""
    assert node.proc is not None
    return _cpu_tree(node.proc.pid)


def _cpu_tree(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # exited meanwhile
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_tree(int(child)) for child in children)


def _up(node: NodeProcess) -> bool:
    """The API answers (SystemExit if the process died)."""
    if node.proc is None or node.proc.poll() is not None:
        raise SystemExit(f"{node.member} exited; see {node.log}")
    try:
        return node.http.get("/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


# -- (b) latency -----------------------------------------------------------------


def latency(net: LocalNet, samples: int, pause: float, stored: bool = False) -> dict[str, Any]:
    """Publish on FRA over HTTP; time to arrival on the last of the other four nodes."""
    with running(net, LATENCY_NODES) as nodes:
        for node in nodes.values():
            node.start()
        others = [nodes[m] for m in LATENCY_NODES if m != SOURCE]
        everyone = set(LATENCY_NODES)
        for node in nodes.values():
            wait_until(
                f"{node.member} to connect to all four others",
                lambda n=node: set(n.connected()) >= everyone - {n.member},
                STARTUP_S,
            )
        publish(nodes[SOURCE], 0)  # warm-up: opens FRA's key epoch
        wait_until("warm-up", lambda: all(n.head(SOURCE) >= 2 for n in others), 60)
        last, each, posts, intervals = [], [], [], []
        for i in range(1, samples + 1):
            sent = time.perf_counter()
            seq = publish(nodes[SOURCE], i)
            posts.append(time.perf_counter() - sent)
            arrivals = poll_all(others, seq, intervals, pause, stored)
            each.extend(a - sent for a in arrivals)
            last.append(max(arrivals) - sent)
            progress(f"latency sample {i}/{samples}")
        progress("")
        what = "stored" if stored else "findable"
        return {"last": last, "each": each, "posts": posts, "intervals": intervals, "what": what}


def publish(node: NodeProcess, i: int) -> int:
    response = node.http.post("/records/sltd", json={"record": to_json(sltd(1_000_000 + i))})
    if response.status_code != 201:
        raise SystemExit(f"publish failed: {response.status_code} {response.text}")
    return int(response.json()["seq"])


def poll_all(
    nodes: list[NodeProcess],
    seq: int,
    intervals: list[float],
    pause: float,
    stored: bool = False,
) -> list[float]:
    """Poll each node in its own thread until it holds FRA#seq; arrival times (upper
    bounds: the end of the first GET that saw it). `pause` between GETs of one node."""
    arrivals = [0.0] * len(nodes)

    def poll(i: int) -> None:
        previous = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = time.perf_counter()
            if previous is not None:
                intervals.append(now - previous)
            previous = now
            held = nodes[i].head(SOURCE) if stored else nodes[i].findable(SOURCE)
            if held >= seq:
                arrivals[i] = time.perf_counter()
                return
            time.sleep(pause)
        raise SystemExit(f"{nodes[i].member} never got FRA#{seq}")

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(nodes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not all(arrivals):
        raise SystemExit("a node never got the record")
    return arrivals


# -- (c) profile -----------------------------------------------------------------

STEPS = (
    ("frame decode (decode_frame)", "decode_frame"),
    ("entry decode (decode_entry)", "decode_entry"),
    ("ledger.ingest_many", "ingest_many"),
    ("  validate_entries (one verify per chained run)", "validate_entries"),
    ("    check_signatures", "check_signatures"),
    ("  _open (decrypt, parse, tags; frames too small for the workers)", "_open"),
    ("  _apply (indexes)", "_apply@ledger.py"),
    ("  Entry.signed_header / id (re-encode)", "signed_header"),
    ("  Txn.commit (LevelDB write + fsync)", "commit@keyspace.py"),
    ("replicator._spread / _pump (forwarding)", "_spread"),
    ("framing + yamux + noise (transport)", "yamux"),
    ("HTTP API (hypercorn)", "hypercorn"),
)


def profile(net: LocalNet, count: int, seconds: float) -> dict[str, Any] | None:
    """Replay FRA's feed into an empty DEU under py-spy; inclusive share per step."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        console.print("[yellow]profile skipped: `pip install py-spy` (not a dependency)[/]")
        return None
    sink = load_config(net.members[SINK].config)
    shutil.rmtree(sink.data_dir / "ledger", ignore_errors=True)
    repair_store(sink, sink.keys(""))  # a node never creates its store: an empty one, genesis only
    out = net.root / "deu.pyspy.txt"
    with running(net, (SOURCE, SINK)) as nodes:
        nodes[SOURCE].start()
        wait_until("FRA's API", lambda: _up(nodes[SOURCE]), STARTUP_S)
        nodes[SINK].start()
        assert nodes[SINK].proc is not None
        wait_until("DEU's session", lambda: SOURCE in nodes[SINK].connected(), STARTUP_S)
        spy_proc = subprocess.run(
            [
                spy,
                "record",
                "-p",
                str(nodes[SINK].proc.pid),
                "-d",
                str(int(seconds)),
                "-r",
                "50",
                "-f",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
            ],
            capture_output=True,
            text=True,
        )
        if spy_proc.returncode != 0 or not out.exists():
            console.print(f"[yellow]py-spy failed: {spy_proc.stderr.strip()[-300:]}[/]")
            return None
        got = nodes[SINK].head(SOURCE)
    return {"shares": shares(out), "entries": got, "seconds": seconds}


def shares(collapsed: Path) -> tuple[dict[str, float], list[tuple[str, float]], int]:
    """Inclusive share of each step, and the top leaf functions (self time)."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():  # py-spy's own notes, not samples
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaves[frames[-1].split(" (")[0] + " " + _where(frames[-1])] += count
        for label, needle in STEPS:
            if any(_matches(f, needle) for f in frames):
                inclusive[label] += count
    total = max(total, 1)
    top = [(name, n / total) for name, n in leaves.most_common(12)]
    return {label: inclusive[label] / total for label, _ in STEPS}, top, total


def _matches(frame: str, needle: str) -> bool:
    """`needle` is a function name, optionally `name@file`; yamux and hypercorn
    stand for any frame of theirs."""
    name = frame.split(" (")[0].rsplit(".", 1)[-1]  # py-spy names methods Class.method
    if needle in ("yamux", "hypercorn"):
        return needle in frame
    function, _, where = needle.partition("@")
    return name == function and where in frame


def _where(frame: str) -> str:
    inside = frame.partition(" (")[2].rstrip(")")
    path = inside.split(":")[0]
    return f"({Path(path).name})" if path else ""


# -- report ----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report_throughput(
    facts: dict[str, float],
    ours: dict[str, Any],
    theirs: list[dict[str, Any]],
    one_pass: dict[str, Any] | None = None,
) -> float | None:
    table = Table(title=f"(a) {SOURCE} -> {SINK} over libp2p: {ours['entries']:,} entries")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("sealed body / entry on the wire", f"{facts['body']:.0f} / {facts['wire']:.0f} B")
    table.add_row("preload (untimed, direct to the store)", f"{facts['seconds']:.0f} s")
    table.add_row(
        "relay stage: all stored and acknowledged",
        f"{ours['seconds']:.2f} s (±{ours['resolution']:.2f} s)",
    )
    table.add_row("noticenet relay entries/s", f"{ours['rate']:,.0f}")
    table.add_row(
        "open stage: all findable (opened, indexed)",
        f"{ours['findable_seconds']:.2f} s ({ours['findable_rate']:,.0f} entries/s)",
    )
    lags = ours["lags"]
    table.add_row(
        "lag stored -> findable per entry (p50 / p99 / max)",
        f"{pct(lags, 0.5):.2f} / {pct(lags, 0.99):.2f} / {max(lags):.2f} s",
    )
    cpu = ours["cpu"]
    table.add_row(
        f"CPU used until relayed: {SINK} (receiver, with its workers) / {SOURCE} (sender)",
        f"{cpu[SINK + ' relayed']:.1f} s / {cpu[SOURCE + ' relayed']:.1f} s",
    )
    table.add_row(
        f"CPU used until findable: {SINK} / {SOURCE}",
        f"{cpu[SINK]:.1f} s / {cpu[SOURCE]:.1f} s "
        f"({ours['entries'] / max(cpu[SINK], 1e-9):,.0f} entries per {SINK} CPU-s)",
    )
    table.add_row("frontiers equal / entries refused", f"{ours['equal']} / {ours['refused']}")
    table.add_row(
        f"{SINK}'s GET /frontier + /frontier/findable while catching up (p50 / max)",
        f"{1000 * ours['api_p50']:.0f} / {1000 * ours['api_max']:.0f} ms",
    )
    if one_pass is not None:
        table.add_row(
            "one pass (relay_first = false): all stored, findable",
            f"{one_pass['findable_seconds']:.2f} s ({one_pass['findable_rate']:,.0f} entries/s)",
        )
        table.add_row(
            f"  CPU used: {SINK} / {SOURCE}",
            f"{one_pass['cpu'][SINK]:.1f} s / {one_pass['cpu'][SOURCE]:.1f} s "
            f"({one_pass['entries'] / max(one_pass['cpu'][SINK], 1e-9):,.0f} entries per "
            f"{SINK} CPU-s)",
        )
        table.add_row(
            "relay first / one pass: relayed, findable",
            f"{ours['rate'] / one_pass['findable_rate']:.2f}x, "
            f"{ours['findable_rate'] / one_pass['findable_rate']:.2f}x",
        )
    ratio = None
    if theirs:
        rates = [run["replicate_per_s"] for run in theirs]
        table.add_row(
            f"hypercore blocks/s ({theirs[0]['blocks']:,} x {theirs[0]['block_bytes']} B), "
            "run before / after ours",
            " / ".join(f"{rate:,}" for rate in rates)
            + f"  (append {theirs[0]['append_per_s']:,}/s)",
        )
        ratio = ours["rate"] / statistics.mean(rates)
        mark = "[green]meets[/]" if ratio >= TARGET_RATIO else "[red]misses[/]"
        table.add_row(
            "ratio noticenet relay / hypercore (mean of its runs)",
            f"{ratio:.2f}x ({mark} target {TARGET_RATIO}x)",
        )
    console.print(table)
    return ratio


def report_latency(result: dict[str, Any]) -> None:
    last = [x * 1000 for x in result["last"]]
    each = [x * 1000 for x in result["each"]]
    posts = [x * 1000 for x in result["posts"]]
    gaps = [x * 1000 for x in result["intervals"]]
    what = result["what"]
    table = Table(title=f"(b) publish on {SOURCE} -> {what}, {len(last)} samples, 5 nodes")
    table.add_column("measure")
    table.add_column("p50", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("max", justify="right")
    for name, values in (
        (f"{what} on the last of 4 nodes (from POST sent)", last),
        (f"{what} on each node", each),
        ("POST /records/sltd round trip", posts),
        ("poll interval (resolution)", gaps),
    ):
        table.add_row(
            name,
            f"{statistics.median(values):.1f} ms",
            f"{pct(values, 0.99):.1f} ms",
            f"{max(values):.1f} ms",
        )
    console.print(table)


def report_profile(result: dict[str, Any]) -> None:
    steps, top, total = result["shares"]
    table = Table(
        title=f"(c) where {SINK}'s time goes while fetching ({result['entries']:,} entries "
        f"in {result['seconds']:.0f} s, {total:,} py-spy samples, inclusive)"
    )
    table.add_column("step")
    table.add_column("share", justify="right")
    for label, share in steps.items():
        table.add_row(label, f"{100 * share:.1f}%")
    console.print(table)
    leaves = Table(title="top functions by own time")
    leaves.add_column("function")
    leaves.add_column("share", justify="right")
    for name, share in top:
        leaves.add_row(name, f"{100 * share:.1f}%")
    console.print(leaves)


# -- main ------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k entries, 10 latency samples")
    parser.add_argument("--entries", type=int)
    parser.add_argument("--samples", type=int)
    parser.add_argument("--profile", action="store_true", help="always run (c)")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument("--no-hypercore", action="store_true")
    parser.add_argument(
        "--no-one-pass", action="store_true", help="skip the one-pass catch-up (relay_first false)"
    )
    parser.add_argument("--poll-ms", type=float, default=2.0, help="pause between polls")
    parser.add_argument(
        "--stored",
        action="store_true",
        help="(b): time to stored (GET /frontier, the relay stage) instead of findable",
    )
    parser.add_argument("--only", choices=("throughput", "latency"), help="run one part")
    parser.add_argument("--keep", type=Path, help="work here and keep the logs and stores")
    args = parser.parse_args(argv)
    args.entries = args.entries or (5_000 if args.quick else 100_000)
    args.samples = args.samples or (10 if args.quick else 50)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nn-bench-replicate-"))
    try:
        ok = True
        if args.only != "latency":
            net = create_localnet(work / "throughput", b"bench-replicate")
            facts = preload(net, args.entries - 1)
            with hypercore_peer(args.no_hypercore) as hypercore:
                # Hypercore runs just before and just after ours: this machine's
                # speed drifts within minutes, and the ratio is to their mean.
                theirs = [] if hypercore is None else [hypercore(args.entries)]
                ours = throughput(net, args.entries)
                one_pass = None
                if not args.no_one_pass:
                    one_pass_sink(net)
                    one_pass = throughput(net, args.entries)
                theirs += [] if hypercore is None else [hypercore(args.entries)]
            ratio = report_throughput(facts, ours, theirs, one_pass)
            ok = ours["equal"] and ours["refused"] == 0
            ok = ok and (one_pass is None or (one_pass["equal"] and one_pass["refused"] == 0))
        if args.only != "throughput":
            latency_net = create_localnet(work / "latency", b"bench-latency")
            pause = args.poll_ms / 1000
            report_latency(latency(latency_net, args.samples, pause, args.stored))
        if args.only != "latency" and (
            args.profile or (ratio is not None and ratio < TARGET_RATIO)
        ):
            result = profile(net, args.entries, args.profile_seconds)
            if result is not None:
                report_profile(result)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
