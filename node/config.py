"""Node configuration: a TOML file naming the member, its keys, data and peers.

Example::

    member = "FRA"
    data_dir = "data/FRA"
    key_file = "keys/FRA.key"      # locked seed; passphrase in $NOTICENET_PASSPHRASE
    genesis = "genesis.cbor"       # the network's first roster entry (wire bytes)
    anchor = "ab12..."             # governance group public key (hex): the trust anchor
    listen = "/ip4/127.0.0.1/tcp/4101"
    api = "127.0.0.1:8101"
    neighbours = ["DEU", "USA"]    # dialled and kept; addresses come from the roster
    tokens_file = "tokens.json"    # API users (hashed tokens)
    intake_workers = 2             # processes checking big incoming frames (default: cores;
                                   # 0: check everything in the node's own process)

    log_arrivals = false           # emulation: log `entry.arrived` for every entry gained
    stall_s = 15.0                 # a session owing us acks or asked entries this long is reopened
    own_feed_wait_s = 10.0         # after a start, publish once every peer told us our feed's
                                   # head, or one did and this long has passed
    alone = false                  # publish without hearing from any peer (a network of one)
    relay_first = true             # false: open, check and index each replicated entry before
                                   # acknowledging and forwarding it (one pass, as before issue 20)
    open_entries = true            # false: relay only (store, acknowledge and forward entries
                                   # but leave them unopened, not findable, until a start
                                   # with it true opens them): a first catch-up at full speed

    [link_delay_ms]                # optional, for emulation: frames this node writes to
    DEU = 40.0                     # DEU leave 40 ms late (a link's one-way latency)

    [dial]                         # optional, for fault tests: dial DEU at this address
    DEU = "/ip4/127.0.0.1/tcp/4999"  # instead of the roster's (e.g. through a TCP proxy)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noticenet.crypto.errors import NoticenetError
from noticenet.crypto.keyfile import unlock
from noticenet.crypto.keys import MemberKeys

PASSPHRASE_ENV = "NOTICENET_PASSPHRASE"


class ConfigError(NoticenetError):
    """The node configuration is missing, malformed or points at unusable files."""


@dataclass(frozen=True)
class NodeConfig:
    member: str
    data_dir: Path
    key_file: Path
    genesis: Path
    anchor: bytes
    listen: str = "/ip4/127.0.0.1/tcp/0"
    api: str = ""
    neighbours: tuple[str, ...] = ()
    tokens_file: Path | None = None
    tick_ms: int = 250
    maintenance_s: float = 5.0
    link_delay_ms: dict[str, float] = field(default_factory=dict)  # member -> one-way ms
    intake_workers: int | None = None  # None: one per core; 0: no worker processes
    log_arrivals: bool = False  # an `entry.arrived` line per entry gained (emulation)
    stall_s: float = 15.0  # a session owing acks or asked entries this long is reopened
    own_feed_wait_s: float = 10.0  # see protocol/replication/own_feed.py
    alone: bool = False  # publish without hearing our feed's head from a peer
    open_entries: bool = True  # False: relay only, the open stage waits for a start with True
    relay_first: bool = True  # False: one pass, opened before acknowledged and forwarded
    dial: dict[str, str] = field(default_factory=dict)  # member -> multiaddr dialled instead
    extra: dict[str, object] = field(default_factory=dict)

    def link_delays(self, peers: Mapping[str, str]) -> dict[str, float]:
        """Peer id -> one-way delay in seconds, for `peers` (peer id -> member) with a delay.

        The transport delays by peer id; the configuration names members.
        """
        return {
            peer: self.link_delay_ms[member] / 1000
            for peer, member in peers.items()
            if self.link_delay_ms.get(member, 0.0) > 0
        }

    def keys(self, passphrase: str | None = None) -> MemberKeys:
        """Unlock the member's key file (passphrase argument, else the environment)."""
        secret = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV, "")
        return MemberKeys(unlock(self.key_file.read_bytes(), secret))


