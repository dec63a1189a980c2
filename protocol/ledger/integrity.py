"""The quick integrity check a node runs on every start, and the store's identity marker.

Sans-IO: both work on a `Ledger` over any `KVStore`. The check is the
start-up subset of the verification pass (`audit.check_recent`): every
feed's header keys are walked for gaps in seqs 1..head, each frontier
`f/<author>` must name its feed's last header, and the last `TAIL` entries
of each feed get the full per-entry checks (signature, chain, body hash,
maps). It reads each header once and verifies `TAIL` signatures per feed,
so it costs one pass over `h/` (0.18 s at 100,000 entries; docs/protocol.md,
section 8); `noticenet verify` still runs the whole pass.

The identity marker `m/identity` names the member and the governance anchor
a store was created for, so a node never runs on another member's store, or
on a store of another network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from noticenet.crypto.errors import NoticenetError
from noticenet.protocol.ledger.audit import Problem, check_recent
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.store.keyspace import key
from noticenet.protocol.store.kvstore import KVStore

TAIL = 8
"""Entries at the end of each feed whose signature, chain and body are verified on start."""

IDENTITY_KEY = key(b"m", b"identity")


@dataclass(frozen=True)
class StoreIdentity:
    member: str
    anchor: bytes


def write_identity(store: KVStore, member: str, anchor: bytes) -> None:
    """Mark `store` as `member`'s on the network of governance key `anchor` (synced)."""
    batch = store.batch()
    batch.put(IDENTITY_KEY, encode({"member": member, "anchor": anchor}))
    batch.commit(sync=True)


def read_identity(store: KVStore) -> StoreIdentity | None:
    """The store's identity marker; None if it has none or it does not decode."""
    raw = store.get(IDENTITY_KEY)
    if raw is None:
        return None
    try:
        value: Any = decode(raw)
        return StoreIdentity(str(value["member"]), bytes(value["anchor"]))
    except (NoticenetError, KeyError, TypeError, ValueError):
        return None


def quick_check(ledger: Ledger, tail: int = TAIL) -> list[Problem]:
    """Problems the start-up check finds (empty if the store may be served)."""
    return check_recent(ledger, tail)


def describe(problems: list[Problem]) -> str:
    """The problems in a few words for a one-line refusal: the first, and how many more.

    Names positions and what is wrong, never a record's content.
    """
    if not problems:
        return "no problems"
    first = problems[0]
    where = f"feed {first.author} seq {first.seq}" if first.author else "store"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.what}{more}"
