"""Governance bodies: the member roster and the CCF's actions.

Both are public (not encrypted): every node must read the roster to gate
connections and check authors, and every node must enforce CCF actions. A CCF
action carries no complainant data: targets are entry ids, guards are keyed
hashes, the decision is a reference into the CCF's own case files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.records import check_member_id

Role = Literal["member", "partner", "ccf"]
GOVERNANCE_FEED = "#GOV"
CCF_FEED = "#CCF"
CCF_BLOCK_FEED = "#CCF-BLOCK"
THRESHOLD_FEEDS = (GOVERNANCE_FEED, CCF_FEED, CCF_BLOCK_FEED)

REASONS = ("article-2", "article-3", "inaccurate", "expired-purpose", "unlawful", "other")


@dataclass(frozen=True)
class MemberEntry:
    """One member on the roster: its role, keys and where to reach it.

    A partner reads and issues only the kinds in `scopes`; members and the
    CCF read everything broadcast.
    """

    id: str
    role: Role
    name: str
    signing_key: bytes
    encryption_key: bytes
    peer_id: str = ""
    addrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_member_id(self.id)
        if len(self.signing_key) != 32 or len(self.encryption_key) != 32:
            raise SchemaError(f"member {self.id}: keys are 32 bytes")
        if self.role == "partner" and not self.scopes:
            raise SchemaError(f"partner {self.id} needs at least one scope")


@dataclass(frozen=True)
class GroupKey:
    """A FROST group public key and the t-of-n it was generated for."""

    public_key: bytes
    threshold: int
    size: int

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise SchemaError("a group key is 32 bytes")
        if not 1 <= self.threshold <= self.size:
            raise SchemaError("a group key needs 1 <= threshold <= size")


@dataclass(frozen=True)
class Roster:
    """The member list and group keys; entry kind `roster` in the #GOV feed."""

    version: int
    members: tuple[MemberEntry, ...]
    governance: GroupKey
    block: GroupKey
    revoke: GroupKey
    guard_key_wraps: dict[str, bytes]

    def __post_init__(self) -> None:
        ids = [m.id for m in self.members]
        if len(set(ids)) != len(ids):
            raise SchemaError("roster member ids repeat")
        if self.block.public_key == self.revoke.public_key:
            raise SchemaError("the block and revoke keys must differ")
        unknown = set(self.guard_key_wraps) - set(ids)
        if unknown:
            raise SchemaError(f"guard key wrapped for non-members {sorted(unknown)}")

    def member(self, member_id: str) -> MemberEntry | None:
        return self._by_id.get(member_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, MemberEntry]:
        """Members by id (every entry checked looks its author up, at 196 members)."""
        return {m.id: m for m in self.members}

    def readers(self, kind: str) -> tuple[MemberEntry, ...]:
        """Who reads a broadcast body of `kind`: members, the CCF, partners scoped to it."""
        return tuple(m for m in self.members if m.role != "partner" or kind in m.scopes)

    def ccf_members(self) -> tuple[MemberEntry, ...]:
        return tuple(m for m in self.members if m.role == "ccf")

    def threshold_key(self, feed: str) -> bytes:
        """The group key that signs a threshold feed."""
        keys = {GOVERNANCE_FEED: self.governance, CCF_FEED: self.revoke, CCF_BLOCK_FEED: self.block}
        return keys[feed].public_key


CCFActionName = Literal["block", "revoke", "unblock", "readmit", "release"]


@dataclass(frozen=True)
class CCFAction:
    """A commission decision: what it targets and which identifiers it guards.

    `admit` (readmit only) names the one new entry let through a guard. `similar`
    (revoke only) are the similar-tier tags whose entries are held for review, not
    refused; a `release` lets held entries (its targets) out of their hold.
    """

    action: CCFActionName
    targets: tuple[bytes, ...]
    reason: str
    decision: str
    guards: tuple[bytes, ...] = ()
    admit: bytes | None = None
    similar: tuple[bytes, ...] | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise SchemaError(f"reason must be one of {list(REASONS)}")
        if any(len(t) != 32 for t in self.targets + self.guards + (self.similar or ())):
            raise SchemaError("targets and guards are 32-byte hashes")
        if self.similar is not None and self.action != "revoke":
            raise SchemaError("only a revoke holds similar identifiers")
        if self.action == "readmit":
            if self.admit is None or len(self.admit) != 32:
                raise SchemaError("a readmit names the admitted entry id")
        elif self.admit is not None:
            raise SchemaError("only a readmit names an admitted entry")
        if self.action != "readmit" and not self.targets:
            raise SchemaError(f"a {self.action} needs at least one target")
