"""The kinds of entry: their body schema, who may issue them, how bodies are keyed, retention.

Keying: `broadcast` bodies are read by every member, the CCF and the
partners scoped to the kind (sender-key epochs); `chosen` bodies by the
recipients the author names plus the CCF (diffusions); `public` bodies are
not encrypted (governance, key epochs, receipts: no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from noticenet.protocol.errors import SchemaError
from noticenet.protocol.records.governance import (
    CCF_BLOCK_FEED,
    CCF_FEED,
    GOVERNANCE_FEED,
    CCFAction,
    Roster,
)
from noticenet.protocol.records.records import (
    Cancellation,
    Diffusion,
    DNARecord,
    FingerprintRef,
    Firearm,
    KeyEpoch,
    Notice,
    PurgeReceipt,
    TravelDocument,
    Update,
    Vehicle,
)
from noticenet.protocol.records.schema import from_map, from_stored

Keying = Literal["broadcast", "chosen", "public"]
NOTICE_COLOURS = ("red", "blue", "green", "yellow", "black", "orange", "purple", "silver", "un")
YEAR = 365

MEMBERS = frozenset({"member"})
EVERY_ISSUER = frozenset({"member", "partner"})
NODES = frozenset({"member", "partner", "ccf"})


@dataclass(frozen=True)
class KindSpec:
    """What an entry of this kind carries and who may issue it.

    `issuers` holds roles (member, partner, ccf) or threshold feed ids; a
    partner may issue a kind only if it is also in the partner's scopes.
    """

    name: str
    schema: type
    keying: Keying
    issuers: frozenset[str]
    retention_days: int | None


def _spec(
    name: str, schema: type, keying: Keying, issuers: frozenset[str], days: int | None
) -> KindSpec:
    return KindSpec(name, schema, keying, issuers, days)


KINDS: dict[str, KindSpec] = {
    **{
        f"notice.{c}": _spec(f"notice.{c}", Notice, "broadcast", MEMBERS, 5 * YEAR)
        for c in NOTICE_COLOURS
    },
    "diffusion": _spec("diffusion", Diffusion, "chosen", EVERY_ISSUER, 1 * YEAR),
    "sltd": _spec("sltd", TravelDocument, "broadcast", EVERY_ISSUER, 10 * YEAR),
    "vehicle": _spec("vehicle", Vehicle, "broadcast", EVERY_ISSUER, 10 * YEAR),
    "firearm": _spec("firearm", Firearm, "broadcast", EVERY_ISSUER, 10 * YEAR),
    "dna": _spec("dna", DNARecord, "broadcast", MEMBERS, 5 * YEAR),
    "fingerprint": _spec("fingerprint", FingerprintRef, "broadcast", MEMBERS, 5 * YEAR),
    "cancel": _spec("cancel", Cancellation, "public", EVERY_ISSUER, None),
    "update": _spec("update", Update, "broadcast", EVERY_ISSUER, 10 * YEAR),
    "key_epoch": _spec("key_epoch", KeyEpoch, "public", NODES, None),
    "receipt": _spec("receipt", PurgeReceipt, "public", NODES, None),
    "roster": _spec("roster", Roster, "public", frozenset({GOVERNANCE_FEED}), None),
    "block": _spec("block", CCFAction, "public", frozenset({CCF_BLOCK_FEED}), None),
    **{
        a: _spec(a, CCFAction, "public", frozenset({CCF_FEED}), None)
        for a in ("revoke", "unblock", "readmit", "release")
    },
}

SUPERSEDING_KINDS = frozenset({"cancel", "update"})
"""Kinds whose header names the entry they supersede (`target`), so every node
applies them alike, whether or not it reads or keeps the body."""
RECORD_KINDS = frozenset(k for k, s in KINDS.items() if s.keying != "public" and k != "update")


def spec(kind: str) -> KindSpec:
    """The spec of `kind`; SchemaError if it is not a known kind."""
    try:
        return KINDS[kind]
    except KeyError:
        raise SchemaError(f"unknown kind {kind!r}") from None


def parse_body(kind: str, data: Any) -> Any:
    """A decoded body map as the kind's dataclass (SchemaError if it does not fit)."""
    body: Any = from_map(spec(kind).schema, data, kind)
    if isinstance(body, CCFAction) and body.action != kind:
        raise SchemaError(f"a {kind} entry carries a {body.action} action")
    if isinstance(body, Update):
        if spec_of_update(body).keying != "broadcast":
            raise SchemaError("only broadcast records can be updated")
        parse_body(str(body.record.get("kind")), body.record.get("record"))
    return body


def parse_stored_body(kind: str, data: Any) -> Any:
    """A body map this node checked with `parse_body` when it stored it, as the kind's dataclass.

    Skips the checks `parse_body` made on the way in (see `schema.from_stored`);
    never for bodies from the network.
    """
    return from_stored(spec(kind).schema, data)


def spec_of_update(update: Update) -> KindSpec:
    """The kind an update replaces (its record says `{"kind": ..., "record": ...}`)."""
    kind = update.record.get("kind")
    if not isinstance(kind, str) or kind not in RECORD_KINDS:
        raise SchemaError("an update names the record kind it replaces")
    return spec(kind)
