"""The record files ceremonies exchange: canonical CBOR maps with a `type` and a version.

Signing (ceremony.py) and key generation (dkg_setup.py, dkg_ceremony.py) read
their files the same way: one map, of a known type and version, with exactly the
fields its type has; each field checked as it is taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.records.codec import decode

VERSION = 1
"""The version (`v`) of every ceremony record file."""


def read_record(
    data: bytes, kind: str | tuple[str, ...], names: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    """Decode a record file: a canonical map whose `type` is `kind` (or one of them), `v`
    is VERSION, and whose other fields are `names` and any of `optional` (which may be
    absent: a file written before they existed)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    doc = decode(data)
    if not isinstance(doc, dict) or doc.get("type") not in kinds:
        raise CodecError(f"not a {' or '.join(kinds)} record")
    if doc.get("v") != VERSION:
        raise CodecError(f"unknown {doc['type']} version {doc.get('v')!r}")
    required, allowed = {"type", "v", *names}, {"type", "v", *names, *optional}
    if not required <= set(doc) <= allowed:
        raise SchemaError(f"{doc['type']}: fields are {sorted(doc)}")
    return doc


def as_bytes(value: Any, name: str, size: int | None = 32) -> bytes:
    """`value` if it is bytes of `size` (any size if None), else SchemaError naming it."""
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise SchemaError(f"{name} must be {size} bytes" if size else f"{name} must be bytes")
    return value


def as_int(value: Any, name: str) -> int:
    """`value` if it is an integer (not a bool), else SchemaError naming it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchemaError(f"{name} must be an integer")
    return value
