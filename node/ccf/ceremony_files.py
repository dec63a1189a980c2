"""The CCF signing ceremony through files: `propose`, `commit`, `sign`, `aggregate`.

Plain functions taking paths, for the main CLI to wire. Each commissioner
runs `commit` and `sign` on their own machine; only proposals, commitments,
shares and the final entry travel (small canonical CBOR files). Secret files
(key packages, nonces) are written 0600 and, given a passphrase, locked with
`noticenet.crypto.keyfile` (argon2id + SecretBox).

Key package file: `{"type": "frost-key-package", "v": 1, "package": to_dict()}`;
public package file: `{"type": "frost-public-package", "v": 1, group_public_key,
threshold, verifying_shares: [[id, share], ...]}` (canonical CBOR, text keys).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from noticenet.crypto import frost, keyfile
from noticenet.crypto.keys import MemberKeys
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.protocol.ccf import actions, ceremony
from noticenet.protocol.ccf.ceremony import (
    CeremonyError,
    Commitment,
    Nonces,
    Proposal,
    Share,
    SignedPositions,
)
from noticenet.protocol.errors import CodecError, SchemaError
from noticenet.protocol.ledger.ledger import Ledger, Reader
from noticenet.protocol.records.codec import decode, encode
from noticenet.protocol.records.entry import Entry

VERSION = 1


class CeremonyFileError(CeremonyError):
    """A ceremony file is missing, locked without a passphrase, or would be overwritten."""


# --- files ---


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    """Write atomically and durably (temporary file, fsync, rename, fsync the folder).

    Secret files are 0600.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CeremonyFileError(f"cannot read {path}: {exc.strerror}") from None


def _is_locked(data: bytes) -> bool:
    try:
        doc = decode(data)
    except CodecError:
        return False
    return isinstance(doc, dict) and doc.get("kdf") == "argon2id"


def write_secret(path: Path, data: bytes, passphrase: str | None = None) -> None:
    """Write secret bytes, locked under `passphrase` if one is given."""
    _write(path, keyfile.lock(data, passphrase) if passphrase else data, secret=True)


def read_secret(path: Path, passphrase: str | None = None) -> bytes:
    """Read secret bytes, unlocking them if the file is locked."""
    data = _read(path)
    if not _is_locked(data):
        return data
    if not passphrase:
        raise CeremonyFileError(f"{path} is locked: give its passphrase")
    return keyfile.unlock(data, passphrase)


def _shred(path: Path) -> None:
    """Overwrite a secret file with zeros, then remove it."""
    size = Path(path).stat().st_size
    with open(path, "r+b") as f:
        f.write(bytes(size))
        f.flush()
        os.fsync(f.fileno())
    Path(path).unlink()


def _package_doc(data: bytes, kind: str) -> dict[str, Any]:
    doc = decode(data)
    if not isinstance(doc, dict) or doc.get("type") != kind or doc.get("v") != VERSION:
        raise SchemaError(f"not a {kind} file")
    return doc


def write_key_package(
    path: Path, package: frost.KeyPackage, passphrase: str | None = None
) -> None:
    """A signer's key package (secret share), locked if a passphrase is given."""
    doc = {"type": "frost-key-package", "v": VERSION, "package": package.to_dict()}
    write_secret(path, encode(doc), passphrase)


def read_key_package(path: Path, passphrase: str | None = None) -> frost.KeyPackage:
    doc = _package_doc(read_secret(path, passphrase), "frost-key-package")
    try:
        return frost.KeyPackage.from_dict(doc["package"])
    except frost.InvalidEncoding as exc:
        raise SchemaError(f"{path}: {exc}") from None


def write_public_package(path: Path, public: frost.PublicKeyPackage) -> None:
    doc = {
        "type": "frost-public-package",
        "v": VERSION,
        "group_public_key": public.group_public_key,
        "threshold": public.threshold,
        "verifying_shares": [[i, s] for i, s in sorted(public.verifying_shares.items())],
    }
    _write(path, encode(doc))


def read_public_package(path: Path) -> frost.PublicKeyPackage:
    doc = _package_doc(_read(path), "frost-public-package")
    try:
        shares = {int(i): bytes(s) for i, s in doc["verifying_shares"]}
        return frost.PublicKeyPackage(doc["group_public_key"], shares, doc["threshold"])
    except (frost.InvalidEncoding, KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"{path}: not a valid public key package ({exc})") from None


def read_proposal(path: Path) -> Proposal:
    return Proposal.from_bytes(_read(path))


# --- the steps ---


def _open_ledger(store: Path, member: str | None, key_file: Path | None,
                 passphrase: str | None) -> Ledger:
    """The node's ledger, read only; with a member key file it can decrypt bodies."""
    reader, index_key = None, bytes(32)
    if member is not None and key_file is not None:
        keys = MemberKeys(read_secret(key_file, passphrase))
        reader, index_key = Reader(member, keys.encryption), keys.index_key
    db = LevelDBStore(store, create_if_missing=False)
    # Read only: the anchor checks a first roster on ingest, which never happens here.
    return Ledger(db, anchor=bytes(32), reader=reader, index_key=index_key)


