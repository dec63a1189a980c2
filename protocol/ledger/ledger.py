"""The append-only ledger over an ordered key-value store (sans-IO).

Headers are written once and never removed; bodies sit beside them and are
the only thing that can go (cancellation, update, expiry, CCF revocation),
leaving a tombstone so the chain still verifies. Every ingest is one write
batch; the caller chooses whether it is synced (a node syncs before it
acknowledges). Time is an argument: this module reads no clock.

Taking in an encrypted record has two stages (docs/protocol.md, "Relay, then
open"). The relay stage checks what the header and the signature say (chain,
signature, times, body hash, guard tags) and stores the entry with a
"not yet opened" marker (`c/`); the open stage (`open_stored`) later
decrypts, parses, checks the tags' honesty and indexes, in feed order. Until
then the entry is not found. `ingest_many(defer=False)` runs both stages in
one batch; public kinds (roster, CCF actions, key epochs, receipts, cancels),
whose effects later entries depend on, are always opened at once.
"""

from __future__ import annotations

from typing import Any, Self

from noticenet.crypto import sender_keys
from noticenet.crypto.errors import CryptoError, NoticenetError
from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.errors import ChainError, FeedFrozen, Gap, LedgerError, NotFound
from noticenet.protocol.index import indexes
from noticenet.protocol.index.lookup import Lookups
from noticenet.protocol.ledger import enforcement
from noticenet.protocol.ledger.epoch_keys import EpochKeys, Reader
from noticenet.protocol.ledger.holdings import Holdings
from noticenet.protocol.ledger.intake import Intake, Opened, Snapshot, open_entry
from noticenet.protocol.ledger.open_stage import OpenStage
from noticenet.protocol.ledger.results import HELD as HELD  # re-exported: callers import them here
from noticenet.protocol.ledger.results import IngestResult as IngestResult
from noticenet.protocol.ledger.results import LedgerStats as LedgerStats
from noticenet.protocol.ledger.results import Outcome as Outcome
from noticenet.protocol.ledger.validation import (
    check_chain,
    check_signature,
    is_expired,
    validate_entries,
    validate_entry,
)
from noticenet.protocol.ledger.waiting import Waiting
from noticenet.protocol.records.codec import decode, decode_stored, encode, encode_known
from noticenet.protocol.records.entry import Entry, decode_signed_header, entry_id
from noticenet.protocol.records.governance import GOVERNANCE_FEED, CCFAction, Roster
from noticenet.protocol.records.kinds import parse_body, spec
from noticenet.protocol.records.records import KeyEpoch, PurgeReceipt
from noticenet.protocol.records.sealing import open_body
from noticenet.protocol.store.keyspace import (
    Txn,
    header_key,
    key,
    parse_position,
    position,
    seq_bytes,
)
from noticenet.protocol.store.kvstore import KVStore
from noticenet.protocol.store.mirrored_store import mirrored


