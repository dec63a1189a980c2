"""Local publication: a member appends records to its own feed.

The publisher assigns the next seq, chains to the previous entry, computes
guard tags, refuses guarded identifiers before signing, keys the body for its
audience (opening a new sender-key epoch when the set of readers changes),
signs, and hands the result to the ledger's ordinary ingest, so local and
replicated entries pass the same checks and land in one synced batch.
"""

from __future__ import annotations

from typing import Any

from noticenet.crypto import sender_keys
from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.errors import (
    Expired,
    LedgerError,
    ReentryBlocked,
    SchemaError,
    UnknownAuthor,
)
from noticenet.protocol.index.guard_tags import tags_for
from noticenet.protocol.ledger.intake import indexed_record
from noticenet.protocol.ledger.ledger import IngestResult, Ledger, Outcome
from noticenet.protocol.ledger.validation import DAY_MS, is_expired
from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import Roster
from noticenet.protocol.records.kinds import RECORD_KINDS, spec, spec_of_update
from noticenet.protocol.records.records import KeyEpoch, PurgeReceipt, Update
from noticenet.protocol.records.sealing import ChosenKeying, Draft, EpochKeying, Keying, seal_entry
from noticenet.protocol.store.keyspace import Txn, key


class Publisher:
    """Publishes as `member` into `ledger`, signing with `keys`."""

    def __init__(self, ledger: Ledger, member: str, keys: MemberKeys) -> None:
        self.ledger = ledger
        self.member = member
        self.keys = keys
        self._digests: dict[bytes, bytes] = {}

    @property
    def on_roster(self) -> bool:
        """Whether the roster this node holds has this member (only then may it publish)."""
        roster = self.ledger.roster
        return roster is not None and roster.member(self.member) is not None

    def _roster(self) -> Roster:
        if not self.on_roster:
            raise UnknownAuthor(f"{self.member} is not on the roster this node holds")
        assert self.ledger.roster is not None
        return self.ledger.roster

    def guard_tags(self, record: Any) -> tuple[bytes, ...]:
        guard_key = self.ledger.guard_key
        if guard_key is None:
            raise LedgerError("this node holds no guard key: it cannot publish records")
        return tags_for(indexed_record(record), guard_key)

    def prepare(
        self,
        kind: str,
        record: Any,
        now_ms: int,
        recipients: tuple[str, ...] = (),
        expires_at: int | None = None,
        readmit: bool = False,
    ) -> list[Entry]:
        """The signed entries (a new key epoch if needed, then the record), not yet stored.

        With `readmit`, a record that hits a guard is prepared anyway: the CCF
        readmits its entry id, then `commit` stores it (the ledger still checks).
        """
        kind_spec = spec(kind)
        if not isinstance(record, kind_spec.schema):
            raise SchemaError(f"a {kind} entry carries a {kind_spec.schema.__name__}")
        if isinstance(record, Update):
            spec_of_update(record)
        if recipients and kind_spec.keying != "chosen":
            why = f"recipients: a {kind} goes to its whole audience; only diffusions name them"
            raise SchemaError(why)
        roster = self._roster()
        guards = self.guard_tags(record) if kind_spec.keying != "public" else ()
        hits = [t for t in guards if self.ledger.store.get(key(b"g", t)) is not None]
        if hits and not readmit:
            raise ReentryBlocked(
                f"re-entry blocked: this {kind} matches {len(hits)} identifier(s) "
                "a CCF revocation deleted"
            )
        if expires_at is None and kind_spec.retention_days is not None:
            expires_at = now_ms + kind_spec.retention_days * DAY_MS
        if is_expired(expires_at, now_ms):
            raise Expired(f"a {kind} that expires at {expires_at} is expired already")
        head = self.ledger.head(self.member)
        seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
        entries: list[Entry] = []
        keying: Keying = None
        if kind_spec.keying == "broadcast":
            keying, epoch_entry = self._epoch(roster, kind, seq, prev, now_ms)
            if epoch_entry is not None:
                entries.append(epoch_entry)
                seq, prev = seq + 1, epoch_entry.id
        elif kind_spec.keying == "chosen":
            keying = self._chosen(roster, recipients)
        draft = Draft(self.member, seq, prev, now_ms, kind, record, expires_at, guards)
        entries.append(seal_entry(draft, keying, self.keys.sign))
        return entries

    def publish(
        self,
        kind: str,
        record: Any,
        now_ms: int,
        recipients: tuple[str, ...] = (),
        expires_at: int | None = None,
        extra: dict[bytes, bytes] | None = None,
    ) -> Entry:
        """Prepare and store in one synced batch; returns the record's entry.

        `extra`: the caller's own bookkeeping keys, written in the same batch.
        """
        entries = self.prepare(kind, record, now_ms, recipients, expires_at)
        self.commit(entries, now_ms, extra)
        return entries[-1]

    def commit(
        self, entries: list[Entry], now_ms: int, extra: dict[bytes, bytes] | None = None
    ) -> list[IngestResult]:
        """Store prepared entries (and `extra` keys); anything but a clean store is an error."""
        extra = dict(extra or {})
        extra.update(
            (key(b"n", self.member.encode(), self._digests.pop(e.id)), e.id)
            for e in entries
            if e.id in self._digests
        )
        results = self.ledger.ingest_many(entries, now_ms, sync=True, extra=extra)
        for result in results:
            if isinstance(result, Exception):
                raise result
            if result.outcome is not Outcome.STORED:
                raise LedgerError(f"own entry not stored: {result.outcome.value} {result.reason}")
        return [r for r in results if isinstance(r, IngestResult)]

    def _chosen(self, roster: Roster, recipients: tuple[str, ...]) -> ChosenKeying:
        """A diffusion: the chosen recipients, the CCF and the author itself."""
        if not recipients:
            raise SchemaError("a diffusion names its recipients")
        chosen = set(recipients) | {m.id for m in roster.ccf_members()} | {self.member}
        keys = {}
        for member_id in sorted(chosen):
            member = roster.member(member_id)
            if member is None:
                raise UnknownAuthor(f"recipient {member_id} is not on the roster")
            keys[member_id] = member.encryption_key
        return ChosenKeying(keys)

    def _epoch(
        self, roster: Roster, kind: str, seq: int, prev: bytes | None, now_ms: int
    ) -> tuple[EpochKeying, Entry | None]:
        """The current sender-key epoch for `kind`'s readers, or a new one to publish first.

        An epoch is reused while the set of readers and their keys is unchanged;
        a roster change that alters them opens a new epoch on the next publish.
        """
        readers = {m.id: m.encryption_key for m in roster.readers(kind)}
        mine = roster.member(self.member)
        assert mine is not None
        readers[self.member] = mine.encryption_key
        digest = blake2b256(encode(sorted([k, v] for k, v in readers.items())))
        known = self.ledger.store.get(key(b"n", self.member.encode(), digest))
        if known is not None:
            epoch_key = self.ledger.epoch_key(known)
            if epoch_key is not None:
                return EpochKeying(known, epoch_key), None
        epoch_key = sender_keys.new_key()
        wraps = {m: sender_keys.wrap(epoch_key, pk) for m, pk in readers.items()}
        kinds = sorted(
            k for k in RECORD_KINDS if _reader_ids(roster, k, self.member) == set(readers)
        )
        record = KeyEpoch(epoch=seq, wraps=wraps, kinds=tuple(kinds))
        entry = seal_entry(
            Draft(self.member, seq, prev, now_ms, "key_epoch", record), None, self.keys.sign
        )
        self.ledger.epochs.remember(entry.id, epoch_key)
        self._digests[entry.id] = digest
        return EpochKeying(entry.id, epoch_key), entry

    def publish_receipts(self, now_ms: int) -> list[Entry]:
        """Append a purge receipt for every CCF revocation enforced here but not yet receipted.

        A member the roster removed publishes nothing: its receipts wait, in case it is
        admitted again, instead of failing the caller's maintenance."""
        published: list[Entry] = []
        if not self.on_roster:
            return published
        for k, v in list(self.ledger.store.iterate(b"o/")):
            action_id = k[2:]
            record = PurgeReceipt(action=action_id, targets=tuple(decode(v)))
            entry = self.publish("receipt", record, now_ms)
            txn = Txn(self.ledger.store)
            txn.delete(k)
            txn.commit(sync=True)
            published.append(entry)
        return published


def _reader_ids(roster: Roster, kind: str, author: str) -> set[str]:
    return {m.id for m in roster.readers(kind)} | {author}
