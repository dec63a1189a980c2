"""Validation rules for entries, as pure functions raising typed errors.

Each rule checks one thing; `validate_entry` runs the ones that need only the
entry, the roster and the time. Chain continuity needs the author's feed and
is checked by the ledger with `check_chain`.
"""

from __future__ import annotations

from noticenet.crypto.errors import BadSignature
from noticenet.crypto.keys import verify

from .entry import Entry, Header, body_hash
from .errors import (
    BodyMismatch,
    ChainError,
    Expired,
    ImplausibleTime,
    NotAuthorised,
    UnknownAuthor,
)
from .governance import GOVERNANCE_FEED, THRESHOLD_FEEDS, Roster
from .kinds import spec

DAY_MS = 86_400_000
MAX_CLOCK_SKEW_MS = 10 * 60 * 1000
EARLIEST_MS = 1_577_836_800_000  # 2020-01-01: nothing older is plausible


def signer_key(header: Header, roster: Roster | None, anchor: bytes | None = None) -> bytes:
    """The public key that must have signed `header`.

    Members sign with their own key; threshold feeds with their group key. The
    first roster (no roster yet) is checked against the configured `anchor`.
    """
    if header.author in THRESHOLD_FEEDS:
        if roster is None:
            if header.author == GOVERNANCE_FEED and anchor is not None:
                return anchor
            raise UnknownAuthor("no roster yet: only the first roster can be accepted")
        return roster.threshold_key(header.author)
    member = roster.member(header.author) if roster else None
    if member is None:
        raise UnknownAuthor(f"author {header.author} is not on the roster")
    return member.signing_key


def check_signature(entry: Entry, roster: Roster | None, anchor: bytes | None = None) -> None:
    """The header's signature verifies under its author's key (BadSignature otherwise)."""
    key = signer_key(entry.header, roster, anchor)
    try:
        verify(key, entry.header.signing_bytes(), entry.signature)
    except BadSignature:
        raise BadSignature(
            f"signature of {entry.header.author}#{entry.header.seq} is bad"
        ) from None


def check_authorised(header: Header, roster: Roster | None) -> None:
    """The author's role (or threshold feed) may issue this kind."""
    kind = spec(header.kind)
    if header.author in THRESHOLD_FEEDS:
        if header.author not in kind.issuers:
            raise NotAuthorised(f"feed {header.author} may not carry {header.kind}")
        return
    member = roster.member(header.author) if roster else None
    if member is None:
        raise UnknownAuthor(f"author {header.author} is not on the roster")
    if member.role not in kind.issuers:
        raise NotAuthorised(f"a {member.role} may not issue {header.kind}")
    if member.role == "partner" and kind.keying != "public" and header.kind not in member.scopes:
        raise NotAuthorised(f"partner {member.id} is not scoped for {header.kind}")
    if kind.keying == "chosen" and roster is not None:
        unknown = [m for m in header.audience if roster.member(m) is None]
        if unknown:
            raise UnknownAuthor(f"recipients not on the roster: {unknown}")
        needed = {header.author} | {m.id for m in roster.ccf_members()}
        if not needed <= set(header.audience):
            raise NotAuthorised("a diffusion's audience includes its author and the CCF")


def check_chain(header: Header, previous: tuple[int, bytes] | None) -> None:
    """`header` continues a feed whose last entry is `previous` (seq, id), or starts it."""
    if previous is None:
        if header.seq != 1:
            raise ChainError(f"feed {header.author} starts at seq 1, got {header.seq}")
        return
    seq, last_id = previous
    if header.seq != seq + 1:
        raise ChainError(f"feed {header.author}: expected seq {seq + 1}, got {header.seq}")
    if header.prev != last_id:
        raise ChainError(f"feed {header.author}#{header.seq}: prev does not match entry {seq}")


def check_body(header: Header, body: bytes) -> None:
    """The body matches the header's hash and length."""
    if len(body) != header.body_len or body_hash(body) != header.body_hash:
        raise BodyMismatch(f"body of {header.author}#{header.seq} does not match its header")


def check_times(header: Header, now_ms: int) -> None:
    """Issue time is not in the future or ancient; expiry respects the kind's retention."""
    if header.issued_at > now_ms + MAX_CLOCK_SKEW_MS:
        raise ImplausibleTime(f"{header.author}#{header.seq} is issued in the future")
    if header.issued_at < EARLIEST_MS:
        raise ImplausibleTime(f"{header.author}#{header.seq} is issued implausibly early")
    retention = spec(header.kind).retention_days
    if retention is not None:
        if header.expires_at is None:
            raise ImplausibleTime(f"a {header.kind} entry must expire")
        if header.expires_at > header.issued_at + retention * DAY_MS:
            raise ImplausibleTime(f"a {header.kind} entry expires after {retention} days at most")


def is_expired(header: Header, now_ms: int) -> bool:
    return header.expires_at is not None and header.expires_at <= now_ms


def check_not_expired(header: Header, now_ms: int) -> None:
    """For new local publications: an entry that is already expired makes no sense."""
    if is_expired(header, now_ms):
        raise Expired(f"{header.author}#{header.seq} expired before publication")


def validate_entry(
    entry: Entry, roster: Roster | None, now_ms: int, anchor: bytes | None = None
) -> None:
    """Every rule that needs only the entry, the roster and the time."""
    check_authorised(entry.header, roster)
    check_signature(entry, roster, anchor)
    check_times(entry.header, now_ms)
    if entry.body is not None:
        check_body(entry.header, entry.body)
