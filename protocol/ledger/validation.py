"""Validation rules for entries, as pure functions raising typed errors.

Each rule checks one thing; `validate_entry` runs the ones that need only the
entry, the roster and the time, and `validate_entries` runs them over a batch
with one signature check per chained run (see `check_signatures`). Chain
continuity needs the author's feed and is checked by the ledger with
`check_chain`.
"""

from __future__ import annotations

from collections.abc import Sequence

from noticenet.crypto.errors import BadSignature, NoticenetError
from noticenet.crypto.keys import verify
from noticenet.protocol.errors import (
    BodyMismatch,
    ChainError,
    ImplausibleTime,
    NotAuthorised,
    UnknownAuthor,
)
from noticenet.protocol.records.entry import Entry, Header, body_hash
from noticenet.protocol.records.governance import GOVERNANCE_FEED, THRESHOLD_FEEDS, Roster
from noticenet.protocol.records.kinds import spec

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


def is_expired(expires_at: int | None, now_ms: int) -> bool:
    """True once `now_ms` reaches `expires_at` (a header's; None never expires)."""
    return expires_at is not None and expires_at <= now_ms


def check_signatures(
    entries: Sequence[Entry], roster: Roster | None, anchor: bytes | None = None
) -> list[NoticenetError | None]:
    """`check_signature` over a batch, with one verify per chained run: the error for each.

    The entry id hashes the signed header, signature included, and each header
    names its predecessor's id in `prev`. So an author whose signature on entry
    n + 1 verifies has vouched for the exact bytes of entry n, and, link by
    link, for the run before it: only the last entry of a run in the batch
    (the next entry of its author in the batch is not its successor) needs a
    verify. A forger cannot make a link to a genuine entry, so a forged or
    altered entry is never vouched for and fails its own check as before; the
    worst case costs one verify per entry, as without runs. An entry whose own
    signature is bad but which its author signed over (only the author can
    make one) is accepted here; the verification pass reports it.
    """
    errors: list[NoticenetError | None] = [None] * len(entries)
    vouched: dict[str, tuple[int, bytes | None]] = {}  # author -> (seq, prev) of the next good one
    for i in range(len(entries) - 1, -1, -1):
        entry = entries[i]
        h = entry.header
        if vouched.get(h.author) != (h.seq + 1, entry.id):
            try:
                check_signature(entry, roster, anchor)
            except NoticenetError as exc:
                errors[i] = exc
                vouched.pop(h.author, None)
                continue
        vouched[h.author] = (h.seq, h.prev)
    return errors


def validate_entry(
    entry: Entry, roster: Roster | None, now_ms: int, anchor: bytes | None = None
) -> None:
    """Every rule that needs only the entry, the roster and the time."""
    error = validate_entries([entry], roster, now_ms, anchor)[0]
    if error is not None:
        raise error


def validate_entries(
    entries: Sequence[Entry], roster: Roster | None, now_ms: int, anchor: bytes | None = None
) -> list[NoticenetError | None]:
    """`validate_entry` over a batch (signatures as `check_signatures`): the error for each."""
    signatures = check_signatures(entries, roster, anchor)
    errors: list[NoticenetError | None] = []
    for entry, signature in zip(entries, signatures, strict=True):
        try:
            check_authorised(entry.header, roster)
            if signature is not None:
                raise signature
            check_times(entry.header, now_ms)
            if entry.body is not None:
                check_body(entry.header, entry.body)
        except NoticenetError as exc:
            errors.append(exc)
            continue
        errors.append(None)
    return errors
