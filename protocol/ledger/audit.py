"""The verification pass: re-check everything a ledger holds, straight from the store.

`verify_ledger` walks every feed in the `h/` table and checks what ingest
guaranteed when the entry came in, so a damaged disk, a half-applied batch or
a bug in the ledger shows up as a list of `Problem`s:

- each signed header decodes strictly (canonical bytes) and sits at the
  position its author and seq name;
- its signature verifies: a member against its signing key on the roster, a
  threshold feed against its group key. The first `#GOV` entry verifies
  against the ledger's anchor, each later one against the roster current at
  that point of the feed. Member and CCF feeds verify against any roster the
  `#GOV` feed has held (keys may have been rotated since they signed);
- seqs run 1, 2, 3... without gaps, and each `prev` is the previous id;
- `e/<id>` maps back to the position; `f/<author>` names the last header;
- each entry holds a body matching the header's hash and length, or a
  tombstone, or neither (header only: counted, not a problem); never both;
- index keys (`r/<id>` lists, `i/...<id>`) exist only for entries with a
  body, and every held body this node can read has them (else it could not
  be found); expiry slots `x/` point at held bodies with that expiry, and every
  held body with an expiry has its slot;
- bodies and tombstones belong to held headers;
- an entry relayed but not opened yet (`c/` marker) is not a problem: its
  header, signature, chain and body hash are checked like any other, and it
  must hold a body and no index keys yet; every marker names the entry held
  at its position;
- `m/roster` names the last roster of the `#GOV` feed.

Equivocation evidence (`q/`) is not a problem; `summarise` counts it.
Reads only: nothing here writes to the store.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from noticenet.crypto.errors import BadSignature, NoticenetError
from noticenet.crypto.keys import verify
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.validation import check_body
from noticenet.protocol.records.codec import decode
from noticenet.protocol.records.entry import Entry, Header, decode_signed_header, entry_id
from noticenet.protocol.records.governance import GOVERNANCE_FEED, THRESHOLD_FEEDS, Roster
from noticenet.protocol.records.kinds import parse_body, spec
from noticenet.protocol.store.keyspace import (
    Txn,
    feed_prefix,
    header_key,
    key,
    parse_position,
    position,
    seq_bytes,
)

ID_BYTES = 32
SEQ_BYTES = 8


@dataclass(frozen=True)
class Problem:
    """One inconsistency: where (author, seq, entry id if known) and what."""

    author: str
    seq: int
    id: bytes | None
    what: str


@dataclass
class _Tally:
    entries: int = 0
    feeds: int = 0
    bodies: int = 0
    tombstones: int = 0
    header_only: int = 0
    evidence: int = 0
    unopened: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add(self, author: str, seq: int, eid: bytes | None, what: str) -> None:
        self.problems.append(Problem(author, seq, eid, what))


def verify_ledger(ledger: Ledger) -> list[Problem]:
    """Every inconsistency found in `ledger`'s store (empty if all is well)."""
    return _audit(ledger, check_signatures=True).problems


def summarise(ledger: Ledger) -> dict[str, int]:
    """Counts: entries, feeds, bodies, tombstones, header_only, evidence, problems.

    Runs the whole pass except signature checks (use `verify_ledger` for those).
    """
    tally = _audit(ledger, check_signatures=False)
    return {
        "entries": tally.entries,
        "feeds": tally.feeds,
        "bodies": tally.bodies,
        "tombstones": tally.tombstones,
        "header_only": tally.header_only,
        "evidence": tally.evidence,
        "unopened": tally.unopened,
        "problems": len(tally.problems),
    }


def check_recent(ledger: Ledger, tail: int) -> list[Problem]:
    """The start-up subset of the pass: cheap enough for every start.

    Every feed's header keys are walked for gaps (seqs 1..head), its frontier
    must name its last header, and only its last `tail` entries get the full
    per-entry checks (signature, chain, body, maps, indexing). The `#GOV`
    rosters are verified in full (few), and no frontier may lack a feed.
    The whole-table scans (`e/`, bodies, indexes, expiry) are left to
    `verify_ledger`.
    """
    tally = _Tally()
    rosters = _roster_history(ledger, tally)
    authors = _walk_feeds(ledger, tally, rosters, True, tail=max(1, tail))
    _check_frontiers(ledger, tally, authors)
    return tally.problems


