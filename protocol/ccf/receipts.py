"""Purge receipts: which nodes have confirmed a CCF revocation, and which have not.

Each node appends a `receipt` entry once it has enforced a revocation
(`Publisher.publish_receipts`); the ledger files it under
`p/<action id>/<member>`. The CCF reads completeness off any ledger that has
replicated everyone's feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noticenet.protocol.store.keyspace import key

if TYPE_CHECKING:
    from noticenet.protocol.ledger.ledger import Ledger

NODE_ROLES = ("member", "partner", "ccf")


def receipts(ledger: Ledger, action_id: bytes) -> dict[str, bytes]:
    """Member id -> id of its receipt entry, for every receipt of `action_id` held."""
    prefix = key(b"p", action_id) + b"/"
    return {k[len(prefix) :].decode(): v for k, v in ledger.store.iterate(prefix)}


def purge_status(ledger: Ledger, action_id: bytes) -> tuple[list[str], list[str]]:
    """(purged, outstanding): the roster's nodes with and without a receipt, sorted."""
    roster = ledger.roster
    nodes = [] if roster is None else [m.id for m in roster.members if m.role in NODE_ROLES]
    done = receipts(ledger, action_id)
    purged = sorted(m for m in nodes if m in done)
    outstanding = sorted(m for m in nodes if m not in done)
    return purged, outstanding
