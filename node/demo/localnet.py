"""A local network on 127.0.0.1: keys, configs and a genesis roster in one folder.

For the demo and the real-network tests. Member keys come from seeds (stable
across runs of the same network seed); the commission's group keys come from
the DKG ceremony (`noticenet.protocol.ccf.dkg_ceremony`) run in process, with the
commissioners' ceremony keys and randomness derived from the network seed: no
dealer, but only as secret as the seed (a real network runs `noticenet ccf dkg`,
each commissioner on their own machine).
Layout::

    root/genesis.cbor             the first roster entry
    root/<MEMBER>/node.toml       the node's config
    root/<MEMBER>/member.key      its locked seed
    root/<MEMBER>/data/ledger/    its LevelDB store, created with the genesis roster
    root/ccf/{block,revoke}-<i>.key, {block,revoke}.pub   commissioners' key packages
    root/ccf/{block,revoke}.setup.cbor   each group's DKG setup (names), also kept by the
                                  CCF's node in CCF/data/commission/
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from noticenet.crypto.keyfile import MIN_LIMITS, lock
from noticenet.node.ccf.ceremony_files import write_key_package, write_public_package
from noticenet.node.p2p.transport import peer_id_from_seed
from noticenet.node.store.opening import create_store
from noticenet.protocol.devnet import DEFAULT_MEMBERS, DevNet, commission_setup, make_devnet
from noticenet.protocol.errors import StoreError
from noticenet.protocol.records.governance import Role

MemberRow = tuple[str, Role, str, tuple[str, ...]]


@dataclass(frozen=True)
class LocalMember:
    id: str
    config: Path
    api: str
    listen: str
    peer_id: str


@dataclass(frozen=True)
class LocalNet:
    root: Path
    devnet: DevNet
    members: dict[str, LocalMember]


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on 127.0.0.1 (free a moment ago)."""
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def create_localnet(
    root: Path,
    network_seed: bytes = b"noticenet-local",
    members: tuple[MemberRow, ...] = DEFAULT_MEMBERS,
    passphrase: str = "",
    neighbours: int = 3,
    topology: Mapping[str, Sequence[str]] | None = None,
    link_delay_ms: Mapping[str, Mapping[str, float]] | None = None,
    log_arrivals: bool = False,
) -> LocalNet:
    """Write a whole local network under `root` and return where everything is.

    Each member dials the `neighbours` members after it in a ring, or, with
    `topology`, the members listed under its id. `link_delay_ms[a][b]` adds
    that one-way delay to frames `a` writes to `b`, and `log_arrivals` makes
    every node log each entry it gains (emulation; see `config`).
    """
    from noticenet.protocol.devnet import member_keys

    ids = [m[0] for m in members]
    for member_id in ids:
        if (root / member_id / "data" / "ledger").exists():
            raise StoreError(
                f"{root / member_id / 'data' / 'ledger'} exists: a local network is created "
                "once (remove the folder, or choose another)"
            )
    root.mkdir(parents=True, exist_ok=True)
    ports = free_ports(2 * len(ids))
    listen = {m: f"/ip4/127.0.0.1/tcp/{ports[i]}" for i, m in enumerate(ids)}
    api = {m: f"127.0.0.1:{ports[len(ids) + i]}" for i, m in enumerate(ids)}
    peer_ids = {m: peer_id_from_seed(member_keys(network_seed, m).libp2p_seed) for m in ids}
    devnet = make_devnet(
        network_seed,
        members,
        now_ms=int(time.time() * 1000) - 60_000,
        addrs={m: (a,) for m, a in listen.items()},
        peer_ids=peer_ids,
    )
    (root / "genesis.cbor").write_bytes(devnet.genesis.to_wire())
    out = {}
    for i, member in enumerate(devnet.members):
        folder = root / member.id
        folder.mkdir(exist_ok=True)
        (folder / "member.key").write_bytes(lock(member.keys.seed, passphrase, MIN_LIMITS))
        if topology is not None:
            near = list(topology.get(member.id, ()))
        else:
            near = [ids[(i + k) % len(ids)] for k in range(1, neighbours + 1) if len(ids) > k]
        delays = (link_delay_ms or {}).get(member.id, {})
        (folder / "node.toml").write_text(
            "\n".join(
                [
                    f'member = "{member.id}"',
                    'data_dir = "data"',
                    'key_file = "member.key"',
                    'genesis = "../genesis.cbor"',
                    f'anchor = "{devnet.governance.public_key.hex()}"',
                    f'listen = "{listen[member.id]}"',
                    f'api = "{api[member.id]}"',
                    f"neighbours = {near!r}".replace("'", '"'),
                    "maintenance_s = 1.0",
                    *(["log_arrivals = true"] if log_arrivals else []),
                    *_delay_table(delays),
                    "",
                ]
            )
        )
        create_store(
            folder / "data",
            member.id,
            devnet.governance.public_key,
            member.keys,
            devnet.genesis.to_wire(),
        )
        out[member.id] = LocalMember(
            member.id, folder / "node.toml", api[member.id], listen[member.id], peer_ids[member.id]
        )
    ccf_data = [root / m[0] / "data" for m in members if m[1] == "ccf"]
    _write_commission(root / "ccf", devnet, passphrase, network_seed, ccf_data)
    return LocalNet(root, devnet, out)


def _delay_table(delays: Mapping[str, float]) -> list[str]:
    """TOML lines of a `[link_delay_ms]` table (none if there are no delays)."""
    if not delays:
        return []
    return ["", "[link_delay_ms]", *(f'"{m}" = {float(ms)!r}' for m, ms in sorted(delays.items()))]


def _write_commission(
    folder: Path, devnet: DevNet, passphrase: str, network_seed: bytes, ccf_data: list[Path]
) -> None:
    """The commissioners' key packages, each group's public package and DKG setup (the
    commissioners' names); the CCF's node keeps the setups, so its ceremony pages name
    the commissioners."""
    folder.mkdir(exist_ok=True)
    for name, group in (("block", devnet.block), ("revoke", devnet.revoke)):
        setup, _ = commission_setup(network_seed, name, group.size, group.threshold)
        for place in (folder, *(data / "commission" for data in ccf_data)):
            place.mkdir(exist_ok=True)
            (place / f"{name}.setup.cbor").write_bytes(setup.to_bytes())
        write_public_package(folder / f"{name}.pub", group.public)
        for ident, package in group.packages.items():
            write_key_package(folder / f"{name}-{ident}.key", package, passphrase or None)
