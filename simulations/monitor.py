"""Watching for deleted data coming back while the simulation runs.

After every batch of entries a node ingests, check the bodies that must be
gone from a node that has enforced a revocation: the revoked target, and every
re-entry of its subject. A hit is a resurrection, unless a similar guard holds the
re-entry (record-format 5.4): its body is kept but hidden on every node until the CCF
decides.
"""

from __future__ import annotations

from noticenet.protocol.store.keyspace import key

from .simnet import SimNode
from .world import World


def install(world: World) -> None:
    world.net.on_entries = lambda node: check(world, node)


def check(world: World, node: SimNode) -> None:
    if not world.honest(node.name):
        return
    store = node.ledger.store
    heads = node.replicator.heads() if world.ccf else {}
    targets = [(a.target, a) for a in world.ccf if a.action == "revoke"]
    for eid, action in targets + world.reentries:
        enforced = heads.get(action.feed, 0) >= action.seq
        if enforced and store.get(key(b"b", eid)) is not None:
            if (eid, action) in world.reentries and node.ledger.is_held(eid):
                continue  # a similar re-entry, kept hidden for the CCF: not visible data
            world.resurrections.append((world.net.now, node.name, eid))


def final_check(world: World) -> None:
    """The same check on every honest node at the end of the run."""
    for node in world.net.nodes.values():
        check(world, node)
