"""The CCF action a commission proposes, and the guards a revocation carries.

A revocation is read off a node that can decrypt its targets: it guards their
identifiers at both tiers (record-format 5: `guards` refused, `similar` held), so
deleted data cannot come back under the same or a similar spelling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast, get_args

from noticenet.protocol.ccf.ceremony import CeremonyError
from noticenet.protocol.errors import NotFound, SchemaError
from noticenet.protocol.index.guard_tags import same_tags_for, similar_guards_for
from noticenet.protocol.records.governance import CCFAction, CCFActionName

if TYPE_CHECKING:
    from noticenet.protocol.ledger.ledger import Ledger


def guard_tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The same-tier guard tags of a decrypted record (an update counts as the record
    it carries): what a revocation of it refuses."""
    from noticenet.protocol.ledger.intake import indexed_record

    return same_tags_for(indexed_record(record), guard_key)


def similar_tags_for(record: Any, guard_key: bytes) -> tuple[bytes, ...]:
    """The similar-tier tags a revocation of a decrypted record holds (record-format 5.4)."""
    from noticenet.protocol.ledger.intake import indexed_record

    return similar_guards_for(indexed_record(record), guard_key)


def guards_for_targets(ledger: Ledger, targets: Iterable[bytes]) -> tuple[bytes, ...]:
    """Every same-tier guard tag of the targets' records, read on a node that can
    decrypt them."""
    return _tags_for_targets(ledger, targets, guard_tags_for)


def similar_for_targets(ledger: Ledger, targets: Iterable[bytes]) -> tuple[bytes, ...]:
    """Every similar-tier guard tag of the targets' records (a revocation's `similar`)."""
    return _tags_for_targets(ledger, targets, similar_tags_for)


def _tags_for_targets(
    ledger: Ledger, targets: Iterable[bytes], tags_of: Callable[[Any, bytes], tuple[bytes, ...]]
) -> tuple[bytes, ...]:
    guard_key = ledger.guard_key
    if guard_key is None:
        raise CeremonyError("this node holds no guard key: it cannot compute guard tags")
    tags: set[bytes] = set()
    for target in targets:
        tags.update(tags_of(_target_record(ledger, target), guard_key))
    return tuple(sorted(tags))


def action_for(
    ledger: Ledger | None,
    action: str,
    targets: tuple[bytes, ...],
    reason: str,
    decision: str,
    guards: Iterable[bytes] = (),
    admit: bytes | None = None,
) -> CCFAction:
    """The CCF action to propose; a revocation read off `ledger` (a node that decrypts
    its targets) guards their identifiers at both tiers, plus any `guards` given."""
    if action not in get_args(CCFActionName):
        raise SchemaError(f"action must be one of {list(get_args(CCFActionName))}")
    tags, similar = set(guards), None
    if action == "revoke" and ledger is not None:
        tags.update(guards_for_targets(ledger, targets))
        similar = similar_for_targets(ledger, targets) or None
    name = cast(CCFActionName, action)
    return CCFAction(name, targets, reason, decision, tuple(sorted(tags)), admit, similar)


def _target_record(ledger: Ledger, target: bytes) -> Any:
    """A target's record, even while blocked: a block hides it from answers, not from the CCF."""
    try:
        return ledger.read_held(target)[1]
    except NotFound:
        raise NotFound(f"this node holds no body for target {target.hex()}") from None


def with_guards(action: CCFAction, guards: Iterable[bytes]) -> CCFAction:
    """`action` guarding `guards` as well (sorted, unique)."""
    return dataclasses.replace(action, guards=tuple(sorted(set(action.guards) | set(guards))))