class Ledger(Holdings, Lookups, OpenStage):
    """Every member's feed, with bodies, tombstones, guards and indexes."""

    def __init__(
        self,
        store: KVStore,
        anchor: bytes,
        reader: Reader | None = None,
        index_key: bytes = b"\x00" * 32,
    ) -> None:
        self.store = mirrored(store)
        self.anchor = anchor
        self.reader = reader
        self.index_key = index_key
        self.stats = LedgerStats()
        self.epochs = EpochKeys(reader)
        self._roster: Roster | None = None
        self._roster_id: bytes | None = None
        self.appends = 0  # ingest commits so far: lets a cached frontier know it is stale
        self._guard_key: bytes | None = None
        self._waiting = Waiting()  # the open stage's queue: `c/` in memory
        self._deferred: list[Entry] = []  # marked in the batch being written
        self._load_roster()
        self._load_waiting()

    @classmethod
    def of_member(cls, store: KVStore, anchor: bytes, member: str, keys: MemberKeys) -> Self:
        """The ledger a member's node keeps: it reads as `member`, indexes with its key."""
        return cls(store, anchor, Reader(member, keys.encryption), keys.index_key)

    # -- reading -----------------------------------------------------------

    @property
    def roster(self) -> Roster | None:
        return self._roster

    @property
    def guard_key(self) -> bytes | None:
        return self._guard_key

    def read(self, eid: bytes) -> Any:
        """The decrypted record of `eid`, unless hidden, purged or not addressed to us."""
        return self.read_entry(eid)[1]

    def read_entry(self, eid: bytes) -> tuple[Entry, Any]:
        """`read`, with the entry it opened (callers that show the header decode it once)."""
        if self.hidden(eid):
            raise NotFound("entry is blocked or revoked by the CCF")
        return self.read_held(eid)

    def read_held(self, eid: bytes) -> tuple[Entry, Any]:
        """`read_entry` even while a CCF block hides it: for the CCF's case files and
        ceremonies, which must see what a block hides from every other answer."""
        entry = self.entry(eid)
        if entry is None or entry.body is None:
            raise NotFound("no such entry, or its body is not held")
        h = entry.header
        if self.store.get(key(b"c", position(h.author, h.seq))) is not None:
            raise NotFound("entry not opened yet")
        key_ = self.epochs.key_for(Txn(self.store), entry)
        return entry, open_body(entry, key_, checked=self._indexed(eid))

    def _indexed(self, eid: bytes) -> bool:
        """True if this node opened and parsed `eid`'s body strictly when it stored it.

        Index keys (listed under `r/`) are written only for a record that did,
        and leave with the body; a body stored unread (its key came later) has none.
        """
        return self.store.get(key(b"r", eid)) is not None

    def epoch_key(self, epoch_id: bytes) -> bytes | None:
        """Our unwrapped key of a sender-key epoch, or None if not a reader (or not held)."""
        return self.epochs.get(Txn(self.store), epoch_id)

    # -- writing -----------------------------------------------------------

    def snapshot(self, now_ms: int, open_bodies: bool = True) -> Snapshot:
        """What `intake.check_wires` needs to check entries for this ledger, ahead of ingest
        (`open_bodies` False: the relay stage's checks only; encrypted bodies wait)."""
        reader, secret = (
            (None, None)
            if self.reader is None
            else (
                self.reader.member,
                bytes(self.reader.secret),
            )
        )
        known = self.epochs.known()
        return Snapshot(
            self._roster_id,
            self._roster,
            self.anchor,
            now_ms,
            self.index_key,
            reader,
            secret,
            self._guard_key,
            known,
            open_bodies,
        )

    def ingest(self, entry: Entry | Intake, now_ms: int, sync: bool = True) -> IngestResult:
        """Verify and store one entry in one write batch (raises on invalid entries).

        An `Intake` (checked ahead, see protocol/ledger/intake.py) skips the checks it
        already made, as long as its snapshot still holds.
        """
        txn = Txn(self.store)
        result = self._ingest(txn, entry, now_ms)
        txn.commit(sync=sync)
        self._after_commit(txn)
        return result

    def ingest_many(
        self,
        entries: list[Entry] | list[Intake] | list[Entry | Intake],
        now_ms: int,
        sync: bool = True,
        extra: dict[bytes, bytes] | None = None,
        defer: bool = False,
    ) -> list[IngestResult | NoticenetError]:
        """Ingest a batch in one write; each entry's result or the error that refused it.

        `extra` adds the caller's own bookkeeping keys to the same batch. `defer`:
        the relay stage only; encrypted bodies are stored unopened (`open_stored`).
        """
        txn = Txn(self.store)
        for k, v in (extra or {}).items():
            txn.put(k, v)
        results: list[IngestResult | NoticenetError] = []
        self._deferred = []
        for entry in self._checked_ahead(entries, now_ms):
            txn.savepoint()
            marked = len(self._deferred)
            try:
                results.append(self._ingest(txn, entry, now_ms, defer))
            except NoticenetError as exc:
                txn.rollback()  # a refused entry leaves no write in the batch
                del self._deferred[marked:]
                self.stats.refuse(type(exc).__name__)
                results.append(exc)
        txn.commit(sync=sync)
        self._after_commit(txn)
        for deferred in self._deferred:
            self._waiting.add(deferred.header.author, deferred.header.seq, deferred)
        self._deferred = []
        return results

    def _checked_ahead(
        self, entries: list[Entry] | list[Intake] | list[Entry | Intake], now_ms: int
    ) -> list[Entry | Intake]:
        """The batch with its plain entries checked together under the current roster.

        One signature check per chained run (`validate_entries`), instead of one
        per entry; the results are intakes with no body opened, which `_validate`
        trusts only while the roster is unchanged (a roster entry in the batch
        sends the entries after it back to the full checks).
        """
        plain = [e for e in entries if isinstance(e, Entry)]
        if len(plain) < 2:
            return list(entries)
        verdicts = iter(validate_entries(plain, self._roster, now_ms, self.anchor))
        return [
            Intake(e, self._roster_id, now_ms, None, next(verdicts)) if isinstance(e, Entry) else e
            for e in entries
        ]

    def _after_commit(self, txn: Txn) -> None:
        self.appends += 1
        if key(b"m", b"roster") in txn.committed:
            self._load_roster()

    def _ingest(
        self, txn: Txn, item: Entry | Intake, now_ms: int, defer: bool = False
    ) -> IngestResult:
        entry = item.entry if isinstance(item, Intake) else item
        h, eid = entry.header, entry.id
        head_raw = txn.get(key(b"f", h.author.encode()))
        head = None if head_raw is None else tuple(decode_stored(head_raw))
        if head is not None and h.seq <= int(head[0]):  # feeds have no gaps: held up to head
            existing = txn.get(header_key(h.author, h.seq))
            if existing is not None:
                return self._again(txn, item, existing, now_ms, defer)
        frozen = txn.get(key(b"z", h.author.encode()))
        if frozen is not None and h.seq >= int(decode_stored(frozen)):
            raise FeedFrozen(f"feed {h.author} is frozen from seq {int(decode_stored(frozen))}")
        opened = self._validate(txn, item, now_ms)
        if head is not None and h.seq > int(head[0]) + 1 or head is None and h.seq > 1:
            raise Gap(h.author, 0 if head is None else int(head[0]), h.seq)
        check_chain(h, None if head is None else (int(head[0]), bytes(head[1])))
        if spec(h.kind).keying == "public" and entry.body is None:
            raise ChainError(f"a {h.kind} entry must travel with its body")
        raw = entry.signed_header
        txn.put(header_key(h.author, h.seq), raw)
        txn.put(key(b"e", eid), position(h.author, h.seq))
        txn.put(key(b"f", h.author.encode()), encode_known([h.seq, eid]))
        for tag in h.guards:  # a revocation arriving later finds the entries it guards
            txn.put(key(b"w", tag + eid), b"")
        if h.target is not None:  # by the header: alike on every node, body read or not
            self._supersede(
                txn, h.author, h.target, "cancelled" if h.kind == "cancel" else "updated", now_ms
            )
        if entry.body is None:
            reason = self._withhold_reason(txn, entry, now_ms)
            if reason is not None:
                self.tombstone_body(txn, eid, reason, now_ms)
            elif enforcement.holds(txn, entry):  # held alike, whether the body is here or not
                txn.put(key(b"l", eid), b"")
            return IngestResult(eid, h.author, h.seq, Outcome.STORED, reason or "header only")
        return self._place_body(txn, entry, now_ms, opened, defer)

    def _validate(self, txn: Txn, item: Entry | Intake, now_ms: int) -> Opened | None:
        """Run the stateless checks, or trust an intake whose snapshot still holds.

        Returns the intake's opened body if it can be used as is.
        """
        if isinstance(item, Intake):
            roster_id = txn.pending.get(key(b"m", b"roster"), self._roster_id)
            if item.roster_id == roster_id and item.now_ms <= now_ms:
                if item.error is not None:
                    raise item.error
                return item.opened
            item = item.entry
        validate_entry(item, self._pending_roster(txn), now_ms, self.anchor)
        return None

    def _again(
        self, txn: Txn, item: Entry | Intake, existing: bytes, now_ms: int, defer: bool
    ) -> IngestResult:
        """An entry for a position we hold: a replay, a body for a bare header, or a fork."""
        entry = item.entry if isinstance(item, Intake) else item
        h, eid = entry.header, entry.id
        if entry_id(existing) == eid:
            held = txn.get(key(b"b", eid)) is not None or txn.get(key(b"t", eid)) is not None
            if held or entry.body is None:
                return IngestResult(eid, h.author, h.seq, Outcome.DUPLICATE)
            opened = self._validate(txn, item, now_ms)
            return self._place_body(txn, entry, now_ms, opened, defer)
        check_signature(entry, self._pending_roster(txn), self.anchor)
        txn.put(key(b"q", position(h.author, h.seq) + eid), entry.signed_header)
        frozen = txn.get(key(b"z", h.author.encode()))
        if frozen is None or int(decode_stored(frozen)) > h.seq:
            txn.put(key(b"z", h.author.encode()), encode_known(h.seq))
        self.stats.refuse("Equivocation")
        return IngestResult(eid, h.author, h.seq, Outcome.EVIDENCE, "equivocation")

    def _place_body(
        self,
        txn: Txn,
        entry: Entry,
        now_ms: int,
        opened: Opened | None = None,
        defer: bool = False,
    ) -> IngestResult:
        """Store the body, or a tombstone if it must not be kept (header-only decisions);
        then open it now, or mark it for the open stage (`defer`, encrypted kinds)."""
        h, eid = entry.header, entry.id
        assert entry.body is not None
        reason = self._withhold_reason(txn, entry, now_ms)
        if reason is not None:
            return self._withheld(txn, entry, reason, now_ms)
        txn.put(key(b"b", eid), entry.body)
        if h.expires_at is not None:
            txn.put(key(b"x", seq_bytes(h.expires_at) + eid), b"")
        if defer and spec(h.kind).keying != "public":
            txn.put(key(b"c", position(h.author, h.seq)), eid)
            self._deferred.append(entry)
        else:
            reason = self._open_stored(txn, entry, opened, now_ms)
            if reason is not None:
                return self._withheld(txn, entry, reason, now_ms)
        if enforcement.holds(txn, entry):  # stored, hidden until the CCF decides
            txn.put(key(b"l", eid), b"")
            self.stats.refuse("held")
            return IngestResult(eid, h.author, h.seq, Outcome.STORED, HELD)
        return IngestResult(eid, h.author, h.seq, Outcome.STORED)

    def _withheld(self, txn: Txn, entry: Entry, reason: str, now_ms: int) -> IngestResult:
        """Tombstone a body refused for `reason` (it may be in the batch already)."""
        h = entry.header
        self.tombstone_body(txn, entry.id, reason, now_ms)
        self.stats.refuse(reason)
        return IngestResult(entry.id, h.author, h.seq, Outcome.WITHHELD, reason)

    def _open_stored(
        self, txn: Txn, entry: Entry, opened: Opened | None, now_ms: int
    ) -> str | None:
        """The open stage for one stored body: read it (or take `opened`, read ahead),
        apply its effects and index it; "evidence" if it betrays its author."""
        opened = opened or self._open(txn, entry)
        if opened.evidence is not None:
            return self._evidence(txn, entry, opened.evidence)
        if opened.readable:
            self._apply(txn, entry, opened, now_ms)
        return None

    def _withhold_reason(self, txn: Txn, entry: Entry, now_ms: int) -> str | None:
        eid = entry.id
        status = txn.get(key(b"s", eid))
        if status is not None and decode_stored(status)["state"] == "revoked":
            return "revoked"
        if enforcement.guarded(txn, entry):
            return "reentry-blocked"
        if is_expired(entry.header.expires_at, now_ms):
            return "expired"
        return None

    def _open(self, txn: Txn, entry: Entry) -> Opened:
        """Read a body in-process: find our key (the batch may hold its epoch), then open."""
        reader = None if self.reader is None else self.reader.member
        guard_key = self._pending_guard_key(txn)
        if spec(entry.header.kind).keying == "public":
            return open_entry(entry, None, reader, guard_key, self.index_key)
        key_ = self.epochs.key_or_none(txn, entry)
        if key_ is None:
            return Opened()
        return open_entry(entry, key_, reader, guard_key, self.index_key)

    def _evidence(self, txn: Txn, entry: Entry, what: str) -> str:
        txn.put(key(b"d", entry.id), encode(what))
        return "evidence"

    def _apply(self, txn: Txn, entry: Entry, opened: Opened, now_ms: int) -> None:
        """The effects of a stored entry: indexes, roster, cancellations, CCF actions."""
        h, eid, record = entry.header, entry.id, opened.record
        if isinstance(record, Roster):
            if h.author != GOVERNANCE_FEED:
                raise LedgerError("a roster comes only from the governance feed")
            txn.put(key(b"m", b"roster"), eid)
        elif isinstance(record, CCFAction):
            enforcement.apply(self, txn, eid, record, now_ms, h.issued_at)
        elif isinstance(record, PurgeReceipt):
            txn.put(key(b"p", record.action, h.author.encode()), eid)
        elif isinstance(record, KeyEpoch):  # learnt now, so intake snapshots carry it
            self.epochs.learn(eid, record)
        if spec(h.kind).keying != "public":
            indexes.add(txn, eid, opened.index_keys)
            txn.put(key(b"k", h.kind.encode(), seq_bytes(h.issued_at), eid), b"")

    def _supersede(self, txn: Txn, author: str, target: bytes, reason: str, now_ms: int) -> None:
        where = txn.get(key(b"e", target))
        if where is None:  # never its own: an author's target precedes it in its feed
            self.stats.refuse("unknown-target")
            return
        if parse_position(where)[0] != author:
            self.stats.refuse("foreign-cancel")
            return
        self.tombstone_body(txn, target, reason, now_ms)

    def tombstone_body(
        self, txn: Txn, eid: bytes, reason: str, now_ms: int, by: bytes = b""
    ) -> None:
        """Delete a body with its indexes, expiry slot and guard-tag keys; leave a
        tombstone. Same batch."""
        body = txn.get(key(b"b", eid))
        where = txn.get(key(b"e", eid))
        raw = None if where is None else txn.get(header_key(*parse_position(where)))
        if raw is not None:
            header, _ = decode_signed_header(raw)
            for tag in header.guards:
                txn.delete(key(b"w", tag + eid))
            if body is not None:
                if header.expires_at is not None:
                    txn.delete(key(b"x", seq_bytes(header.expires_at) + eid))
                txn.delete(key(b"k", header.kind.encode(), seq_bytes(header.issued_at), eid))
        if body is not None:
            txn.delete(key(b"b", eid))
        if where is not None:
            txn.delete(key(b"c", where))  # nothing left to open
        txn.delete(key(b"l", eid))  # nothing left to hold
        indexes.remove(txn, eid)
        txn.put(key(b"t", eid), encode({"reason": reason, "at": now_ms, "by": by}))

    # -- maintenance -------------------------------------------------------

    def purge_expired(self, now_ms: int, limit: int = 10_000) -> int:
        """Purge bodies whose expiry has passed; returns how many went."""
        txn = Txn(self.store)
        gone = 0
        for k, _ in self.store.iterate(b"x/"):
            expires_at = int.from_bytes(k[2:10], "big")
            if expires_at > now_ms or gone >= limit:
                break
            self.tombstone_body(txn, k[10:], "expired", now_ms)
            gone += 1
        txn.commit(sync=True)
        return gone

    # -- roster ------------------------------------------------------------

    def _load_roster(self) -> None:
        rid = self.store.get(key(b"m", b"roster"))
        if rid is None:
            return
        body = self.store.get(key(b"b", rid))
        if body is None:
            raise LedgerError("the current roster's body is missing")
        self._roster = parse_body("roster", decode(body))
        self._roster_id = rid
        self._guard_key = self._unwrap_guard_key(self._roster)

    def _unwrap_guard_key(self, roster: Roster) -> bytes | None:
        if self.reader is None or self.reader.member not in roster.guard_key_wraps:
            return None
        try:
            return sender_keys.unwrap(
                roster.guard_key_wraps[self.reader.member], self.reader.secret
            )
        except CryptoError:
            return None

    def _pending_roster(self, txn: Txn) -> Roster | None:
        rid = txn.pending.get(key(b"m", b"roster"))
        if rid is None:
            return self._roster
        body = txn.get(key(b"b", rid))
        assert body is not None
        roster: Roster = parse_body("roster", decode(body))
        return roster

    def _pending_guard_key(self, txn: Txn) -> bytes | None:
        if key(b"m", b"roster") in txn.pending:
            roster = self._pending_roster(txn)
            return None if roster is None else self._unwrap_guard_key(roster)
        return self._guard_key
