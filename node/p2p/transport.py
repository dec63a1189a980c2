"""The transport the replication protocol runs over: frames between allowed peers.

`Transport` owns one libp2p host (see `host`) for the lifetime of an
`async with` block: it listens, dials, gates peers by an allowlist, and hands
out `FramedStream`s (see `framing`) for the `/noticenet/replicate/1`
protocol. It knows nothing of what the frames mean. `keep_connected` keeps a
set of neighbours dialled with exponential backoff and jitter.

`link_delays` (peer id -> seconds) makes the streams to those peers
`DelayedFramedStream`s: every frame written to such a peer leaves that much
later, in order, as if the link had that one-way latency. It exists for the
emulation check (`simulations/emulation.py`): real nodes on 127.0.0.1 with
the latencies of a simulated network.

Usage::

    async with Transport(seed, allowlist=roster, on_stream=serve) as t:
        await t.connect(peer_id, "/ip4/127.0.0.1/tcp/4001")
        stream = await t.open_stream(peer_id)
        await stream.send(b"...")
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType

import multiaddr
import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo

from noticenet.node.errors import (
    FrameTooLarge,
    PeerNotAllowed,
    StreamEnded,
    TransportError,
    TruncatedFrame,
)
from noticenet.node.p2p.framing import DEFAULT_MAX_FRAME, ByteStream, FramedStream, check_max_frame
from noticenet.node.p2p.host import (
    DEFAULT_LISTEN,
    REPLICATE_PROTOCOL,
    AllowlistGate,
    Libp2pByteStream,
    PeerEvents,
    StreamHandler,
    build_host,
    close_listeners,
    ensure_port_free,
    forget_dial_state,
    key_pair_from_seed,
    parse_dial_addr,
    parse_peer_id,
    peer_id_from_seed,
    quiet_libp2p_logging,
)

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_FRAME",
    "REPLICATE_PROTOCOL",
    "AllowlistGate",
    "DelayedFramedStream",
    "FrameTooLarge",
    "FramedStream",
    "PeerNotAllowed",
    "StreamEnded",
    "StreamHandler",
    "Transport",
    "TransportError",
    "TruncatedFrame",
    "backoff_delay",
    "check_link_delays",
    "keep_connected",
    "peer_id_from_seed",
    "quiet_libp2p_logging",
]

logger = logging.getLogger("noticenet.node.transport")
DELAY_LINE_FRAMES = 4096  # frames in flight on one delayed link before send() waits
DRAIN_MARGIN_S = 5.0  # close(): how long past the delay to wait for frames in flight


class DelayedFramedStream(FramedStream):
    """A `FramedStream` whose frames reach the wire `delay` seconds after `send`.

    A delay line, not a sleep per send: `send` stamps the frame with
    `trio.current_time()` and queues it; `pump` (run it in a nursery for the
    stream's lifetime) writes each frame at its stamp + `delay`. So frames keep
    their order, each waits its own delay from when it was sent (delays do not
    add up behind one another, as on a real link), and a slow or delayed peer
    holds up no other peer. `send` waits only when `capacity` frames are in
    flight (back-pressure). A failed write fails the next `send` with
    TransportError. `close` lets the frames in flight leave first.
    """

    def __init__(
        self,
        stream: ByteStream,
        *,
        peer_id: str,
        delay: float,
        max_frame: int = DEFAULT_MAX_FRAME,
        capacity: int = DELAY_LINE_FRAMES,
    ) -> None:
        super().__init__(stream, peer_id=peer_id, max_frame=max_frame)
        self._delay = check_link_delays({peer_id: delay})[peer_id]
        self._line, self._line_out = trio.open_memory_channel[tuple[float, bytes]](capacity)
        self._pump_scope = trio.CancelScope()
        self._drained = trio.Event()
        self._failure: TransportError | None = None

    @property
    def delay(self) -> float:
        """The one-way delay added to every frame, in seconds."""
        return self._delay

    async def send(self, payload: bytes) -> None:
        """Queue one frame to leave at now + delay. FrameTooLarge (nothing queued) if too big."""
        if len(payload) > self.max_frame:
            raise FrameTooLarge(len(payload), self.max_frame)
        if self._failure is not None:
            raise TransportError("delayed link failed") from self._failure
        try:
            await self._line.send((trio.current_time(), payload))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportError("delayed link is closed") from (self._failure or exc)

    async def pump(self) -> None:
        """Write each queued frame at its stamp + delay until closed, aborted or failed.

        However it ends (cancelled too), `close` stops waiting for it.
        """
        try:
            with self._pump_scope:
                async with self._line_out:
                    async for stamp, payload in self._line_out:
                        await trio.sleep_until(stamp + self._delay)
                        try:
                            await FramedStream.send(self, payload)
                        except TransportError as exc:
                            logger.info(
                                "event=delayed_send_failed peer=%s error=%r", self.peer_id, exc
                            )
                            self._failure = exc
                            break
        finally:
            self._drained.set()

    async def close(self) -> None:
        """Let the frames in flight leave (at most delay + a margin), then half-close."""
        await self._line.aclose()
        try:
            with trio.move_on_after(self._delay + DRAIN_MARGIN_S):
                await self._drained.wait()
        finally:
            self._pump_scope.cancel()
            await super().close()

    async def abort(self) -> None:
        """Drop the frames in flight and reset the stream."""
        self._pump_scope.cancel()
        await self._line.aclose()
        await super().abort()


def check_link_delays(delays: Mapping[str, float]) -> dict[str, float]:
    """Validate peer -> one-way delay in seconds: finite and not negative."""
    out = {}
    for peer, delay in delays.items():
        value = float(delay)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"link delay to {peer} must be a finite number >= 0, got {delay!r}")
        out[peer] = value
    return out


class Transport:
    """A node's libp2p endpoint, used as `async with Transport(...) as t:`.

    `on_stream(peer_id, stream)` runs for each inbound stream from an allowed
    peer; the stream is closed when it returns (run the session inside it),
    and an exception from it is logged and resets the stream. Not re-entrant:
    build a new Transport to restart (same seed, same peer id). Leaving the
    block disconnects every peer first, then stops the host, and never raises
    because of the shutdown itself.
    """

    def __init__(
        self,
        seed32: bytes,
        *,
        allowlist: Iterable[str] = (),
        on_stream: StreamHandler | None = None,
        listen_addr: str = DEFAULT_LISTEN,
        max_frame: int = DEFAULT_MAX_FRAME,
        protocol: str = REPLICATE_PROTOCOL,
        timeout: float = 10.0,
        quiet_libp2p: bool = True,
        link_delays: Mapping[str, float] | None = None,
    ) -> None:
        self._key_pair = key_pair_from_seed(seed32)
        self._peer_id = peer_id_from_seed(seed32)
        try:
            self._listen = multiaddr.Multiaddr(listen_addr)
        except Exception as exc:
            raise TransportError(f"malformed listen multiaddr: {listen_addr!r}") from exc
        self._gate = AllowlistGate(allowlist)
        self._on_stream = on_stream
        self._max_frame = check_max_frame(max_frame)
        self._protocol = TProtocol(protocol)
        self._timeout = timeout
        self._host: IHost | None = None
        self._stack: AsyncExitStack | None = None
        self._nursery: trio.Nursery | None = None
        self._changed = trio.Event()
        self._link_delays = check_link_delays(link_delays or {})
        if quiet_libp2p:
            quiet_libp2p_logging()

    # -- identity and state -------------------------------------------------

    @property
    def peer_id(self) -> str:
        """This node's stable 12D3KooW... peer id."""
        return self._peer_id

    @property
    def listen_addrs(self) -> list[str]:
        """The bound listen multiaddrs (actual port if 0 was asked), without /p2p/."""
        return [str(a) for a in self._running_host().get_transport_addrs()]

    @property
    def allowlist(self) -> frozenset[str]:
        """The peer ids currently admitted."""
        return self._gate.allowed

    def is_allowed(self, peer_id: str) -> bool:
        """Whether `peer_id` may connect or be connected to now."""
        return self._gate.is_allowed(peer_id)

    def connected_peers(self) -> list[str]:
        """Peer ids with at least one open connection."""
        if self._host is None:
            return []
        return sorted(str(p) for p in self._host.get_connected_peers())

    def is_connected(self, peer_id: str) -> bool:
        """Whether `peer_id` has an open connection."""
        return peer_id in self.connected_peers()

    @property
    def link_delays(self) -> dict[str, float]:
        """Peer id -> one-way delay (s) added to frames written to that peer."""
        return dict(self._link_delays)

    def set_link_delays(self, delays: Mapping[str, float]) -> None:
        """Replace the link delays; streams opened from now on use them."""
        self._link_delays = check_link_delays(delays)

    def set_stream_handler(self, on_stream: StreamHandler | None) -> None:
        """Set the callback for inbound streams (None: refuse them)."""
        self._on_stream = on_stream

    async def wait_connected(self, peer_id: str) -> None:
        """Return once `peer_id` is connected (event-driven, no polling)."""
        await self._wait_until(lambda: self.is_connected(peer_id))

    async def wait_disconnected(self, peer_id: str) -> None:
        """Return once `peer_id` has no open connection."""
        await self._wait_until(lambda: not self.is_connected(peer_id))

    async def _wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            if self._host is None:
                raise TransportError("transport is not running")
            await self._changed.wait()

    # -- allowlist ----------------------------------------------------------

    async def set_allowlist(self, peer_ids: Iterable[str]) -> None:
        """Replace the allowlist and disconnect connected peers no longer on it."""
        self._gate.set_allowed(peer_ids)
        evicted = [p for p in self.connected_peers() if not self._gate.is_allowed(p)]
        async with trio.open_nursery() as nursery:
            for peer in evicted:
                logger.info("event=peer_evicted peer=%s", peer)
                nursery.start_soon(self.disconnect, peer)

    async def ban(self, peer_id: str, seconds: float) -> None:
        """Disconnect `peer_id` and refuse it, both ways, for `seconds`."""
        self._gate.ban(peer_id, seconds)
        logger.info("event=peer_banned peer=%s seconds=%.1f", peer_id, seconds)
        await self.disconnect(peer_id)

    # -- dialing and streams ------------------------------------------------

    async def connect(self, peer_id: str, addr: str) -> None:
        """Dial `peer_id` at multiaddr `addr` (a /p2p/ suffix is optional).

        Returns once the connection is up on our side. A remote that refuses
        us at its gate drops the connection a few ms later; `open_stream`
        then fails. Raises PeerNotAllowed or TransportError.
        """
        host = self._running_host()
        self._require_allowed(peer_id)
        info = PeerInfo(parse_peer_id(peer_id), [parse_dial_addr(peer_id, addr)])
        forget_dial_state(host, info.peer_id)
        with trio.move_on_after(self._timeout) as scope:
            try:
                await host.connect(info)
            except Exception as exc:
                logger.info("event=dial_failed peer=%s addr=%s error=%r", peer_id, addr, exc)
                raise TransportError(f"dial {peer_id} at {addr} failed: {exc!r}") from exc
        if scope.cancelled_caught:
            logger.info("event=dial_timeout peer=%s addr=%s", peer_id, addr)
            raise TransportError(f"dial {peer_id} at {addr} timed out")

    async def open_stream(self, peer_id: str) -> FramedStream:
        """Open a long-lived framed stream to a connected peer (never dials)."""
        host = self._running_host()
        self._require_allowed(peer_id)
        if not self.is_connected(peer_id):
            raise TransportError(f"not connected to {peer_id}")
        with trio.move_on_after(self._timeout) as scope:
            try:
                raw = await host.new_stream(parse_peer_id(peer_id), [self._protocol])
            except Exception as exc:
                logger.info("event=stream_open_failed peer=%s error=%r", peer_id, exc)
                raise TransportError(f"open stream to {peer_id} failed: {exc!r}") from exc
        if scope.cancelled_caught:
            raise TransportError(f"open stream to {peer_id} timed out")
        logger.debug("event=stream_opened direction=outbound peer=%s", peer_id)
        return self._frame(raw, peer_id)

    async def disconnect(self, peer_id: str) -> None:
        """Close every connection to `peer_id`; errors are logged, not raised."""
        if self._host is None:
            return
        try:
            await self._host.disconnect(parse_peer_id(peer_id))
        except Exception as exc:
            logger.info("event=disconnect_failed peer=%s error=%r", peer_id, exc)

    def _frame(self, raw: INetStream, peer_id: str) -> FramedStream:
        """Wrap a libp2p stream; a peer with a link delay gets a delay line pumped here."""
        delay = self._link_delays.get(peer_id, 0.0)
        if delay <= 0 or self._nursery is None:
            return FramedStream(Libp2pByteStream(raw), peer_id=peer_id, max_frame=self._max_frame)
        stream = DelayedFramedStream(
            Libp2pByteStream(raw), peer_id=peer_id, delay=delay, max_frame=self._max_frame
        )
        self._nursery.start_soon(stream.pump)
        logger.debug("event=link_delayed peer=%s delay_ms=%.1f", peer_id, delay * 1000)
        return stream

    def _require_allowed(self, peer_id: str) -> None:
        if not self._gate.is_allowed(peer_id):
            raise PeerNotAllowed(peer_id)

    def _running_host(self) -> IHost:
        if self._host is None:
            raise TransportError("transport is not running")
        return self._host

    # -- inbound streams and peer events ------------------------------------

    async def _handle_inbound(self, raw: INetStream) -> None:
        """libp2p stream handler: re-check the gate, then run the callback."""
        peer = str(raw.muxed_conn.peer_id)
        handler = self._on_stream
        if handler is None or not self._gate.is_allowed(peer):
            logger.info("event=stream_refused peer=%s has_handler=%s", peer, handler is not None)
            await Libp2pByteStream(raw).reset()
            return
        stream = self._frame(raw, peer)
        logger.debug("event=stream_opened direction=inbound peer=%s", peer)
        try:
            await handler(peer, stream)
        except TransportError as exc:
            logger.info("event=stream_ended peer=%s error=%r", peer, exc)
            await stream.abort()
        except Exception:
            logger.exception("event=stream_handler_failed peer=%s", peer)
            await stream.abort()
        finally:
            await stream.close()

    def _on_peer_change(self, peer_id: str, connected: bool) -> None:
        """Swarm notifee callback: log, wake waiters, evict peers that slipped in."""
        logger.info("event=%s peer=%s", "peer_connected" if connected else "peer_gone", peer_id)
        self._changed.set()
        self._changed = trio.Event()
        if connected and not self._gate.is_allowed(peer_id) and self._nursery is not None:
            # Admitted just before an allowlist change removed it.
            self._nursery.start_soon(self.disconnect, peer_id)

    # -- lifetime -----------------------------------------------------------

    async def __aenter__(self) -> Transport:
        if self._stack is not None:
            raise TransportError("transport already started")
        ensure_port_free(self._listen)
        host = build_host(self._key_pair, self._listen, self._gate)
        host.get_network().register_notifee(PeerEvents(self._on_peer_change))
        host.set_stream_handler(self._protocol, self._handle_inbound)
        self._stack = AsyncExitStack()
        try:
            await self._stack.enter_async_context(host.run([self._listen]))
            self._nursery = await self._stack.enter_async_context(trio.open_nursery())
        except Exception as exc:
            await self._stack.aclose()
            raise TransportError(f"cannot listen on {self._listen}: {exc!r}") from exc
        self._host = host
        logger.info("event=transport_started peer=%s addrs=%s", self._peer_id, self.listen_addrs)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        """Disconnect every peer, then stop the host (see the shutdown pitfall)."""
        assert self._stack is not None and self._nursery is not None and self._host is not None
        self._gate.deny_all()
        self._nursery.cancel_scope.cancel()
        self._nursery = None
        with trio.CancelScope(shield=True), trio.move_on_after(self._timeout):
            await self._disconnect_all()
            await close_listeners(self._host)
        try:
            await self._stack.__aexit__(exc_type, exc, tb)
        except BaseException as shutdown_exc:
            if exc is not None:
                raise
            _reraise_non_errors(shutdown_exc)
            logger.warning("event=shutdown_error error=%r", shutdown_exc)
        finally:
            self._host = None
            self._changed.set()
        logger.info("event=transport_stopped peer=%s", self._peer_id)
        return False

    async def _disconnect_all(self) -> None:
        """Disconnect until no peer is left (a dial may land meanwhile)."""
        for _ in range(3):
            peers = self.connected_peers()
            if not peers:
                return
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(self.disconnect, peer)


def _reraise_non_errors(exc: BaseException) -> None:
    """Re-raise the parts of `exc` that are not plain errors (Cancelled, KeyboardInterrupt)."""
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(Exception)
        if rest is not None:
            raise rest
    elif not isinstance(exc, Exception):
        raise exc


# -- reconnecting -----------------------------------------------------------


def backoff_delay(attempt: int, rng: random.Random, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2**attempt).

    Half the window is jitter so neighbours that lost each other at the same
    moment do not redial in lockstep; the other half guarantees a wait.
    """
    window = min(cap, base * (1 << min(attempt, 32)))
    return window / 2 + rng.uniform(0.0, window / 2)


async def keep_connected(
    transport: Transport,
    neighbours: Sequence[tuple[str, str]],
    rng: random.Random,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    stable_after: float = 10.0,
) -> None:
    """Keep every (peer_id, multiaddr) neighbour connected until cancelled.

    Each neighbour has its own loop: dial, wait for the connection to drop,
    dial again. Failures back off exponentially with jitter drawn from `rng`;
    a connection that lasted less than `stable_after` seconds (e.g. the
    remote's gate refused us) counts as a failure, so a refusing peer is not
    redialled in a tight loop.
    """
    async with trio.open_nursery() as nursery:
        for peer_id, addr in neighbours:
            nursery.start_soon(_keep_one, transport, peer_id, addr, rng, base, cap, stable_after)


async def _keep_one(
    transport: Transport,
    peer_id: str,
    addr: str,
    rng: random.Random,
    base: float,
    cap: float,
    stable_after: float,
) -> None:
    attempt = 0
    # Initial jitter: two neighbours starting together should not cross-dial.
    await trio.sleep(rng.uniform(0.0, base / 2))
    while True:
        if not transport.is_connected(peer_id):
            try:
                await transport.connect(peer_id, addr)
            except TransportError as exc:
                delay = backoff_delay(attempt, rng, base, cap)
                attempt += 1
                logger.info(
                    "event=redial_scheduled peer=%s attempt=%d delay=%.3f error=%s",
                    peer_id,
                    attempt,
                    delay,
                    type(exc).__name__,
                )
                await trio.sleep(delay)
                continue
        up_since = trio.current_time()
        await transport.wait_disconnected(peer_id)
        if trio.current_time() - up_since >= stable_after:
            attempt = 0
        delay = backoff_delay(attempt, rng, base, cap)
        attempt += 1
        logger.info("event=redial_scheduled peer=%s attempt=%d delay=%.3f", peer_id, attempt, delay)
        await trio.sleep(delay)
