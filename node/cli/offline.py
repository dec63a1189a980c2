"""Offline work behind the CLI: a new member's keys and config, and verifying a stopped store."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from noticenet.crypto.keyfile import INTERACTIVE, lock
from noticenet.crypto.keys import MemberKeys
from noticenet.node.config import ConfigError, load_config
from noticenet.node.store.leveldb import LevelDBStore
from noticenet.node.store.opening import create_store, has_store
from noticenet.protocol.errors import StoreError
from noticenet.protocol.ledger.audit import summarise, verify_ledger
from noticenet.protocol.ledger.ledger import Ledger
from noticenet.protocol.records.records import check_member_id


def init_member(
    folder: Path,
    member: str,
    passphrase: str,
    *,
    genesis: Path | None = None,
    anchor: str = "",
    listen: str = "/ip4/0.0.0.0/tcp/4101",
    api: str = "127.0.0.1:8101",
    neighbours: tuple[str, ...] = (),
    force: bool = False,
) -> dict[str, Any]:
    """Write `member.key` (a fresh seed locked with argon2id), `node.toml` and `identity.json`.

    Returns the public identity the governance puts on the roster.
    """
    from noticenet.node.p2p.host import peer_id_from_seed

    check_member_id(member)
    if genesis is not None and len(bytes.fromhex(anchor or "00")) != 32:
        raise ConfigError("with --genesis, give --anchor: the governance key (64 hex digits)")
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "member.key"
    if key_file.exists() and not force:
        raise ConfigError(f"{key_file} exists; use --force to replace it (the old key is lost)")
    keys = MemberKeys.generate()
    if genesis is not None and not has_store(folder / "data"):
        # first: a genesis that does not verify against the anchor stops init here
        create_store(folder / "data", member, bytes.fromhex(anchor), keys, genesis.read_bytes())
    _write(key_file, lock(keys.seed, passphrase, INTERACTIVE), secret=True)
    _write(folder / "node.toml", _toml(member, genesis, anchor, listen, api, neighbours).encode())
    identity = {
        "member": member,
        "signing_key": keys.public.signing_key.hex(),
        "encryption_key": keys.public.encryption_key.hex(),
        "peer_id": peer_id_from_seed(keys.libp2p_seed),
        "addrs": [listen],
    }
    _write(folder / "identity.json", json.dumps(identity, indent=1).encode())
    return identity


def _toml(
    member: str,
    genesis: Path | None,
    anchor: str,
    listen: str,
    api: str,
    neighbours: tuple[str, ...],
) -> str:
    lines = [
        f'member = "{member}"',
        'data_dir = "data"',
        'key_file = "member.key"       # passphrase from $NOTICENET_PASSPHRASE',
        'tokens_file = "tokens.json"   # API users: noticenet users add -c node.toml NAME ROLE',
    ]
    if genesis is not None:
        lines += [f'genesis = "{genesis.resolve()}"', f'anchor = "{anchor}"']
    else:
        lines += [
            '# genesis = "genesis.cbor"   # from the governance',
            '# anchor = "<governance group key, hex>"   # from the governance, out of band',
        ]
    lines += [
        f'listen = "{listen}"',
        f'api = "{api}"',
        "neighbours = [" + ", ".join(f'"{n}"' for n in neighbours) + "]",
        "",
    ]
    return "\n".join(lines)


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def verify_store(config_path: Path) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Open a stopped node's store and run the full verification pass on it."""
    config = load_config(config_path)
    try:
        store = LevelDBStore(str(config.data_dir / "ledger"), create_if_missing=False)
    except StoreError as exc:
        raise StoreError(f"{exc} (is the node still running? stop it first)") from None
    try:
        ledger = Ledger(store, anchor=config.anchor)
        problems = [
            {"author": p.author, "seq": p.seq, "id": p.id.hex() if p.id else None, "what": p.what}
            for p in verify_ledger(ledger)
        ]
        summary = summarise(ledger)
    finally:
        store.close()
    return summary, problems
