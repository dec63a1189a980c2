"""The libp2p host behind noticenet's transport: identity, gate and streams.

One host per node: TCP, Noise only, yamux only, one connection per peer, a
stable peer id derived from the node's 32-byte Ed25519 seed, and a connection
gate that admits only the peer ids on an allowlist (the roster). Everything
libp2p-specific stays in this module; callers see peer ids as strings,
multiaddrs as strings, `FramedStream`s and `TransportError`s.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, IMuxedConn, INetConn, INetStream, INetwork, INotifee, ISecureConn
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.auto_connector import AutoConnector
from libp2p.network.config import ConnectionConfig
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.rcmgr import ResourceManager
from libp2p.rcmgr.manager import ConnectionScope
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.muxer_multistream import MuxerMultistream
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.transport.exceptions import MuxerUpgradeFailure

from noticenet.node.errors import TransportError
from noticenet.node.p2p.framing import FramedStream

logger = logging.getLogger("noticenet.node.transport")

REPLICATE_PROTOCOL = "/noticenet/replicate/1"
DEFAULT_LISTEN = "/ip4/127.0.0.1/tcp/0"
SEED_SIZE = 32

StreamHandler = Callable[[str, FramedStream], Awaitable[None]]


def quiet_libp2p_logging(level: int = logging.CRITICAL) -> None:
    """Raise the `libp2p` loggers' threshold so churn and shutdown stay quiet.

    py-libp2p logs WARNING tracebacks and ERRORs for routine events (failed
    identify streams on connections a gate refused, churn, shutdown); the
    transport logs the failures that matter itself. Left alone when
    LIBP2P_DEBUG is set, so a developer can still turn libp2p logging on.
    """
    if os.environ.get("LIBP2P_DEBUG"):
        return
    logging.getLogger("libp2p").setLevel(level)


def key_pair_from_seed(seed32: bytes) -> KeyPair:
    """The libp2p Ed25519 key pair for a 32-byte seed (same key as PyNaCl's)."""
    if len(seed32) != SEED_SIZE:
        # An empty seed would silently give a random key in libp2p.
        raise TransportError(f"seed must be {SEED_SIZE} bytes, got {len(seed32)}")
    return create_new_key_pair(bytes(seed32))


def peer_id_from_seed(seed32: bytes) -> str:
    """The stable 12D3KooW... peer id of the node whose key seed is `seed32`."""
    return ID.from_pubkey(key_pair_from_seed(seed32).public_key).to_base58()


def parse_peer_id(peer_id: str) -> ID:
    """Parse a base58 peer id string; TransportError if malformed."""
    try:
        pid = ID.from_base58(peer_id)
    except Exception as exc:
        raise TransportError(f"malformed peer id: {peer_id!r}") from exc
    if not peer_id or pid.to_base58() != peer_id:
        raise TransportError(f"malformed peer id: {peer_id!r}")
    return pid


def parse_dial_addr(peer_id: str, addr: str) -> multiaddr.Multiaddr:
    """Parse a dial multiaddr, dropping a trailing /p2p/<id> that matches `peer_id`."""
    try:
        maddr = multiaddr.Multiaddr(addr)
    except Exception as exc:
        raise TransportError(f"malformed multiaddr: {addr!r}") from exc
    try:
        embedded = maddr.value_for_protocol("p2p")
    except Exception:
        embedded = None
    if not embedded:
        return maddr
    if embedded != peer_id:
        raise TransportError(f"multiaddr {addr} names another peer than {peer_id}")
    return maddr.decapsulate(multiaddr.Multiaddr(f"/p2p/{embedded}"))


class AllowlistGate(ResourceManager):
    """A resource manager that admits only connections from allowed peer ids.

    The swarm asks twice per connection: before the Noise handshake with
    peer_id=None (let through: the peer is not authenticated yet) and after it
    with the authenticated id, inbound and outbound alike. Returning None
    refuses the connection before any protocol sees the peer.
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        super().__init__()
        # Not `allowlist`: ResourceManager already uses that name for limits.
        self._allowed_ids: frozenset[str] = frozenset(allowed)
        self._deny_all = False
        self._banned: dict[str, float] = {}  # peer id -> monotonic time the ban ends

    @property
    def allowed(self) -> frozenset[str]:
        """The peer ids currently admitted."""
        return self._allowed_ids

    def is_allowed(self, peer_id: str) -> bool:
        """Whether a connection from or to `peer_id` would be admitted now."""
        return (
            not self._deny_all and peer_id in self._allowed_ids and not self.banned(peer_id)
        )

    def ban(self, peer_id: str, seconds: float) -> None:
        """Refuse `peer_id` for `seconds` (a member that broke the protocol repeatedly)."""
        self._banned[peer_id] = time.monotonic() + seconds

    def banned(self, peer_id: str) -> bool:
        """Whether `peer_id` is under a ban now."""
        until = self._banned.get(peer_id)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        del self._banned[peer_id]
        return False

    def set_allowed(self, peer_ids: Iterable[str]) -> frozenset[str]:
        """Replace the allowlist; return the ids that were removed."""
        new = frozenset(peer_ids)
        removed = self._allowed_ids - new
        self._allowed_ids = new
        logger.info("event=allowlist_set size=%d removed=%d", len(new), len(removed))
        return removed

    def deny_all(self) -> None:
        """Refuse every new connection, even before the handshake (shutdown)."""
        self._deny_all = True

    def open_connection(
        self,
        peer_id: Any | None = None,
        endpoint_ip: str | None = None,
        direction: str = "inbound",
    ) -> ConnectionScope | None:
        """Admit the connection if its peer is allowed (or not yet known)."""
        if self._deny_all:
            return None
        if peer_id is not None and not self.is_allowed(str(peer_id)):
            logger.info("event=gate_refused peer=%s direction=%s", peer_id, direction)
            return None
        return super().open_connection(peer_id, endpoint_ip=endpoint_ip, direction=direction)


class _NoAutoConnector(AutoConnector):
    """Disables the swarm's own dialer.

    Left on, it re-dials every peer in the peerstore (every 10 s while below
    min_connections), including peers just removed from the allowlist, and
    ignores our backoff. `keep_connected` is the only dialer.
    """

    async def maybe_connect(self) -> None:
        """Never dial on our behalf."""
        return None


class ReaderSafeYamux(Yamux):
    """Yamux whose receive loop never waits to write (a py-libp2p 0.8.1 deadlock).

    In 0.8.1 the receive loop writes control frames itself (the ACK of a new
    inbound stream, RST, ping replies) under the connection's write lock. With
    both directions saturated, each side's sender holds its lock while blocked
    on a full socket, and each side's receive loop waits for that lock to send
    an ACK, so neither side drains its socket: the connection hangs forever
    (seen within a second when streams are opened during bidirectional bulk
    traffic). Here the receive loop only queues control frames; a companion
    task writes them.
    """

    MAX_QUEUED = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader_task: trio.lowlevel.Task | None = None
        self._queued: deque[bytes] = deque()
        self._queued_event = trio.Event()

    async def start(self) -> None:
        """Run the muxer plus the task that writes the receive loop's frames."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._flush_queued)
            try:
                await super().start()
            finally:
                nursery.cancel_scope.cancel()

    async def handle_incoming(self) -> None:
        """The receive loop; remember its task so its writes can be queued."""
        self._reader_task = trio.lowlevel.current_task()
        await super().handle_incoming()

    async def _write_frame(self, data: bytes) -> None:
        if trio.lowlevel.current_task() is not self._reader_task:
            await super()._write_frame(data)
            return
        if len(self._queued) >= self.MAX_QUEUED:
            # Only control frames land here; losing one is harmless (a peer
            # flooding them while not reading is misbehaving anyway).
            logger.warning("event=yamux_control_dropped peer=%s", self.peer_id)
            return
        self._queued.append(data)
        self._queued_event.set()

    async def _flush_queued(self) -> None:
        while True:
            await self._queued_event.wait()
            self._queued_event = trio.Event()
            while self._queued:
                try:
                    await super()._write_frame(self._queued.popleft())
                except Exception as exc:
                    logger.debug("event=yamux_control_write_failed error=%r", exc)
                    return


class _SafeMuxerMultistream(MuxerMultistream):
    """Builds the negotiated muxer class (0.8.1 ignores it and builds plain Yamux)."""

    async def new_conn(self, conn: ISecureConn, peer_id: ID) -> IMuxedConn:
        protocol, muxer_class = await self._selector.select(
            conn, conn.is_initiator, self.negotiate_timeout
        )
        if muxer_class is None:
            raise MuxerUpgradeFailure(f"no muxer for {protocol}")
        return self._annotate_connection(muxer_class(conn, peer_id), conn, protocol)


def ensure_port_free(listen_addr: multiaddr.Multiaddr) -> None:
    """Refuse a fixed TCP port that another listener already holds.

    0.8.1 listens with SO_REUSEPORT, so a second node on the same port would
    bind without error and the kernel would split incoming connections
    between the two. A probe bind without SO_REUSEPORT fails in that case
    (SO_REUSEADDR keeps a restart's TIME_WAIT sockets from tripping it).
    """
    try:
        port = int(listen_addr.value_for_protocol("tcp") or 0)
    except Exception:
        return
    if port == 0:
        return
    family, host = socket.AF_INET, "0.0.0.0"
    for proto, fam in (("ip4", socket.AF_INET), ("ip6", socket.AF_INET6)):
        try:
            value = listen_addr.value_for_protocol(proto)
        except Exception:
            continue
        if value:
            family, host = fam, str(value)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TransportError(f"cannot listen on {listen_addr}: {exc}") from exc


def build_host(key_pair: KeyPair, listen_addr: multiaddr.Multiaddr, gate: AllowlistGate) -> IHost:
    """A libp2p host with TCP, Noise only, yamux only and one connection per peer."""
    # By default 0.8.1's yamux sends a WINDOW_UPDATE after every read; "0"
    # restores go-yamux's half-window batching (~1.5x fewer CPU per small frame).
    os.environ.setdefault("PY_YAMUX_RELEASE_ON_READ", "0")
    noise = NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)
    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: noise},
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): ReaderSafeYamux},
        listen_addrs=[listen_addr],
        # One connection per peer also avoids a fixed 250 ms dial delay.
        connection_config=ConnectionConfig(max_connections_per_peer=1),
        resource_manager=gate,
    )
    network = host.get_network()
    if isinstance(network, Swarm):
        network.auto_connector = _NoAutoConnector(network)
        network.upgrader.muxer_multistream = _SafeMuxerMultistream(
            {TProtocol(YAMUX_PROTOCOL_ID): ReaderSafeYamux},
            network.upgrader.muxer_multistream.negotiate_timeout,
        )
    return host


