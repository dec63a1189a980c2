"""A whole network dealt in one process: for tests, the demo and simulations.

Member keys come from seeds derived from the member id and a network seed,
so the same seed gives the same members. The commission's group keys
(governance, block, revoke) come from the DKG ceremony of
`noticenet.protocol.ccf.dkg_ceremony`, every step of it run in this process with
each participant's ceremony key and randomness derived from the network
seed: no dealer, but deterministic, so a network is as secret as its seed
(fine for local networks, the demo and tests; a real network runs
`noticenet ccf dkg` with each commissioner on their own machine). Being
deterministic, a group is computed once per process and seed (`commission_group`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from noticenet.crypto import frost
from noticenet.crypto.ceremony_identity import CeremonyKey
from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.keys import MemberKeys
from noticenet.crypto.threshold import ThresholdGroup
from noticenet.protocol.ccf.bootstrap import GroupSpec, MemberSpec, build_roster, genesis
from noticenet.protocol.ccf.dkg_ceremony import Setup, run_in_process, seeded_rng
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


def commission_setup(
    network_seed: bytes, group: str, size: int, threshold: int
) -> tuple[Setup, dict[int, CeremonyKey]]:
    """The DKG setup of a commission group and its participants' ceremony keys (from the
    seed): what a refresh of the group starts from."""
    key = blake2b256(network_seed, person=b"nn-devnet-dkg")
    keys = {
        i: CeremonyKey(blake2b256(f"{group}/{i}".encode(), person=b"nn-devnet-ckey", key=key))
        for i in range(1, size + 1)
    }
    salt = blake2b256(group.encode(), person=b"nn-devnet-salt", key=key)[:16]
    setup = Setup(
        group, threshold, tuple((f"commissioner {i}", keys[i].public) for i in keys), salt
    )
    return setup, keys


@functools.lru_cache(maxsize=128)
def _commission_group(
    network_seed: bytes, group: str, size: int, threshold: int
) -> tuple[dict[int, frost.KeyPackage], frost.PublicKeyPackage]:
    setup, keys = commission_setup(network_seed, group, size, threshold)
    key = blake2b256(network_seed, person=b"nn-devnet-dkg")
    rng = seeded_rng(blake2b256(group.encode(), person=b"nn-devnet-rng", key=key))
    return run_in_process(setup, keys, rng)


def commission_group(network_seed: bytes, group: str, size: int, threshold: int) -> ThresholdGroup:
    """A commission group made by the DKG ceremony in process, deterministic from the seed."""
    packages, public = _commission_group(network_seed, group, size, threshold)
    return ThresholdGroup(dict(packages), public)


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
    """A network: 5-member commission groups (governance 3/5, block 2/5, revoke 3/5) by DKG."""
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
    governance = commission_group(network_seed, "governance", 5, 3)
    block = commission_group(network_seed, "block", 5, 2)
    revoke = commission_group(network_seed, "revoke", 5, 3)
    guard_key = blake2b256(b"guard", person=b"nn-devnet", key=network_seed)
    roster = build_roster(
        1, specs, group_spec(governance), group_spec(block), group_spec(revoke), guard_key
    )
    first = genesis(roster, group_spec(governance), now_ms)
    return DevNet(specs, governance, block, revoke, guard_key, roster, first)
