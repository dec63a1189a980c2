"""A node's store: created once, opened strictly, checked on start, repaired on demand.

- `create_store` makes the LevelDB store with the genesis roster and the
  identity marker (`noticenet init`, `noticenet localnet create`, and
  `repair` of a missing store). Nothing else creates a store: `node run` on a
  missing one refuses.
- `open_node_store` opens it with LevelDB's paranoid checks, refuses a store
  of another member or network, and runs the quick integrity check
  (protocol/ledger/integrity.py). Every refusal is one `StoreError` line naming the
  damage and the command that mends it.
- `repair_store` runs LevelDB's RepairDB if the store does not open, then
  re-ingests every entry that verifies, feed by feed, into a fresh store
  through the normal `Ledger` code (so tombstones, guards and indexes are
  rebuilt by the same code), cutting each feed at its first missing or bad
  entry. The fresh store replaces the old one by rename; the old one is
  removed (it may hold bodies a revocation has since deleted), or kept
  aside on request. The node then fetches what was cut back from its peers
  by normal replication: its frontier is lower.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plyvel

from noticenet.crypto.errors import NoticenetError
from noticenet.crypto.keys import MemberKeys
from noticenet.node import logs
from noticenet.node.config import NodeConfig
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.errors import StoreDamaged, StoreError, StoreForeign, StoreMissing
from noticenet.protocol.ledger.integrity import describe, quick_check, read_identity, write_identity
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.ledger.validation import check_body
from noticenet.protocol.records.codec import decode
from noticenet.protocol.records.entry import Entry, decode_entry, decode_signed_header, entry_id
from noticenet.protocol.records.governance import GOVERNANCE_FEED, THRESHOLD_FEEDS
from noticenet.protocol.store.keyspace import Txn, feed_prefix, header_key, key, parse_position

logger = logging.getLogger("noticenet.node")

LEDGER = "ledger"
"""The LevelDB directory under a node's data_dir."""

REPAIR_BATCH = 256
"""Entries re-ingested per write batch by `repair_store`."""


def ledger_path(data_dir: Path) -> Path:
    return data_dir / LEDGER


def wall_ms() -> int:
    return int(time.time() * 1000)


def repair_command(data_dir: Path) -> str:
    """The command that repairs the store under `data_dir`, naming its node.toml if found."""
    guess = data_dir.parent / "node.toml"
    return f"noticenet repair -c {guess if guess.exists() else 'node.toml'}"


def has_store(data_dir: Path) -> bool:
    """True if `data_dir` holds a store (its LevelDB directory has anything in it)."""
    return _exists(ledger_path(data_dir))