def forget_dial_state(host: IHost, peer_id: ID) -> None:
    """Make the next dial use only the address given now, and not be refused.

    libp2p dials every address in its peerstore (stale ports of a restarted
    peer included) and refuses for 60 s to redial a peer whose dial failed:
    that would override `keep_connected`'s own backoff.
    """
    if peer_id in host.get_connected_peers():
        return
    host.get_peerstore().clear_addrs(peer_id)
    network = host.get_network()
    if isinstance(network, Swarm):
        network.unblock_peer(peer_id)


async def close_listeners(host: IHost) -> None:
    """Close the host's listening sockets.

    0.8.1's swarm closes them in a `finally` that runs already cancelled, so
    the socket stays bound (and accepting) after the host's context exits.
    """
    for listener in list(host.get_network().listeners.values()):
        try:
            await listener.close()
        except Exception as exc:
            logger.debug("event=listener_close_failed error=%r", exc)


class Libp2pByteStream:
    """Adapts a libp2p stream to `ByteStream`: b"" at EOF, TransportError on failure."""

    def __init__(self, stream: INetStream) -> None:
        self._stream = stream

    async def read(self, n: int) -> bytes:
        """Return up to n bytes, b"" at end of stream."""
        try:
            return await self._stream.read(n)
        except StreamEOF:
            return b""
        except Exception as exc:
            raise TransportError(f"stream read failed: {exc!r}") from exc

    async def write(self, data: bytes) -> None:
        """Write all bytes (yamux blocks on flow control, fails after 5 s stalled)."""
        try:
            await self._stream.write(data)
        except Exception as exc:
            raise TransportError(f"stream write failed: {exc!r}") from exc

    async def close(self) -> None:
        """Half-close; errors are logged, not raised."""
        try:
            await self._stream.close()
        except Exception as exc:
            logger.debug("event=stream_close_failed error=%r", exc)

    async def reset(self) -> None:
        """Reset both directions; errors are logged, not raised."""
        try:
            await self._stream.reset()
        except Exception as exc:
            logger.debug("event=stream_reset_failed error=%r", exc)


def _peer_of(conn: INetConn) -> str:
    return str(conn.muxed_conn.peer_id)


class PeerEvents(INotifee):
    """Forwards swarm connect/disconnect events to the transport."""

    def __init__(self, on_change: Callable[[str, bool], None]) -> None:
        self._on_change = on_change

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._on_change(_peer_of(conn), True)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._on_change(_peer_of(conn), False)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None