def _audit(ledger: Ledger, check_signatures: bool) -> _Tally:
    tally = _Tally()
    rosters = _roster_history(ledger, tally)
    authors = _walk_feeds(ledger, tally, rosters, check_signatures)
    _check_frontiers(ledger, tally, authors)
    _check_entry_map(ledger, tally)
    _check_detached(ledger, tally)
    _check_indexes(ledger, tally)
    _check_expiry_queue(ledger, tally)
    _check_waiting(ledger, tally)
    tally.evidence = sum(1 for _ in ledger.store.iterate(b"q/"))
    return tally


# -- rosters -----------------------------------------------------------------


@dataclass(frozen=True)
class _Rosters:
    """The #GOV feed's rosters: which one is current before each #GOV seq, and all of them."""

    by_seq: list[tuple[int, Roster]]  # (seq of the roster entry, roster), in feed order
    last_id: bytes | None

    def before(self, seq: int) -> Roster | None:
        current = None
        for at, roster in self.by_seq:
            if at >= seq:
                break
            current = roster
        return current

    def all_newest_first(self) -> list[Roster]:
        return [roster for _, roster in reversed(self.by_seq)]


def _roster_history(ledger: Ledger, tally: _Tally) -> _Rosters:
    """The rosters of the #GOV feed whose signatures chain back to the anchor.

    A roster that does not verify is left out (the feed walk reports it), so
    no forged roster lends its keys to the rest of the pass.
    """
    by_seq: list[tuple[int, Roster]] = []
    last_id = None
    for _, raw in ledger.store.iterate(feed_prefix(GOVERNANCE_FEED)):
        try:
            header, sig = decode_signed_header(raw)
        except NoticenetError:
            continue
        if header.kind != "roster":
            continue
        signer = ledger.anchor if not by_seq else by_seq[-1][1].governance.public_key
        try:
            verify(signer, header.signing_bytes(), sig)
        except BadSignature:
            continue
        eid = entry_id(raw)
        body = ledger.store.get(key(b"b", eid))
        if body is None:
            continue
        try:
            check_body(header, body)
            roster: Roster = parse_body("roster", decode(body))
        except NoticenetError as exc:
            tally.add(header.author, header.seq, eid, f"roster body does not parse: {exc}")
            continue
        by_seq.append((header.seq, roster))
        last_id = eid
    current = ledger.store.get(key(b"m", b"roster"))
    if current != last_id:
        tally.add(GOVERNANCE_FEED, 0, current, "m/roster does not name the last roster held")
    return _Rosters(by_seq, last_id)


def _candidate_keys(header: Header, rosters: _Rosters, anchor: bytes) -> list[bytes]:
    """Keys that may have signed `header`, most likely first."""
    if header.author == GOVERNANCE_FEED:
        roster = rosters.before(header.seq)
        return [anchor if roster is None else roster.governance.public_key]
    found: list[bytes] = []
    for roster in rosters.all_newest_first():
        if header.author in THRESHOLD_FEEDS:
            candidate: bytes | None = roster.threshold_key(header.author)
        else:
            member = roster.member(header.author)
            candidate = None if member is None else member.signing_key
        if candidate is not None and candidate not in found:
            found.append(candidate)
    return found


def _signature_ok(entry: Entry, rosters: _Rosters, anchor: bytes) -> str | None:
    """None if the signature verifies, else why not."""
    candidates = _candidate_keys(entry.header, rosters, anchor)
    if not candidates:
        return f"no roster names a key for {entry.header.author}"
    message = entry.header.signing_bytes()
    for candidate in candidates:
        try:
            verify(candidate, message, entry.signature)
            return None
        except BadSignature:
            continue
    return "signature does not verify"


# -- feeds -------------------------------------------------------------------


