"""A TCP proxy per directed link between local nodes, to cut and heal the network at will.

Test tooling for `bench/soak.py` (the leading underscore keeps `run_all.py`
from running it as a benchmark). For every link "A dials B" there is one
listener; A's node.toml gets a `[dial]` entry pointing B at it, and the
listener forwards each connection to B's real address. `partition(groups)`
closes every proxied connection between members of different groups, both
directions, and refuses new ones until `heal()`.

The proxy runs its own trio loop in a background thread (`ProxyThread`), so a
synchronous harness drives it with plain method calls::

    with ProxyThread({("FRA", "DEU"): 4102, ("DEU", "FRA"): 4101}) as proxy:
        proxy.port("FRA", "DEU")      # where FRA should dial DEU
        proxy.partition([{"FRA"}, {"DEU"}])
        proxy.heal()
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

import trio

Pair = tuple[str, str]  # (dialer, target)
CHUNK = 65536


@dataclass
class Link:
    """One directed link: who dials whom, where the target listens, its live connections."""

    dialer: str
    target: str
    target_port: int
    port: int = 0
    blocked: bool = False
    connections: set[trio.CancelScope] = field(default_factory=set)
    accepted: int = 0
    refused: int = 0
    cut: int = 0


class FaultProxy:
    """The links' listeners and their state; every method runs in the proxy's trio loop."""

    def __init__(self, targets: Mapping[Pair, int]) -> None:
        self.links = {pair: Link(pair[0], pair[1], port) for pair, port in targets.items()}

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen for every link on an ephemeral port of 127.0.0.1 until cancelled."""
        async with trio.open_nursery() as nursery:
            for link in self.links.values():
                handler = partial(self._forward, link)
                serve = partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
                listeners = await nursery.start(serve)
                link.port = listeners[0].socket.getsockname()[1]
            task_status.started()

    async def _forward(self, link: Link, client: trio.SocketStream) -> None:
        """Pump bytes both ways between a dialer and the target until either side stops."""
        if link.blocked:
            link.refused += 1
            await client.aclose()
            return
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", link.target_port)
        except OSError:
            link.refused += 1
            await client.aclose()
            return
        link.accepted += 1
        with trio.CancelScope() as scope:
            link.connections.add(scope)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_pump, client, upstream, nursery.cancel_scope)
                    nursery.start_soon(_pump, upstream, client, nursery.cancel_scope)
            finally:
                link.connections.discard(scope)
        for stream in (client, upstream):
            with trio.CancelScope(shield=True):
                await stream.aclose()

    def partition(self, groups: Iterable[Iterable[str]]) -> int:
        """Cut every link between members of different groups; returns connections closed."""
        side = {member: i for i, group in enumerate(groups) for member in group}
        closed = 0
        for link in self.links.values():
            if side.get(link.dialer, -1) != side.get(link.target, -2):
                link.blocked = True
                closed += len(link.connections)
                link.cut += len(link.connections)
                for scope in list(link.connections):
                    scope.cancel()
        return closed

    def heal(self) -> None:
        """Accept connections on every link again."""
        for link in self.links.values():
            link.blocked = False


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, done: trio.CancelScope) -> None:
    """Copy `source` to `sink`; when either fails or ends, end the whole connection."""
    try:
        while data := await source.receive_some(CHUNK):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    finally:
        done.cancel()


class ProxyThread:
    """A `FaultProxy` running in its own thread with its own trio loop."""

    def __init__(self, targets: Mapping[Pair, int]) -> None:
        self.proxy = FaultProxy(targets)
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            async with trio.open_nursery() as nursery:
                await nursery.start(self.proxy.serve)
                self._ready.set()
                await self._stop.wait()
                nursery.cancel_scope.cancel()

        try:
            trio.run(main)
        except BaseException as exc:  # reported to the caller of start()
            self._error = exc
            self._ready.set()

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once every link has its port."""
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the fault proxy did not start: {self._error!r}")

    def port(self, dialer: str, target: str) -> int:
        """The port `dialer` should dial to reach `target` through the proxy."""
        return self.proxy.links[(dialer, target)].port

    def partition(self, groups: Iterable[Iterable[str]]) -> int:
        """Cut the network between `groups` (see `FaultProxy.partition`)."""
        frozen = [list(g) for g in groups]
        return int(trio.from_thread.run_sync(self.proxy.partition, frozen, trio_token=self._token))

    def heal(self) -> None:
        """Reconnect every group."""
        trio.from_thread.run_sync(self.proxy.heal, trio_token=self._token)

    def stats(self) -> dict[str, int]:
        """Connections accepted, refused while cut, and cut, over all links."""
        links = list(self.proxy.links.values())
        return {
            "accepted": sum(link.accepted for link in links),
            "refused": sum(link.refused for link in links),
            "cut": sum(link.cut for link in links),
        }

    def close(self) -> None:
        """Stop every listener and connection; joins the thread."""
        if self._token is not None and self._stop is not None and self._thread.is_alive():
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(10)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
