"""Errors raised by the sans-IO protocol layer: codec, schemas, validation, ledger."""

from __future__ import annotations

from noticenet.crypto.errors import NoticenetError


class ProtocolError(NoticenetError):
    """Base of every protocol-layer error."""


class CodecError(ProtocolError):
    """Bytes are not a canonical, well-formed noticenet CBOR item."""


class SchemaError(ProtocolError):
    """A record or message has a missing, unknown or ill-typed field."""


class MRZError(SchemaError):
    """A machine-readable zone is malformed or a check digit is wrong; `field` names the
    MRZ field at fault when there is one (e.g. "date of birth")."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class VINError(SchemaError):
    """A vehicle identification number is malformed or its check digit is wrong."""


class ValidationError(ProtocolError):
    """An entry breaks a validation rule."""


class UnknownAuthor(ValidationError):
    """The author is not a member on the roster."""


class NotAuthorised(ValidationError):
    """The author's role may not issue this kind of entry."""


class ChainError(ValidationError):
    """Sequence number or previous-entry hash does not continue the feed."""


class BodyMismatch(ValidationError):
    """The body does not match the header's hash or length."""


class ImplausibleTime(ValidationError):
    """Issue or expiry time is out of the plausible range."""


class Expired(ValidationError):
    """The entry's expiry has passed."""


class LedgerError(ProtocolError):
    """The ledger refused an operation."""


class Gap(LedgerError):
    """An entry's predecessor is missing; `have` is the last seq held for `author`."""

    def __init__(self, author: str, have: int, got: int) -> None:
        super().__init__(f"gap in feed {author}: have seq {have}, got {got}")
        self.author = author
        self.have = have
        self.got = got


class Equivocation(LedgerError):
    """Two different valid entries share an author and sequence number."""


class FeedFrozen(LedgerError):
    """The author's feed is frozen after an equivocation."""


class ReentryBlocked(LedgerError):
    """An entry's guard tags hit a CCF revocation's guards."""


class NotFound(LedgerError):
    """No such entry, or its body is not available to this node."""


class StoreError(NoticenetError):
    """The key-value store failed or is corrupt."""


class StoreMissing(StoreError):
    """A node's store does not exist: `init` or `localnet create` makes it, `repair` restores it."""


class StoreDamaged(StoreError):
    """A node's store does not open, or its quick integrity check fails: `repair` mends it."""


class StoreForeign(StoreError):
    """A node's store belongs to another member or another network."""