def load_config(path: Path) -> NodeConfig:
    """Read and check a node.toml; relative paths are relative to the file."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    base = path.parent

    def rel(name: str) -> Path:
        if name not in doc:
            raise ConfigError(f"{path}: missing {name!r}")
        return (base / str(doc[name])).resolve()

    try:
        anchor = bytes.fromhex(str(doc.get("anchor", "")))
    except ValueError:
        raise ConfigError(f"{path}: anchor is not hex") from None
    if len(anchor) != 32:
        raise ConfigError(f"{path}: anchor must be a 32-byte key in hex")
    known = {
        "member",
        "data_dir",
        "key_file",
        "genesis",
        "anchor",
        "listen",
        "api",
        "neighbours",
        "tokens_file",
        "tick_ms",
        "maintenance_s",
        "link_delay_ms",
        "intake_workers",
        "log_arrivals",
        "dial",
        "stall_s",
        "own_feed_wait_s",
        "alone",
        "open_entries",
        "relay_first",
    }
    return NodeConfig(
        member=str(doc.get("member", "")) or _missing(path, "member"),
        data_dir=rel("data_dir"),
        key_file=rel("key_file"),
        genesis=rel("genesis"),
        anchor=anchor,
        listen=str(doc.get("listen", "/ip4/127.0.0.1/tcp/0")),
        api=str(doc.get("api", "")),
        neighbours=tuple(str(n) for n in doc.get("neighbours", [])),
        tokens_file=rel("tokens_file") if "tokens_file" in doc else None,
        tick_ms=int(doc.get("tick_ms", 250)),
        maintenance_s=float(doc.get("maintenance_s", 5.0)),
        link_delay_ms=_link_delay_ms(path, doc.get("link_delay_ms", {})),
        intake_workers=_workers(path, doc.get("intake_workers")),
        log_arrivals=doc.get("log_arrivals", False) is True,
        stall_s=_seconds(path, doc, "stall_s", 15.0),
        own_feed_wait_s=_seconds(path, doc, "own_feed_wait_s", 10.0),
        alone=doc.get("alone", False) is True,
        open_entries=_flag(path, doc, "open_entries", True),
        relay_first=_flag(path, doc, "relay_first", True),
        dial=_dial(path, doc.get("dial", {})),
        extra={k: v for k, v in doc.items() if k not in known},
    )


def _link_delay_ms(path: Path, table: Any) -> dict[str, float]:
    """The `[link_delay_ms]` table: member -> a finite number of ms, not negative."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: link_delay_ms must be a table of member = milliseconds")
    out = {}
    for member, ms in table.items():
        if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 <= ms < float("inf"):
            raise ConfigError(f"{path}: link_delay_ms.{member} must be a number of ms >= 0")
        out[str(member)] = float(ms)
    return out


def _dial(path: Path, table: Any) -> dict[str, str]:
    """The `[dial]` table: member -> a TCP multiaddr to dial instead of the roster's."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: dial must be a table of member = multiaddr")
    out = {}
    for member, addr in table.items():
        if not isinstance(addr, str) or not _is_tcp_multiaddr(addr):
            raise ConfigError(f"{path}: dial.{member} must be a multiaddr like /ip4/HOST/tcp/PORT")
        out[str(member)] = addr
    return out


def _is_tcp_multiaddr(addr: str) -> bool:
    """Whether `addr` parses as a multiaddr with a TCP port."""
    import multiaddr
    from multiaddr.exceptions import Error as MultiaddrError

    try:
        return "tcp" in (p.name for p in multiaddr.Multiaddr(addr).protocols())
    except (MultiaddrError, ValueError):
        return False


def _flag(path: Path, doc: dict[str, Any], name: str, default: bool) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: {name} must be true or false")
    return value


def _seconds(path: Path, doc: dict[str, Any], name: str, default: float) -> float:
    """A duration in seconds: a finite number, not negative."""
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ConfigError(f"{path}: {name} must be a number of seconds >= 0")
    return float(value)


def _workers(path: Path, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
        raise ConfigError(f"{path}: intake_workers must be a whole number from 0 to 64")
    return value


def _missing(path: Path, name: str) -> str:
    raise ConfigError(f"{path}: missing {name!r}")
