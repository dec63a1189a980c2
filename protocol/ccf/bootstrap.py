"""Building a network's first roster: members, group keys, the guard key.

Used by `noticenet init`, the demo, the simulator and the tests, so every
network is made the same way. Group keys come in as public keys plus a
signing callable, so the caller chooses a DKG or (tests only) a dealer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from noticenet.crypto import sender_keys
from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import (
    GOVERNANCE_FEED,
    GroupKey,
    MemberEntry,
    Role,
    Roster,
)
from noticenet.protocol.records.sealing import Draft, seal_entry

Signer = Callable[[bytes], bytes]


@dataclass(frozen=True)
class MemberSpec:
    """A member to put on the roster, with its secret keys (held by its own node)."""

    id: str
    role: Role
    name: str
    keys: MemberKeys
    scopes: tuple[str, ...] = ()
    addrs: tuple[str, ...] = ()
    peer_id: str = ""

    def entry(self) -> MemberEntry:
        public = self.keys.public
        return MemberEntry(
            id=self.id,
            role=self.role,
            name=self.name,
            signing_key=public.signing_key,
            encryption_key=public.encryption_key,
            peer_id=self.peer_id,
            addrs=self.addrs,
            scopes=self.scopes,
        )


@dataclass(frozen=True)
class GroupSpec:
    """A threshold group: its public key, t of n, and how to sign with it."""

    public_key: bytes
    threshold: int
    size: int
    sign: Signer = field(repr=False, compare=False)

    def key(self) -> GroupKey:
        return GroupKey(self.public_key, self.threshold, self.size)


def build_roster(
    version: int,
    members: Sequence[MemberSpec],
    governance: GroupSpec,
    block: GroupSpec,
    revoke: GroupSpec,
    guard_key: bytes,
) -> Roster:
    """A roster with the guard key wrapped to every member."""
    wraps = {m.id: sender_keys.wrap(guard_key, m.keys.public.encryption_key) for m in members}
    return Roster(
        version=version,
        members=tuple(m.entry() for m in members),
        governance=governance.key(),
        block=block.key(),
        revoke=revoke.key(),
        guard_key_wraps=wraps,
    )


def threshold_entry(
    feed: str,
    head: tuple[int, bytes] | None,
    now_ms: int,
    kind: str,
    record: Any,
    sign: Signer,
) -> Entry:
    """The next entry of a threshold feed (roster or CCF), public, signed by `sign`."""
    seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
    return seal_entry(Draft(feed, seq, prev, now_ms, kind, record), None, sign)


def genesis(roster: Roster, governance: GroupSpec, now_ms: int) -> Entry:
    """The first roster entry of a network, signed by the governance group."""
    return threshold_entry(GOVERNANCE_FEED, None, now_ms, "roster", roster, governance.sign)
