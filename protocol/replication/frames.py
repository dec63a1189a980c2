"""Replication frames: the messages peers exchange over `/noticenet/replicate/1`.

Each frame is one canonical CBOR map `{"t": type, "v": 1, ...fields}` carried
in one length-prefixed transport frame (docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.records.schema import from_map, to_map

VERSION = 1
MAX_FRAME_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Hello:
    """First frame each way: who we are, what we hold, how many entries we accept unacked."""

    member: str
    frontier: dict[str, int]
    credit: int


@dataclass(frozen=True)
class Have:
    """A lazy announcement: the latest seq we hold for some feeds."""

    frontier: dict[str, int]


@dataclass(frozen=True)
class Want:
    """Subscribe: push me these feeds from these seqs on, now and as they grow."""

    feeds: dict[str, int]


@dataclass(frozen=True)
class Dont:
    """Unsubscribe: stop pushing these feeds eagerly (announce them lazily instead)."""

    authors: tuple[str, ...]


@dataclass(frozen=True)
class Entries:
    """A batch of wire-encoded entries, in feed order per author."""

    entries: tuple[bytes, ...]


@dataclass(frozen=True)
class Ack:
    """Return `n` entries of credit to the sender (flow control)."""

    n: int


Frame = Hello | Have | Want | Dont | Entries | Ack
TYPES: dict[str, type[Any]] = {
    "hello": Hello,
    "have": Have,
    "want": Want,
    "dont": Dont,
    "entries": Entries,
    "ack": Ack,
}
NAMES = {cls: name for name, cls in TYPES.items()}


def encode_frame(frame: Frame) -> bytes:
    return encode({"t": NAMES[type(frame)], "v": VERSION, **to_map(frame)})


def decode_frame(data: bytes) -> Frame:
    """Parse one frame strictly; CodecError or SchemaError on anything malformed."""
    doc = decode(data, max_bytes=MAX_FRAME_BYTES)
    if not isinstance(doc, dict):
        raise CodecError("a frame is a map")
    kind, version = doc.pop("t", None), doc.pop("v", None)
    if version != VERSION:
        raise SchemaError(f"unknown frame version {version!r}")
    cls = TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise SchemaError(f"unknown frame type {kind!r}")
    frame: Frame = from_map(cls, doc, kind)
    return frame
