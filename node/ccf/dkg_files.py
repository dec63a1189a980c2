"""The CCF's DKG ceremony through files: `key`, `setup`, `round1`, `digests`, `round2`, `finish`.

The same steps reshare a group's key (`setup --refresh PUBLIC --from SETUP`, with
`--exclude`, `--add`, `--threshold`; `round1 --current KEYPACKAGE` for those who
hold a share now); `retire` then destroys the old key package, once every
participant's `done-<i>.cbor` says they hold the same new result.

Plain functions taking paths, for the CLI (`noticenet ccf dkg ...`) to wire;
the ceremony itself is `noticenet.protocol.ccf.dkg_ceremony` (sans-IO). Each
commissioner runs the steps on their own machine. Public records go in an
exchange folder that is carried between the machines (a USB stick, a shared
folder): `round1-<i>.cbor`, `digests-<i>.cbor`, `round2-<from>-to-<to>.cbor`
(sealed to its recipient), `complaint-<by>-against-<whom>.cbor`. Secrets stay
beside the commissioner's ceremony key, 0600 and locked with their
passphrase (argon2id): `<key>.<ceremony>.round1`, `.round2` (shredded once
used), and the output key package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from noticenet.crypto import frost
from noticenet.crypto.ceremony_identity import CeremonyKey
from noticenet.node.ccf.ceremony_files import (
    CeremonyFileError,
    _read,
    _shred,
    _write,
    read_key_package,
    read_public_package,
    read_secret,
    write_key_package,
    write_public_package,
    write_secret,
)
from noticenet.protocol.ccf import dkg_ceremony as dkg
from noticenet.protocol.ccf.dkg_ceremony import Digests, Done, Fault, Round1, Round2, Setup
from noticenet.protocol.errors import SchemaError


def cmd_key(out: Path, passphrase: str | None) -> bytes:
    """A new ceremony key (locked); returns its public key for the setup."""
    if Path(out).exists():
        raise CeremonyFileError(f"{out} exists: a ceremony key is never overwritten")
    key = CeremonyKey.generate()
    write_secret(out, key.seed, passphrase)
    return key.public


def read_ceremony_key(path: Path, passphrase: str | None) -> CeremonyKey:
    seed = read_secret(path, passphrase)
    if len(seed) != 32:
        raise SchemaError(f"{path} is not a ceremony key")
    return CeremonyKey(seed)


def read_setup(path: Path) -> Setup:
    return Setup.from_bytes(_read(path))


def cmd_setup(
    out: Path,
    group: str | None = None,
    threshold: int | None = None,
    participants: Sequence[str] = (),
    *,
    from_setup: Path | None = None,
    exclude: Sequence[int] = (),
    refresh: Path | None = None,
    add: Sequence[str] = (),
) -> Setup:
    """A new ceremony: from NAME=PUBLICKEY rows, or an earlier setup without `exclude`; with
    `refresh` (a group's public package), a refresh of its shares by the earlier setup's
    participants (the one that made the key or last refreshed it) without `exclude`."""
    if refresh is not None:
        if from_setup is None:
            raise SchemaError("a refresh needs --from: the setup that made or last refreshed "
                              "the key (it names who holds which share)")
        setup = read_setup(from_setup).refreshing(
            read_public_package(refresh), exclude, added=_rows(add), threshold=threshold)
    elif from_setup is not None:
        setup = read_setup(from_setup).without(exclude)
    else:
        if group is None or threshold is None:
            raise SchemaError("give --group and --threshold (or --from an earlier setup)")
        setup = Setup.new(group, threshold, _rows(participants))
    _write(out, setup.to_bytes())
    return setup


def _rows(participants: Sequence[str]) -> list[tuple[str, bytes]]:
    """NAME=PUBLICKEY (hex) rows."""
    rows = []
    for row in participants:
        name, sep, public = row.rpartition("=")
        if not sep:
            raise SchemaError(f"a participant is NAME=PUBLICKEY (hex), not {row!r}")
        try:
            rows.append((name, bytes.fromhex(public)))
        except ValueError:
            raise SchemaError(f"{name}: the ceremony public key is not hex") from None
    return rows


def _secret_path(key: Path, setup: Setup, step: str) -> Path:
    key = Path(key)
    return key.with_name(f"{key.name}.{setup.digest.hex()[:16]}.{step}")


def _records(folder: Path, pattern: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(Path(folder).glob(pattern))]


def _me(setup: Setup, key: CeremonyKey) -> int:
    return setup.identifier_of(key.public)


def cmd_round1(
    setup_path: Path, key_path: Path, folder: Path, passphrase: str | None,
    current: Path | None = None,
) -> Path | None:
    """Round one: keep the secret beside the key, put `round1-<i>.cbor` in the folder. In a
    reshare, a dealer gives `current` (its key package); one who joins sends nothing (None)."""
    setup = read_setup(setup_path)
    key = read_ceremony_key(key_path, passphrase)
    me = _me(setup, key)
    if me not in setup.dealers:
        return None
    if (setup.refresh is None) != (current is None):
        raise CeremonyFileError("a reshare's dealer gives --current (its key package of the "
                                "group); a DKG takes none")
    old = None if current is None else read_key_package(current, passphrase)
    secret_path = _secret_path(key_path, setup, "round1")
    out = Path(folder) / f"round1-{me}.cbor"
    if secret_path.exists() or out.exists():
        # A second round one would be a second, different package: an equivocation.
        raise CeremonyFileError(
            f"round one was already run for ceremony {setup.digest.hex()[:16]}: never twice"
        )
    secret, record = dkg.round1(setup, me, key, current=old)
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_secret(secret_path, secret, passphrase)
    _write(out, record.to_bytes())
    return out


def _round1s(folder: Path) -> list[Round1]:
    return [Round1.from_bytes(data) for data in _records(folder, "round1-*.cbor")]


def _digests(folder: Path) -> list[Digests]:
    return [Digests.from_bytes(data) for data in _records(folder, "digests-*.cbor")]


def cmd_digests(setup_path: Path, key_path: Path, folder: Path, passphrase: str | None) -> Path:
    """The consistency round: sign the digest of every round-one package in the folder."""
    setup = read_setup(setup_path)
    key = read_ceremony_key(key_path, passphrase)
    me = _me(setup, key)
    report = dkg.digests(setup, me, key, _round1s(folder))
    out = Path(folder) / f"digests-{me}.cbor"
    if out.exists() and out.read_bytes() != report.to_bytes():
        raise CeremonyFileError(f"{out} exists with other digests: the round-one files changed")
    _write(out, report.to_bytes())
    return out


def cmd_round2(
    setup_path: Path, key_path: Path, folder: Path, passphrase: str | None
) -> list[Path]:
    """Round two, only if every digests record agrees: sealed shares for each other participant."""
    setup = read_setup(setup_path)
    key = read_ceremony_key(key_path, passphrase)
    me = _me(setup, key)
    if me not in setup.dealers:  # joins a reshare: only checks that everyone saw the same
        dkg.round2(setup, me, key, None, _round1s(folder), _digests(folder))
        return []
    first = _secret_path(key_path, setup, "round1")
    second = _secret_path(key_path, setup, "round2")
    if second.exists() or not first.exists():
        raise CeremonyFileError(
            f"round two was already run for ceremony {setup.digest.hex()[:16]}"
            if second.exists() else f"no round-one secret at {first}: run `ccf dkg round1` first"
        )
    kept, sealed = dkg.round2(
        setup, me, key, read_secret(first, passphrase), _round1s(folder), _digests(folder)
    )
    write_secret(second, kept, passphrase)
    outs = []
    for record in sealed:
        out = Path(folder) / f"round2-{record.sender}-to-{record.recipient}.cbor"
        _write(out, record.to_bytes())
        outs.append(out)
    _shred(first)
    return outs


def cmd_finish(
    setup_path: Path,
    key_path: Path,
    folder: Path,
    key_package_out: Path,
    public_out: Path,
    passphrase: str | None,
) -> tuple[frost.KeyPackage, frost.PublicKeyPackage]:
    """Check the shares addressed to me; write my key package (locked), the public package,
    and `done-<me>.cbor` to the folder. In a reshare a dealer keeps its old key package
    until `retire`.

    A bad share writes `complaint-<me>-against-<sender>.cbor` to the folder
    (evidence for `ccf dkg judge`) before the Fault naming the sender is raised.
    """
    setup = read_setup(setup_path)
    key = read_ceremony_key(key_path, passphrase)
    me = _me(setup, key)
    second = _secret_path(key_path, setup, "round2")
    shares = [Round2.from_bytes(data) for data in _records(folder, f"round2-*-to-{me}.cbor")]
    try:
        package, public = dkg.finish(
            setup, me, key, read_secret(second, passphrase) if me in setup.dealers else None,
            _round1s(folder), _digests(folder), shares,
        )
    except Fault as fault:
        if fault.complaint is not None:
            name = f"complaint-{me}-against-{fault.member}.cbor"
            _write(Path(folder) / name, fault.complaint.to_bytes())
        raise
    if Path(key_package_out).exists():
        raise CeremonyFileError(f"{key_package_out} exists: a key package is never overwritten")
    write_key_package(key_package_out, package, passphrase)
    write_public_package(public_out, public)
    _write(Path(folder) / f"done-{me}.cbor", dkg.done(setup, me, key, public).to_bytes())
    if second.exists():
        _shred(second)
    return package, public


def cmd_retire(setup_path: Path, folder: Path, current: Path, public: Path) -> bytes:
    """After a refresh: once every participant's done record names the same public package
    (`public`, the one this participant got), shred the old key package `current`."""
    setup = read_setup(setup_path)
    if setup.refresh is None:
        raise CeremonyFileError("retire follows a refresh; this setup is a DKG")
    records = [Done.from_bytes(data) for data in _records(folder, "done-*.cbor")]
    agreed = dkg.all_done(setup, records)
    if agreed != dkg.public_digest(read_public_package(public)):
        raise CeremonyFileError(f"{public} is not the package everyone finished with")
    if not Path(current).is_file():
        raise CeremonyFileError(f"no key package at {current}")
    _shred(current)
    return agreed


def cmd_judge(setup_path: Path, folder: Path, complaint: Path) -> Fault:
    """Who is at fault according to a complaint and the round-one records."""
    return dkg.judge(
        read_setup(setup_path), _round1s(folder), dkg.Complaint.from_bytes(_read(complaint))
    )


def public_fingerprint(public: frost.PublicKeyPackage) -> str:
    """What every commissioner reads out to compare: the group key and threshold."""
    return f"{public.group_public_key.hex()} ({public.threshold} of {len(public.verifying_shares)})"


__all__ = [
    "cmd_digests",
    "cmd_finish",
    "cmd_judge",
    "cmd_key",
    "cmd_retire",
    "cmd_round1",
    "cmd_round2",
    "cmd_setup",
    "public_fingerprint",
    "read_ceremony_key",
    "read_setup",
]
