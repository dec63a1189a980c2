"""The stateless part of taking in an entry, computable ahead of the ledger's write.

Everything about an incoming entry that needs no ledger state beyond a
snapshot (decode, authorisation, signature, times, body hash, decryption,
record parse, guard-tag honesty, index keys) is done here. A node spreads
it over worker processes and keeps only the chain checks and the write on
its event loop; the ledger does the same work in-process, with the same
functions, for an entry that arrives without an intake or whose snapshot no
longer holds (the roster changed, or the key was not known yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nacl.public import PrivateKey

from noticenet.crypto import sender_keys
from noticenet.crypto.errors import CryptoError, NoticenetError
from noticenet.protocol.errors import ProtocolError
from noticenet.protocol.index.guard_tags import identifiers, similar_identifiers, tags_of
from noticenet.protocol.index.indexes import index_keys
from noticenet.protocol.ledger.validation import validate_entries
from noticenet.protocol.records.codec import decode
from noticenet.protocol.records.entry import Entry, decode_entry
from noticenet.protocol.records.governance import CCFAction, Roster
from noticenet.protocol.records.kinds import parse_body, spec, spec_of_update
from noticenet.protocol.records.records import (
    Cancellation,
    Diffusion,
    KeyEpoch,
    PurgeReceipt,
    Update,
)
from noticenet.protocol.records.sealing import body_key, open_body


@dataclass(frozen=True)
class Opened:
    """What reading a body gave: whether it was read, the record, the reason it is
    refused as evidence against its author, and its index keys.

    `record` is None when not read, and in a worker's answer for kinds whose
    record has no effect beyond its index keys (it need not cross back).
    """

    readable: bool = False
    record: Any = None
    evidence: str | None = None
    index_keys: tuple[bytes, ...] = ()


NOT_A_READER = Opened()
EFFECTS = (Roster, CCFAction, PurgeReceipt, KeyEpoch)
"""Records the ledger acts on when it stores them (see `Ledger._apply`)."""


@dataclass(frozen=True)
class Snapshot:
    """The ledger state an intake depends on; picklable, so workers can use it.

    `roster_id` names the roster the checks ran under: the ledger trusts an
    intake only while that is still its roster (the guard key comes with it).
    `open_bodies` False: the relay stage's checks only; encrypted bodies are
    left for the open stage (`open_wires`).
    """

    roster_id: bytes | None
    roster: Roster | None
    anchor: bytes
    now_ms: int
    index_key: bytes
    reader: str | None = None
    secret: bytes | None = None
    guard_key: bytes | None = None
    epoch_keys: dict[bytes, bytes | None] = field(default_factory=dict)  # None: not ours
    open_bodies: bool = True


@dataclass(frozen=True)
class Intake:
    """An entry checked under the roster `roster_id` at `now_ms`.

    `error` is the check it failed (the ledger raises it where it would have
    run the check, so a replay of a held entry is still a duplicate). `opened`
    is None when the body was not looked at (no body, or its epoch key was not
    in the snapshot); the ledger then opens it itself.
    """

    entry: Entry
    roster_id: bytes | None
    now_ms: int
    opened: Opened | None
    error: NoticenetError | None = None


def open_entry(
    entry: Entry, key: bytes | None, reader: str | None, guard_key: bytes | None, index_key: bytes
) -> Opened:
    """Decrypt and parse a body with `key` (None for public kinds) and check its honesty.

    A body that does not open with the key its author gave this reader (an
    epoch key wrapped for it, or a wrap of the entry key), is not a valid
    record (its identifiers included), names diffusion recipients outside the
    audience, or whose guard tags do not match it, is evidence against its
    author.
    """
    try:
        record = open_body(entry, key)
    except CryptoError as exc:
        if key is not None:  # ours, as the author gave it
            return Opened(evidence=f"body does not open: {type(exc).__name__}")
        return NOT_A_READER
    except ProtocolError as exc:
        return Opened(evidence=_invalid(exc))
    try:
        return _read(entry, record, guard_key, index_key)
    except ProtocolError as exc:  # e.g. a make its record allows but normalising refuses
        return Opened(evidence=_invalid(exc))


def _invalid(exc: ProtocolError) -> str:
    """Why a body is evidence: the failed check's type, never its message, which
    may quote the body's values (evidence is stored and shown in clear)."""
    return f"body is not a valid record: {type(exc).__name__}"


def _read(entry: Entry, record: Any, guard_key: bytes | None, index_key: bytes) -> Opened:
    """A parsed body's honesty checks, identifiers and index keys (`open_entry`)."""
    if isinstance(record, Cancellation | Update) and record.target != entry.header.target:
        return Opened(evidence="the body's target differs from the header's")
    inner = indexed_record(record)
    if isinstance(record, Diffusion) and not set(record.recipients) <= set(entry.header.audience):
        return Opened(evidence="diffusion names recipients outside its audience")
    found = identifiers(inner)
    header_found = found + similar_identifiers(inner)  # both tiers, checked alike
    if guard_key is not None and tags_of(header_found, guard_key) != entry.header.guards:
        return Opened(evidence="guard tags do not match the body")
    keys: tuple[bytes, ...] = ()
    if spec(entry.header.kind).keying != "public":
        keys = tuple(index_keys(index_key, entry.id, inner, found))
    return Opened(True, record, None, keys)