def cmd_propose(
    out: Path,
    store: Path,
    action: str,
    targets: Sequence[str],
    reason: str,
    decision: str,
    *,
    admit: str | None = None,
    guards: Sequence[str] = (),
    member: str | None = None,
    key_file: Path | None = None,
    passphrase: str | None = None,
    now_ms: int | None = None,
) -> Proposal:
    """Write the proposal for the next entry of the action's feed, read off the node's store.

    A revocation guards the targets' identifiers: given the CCF node's member id
    and key file, the tags are computed from the decrypted target records.
    """
    ledger = _open_ledger(store, member, key_file, passphrase)
    try:
        roster = ledger.roster
        if roster is None:
            raise CeremonyError(f"the store at {store} holds no roster")
        ids = tuple(bytes.fromhex(t) for t in targets)
        record = actions.action_for(
            ledger if ledger.reader is not None else None,
            action, ids, reason, decision, {bytes.fromhex(g) for g in guards},
            None if admit is None else bytes.fromhex(admit),
        )
        group = roster.block if action == "block" else roster.revoke
        feed = ceremony.feed_for(action)
        when = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        proposal = ceremony.propose(ledger.head(feed), when, record, group)
    finally:
        ledger.store.close()
    _write(out, proposal.to_bytes())
    return proposal


def cmd_show(proposal: Path) -> list[str]:
    """The proposal's readable description."""
    return read_proposal(proposal).describe()


def cmd_commit(
    proposal: Path,
    key_package: Path,
    nonces_out: Path,
    commitment_out: Path,
    passphrase: str | None = None,
) -> Commitment:
    """Round one: keep the nonces (secret, locked if a passphrase is given), send the commitment."""
    if Path(nonces_out).exists():
        raise CeremonyFileError(f"{nonces_out} exists: nonces are never reused or overwritten")
    prop = read_proposal(proposal)
    nonces, commitment = ceremony.commit(prop, read_key_package(key_package, passphrase))
    write_secret(nonces_out, nonces.to_bytes(), passphrase)
    _write(commitment_out, commitment.to_bytes())
    return commitment


def signed_record_path(key_package: Path) -> Path:
    """Where a signer's record of signed positions lives: beside the key package."""
    key_package = Path(key_package)
    return key_package.with_name(key_package.name + ".signed")


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`.lock: one round two at a time per signer."""
    lock = Path(path).with_name(Path(path).name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def cmd_sign(
    proposal: Path,
    key_package: Path,
    nonces: Path,
    commitments: Sequence[Path],
    out: Path,
    passphrase: str | None = None,
    signed: Path | None = None,
) -> Share:
    """Round two: sign a share; the nonces file is destroyed once the share is written.

    The signer's record (`signed`, by default beside the key package: KEY.signed)
    is checked and durably written (fsync) before the share leaves this
    function: a nonce pair that already signed another proposal or signer set
    is refused (NonceReused), whatever copy of the nonces file is presented,
    and so is a second, different proposal at a position already signed
    (ConflictingProposal). The record must never be restored from an older
    backup: it is what remembers which nonces were used.
    """
    prop = read_proposal(proposal)
    package = read_key_package(key_package, passphrase)
    kept = Nonces.from_bytes(read_secret(nonces, passphrase))
    received = [Commitment.from_bytes(_read(p)) for p in commitments]
    record = Path(signed) if signed is not None else signed_record_path(key_package)
    with _exclusive(record):
        exists = record.exists()
        positions = SignedPositions.from_bytes(_read(record)) if exists else SignedPositions()
        # Refused before any share is computed. A new use is recorded durably
        # before the share leaves this function; the share is computed (in
        # memory) first only so that a malformed session burns no nonces.
        fresh = positions.admit_share(prop, kept, received)  # raises, recording nothing
        share = ceremony.sign_share(prop, package, kept, received)
        if fresh or not exists:
            _write(record, positions.to_bytes(), secret=True)
    _write(out, share.to_bytes())
    _shred(nonces)
    return share


def cmd_aggregate(
    proposal: Path,
    public_package: Path,
    commitments: Sequence[Path],
    shares: Sequence[Path],
    out: Path,
) -> Entry:
    """Combine the shares; writes the signed entry (wire format) ready to publish."""
    prop = read_proposal(proposal)
    entry = ceremony.aggregate(
        prop,
        [Commitment.from_bytes(_read(p)) for p in commitments],
        [Share.from_bytes(_read(p)) for p in shares],
        read_public_package(public_package),
    )
    _write(out, entry.to_wire())
    return entry
