"""Enforcing CCF actions in the ledger, in whatever order entries arrive.

A CCF status is kept per *target id*, so an action that arrives before its
target applies when the target arrives. Guards are kept per tag; a readmit
names the one entry id allowed through. Every change here is written in the
same batch as the action entry itself.

Guards have two tiers (record-format 5.4). A *same* tag (`g/`) refuses an entry's
body. A *similar* tag (`y/`) holds it: the body is kept but hidden from every
answer (`l/<id>`) until the CCF releases the entry (`v/<id>`, which also keeps
it from being held again) or revokes it. Whether an entry is held depends only on
its header and on the CCF feed, so every node reaches the same state in any order.
"""

from __future__ import annotations

from typing import Protocol

from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import CCFAction
from noticenet.protocol.store.keyspace import Txn, key
from noticenet.protocol.store.kvstore import KVStore


class LedgerView(Protocol):
    """What enforcement needs of the ledger: its store, and deleting a body."""

    @property
    def store(self) -> KVStore: ...

    def tombstone_body(
        self, txn: Txn, eid: bytes, reason: str, now_ms: int, by: bytes = b""
    ) -> None: ...


def guarded(txn: Txn, entry: Entry) -> bool:
    """True if a guard tag of `entry` is blocked and no readmit lets this entry through."""
    hits = [tag for tag in entry.header.guards if txn.get(key(b"g", tag)) is not None]
    return bool(hits) and txn.get(key(b"a", entry.id)) is None


def guard_hits(txn: Txn, tags: tuple[bytes, ...]) -> list[bytes]:
    """The tags among `tags` that a revocation guards (same tier)."""
    return [tag for tag in tags if txn.get(key(b"g", tag)) is not None]


def similar_hits(txn: Txn, tags: tuple[bytes, ...]) -> list[bytes]:
    """The tags among `tags` that a revocation holds (similar tier)."""
    return [tag for tag in tags if txn.get(key(b"y", tag)) is not None]


def holds(txn: Txn, entry: Entry) -> bool:
    """True if a similar guard holds `entry` and the CCF has neither released nor
    readmitted it (call once no same-tier guard refuses it)."""
    return (
        bool(similar_hits(txn, entry.header.guards))
        and txn.get(key(b"v", entry.id)) is None
        and txn.get(key(b"a", entry.id)) is None
    )


def apply(
    ledger: LedgerView, txn: Txn, action_id: bytes, action: CCFAction, now_ms: int, issued_at: int
) -> None:
    """Apply a verified CCF action (block, unblock, revoke, readmit).

    Block and unblock travel in different feeds, so they may arrive in either
    order: the later decision (by issue time) wins wherever they meet.
    """
    if action.action == "block":
        for target in action.targets:
            unblocked = txn.get(key(b"u", target))
            if unblocked is None or int(decode(unblocked)) < issued_at:
                _set_status(txn, target, "blocked", action_id, issued_at)
    elif action.action == "unblock":
        for target in action.targets:
            _unblock(txn, target, issued_at)
    elif action.action == "revoke":
        _revoke(ledger, txn, action_id, action, now_ms, issued_at)
    elif action.action == "readmit" and action.admit is not None:
        txn.put(key(b"a", action.admit), action_id)
        txn.delete(key(b"l", action.admit))
    elif action.action == "release":
        for target in action.targets:
            txn.put(key(b"v", target), action_id)
            txn.delete(key(b"l", target))


def _unblock(txn: Txn, target: bytes, issued_at: int) -> None:
    raw = txn.get(key(b"u", target))
    if raw is None or int(decode(raw)) < issued_at:
        txn.put(key(b"u", target), encode(issued_at))
    status = txn.get(key(b"s", target))
    if status is not None:
        current = decode(status)
        if current["state"] == "blocked" and current.get("at", 0) <= issued_at:
            txn.delete(key(b"s", target))


def _set_status(txn: Txn, target: bytes, state: str, action_id: bytes, issued_at: int) -> None:
    raw = txn.get(key(b"s", target))
    if raw is not None and decode(raw)["state"] == "revoked":
        return  # a revocation is final; a later block changes nothing
    txn.put(key(b"s", target), encode({"state": state, "by": action_id, "at": issued_at}))


def _revoke(
    ledger: LedgerView, txn: Txn, action_id: bytes, action: CCFAction, now_ms: int, issued_at: int
) -> None:
    for target in action.targets:
        _set_status(txn, target, "revoked", action_id, issued_at)
        if txn.get(key(b"e", target)) is not None:
            ledger.tombstone_body(txn, target, "revoked", now_ms, by=action_id)
    for tag in action.guards:
        _guard(txn, b"g", tag, action_id)
        _sweep(ledger, txn, tag, action_id, now_ms)
    for tag in action.similar or ():
        _guard(txn, b"y", tag, action_id)
        _sweep_similar(ledger, txn, tag)
    txn.put(key(b"o", action_id), encode(list(action.targets)))


def _guard(txn: Txn, table: bytes, tag: bytes, action_id: bytes) -> None:
    """Add `action_id` to the actions guarding `tag` in `table` (g: same, y: similar)."""
    raw = txn.get(key(table, tag))
    ids = [] if raw is None else list(decode(raw))
    if action_id not in ids:
        txn.put(key(table, tag), encode(sorted([*ids, action_id])))


def _entries_with_tag(ledger: LedgerView, txn: Txn, tag: bytes) -> list[bytes]:
    """The ids of entries held (header stored) whose header carries `tag`."""
    prefix = key(b"w", tag)
    held = {k[len(prefix) :] for k, _ in ledger.store.iterate(prefix)}
    held.update(k[len(prefix) :] for k in txn.pending if k.startswith(prefix))
    return sorted(held)


def _sweep_similar(ledger: LedgerView, txn: Txn, tag: bytes) -> None:
    """Hold the entries already stored that carry a newly held tag, as if it had been
    held when they arrived (their bodies stay; nothing is deleted)."""
    for eid in _entries_with_tag(ledger, txn, tag):
        if (
            txn.get(key(b"t", eid)) is None
            and txn.get(key(b"v", eid)) is None
            and txn.get(key(b"a", eid)) is None
        ):
            txn.put(key(b"l", eid), b"")


def _sweep(ledger: LedgerView, txn: Txn, tag: bytes, action_id: bytes, now_ms: int) -> None:
    """Refuse the bodies of entries held already that carry a newly guarded tag.

    An entry that arrives after the guard is refused on the way in; one that
    arrived before it (a re-entry that outran the revocation, or its bare
    header relayed by a node that refused the body) must end the same way, or
    nodes that saw the two in different orders hold different states.
    """
    for eid in _entries_with_tag(ledger, txn, tag):
        if txn.get(key(b"t", eid)) is None and txn.get(key(b"a", eid)) is None:
            ledger.tombstone_body(txn, eid, "reentry-blocked", now_ms, by=action_id)