def indexed_record(record: Any) -> Any:
    """An update is indexed (and guarded) as the record it carries."""
    if isinstance(record, Update):
        return parse_body(spec_of_update(record).name, record.record["record"])
    return record


def unwrap_epoch(body: bytes, reader: str, secret: PrivateKey) -> bytes | None:
    """`reader`'s key from a key_epoch body, or None if it has none (or the body is bad)."""
    try:
        return epoch_key_of(parse_body("key_epoch", decode(body)), reader, secret)
    except NoticenetError:
        return None


def epoch_key_of(epoch: KeyEpoch, reader: str, secret: PrivateKey) -> bytes | None:
    """`reader`'s key of a sender-key epoch, or None if it is not wrapped for `reader`."""
    wrapped = epoch.wraps.get(reader)
    if wrapped is None:
        return None
    try:
        return sender_keys.unwrap(wrapped, secret)
    except CryptoError:
        return None


class _Reading:
    """The reader's keys while checking one batch: the snapshot's, plus epochs met in it."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.secret = None if snap.secret is None else PrivateKey(snap.secret)
        self.epochs = dict(snap.epoch_keys)

    def learn(self, entry: Entry) -> None:
        """Remember our key of a key_epoch entry met earlier in this batch."""
        if entry.header.kind != "key_epoch" or entry.body is None:
            return
        if self.snap.reader is None or self.secret is None:
            return
        self.epochs[entry.id] = unwrap_epoch(entry.body, self.snap.reader, self.secret)

    def open(self, entry: Entry) -> Opened | None:
        """The body read as the ledger would, or None if the ledger must do it itself."""
        snap = self.snap
        if entry.body is None:
            return None
        if spec(entry.header.kind).keying == "public":
            return open_entry(entry, None, snap.reader, snap.guard_key, snap.index_key)
        if not snap.open_bodies:
            return None  # the open stage reads it
        if snap.reader is None or self.secret is None:
            return NOT_A_READER
        ref = entry.header.key
        if ref is not None and ref.epoch is not None and ref.epoch not in self.epochs:
            return None  # the epoch may be in the ledger's batch: let it look
        try:
            key = body_key(entry.header, snap.reader, self.secret, self.epochs.get)
        except CryptoError:
            return NOT_A_READER
        return open_entry(entry, key, snap.reader, snap.guard_key, snap.index_key)


def check_wires(
    wires: list[bytes], snap: Snapshot, voucher: bytes | None = None
) -> list[Intake | NoticenetError]:
    """Decode and check each wire entry under `snap`; the intake or the error for each.

    `voucher`: the entry that follows `wires` in their frame, when a worker gets
    a slice of it. It is checked only as the successor that may vouch for the
    slice's last entry (see `validation.check_signatures`), so a slice boundary
    refuses nothing that the whole frame would accept.

    Pure and picklable in and out: this is what worker processes run.
    """
    decoded: list[Entry | NoticenetError] = []
    for wire in wires:
        try:
            decoded.append(decode_entry(wire))
        except NoticenetError as exc:
            decoded.append(exc)
    entries = [e for e in decoded if isinstance(e, Entry)]
    verdicts = iter(_verdicts(entries, snap, voucher))
    reading = _Reading(snap)
    out: list[Intake | NoticenetError] = []
    for entry in decoded:
        if not isinstance(entry, Entry):
            out.append(entry)
            continue
        error = next(verdicts)
        if error is not None:
            out.append(Intake(entry, snap.roster_id, snap.now_ms, None, error))
            continue
        opened = reading.open(entry)
        reading.learn(entry)
        if opened is not None and not isinstance(opened.record, EFFECTS):
            opened = replace(opened, record=None)
        out.append(Intake(entry, snap.roster_id, snap.now_ms, opened))
    return out


def _verdicts(
    entries: list[Entry], snap: Snapshot, voucher: bytes | None
) -> list[NoticenetError | None]:
    """`validate_entries` over `entries`, with `voucher` after them if it is the
    successor of the last one (else it could vouch for nothing here)."""
    tail: list[Entry] = []
    if voucher is not None and entries:
        try:
            after = decode_entry(voucher)
        except NoticenetError:
            after = None
        if after is not None and after.header.prev == entries[-1].id:
            tail = [after]
    verdicts = validate_entries(entries + tail, snap.roster, snap.now_ms, snap.anchor)
    return verdicts[: len(entries)]


def open_wires(wires: list[bytes], snap: Snapshot) -> list[Opened | None]:
    """The open stage's reading of stored entries (wire form) under `snap`: each
    body's `Opened`, or None where the ledger must read it itself (its epoch key
    is not in the snapshot). Pure and picklable: what worker processes run."""
    reading = _Reading(snap)
    out: list[Opened | None] = []
    for wire in wires:
        opened = reading.open(decode_entry(wire))
        if opened is not None and not isinstance(opened.record, EFFECTS):
            opened = replace(opened, record=None)
        out.append(opened)
    return out
