"""A reader's sender-key epochs: the epoch keys it holds, each unwrapped once.

A broadcast body is sealed under a key derived from its author's epoch key,
which a key_epoch entry wraps once per member (record-format section 5). A
ledger unwraps an epoch (one X25519 open) the first time it needs it and
remembers the answer, None included (not wrapped for us), so a member
outside an epoch does not try again; intake snapshots carry what is known,
so workers open bodies without the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.public import PrivateKey

from noticenet.crypto.errors import CryptoError
from noticenet.protocol.ledger.intake import epoch_key_of, unwrap_epoch
from noticenet.protocol.records.entry import Entry, decode_signed_header
from noticenet.protocol.records.kinds import spec
from noticenet.protocol.records.records import KeyEpoch
from noticenet.protocol.records.sealing import body_key
from noticenet.protocol.store.keyspace import Txn, header_key, key, parse_position


@dataclass(frozen=True)
class Reader:
    """The member a ledger decrypts for: its id and X25519 secret."""

    member: str
    secret: PrivateKey


class EpochKeys:
    """The epoch keys `reader` has met, and the body key of an entry from them."""

    def __init__(self, reader: Reader | None) -> None:
        self.reader = reader
        self._known: dict[bytes, bytes | None] = {}

    def known(self) -> dict[bytes, bytes | None]:
        """A copy of what is known (for an intake snapshot)."""
        return dict(self._known)

    def remember(self, epoch_id: bytes, epoch_key: bytes) -> None:
        """An epoch this node drew itself (its entry is about to be stored)."""
        self._known[epoch_id] = epoch_key

    def learn(self, epoch_id: bytes, epoch: KeyEpoch) -> None:
        """A key_epoch record just stored: unwrap our key now, so snapshots carry it."""
        if self.reader is not None:
            self._known[epoch_id] = epoch_key_of(epoch, self.reader.member, self.reader.secret)

    def get(self, txn: Txn, epoch_id: bytes) -> bytes | None:
        """Our key of an epoch, seeing `txn`'s pending writes; None if not ours or not held.

        Remembered once the epoch's entry and body are held.
        """
        if epoch_id in self._known:
            return self._known[epoch_id]
        held, found = self._unwrap(txn, epoch_id)
        if held:
            self._known[epoch_id] = found
        return found

    def key_for(self, txn: Txn, entry: Entry) -> bytes | None:
        """The key that opens `entry`'s body: None for public kinds and non-readers.

        Raises CryptoError (`NotARecipient`, or a wrap that does not open) when
        this reader has no key for it.
        """
        if spec(entry.header.kind).keying == "public" or self.reader is None:
            return None
        return body_key(
            entry.header, self.reader.member, self.reader.secret, lambda e: self.get(txn, e)
        )

    def key_or_none(self, txn: Txn, entry: Entry) -> bytes | None:
        """`key_for` for a reader, None where it has no key (the body stays unread)."""
        if self.reader is None:
            return None
        epoch = None if entry.header.key is None else entry.header.key.epoch
        if epoch is not None and self.get(txn, epoch) is None:
            return None
        try:
            return self.key_for(txn, entry)
        except CryptoError:
            return None

    def _unwrap(self, txn: Txn, epoch_id: bytes) -> tuple[bool, bytes | None]:
        """(whether the epoch's entry and body are held, our key of it if any)."""
        where = txn.get(key(b"e", epoch_id))
        if where is None or self.reader is None:
            return False, None
        author, seq = parse_position(where)
        raw = txn.get(header_key(author, seq))
        body = txn.get(key(b"b", epoch_id))
        if raw is None or body is None:
            return False, None
        if decode_signed_header(raw)[0].kind != "key_epoch":
            return True, None
        return True, unwrap_epoch(body, self.reader.member, self.reader.secret)