@dataclass
class _Feed:
    """Where the walk stands in one author's feed."""

    author: str
    expected_seq: int = 1
    last: tuple[int, bytes] | None = None  # (seq, id) of the last header seen


def _walk_feeds(
    ledger: Ledger, tally: _Tally, rosters: _Rosters, signatures: bool, tail: int | None = None
) -> set[str]:
    """Check every header of the h/ table, feed by feed (keys sort that way); the authors.

    With `tail`, every row is checked for gaps but only each feed's last `tail`
    rows get `_check_row` (the row before them gives the chain's `prev`).
    """
    authors: set[str] = set()
    feed: _Feed | None = None
    rows: deque[tuple[int, bytes, bool]] = deque(maxlen=None if tail is None else tail + 1)
    for k, raw in ledger.store.iterate(b"h/"):
        where = _parse_header_key(k)
        if where is None:
            tally.add("", 0, None, f"malformed header key {k!r}")
            continue
        author, seq = where
        if feed is None or feed.author != author:
            if feed is not None:
                _end_feed(ledger, tally, feed, rows, rosters, signatures)
            feed = _Feed(author)
            authors.add(author)
            tally.feeds += 1
        tally.entries += 1
        in_order = seq == feed.expected_seq
        if not in_order:
            gap = f"seq {seq} follows {feed.expected_seq - 1}: gap in feed"
            tally.add(author, seq, entry_id(raw), gap)
        feed.expected_seq = seq + 1
        if tail is None:
            _check_row(ledger, tally, feed, seq, raw, in_order, rosters, signatures)
        else:
            rows.append((seq, raw, in_order))
    if feed is not None:
        _end_feed(ledger, tally, feed, rows, rosters, signatures)
    return authors


def _end_feed(
    ledger: Ledger,
    tally: _Tally,
    feed: _Feed,
    rows: deque[tuple[int, bytes, bool]],
    rosters: _Rosters,
    signatures: bool,
) -> None:
    """Check the buffered last rows of a feed (tail mode), then its frontier."""
    if rows:
        if rows.maxlen is not None and len(rows) == rows.maxlen:
            seq, raw, _ = rows.popleft()  # only the chain link of the first checked row
            feed.last = (seq, entry_id(raw))
        for seq, raw, in_order in rows:
            _check_row(ledger, tally, feed, seq, raw, in_order, rosters, signatures)
        rows.clear()
    _check_frontier(ledger, tally, feed)


def _parse_header_key(k: bytes) -> tuple[str, int] | None:
    return _safe_position(k[2:])


def _safe_position(raw: bytes) -> tuple[str, int] | None:
    """`parse_position`, or None if `raw` is not `<author>\\0<seq:8>`."""
    name, sep, seq = raw.partition(b"\x00")
    if not sep or len(seq) != SEQ_BYTES or not name:
        return None
    try:
        name.decode()
    except UnicodeDecodeError:
        return None
    return parse_position(raw)


def _check_row(
    ledger: Ledger,
    tally: _Tally,
    feed: _Feed,
    seq: int,
    raw: bytes,
    in_order: bool,
    rosters: _Rosters,
    signatures: bool,
) -> None:
    """The per-entry checks; the caller has counted the row and reported any gap."""
    author, eid = feed.author, entry_id(raw)
    decoded = _decode_header(tally, author, seq, eid, raw)
    header = None if decoded is None else decoded[0]
    if decoded is not None:
        header, sig = decoded
        if in_order and feed.last is not None and header.prev != feed.last[1]:
            tally.add(author, seq, eid, "prev is not the id of the previous entry")
        if signatures:
            why = _signature_ok(Entry(header, sig), rosters, ledger.anchor)
            if why is not None:
                tally.add(author, seq, eid, why)
    _check_body_state(ledger, tally, header, eid, author, seq)
    if decoded is not None:
        _check_findable(ledger, tally, decoded, eid, author, seq)
    if ledger.store.get(key(b"e", eid)) != position(author, seq):
        tally.add(author, seq, eid, "e/<id> does not map back to this position")
    feed.last = (seq, eid)


