"""Errors raised by the node's network layer (transport and framing).

They derive from `NoticenetError`, so callers can catch one root type; the
libp2p exceptions underneath never leak out of `noticenet.node.p2p.transport`.
"""

from __future__ import annotations

from noticenet.crypto.errors import NoticenetError


class TransportError(NoticenetError):
    """A dial, stream or I/O operation between peers failed."""


class PeerNotAllowed(TransportError):
    """The peer id is not on the connection allowlist."""

    def __init__(self, peer_id: str) -> None:
        super().__init__(f"peer not on allowlist: {peer_id}")
        self.peer_id = peer_id


class StreamEnded(TransportError):
    """The remote end closed the stream cleanly, at a frame boundary."""


class FrameTooLarge(TransportError):
    """A frame's length exceeds the configured maximum.

    Raised by the receiver after reading only the 4-byte header (the payload
    is never read: the stream is out of sync and the caller must close it),
    and by the sender before writing anything.
    """

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"frame of {length} bytes exceeds limit of {limit}")
        self.length = length
        self.limit = limit


class TruncatedFrame(TransportError):
    """The stream ended in the middle of a frame.

    `expected` and `received` count the bytes of the part being read: the
    4-byte header, or the payload the header announced.
    """

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(f"stream ended after {received} of {expected} bytes")
        self.expected = expected
        self.received = received


class NotReady(NoticenetError):
    """The node cannot do this yet (it has not learned its own feed's head from its peers)."""
