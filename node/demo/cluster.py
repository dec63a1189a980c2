"""A local network of real node processes: create, start, wait until ready, talk to, stop.

For `make demo` and the tests over HTTP. Each member runs `noticenet node
run` as its own process on 127.0.0.1 with its LevelDB store under one root
folder (see `localnet`); each node gets one API user per role. Waits poll
`GET /health` under a deadline, never fixed sleeps; `stop` sends SIGTERM,
waits, and kills whatever is left, so no process outlives the cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from noticenet.node.api.users import ROLES, Users
from noticenet.node.config import load_config
from noticenet.node.demo.localnet import LocalNet, MemberRow, create_localnet
from noticenet.protocol.devnet import DEFAULT_MEMBERS

T = TypeVar("T")
POLL_S = 0.05
NODE_COMMAND = ("-c", "from noticenet.node.cli.main import main; main()", "node", "run", "-c")


class ClusterError(RuntimeError):
    """A node process died, or the network did not come up in time."""


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call `probe` every POLL_S until it returns something truthy; ClusterError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_S)


@dataclass
class NodeProc:
    """One member's node: its config, API address, tokens per role, and process."""

    member: str
    config: Path
    api: str
    neighbours: tuple[str, ...]
    tokens: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.api}"

    def client(self, role: str = "admin") -> httpx.Client:
        """An HTTP client authenticated with this node's `role` user."""
        if role not in self.clients:
            headers = {"Authorization": f"Bearer {self.tokens[role]}"}
            self.clients[role] = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        return self.clients[role]

    def start(self) -> None:
        env = {**os.environ, "NOTICENET_PASSPHRASE": ""}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *NODE_COMMAND, str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                start_new_session=True,
            )

    def health(self) -> dict[str, Any] | None:
        """The /health answer, or None while the API is not up."""
        self.check_alive()
        try:
            response = httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def ready(self) -> bool:
        """Up, and connected to every neighbour it dials."""
        health = self.health()
        return (
            health is not None
            and set(self.neighbours) <= set(health["connected"])
            and bool(health["own_feed"]["ready"])
        )

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ClusterError(f"node {self.member} exited with {self.proc.returncode}:\n{tail}")

    def close_clients(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    # -- process control for fault tests (bench/soak.py) --------------------

    @property
    def pid(self) -> int | None:
        """The running process's id, or None if it is not running."""
        return self.proc.pid if self.alive() and self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def up(self) -> dict[str, Any] | None:
        """The /health answer, or None while the API is not up (never raises)."""
        if not self.alive():
            return None
        try:
            response = httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    def kill(self) -> int | None:
        """SIGKILL the process if running and reap it; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def memory_kb(self, field_name: str = "VmHWM") -> int:
        """A /proc/<pid>/status memory field (VmHWM: peak RSS, VmRSS: now) in kB; 0 if gone."""
        return proc_memory_kb(self.pid, field_name)

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def proc_memory_kb(pid: int | None, field_name: str = "VmRSS") -> int:
    """A memory field of /proc/<pid>/status in kB (0 if the process is gone)."""
    if pid is None:
        return 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return 0


def child_pids(pid: int | None) -> list[int]:
    """Every descendant of `pid` (intake workers), from /proc/<pid>/task/*/children."""
    if pid is None:
        return []
    out: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(c) for c in children.read_text().split()]
        except OSError:
            continue
    return out + [g for c in out for g in child_pids(c)]


class Cluster:
    """Every member's node process of one local network."""

    def __init__(self, net: LocalNet, nodes: dict[str, NodeProc]) -> None:
        self.net = net
        self.nodes = nodes

    @classmethod
    def create(
        cls,
        root: Path,
        members: tuple[MemberRow, ...] = DEFAULT_MEMBERS,
        seed: bytes = b"noticenet-local",
        neighbours: int = 3,
        topology: Mapping[str, Sequence[str]] | None = None,
        link_delay_ms: Mapping[str, Mapping[str, float]] | None = None,
        log_arrivals: bool = False,
    ) -> Cluster:
        """A fresh network under `root` (removed first), with one API user per role per node.

        `topology`, `link_delay_ms` and `log_arrivals` go to `create_localnet`.
        Refuses to remove a non-empty folder that does not hold a local network.
        """
        if root.exists() and any(root.iterdir()) and not (root / "genesis.cbor").exists():
            raise ClusterError(f"{root} is not empty and holds no local network: not removing it")
        shutil.rmtree(root, ignore_errors=True)
        net = create_localnet(
            root,
            seed,
            members,
            neighbours=neighbours,
            topology=topology,
            link_delay_ms=link_delay_ms,
            log_arrivals=log_arrivals,
        )
        nodes = {}
        for member_id, local in net.members.items():
            config = load_config(local.config)
            config.data_dir.mkdir(parents=True, exist_ok=True)
            users = Users(config.tokens_file or config.data_dir / "tokens.json")
            tokens = {role: users.add(role, role) for role in ROLES}
            nodes[member_id] = NodeProc(
                member_id,
                local.config,
                local.api,
                config.neighbours,
                tokens,
                local.config.parent / "node.log",
            )
        return cls(net, nodes)

    def __getitem__(self, member: str) -> NodeProc:
        return self.nodes[member]

    def start(self, timeout: float = 120.0) -> float:
        """Start every node and wait until all are connected; returns the seconds it took."""
        began = time.monotonic()
        for node in self.nodes.values():
            node.start()
        for node in self.nodes.values():
            poll(f"node {node.member} to be ready", node.ready, timeout)
        return time.monotonic() - began

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        """SIGTERM every node, wait for each, kill stragglers; returns the exit codes."""
        for node in self.nodes.values():
            node.close_clients()
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + timeout
        for member, node in self.nodes.items():
            if node.proc is None:
                continue
            try:
                codes[member] = node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
                codes[member] = None
        return codes

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