def _check_frontier(ledger: Ledger, tally: _Tally, feed: _Feed) -> None:
    assert feed.last is not None
    seq, eid = feed.last
    raw = ledger.store.get(key(b"f", feed.author.encode()))
    try:
        head = None if raw is None else decode(raw)
    except NoticenetError:
        head = "undecodable"
    if head != [seq, eid]:
        tally.add(
            feed.author, seq, eid, f"frontier f/{feed.author} is {head!r}, not the last entry"
        )


def _decode_header(
    tally: _Tally, author: str, seq: int, eid: bytes, raw: bytes
) -> tuple[Header, bytes] | None:
    try:
        header, sig = decode_signed_header(raw)
    except NoticenetError as exc:
        tally.add(author, seq, eid, f"signed header does not decode: {exc}")
        return None
    if Entry(header, sig).signed_header != raw:
        tally.add(author, seq, eid, "signed header is not canonical")
        return None
    if (header.author, header.seq) != (author, seq):
        tally.add(author, seq, eid, f"header says {header.author}#{header.seq}")
        return None
    return header, sig


def _check_body_state(
    ledger: Ledger, tally: _Tally, header: Header | None, eid: bytes, author: str, seq: int
) -> None:
    body = ledger.store.get(key(b"b", eid))
    tomb = ledger.store.get(key(b"t", eid))
    if body is not None and tomb is not None:
        tally.add(author, seq, eid, "both a body and a tombstone")
    if body is not None:
        tally.bodies += 1
        if header is not None:
            try:
                check_body(header, body)
            except NoticenetError:
                tally.add(author, seq, eid, "body does not match the header's hash or length")
            if header.expires_at is not None:
                slot = key(b"x", seq_bytes(header.expires_at) + eid)
                if ledger.store.get(slot) is None:
                    tally.add(author, seq, eid, "held body with an expiry has no x/ slot")
    elif tomb is not None:
        tally.tombstones += 1
        if not _decodes_to_map(tomb):
            tally.add(author, seq, eid, "tombstone does not decode")
    else:
        tally.header_only += 1
    if body is None and ledger.store.get(key(b"r", eid)) is not None:
        tally.add(author, seq, eid, "index keys listed (r/) for an entry without a body")


def _check_findable(
    ledger: Ledger,
    tally: _Tally,
    decoded: tuple[Header, bytes],
    eid: bytes,
    author: str,
    seq: int,
) -> None:
    """A held body this node has the key for was read and indexed when it was stored
    (its `r/` list), or no border check can find it."""
    if spec(decoded[0].kind).keying == "public":
        return
    if ledger.store.get(key(b"c", position(author, seq))) is not None:
        tally.unopened += 1  # relayed, waiting for the open stage: found once opened
        if ledger.store.get(key(b"r", eid)) is not None:
            tally.add(author, seq, eid, "index keys for an entry not opened yet")
        return
    if ledger.store.get(key(b"r", eid)) is not None:
        return
    if ledger.store.get(key(b"b", eid)) is None:
        return
    if ledger.epochs.key_or_none(Txn(ledger.store), Entry(*decoded)) is not None:
        tally.add(author, seq, eid, "a body this node can read was never indexed: not findable")


def _check_waiting(ledger: Ledger, tally: _Tally) -> None:
    """Every `c/` marker (not opened yet) names the entry held at its position, whose
    body is held and of an encrypted kind (public kinds are opened on arrival)."""
    for k, eid in ledger.store.iterate(b"c/"):
        where = _safe_position(k[2:])
        if where is None:
            tally.add("", 0, eid, f"malformed c/ key {k!r}")
            continue
        raw = ledger.store.get(header_key(*where))
        if raw is None or entry_id(raw) != eid:
            tally.add(*where, eid, "c/ marker names no entry held at its position")
        elif ledger.store.get(key(b"b", eid)) is None:
            tally.add(*where, eid, "c/ marker for an entry without a body")
        elif _public(raw):
            tally.add(*where, eid, "c/ marker for a public kind (opened on arrival)")