def _exists(path: Path) -> bool:
    """True if `path` is a directory with anything in it."""
    try:
        return any(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return False


# -- creating ----------------------------------------------------------------------


def create_store(
    data_dir: Path,
    member: str,
    anchor: bytes,
    keys: MemberKeys,
    genesis: bytes,
    now_ms: int | None = None,
) -> Path:
    """Create `data_dir`'s store: identity marker, genesis roster. Refuses an existing one."""
    path = ledger_path(data_dir)
    if _exists(path):
        raise StoreError(f"a store already exists at {path}")
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(path, ignore_errors=True)  # an empty leftover directory
    try:
        with LevelDBStore(path, create_if_missing=True, paranoid=True) as store:
            write_identity(store, member, anchor)
            ledger = Ledger.of_member(store, anchor, member, keys)
            ledger.ingest(decode_entry(genesis), wall_ms() if now_ms is None else now_ms)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    logs.event(logger, "store.created", member=member, path=str(path))
    return path


# -- opening -----------------------------------------------------------------------


def _damage(reason: str, path: Path) -> str:
    """LevelDB's reason for not opening, in a few words on one line."""
    text = " ".join(str(reason).split()).replace(str(path) + "/", "").replace(str(path), "")
    if "block checksum mismatch" in text:
        return "a table file fails its block checksums"
    return text.removeprefix("cannot open LevelDB store at : ").removeprefix(
        "LevelDB store at  is corrupt: "
    )


def _missing_file(path: Path) -> str | None:
    """The damage if LevelDB's CURRENT, or the MANIFEST it names, is gone."""
    try:
        manifest = (path / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return "its CURRENT file is missing"
    except (OSError, UnicodeDecodeError):
        return "its CURRENT file is unreadable"
    if not manifest.startswith("MANIFEST-") or not (path / manifest).is_file():
        return f"its {manifest[:40] or 'MANIFEST'} file is missing"
    return None


def _open_raw(path: Path, paranoid: bool) -> LevelDBStore:
    """LevelDBStore(path) that never creates; a lock held elsewhere stays a plain StoreError."""
    damage = _missing_file(path)
    if damage is None:
        try:
            return LevelDBStore(path, create_if_missing=False, paranoid=paranoid)
        except StoreError as exc:
            if "lock" in str(exc):
                raise
            damage = _damage(str(exc), path)
    raise StoreDamaged(
        f"store at {path} is damaged ({damage}): run `{repair_command(path.parent)}`"
    )


def open_node_store(config: NodeConfig, keys: MemberKeys) -> tuple[LevelDBStore, Ledger]:
    """Open the node's store strictly and check it; the store and the member's ledger.

    Raises StoreMissing, StoreDamaged or StoreForeign with a one-line message.
    """
    path = ledger_path(config.data_dir)
    fix = repair_command(config.data_dir)
    if not _exists(path):
        raise StoreMissing(
            f"no store at {path}: `noticenet init` or `noticenet localnet create` makes one; "
            f"to restore a wiped member run `{fix}`"
        )
    began = time.perf_counter()
    store = _open_raw(path, paranoid=True)
    try:
        try:
            store.scan()  # every block against its checksum: damage anywhere shows now
            _check_identity(store, config.member, config.anchor, fix)
            ledger = Ledger.of_member(store, config.anchor, config.member, keys)
            problems = quick_check(ledger)
        except (StoreDamaged, StoreForeign):
            raise
        except NoticenetError as exc:
            raise StoreDamaged(
                f"store at {path} is damaged ({_damage(str(exc), path)}): run `{fix}`"
            ) from None
        if ledger.roster is None:
            raise StoreDamaged(f"store at {path} is damaged (no roster held): run `{fix}`")
        if problems:
            raise StoreDamaged(f"store at {path} is damaged ({describe(problems)}): run `{fix}`")
    except BaseException:
        store.close()
        raise
    logs.event(
        logger,
        "store.checked",
        member=config.member,
        ms=round((time.perf_counter() - began) * 1000, 1),
    )
    return store, ledger


def _check_identity(store: LevelDBStore, member: str, anchor: bytes, fix: str) -> None:
    identity = read_identity(store)
    if identity is None:
        raise StoreDamaged(f"store at {store.path} is damaged (no identity marker): run `{fix}`")
    if identity.member != member or identity.anchor != anchor:
        raise StoreForeign(_foreign(store.path, identity.member, identity.anchor, member, anchor))


def _foreign(path: str, has_member: str, has_anchor: bytes, member: str, anchor: bytes) -> str:
    whose = (
        f"member {has_member}'s, not {member}'s"
        if has_member != member
        else f"of another network (governance key {has_anchor.hex()[:16]}…)"
    )
    return f"store at {path} is {whose}: check data_dir in node.toml, or move that store away"


# -- repairing ---------------------------------------------------------------------


@dataclass
class FeedRepair:
    """One feed's outcome: entries kept, dropped, and where it was cut."""

    author: str
    held: int = 0  # headers the old store held
    kept: int = 0
    cut: str = ""  # why the feed stops where it does ("" if kept whole)

    @property
    def dropped(self) -> int:
        return max(0, self.held - self.kept)


@dataclass
class RepairReport:
    path: Path
    created: bool = False  # the store was missing: a fresh one with the genesis
    leveldb_repaired: bool = False  # LevelDB's RepairDB ran (the store did not open)
    kept_aside: Path | None = None
    feeds: list[FeedRepair] = field(default_factory=list)
    evidence: int = 0

    @property
    def kept(self) -> int:
        return sum(f.kept for f in self.feeds)

    @property
    def dropped(self) -> int:
        return sum(f.dropped for f in self.feeds)


def repair_store(
    config: NodeConfig,
    keys: MemberKeys,
    keep_old: bool = False,
    clock: Callable[[], int] = wall_ms,
) -> RepairReport:
    """Rebuild the node's store from what verifies in it (see the module docstring).

    A missing store is created with the genesis. The node must be stopped.
    """
    path = ledger_path(config.data_dir)
    fresh, aside = path.with_name(LEDGER + ".new"), path.with_name(LEDGER + ".damaged")
    report = RepairReport(path)
    if not _exists(path) and _exists(fresh) and _exists(aside):
        os.replace(fresh, path)  # a repair stopped between its two renames: finish it
        _fsync_dir(path.parent)
    shutil.rmtree(fresh, ignore_errors=True)  # a repair stopped while building
    if not _exists(path):
        create_store(
            config.data_dir,
            config.member,
            config.anchor,
            keys,
            config.genesis.read_bytes(),
            clock(),
        )
        report.created = True
        _discard(aside, keep_old, report)
        logs.event(logger, "store.repaired", member=config.member, created=True)
        return report
    try:
        _open_raw(path, paranoid=True).close()
    except StoreDamaged:
        _repair_db(path)
        report.leveldb_repaired = True
    # Read without block checksums: every entry is verified as it is re-ingested,
    # and a block that fails its checksum may still hold entries that verify.
    old = _open_raw(path, paranoid=False)
    try:
        try:
            identity = read_identity(old)
        except StoreError:
            identity = None
        if identity is not None and (identity.member, identity.anchor) != (
            config.member,
            config.anchor,
        ):
            raise StoreForeign(
                _foreign(old.path, identity.member, identity.anchor, config.member, config.anchor)
            )
        with LevelDBStore(fresh, create_if_missing=True, paranoid=True) as new:
            _rebuild(old, new, config, keys, clock(), report)
            write_identity(new, config.member, config.anchor)  # synced: all before it too
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    finally:
        old.close()
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(path, aside)
    os.replace(fresh, path)
    _fsync_dir(path.parent)
    _discard(aside, keep_old, report)
    logs.event(
        logger,
        "store.repaired",
        member=config.member,
        kept=report.kept,
        dropped=report.dropped,
        leveldb_repaired=report.leveldb_repaired,
    )
    return report


def _repair_db(path: Path) -> None:
    try:
        plyvel.repair_db(str(path), paranoid_checks=False)
    except plyvel.Error as exc:
        raise StoreDamaged(
            f"LevelDB cannot repair the store at {path} ({_damage(str(exc), path)}): "
            "move it away and run repair again to start from the genesis"
        ) from None


def _discard(aside: Path, keep_old: bool, report: RepairReport) -> None:
    if not aside.exists():
        return
    if keep_old:
        report.kept_aside = aside
    else:
        shutil.rmtree(aside)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _get(store: LevelDBStore, k: bytes) -> bytes | None:
    """A read of the damaged store: an unreadable value counts as missing."""
    try:
        return store.get(k)
    except StoreError:
        return None


def _authors(store: LevelDBStore) -> Iterator[str]:
    """Every author with a header in `store`, skipping feed by feed (one seek each).

    A damaged stretch ends the feed it is in; the walk resumes at the next one.
    """
    start = b"h/"
    while True:
        try:
            found = next(store.iterate(b"h/", start=start), None)
        except StoreError:
            found = None
        if found is None:
            return
        name = found[0][2:].partition(b"\x00")[0]
        start = b"h/" + name + b"\x01"  # past every `h/<name>\0<seq>` key
        with contextlib.suppress(UnicodeDecodeError):
            yield name.decode()


def _held(store: LevelDBStore, author: str) -> int:
    """How many entries of `author` the old store claims: headers read, or its frontier."""
    n = 0
    with contextlib.suppress(StoreError):
        for _ in store.iterate(feed_prefix(author)):
            n += 1
    head = _get(store, key(b"f", author.encode()))
    try:
        claimed = 0 if head is None else int(decode(head)[0])
    except (NoticenetError, TypeError, ValueError, IndexError, KeyError):
        claimed = 0
    return max(n, claimed)


def _order(authors: list[str]) -> list[str]:
    """Governance feeds first, as replication sends them: later feeds need their rosters."""
    first = [a for a in THRESHOLD_FEEDS if a in authors]
    return first + sorted(a for a in authors if a not in THRESHOLD_FEEDS)


def _rebuild(
    old: LevelDBStore,
    new: LevelDBStore,
    config: NodeConfig,
    keys: MemberKeys,
    now_ms: int,
    report: RepairReport,
) -> None:
    ledger = Ledger.of_member(new, config.anchor, config.member, keys)
    authors = _order(list(_authors(old)))
    for author in authors:
        if author != GOVERNANCE_FEED and ledger.roster is None:
            # no #GOV entry verified: start from the network's genesis
            ledger.ingest(decode_entry(config.genesis.read_bytes()), now_ms)
        feed = FeedRepair(author, held=_held(old, author))
        _rebuild_feed(old, ledger, feed, now_ms)
        report.feeds.append(feed)
    if ledger.roster is None:
        ledger.ingest(decode_entry(config.genesis.read_bytes()), now_ms)
    report.evidence = _restore_evidence(old, ledger, now_ms)
    _restore_tombstone_times(old, ledger)


def _rebuild_feed(old: LevelDBStore, ledger: Ledger, feed: FeedRepair, now_ms: int) -> None:
    """Re-ingest `feed.author`'s entries from seq 1 until one is missing or does not verify."""
    batch: list[tuple[Entry, bytes | None]] = []  # entry, its old tombstone
    seq = 1
    while True:
        raw = _get(old, header_key(feed.author, seq))
        if raw is None:
            if seq <= feed.held:
                feed.cut = f"seq {seq} missing"
            break
        decoded = _decode(raw, feed.author, seq)
        if decoded is None:
            feed.cut = f"seq {seq} does not decode"
            break
        eid = entry_id(raw)
        tomb = _get(old, key(b"t", eid))
        body = None if tomb is not None else _get(old, key(b"b", eid))
        if body is not None:
            try:
                check_body(decoded[0], body)
            except NoticenetError:  # replication sends it again only above the frontier
                feed.cut = f"seq {seq} body does not match its header"
                break
        batch.append((Entry(decoded[0], decoded[1], body), tomb))
        seq += 1
        if len(batch) >= REPAIR_BATCH:
            if not _ingest(ledger, old, batch, feed, now_ms):
                return
            batch = []
    _ingest(ledger, old, batch, feed, now_ms)


def _decode(raw: bytes, author: str, seq: int) -> tuple[Any, bytes] | None:
    try:
        header, sig = decode_signed_header(raw)
    except NoticenetError:
        return None
    if Entry(header, sig).signed_header != raw or (header.author, header.seq) != (author, seq):
        return None
    return header, sig


def _ingest(
    ledger: Ledger,
    old: LevelDBStore,
    batch: list[tuple[Entry, bytes | None]],
    feed: FeedRepair,
    now_ms: int,
) -> bool:
    """Ingest one batch of a feed; restore tombstones; False if the feed was cut in it."""
    if not batch:
        return True
    results = ledger.ingest_many([e for e, _ in batch], now_ms, sync=False)
    txn = Txn(ledger.store)
    whole = True
    for (entry, tomb), result in zip(batch, results, strict=True):
        if isinstance(result, NoticenetError):
            feed.cut = f"seq {entry.header.seq} refused ({type(result).__name__})"
            whole = False
            break
        feed.kept += 1
        eid = entry.id
        evidence = _get(old, key(b"d", eid))
        if evidence is not None:
            txn.put(key(b"d", eid), evidence)
        if tomb is None or txn.get(key(b"t", eid)) is not None or txn.get(key(b"b", eid)):
            continue
        try:
            was: Any = decode(tomb)
            reason, at, by = str(was["reason"]), int(was["at"]), bytes(was.get("by", b""))
        except (NoticenetError, KeyError, TypeError, ValueError):
            reason, at, by = "repaired", now_ms, b""
        ledger.tombstone_body(txn, eid, reason, at, by)
    txn.commit(sync=False)
    return whole


def _restore_tombstone_times(old: LevelDBStore, ledger: Ledger) -> None:
    """Tombstones the rebuild made again (a cancel, an expiry, a revocation) keep the
    time and signer they had, not the time of the repair."""
    txn = Txn(ledger.store)
    with contextlib.suppress(StoreError):
        for k, was in old.iterate(b"t/"):
            now = ledger.store.get(k)
            if now is None or now == was:
                continue
            try:
                same = decode(now)["reason"] == decode(was)["reason"]
            except (NoticenetError, KeyError, TypeError):
                same = False
            if same:
                txn.put(k, was)
    txn.commit(sync=False)


def _restore_evidence(old: LevelDBStore, ledger: Ledger, now_ms: int) -> int:
    """Re-ingest equivocation evidence (`q/`) at positions the rebuilt feeds hold."""
    restored = 0
    try:
        rows = list(old.iterate(b"q/"))
    except StoreError:
        rows = []
    for k, raw in rows:
        try:
            author, seq = parse_position(k[2:-32])
            header, sig = decode_signed_header(raw)
        except (NoticenetError, ValueError, UnicodeDecodeError):
            continue
        if (header.author, header.seq) != (author, seq):
            continue
        if ledger.store.get(header_key(author, seq)) is None:
            continue  # not held: ingesting it would make it the feed's entry
        try:
            ledger.ingest(Entry(header, sig), now_ms, sync=False)
        except NoticenetError:
            continue
        restored += 1
    return restored
