"""A whole network dealt in one process: for tests, the demo and simulations.

Member keys come from seeds derived from the member id and a network seed,
so the same seed gives the same members. Group keys come from FROST's
trusted dealer, which is acceptable only here; real networks run the DKG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.keys import MemberKeys
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.protocol.ccf.bootstrap import GroupSpec, MemberSpec, build_roster, genesis
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import Role, Roster

DEFAULT_MEMBERS: tuple[tuple[str, Role, str, tuple[str, ...]], ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("USA", "member", "United States NCB", ()),
    ("BRA", "member", "Brazil NCB", ()),
    ("JPN", "member", "Japan NCB", ()),
    ("EUROPOL", "partner", "Europol", ("sltd", "vehicle")),
    ("CCF", "ccf", "Commission for the Control of INTERPOL's Files", ()),
)


def member_keys(network_seed: bytes, member: str) -> MemberKeys:
    return MemberKeys(blake2b256(member.encode(), person=b"nn-devnet", key=network_seed))


def group_spec(group: ThresholdGroup) -> GroupSpec:
    return GroupSpec(group.public_key, group.threshold, group.size, group.sign)


@dataclass(frozen=True)
class DevNet:
    """Members with their keys, the three commission groups, and the genesis entry."""

    members: tuple[MemberSpec, ...]
    governance: ThresholdGroup
    block: ThresholdGroup
    revoke: ThresholdGroup
    guard_key: bytes
    roster: Roster
    genesis: Entry

    def member(self, member_id: str) -> MemberSpec:
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(member_id)


def make_devnet(
    network_seed: bytes = b"noticenet-devnet",
    members: Sequence[tuple[str, Role, str, tuple[str, ...]]] = DEFAULT_MEMBERS,
    now_ms: int = 1_800_000_000_000,
    addrs: dict[str, tuple[str, ...]] | None = None,
    peer_ids: dict[str, str] | None = None,
) -> DevNet:
    """Deal a network: 5-member commission groups (governance 3/5, block 2/5, revoke 3/5)."""
    specs = tuple(
        MemberSpec(
            mid,
            role,
            name,
            member_keys(network_seed, mid),
            scopes,
            (addrs or {}).get(mid, ()),
            (peer_ids or {}).get(mid, ""),
        )
        for mid, role, name, scopes in members
    )
    governance = ThresholdGroup.dealt(5, 3)
    block = ThresholdGroup.dealt(5, 2)
    revoke = ThresholdGroup.dealt(5, 3)
    guard_key = blake2b256(b"guard", person=b"nn-devnet", key=network_seed)
    roster = build_roster(
        1, specs, group_spec(governance), group_spec(block), group_spec(revoke), guard_key
    )
    first = genesis(roster, group_spec(governance), now_ms)
    return DevNet(specs, governance, block, revoke, guard_key, roster, first)