def _public(raw: bytes) -> bool:
    """Whether a signed header is of a public kind (False if it does not decode:
    the walk over the feeds reports that)."""
    try:
        return spec(decode_signed_header(raw)[0].kind).keying == "public"
    except NoticenetError:
        return False


def _decodes_to_map(raw: bytes) -> bool:
    try:
        value: Any = decode(raw)
    except NoticenetError:
        return False
    return isinstance(value, dict)


def _check_frontiers(ledger: Ledger, tally: _Tally, authors: set[str]) -> None:
    for k, _v in ledger.store.iterate(b"f/"):
        author = k[2:].decode("utf-8", "replace")
        if author not in authors:
            tally.add(author, 0, None, "frontier for a feed with no entries")


def _check_entry_map(ledger: Ledger, tally: _Tally) -> None:
    """Every e/<id> names a position whose header has that id."""
    for k, v in ledger.store.iterate(b"e/"):
        eid = k[2:]
        where = _safe_position(v)
        if where is None:
            tally.add("", 0, eid, "e/<id> holds a malformed position")
            continue
        author, seq = where
        raw = ledger.signed_header(author, seq)
        if raw is None or entry_id(raw) != eid:
            tally.add(author, seq, eid, "e/<id> points at a position without that entry")


def _check_detached(ledger: Ledger, tally: _Tally) -> None:
    """Bodies and tombstones belong to entries whose header is held."""
    for table, what in ((b"b/", "body"), (b"t/", "tombstone")):
        for k, _v in ledger.store.iterate(table):
            eid = k[2:]
            if not _header_held(ledger, eid):
                tally.add(*_where(ledger, eid), eid, f"{what} of an entry whose header is not held")


def _header_held(ledger: Ledger, eid: bytes) -> bool:
    """True if e/<id> names a position whose signed header has id `eid`."""
    raw = ledger.store.get(key(b"e", eid))
    where = None if raw is None else _safe_position(raw)
    if where is None:
        return False
    header = ledger.signed_header(*where)
    return header is not None and entry_id(header) == eid


def _check_indexes(ledger: Ledger, tally: _Tally) -> None:
    """Index keys and their r/ lists belong to entries whose body is held."""
    for k, v in ledger.store.iterate(b"r/"):
        eid = k[2:]
        try:
            listed = [bytes(x) for x in decode(v)]
        except (NoticenetError, TypeError):
            tally.add(*_where(ledger, eid), eid, "r/<id> does not decode")
            continue
        for index_key in listed:
            if ledger.store.get(index_key) is None:
                tally.add(*_where(ledger, eid), eid, "an index key listed in r/ is missing")
    for k, _v in ledger.store.iterate(b"i/"):
        eid = k[-ID_BYTES:]
        if ledger.store.get(key(b"b", eid)) is None:
            tally.add(*_where(ledger, eid), eid, "index key for an entry without a body")


def _check_expiry_queue(ledger: Ledger, tally: _Tally) -> None:
    for k, _v in ledger.store.iterate(b"x/"):
        if len(k) != 2 + SEQ_BYTES + ID_BYTES:
            tally.add("", 0, None, f"malformed expiry key {k!r}")
            continue
        expires_at = int.from_bytes(k[2 : 2 + SEQ_BYTES], "big")
        eid = k[2 + SEQ_BYTES :]
        author, seq = _where(ledger, eid)
        if ledger.store.get(key(b"b", eid)) is None:
            tally.add(author, seq, eid, "expiry slot for a body that is not held")
            continue
        raw = ledger.signed_header(author, seq) if seq else None
        try:
            header = None if raw is None else decode_signed_header(raw)[0]
        except NoticenetError:
            continue  # reported by the feed walk
        if header is not None and header.expires_at != expires_at:
            tally.add(author, seq, eid, "expiry slot disagrees with the header's expires_at")


def _where(ledger: Ledger, eid: bytes) -> tuple[str, int]:
    """(author, seq) of `eid` if e/ knows it, else ("", 0)."""
    raw = ledger.store.get(key(b"e", eid))
    found = None if raw is None else _safe_position(raw)
    return ("", 0) if found is None else found
