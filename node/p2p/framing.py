"""Length-prefixed frames over a byte stream.

A frame is a 4-byte big-endian unsigned length followed by that many payload
bytes. The framing knows nothing of libp2p: it runs over any `ByteStream`
(read returns b"" at end of stream), so the libp2p adapter is the only place
that translates libp2p exceptions.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import AsyncIterator
from typing import Protocol

import trio

from noticenet.node.errors import FrameTooLarge, StreamEnded, TransportError, TruncatedFrame

logger = logging.getLogger("noticenet.node.transport")

HEADER = struct.Struct(">I")
DEFAULT_MAX_FRAME = 4 * 1024 * 1024
MAX_ENCODABLE = 2**32 - 1


class ByteStream(Protocol):
    """The raw stream a `FramedStream` runs over."""

    async def read(self, n: int) -> bytes:
        """Return 1..n bytes, or b"" at end of stream; raise TransportError on failure."""
        ...

    async def write(self, data: bytes) -> None:
        """Write all of `data`; raise TransportError on failure."""
        ...

    async def close(self) -> None:
        """Half-close: no more writes from this side. Must not raise."""
        ...

    async def reset(self) -> None:
        """Abort both directions. Must not raise."""
        ...


def check_max_frame(max_frame: int) -> int:
    """Validate a frame-size limit: it must fit the 4-byte header."""
    if not 0 < max_frame <= MAX_ENCODABLE:
        raise ValueError(f"max_frame must be in 1..{MAX_ENCODABLE}, got {max_frame}")
    return max_frame


def encode_frame(payload: bytes, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """Return header + payload; FrameTooLarge if the payload exceeds `max_frame`."""
    if len(payload) > max_frame:
        raise FrameTooLarge(len(payload), max_frame)
    return HEADER.pack(len(payload)) + payload


class FramedStream:
    """A bidirectional stream of frames with one remote peer.

    `send` and `receive` may run in different tasks; each is serialised by its
    own lock so concurrent senders never interleave frames. After a framing
    error (oversized or truncated frame), or a receive cancelled midway, the
    read side is out of sync, and after a send that failed or was cancelled
    midway the write side is: later calls on that side raise TransportError,
    and `close()` resets the stream.
    """

    def __init__(
        self, stream: ByteStream, *, peer_id: str, max_frame: int = DEFAULT_MAX_FRAME
    ) -> None:
        self._stream = stream
        self._peer_id = peer_id
        self._max_frame = check_max_frame(max_frame)
        self._send_lock = trio.Lock()
        self._recv_lock = trio.Lock()
        self._desynced = False
        self._mid_frame = False
        self._send_broken = False
        self._closed = False

    @property
    def peer_id(self) -> str:
        """The authenticated peer id (12D3KooW...) of the remote end."""
        return self._peer_id

    @property
    def max_frame(self) -> int:
        """The largest payload this stream sends or accepts, in bytes."""
        return self._max_frame

    async def send(self, payload: bytes) -> None:
        """Send one frame. FrameTooLarge (nothing sent) if over the limit."""
        frame = encode_frame(payload, self._max_frame)
        async with self._send_lock:
            if self._send_broken:
                raise TransportError("stream out of sync after an interrupted send")
            try:
                await self._stream.write(frame)
            except BaseException:
                # Part of the frame may be on the wire: nothing valid can follow.
                self._send_broken = True
                raise

    async def receive(self) -> bytes:
        """Receive one frame's payload.

        Raises StreamEnded on a clean end at a frame boundary, TruncatedFrame on
        an end mid-frame, FrameTooLarge on an oversized header (payload left
        unread), TransportError on any other failure.
        """
        async with self._recv_lock:
            if self._desynced:
                raise TransportError("stream out of sync after a framing error")
            self._mid_frame = False
            try:
                return await self._receive_frame()
            except (FrameTooLarge, TruncatedFrame):
                self._desynced = True
                raise
            except BaseException:
                # Cancelled (or failed) after part of a frame was consumed.
                if self._mid_frame:
                    self._desynced = True
                raise

    async def _receive_frame(self) -> bytes:
        """Read one header and its payload."""
        header = await self._read_exact(HEADER.size)
        if not header:
            raise StreamEnded("stream ended")
        (length,) = HEADER.unpack(header)
        if length > self._max_frame:
            logger.warning(
                "event=frame_too_large peer=%s length=%d limit=%d",
                self._peer_id,
                length,
                self._max_frame,
            )
            raise FrameTooLarge(length, self._max_frame)
        payload = await self._read_exact(length)
        if len(payload) != length:
            raise TruncatedFrame(length, 0)
        return payload

    async def _read_exact(self, n: int) -> bytes:
        """Read exactly n bytes, looping over short reads; TruncatedFrame on early EOF.

        Returns b"" only when n > 0 and the stream was already at EOF (no byte
        read), so the caller can tell a clean end from a cut-off frame.
        """
        if n == 0:
            return b""
        first = await self._stream.read(n)
        if first:
            self._mid_frame = True
        if len(first) == n or not first:
            return first
        buf = bytearray(first)
        while len(buf) < n:
            chunk = await self._stream.read(n - len(buf))
            if not chunk:
                raise TruncatedFrame(n, len(buf))
            buf += chunk
        return bytes(buf)

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Iterate over received payloads until the remote ends the stream."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while True:
            try:
                payload = await self.receive()
            except StreamEnded:
                return
            yield payload

    async def close(self) -> None:
        """Finish sending (half-close); the remote's receive raises StreamEnded.

        A stream out of sync after a framing error is reset instead: nothing
        it carries can be trusted. Idempotent and never raises.
        """
        if self._closed:
            return
        if self._desynced or self._send_broken:
            await self.abort()
            return
        self._closed = True
        await self._stream.close()

    async def abort(self) -> None:
        """Reset the stream in both directions, e.g. after a framing error."""
        self._closed = True
        await self._stream.reset()
