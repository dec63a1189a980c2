"""Scenario files: what a simulation runs (TOML; format in docs/simulation.md).

A scenario is a tree of frozen dataclasses with defaults for everything, so
a file names only what it changes. Unknown keys are errors: a misspelt key
would otherwise silently run a different experiment. Times are virtual and
relative to the end of the warm-up; units are in the key names (`_h`, `_s`,
`_ms`).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from noticenet.protocol.replication.session import ReplicationConfig

from .cpu import DESIGNS
from .latency import LatencyModel
from .members import INTERPOL_MEMBERS
from .simnet import LOSS_MODELS

T = TypeVar("T")


class ScenarioError(ValueError):
    """The scenario file is malformed or inconsistent."""


@dataclass(frozen=True)
class MembersSpec:
    countries: tuple[str, ...] = INTERPOL_MEMBERS
    count: int = 0  # > 0: only the `count` most populous of `countries`
    partners: tuple[str, ...] = ("EUROPOL", "FRONTEX")
    ccf: bool = True


@dataclass(frozen=True)
class TopologySpec:
    mode: str = "mix"  # random | nearest | mix | spanner
    degree: int = 8  # neighbours per node (about; the graph is made connected)
    nearest: int = 4  # mix, spanner: how many of `degree` are the nearest by latency
    links: tuple[tuple[str, ...], ...] = ()  # explicit neighbour pairs; if set, mode is ignored


_NODE = ReplicationConfig()
# Measured with simulations/cpucost.py (2,001 entries, median of 3, LevelDB, 2-core dev machine)
RELAY_US, OPEN_US, FRAME_US = 90.0, 88.0, 2526.0


@dataclass(frozen=True)
class NetworkSpec:
    bandwidth_mbps: float = 100.0  # per-node uplink; 0 = unlimited
    bandwidth_overrides: dict[str, float] = field(default_factory=dict)  # member -> Mbit/s
    loss: float = 0.001  # "frame": probability a frame is retransmitted; "tcp": per segment
    retransmit_ms: float = 200.0  # "frame": delay a retransmission adds (TCP's minimum RTO)
    loss_model: str = "tcp"  # tcp | frame (see simulations/simnet.py)
    tick_ms: int = 250
    # replication settings, defaulting to a node's (protocol.replication.session.ReplicationConfig):
    lag_ms: int = _NODE.lag_ms  # switch eager source after this lag
    fetch_ms: int = _NODE.fetch_ms  # take an overdue announced entry from its announcer
    frame_kb: int = _NODE.batch_bytes // 1024  # Entries frames at most this big
    push_kb: int = _NODE.push_bytes // 1024  # frames of fresh entries pushed down the trees
    maintenance_s: float = 60.0  # purge receipts every so often; 0 = never


@dataclass(frozen=True)
class ProcessingSpec:
    """CPU time a node spends on incoming entries (simulations/cpu.py); zero costs: none.

    Defaults measured on the 2-core dev machine with `python -m
    noticenet.simulations.cpucost` (docs/simulation.md, Processing time).
    """

    design: str = "relay-then-open"  # open-then-relay | relay-then-open
    cores: int = 2
    relay_us: float = RELAY_US  # per entry: decode, chain, signature, guard tags, store
    open_us: float = OPEN_US  # per entry: decrypt, parse, tag honesty, index
    frame_us: float = FRAME_US  # per Entries frame: the synced write


@dataclass(frozen=True)
class WorkloadSpec:
    rates_per_day: dict[str, float] = field(default_factory=dict)  # kind -> network-wide rate
    sltd_imports_per_day: float = 0.0  # bulk SLTD imports, network-wide
    sltd_batch: int = 50  # documents per import
    diffusion_recipients: int = 4
    activity: str = "population"  # who publishes: uniform | population (weight sqrt(pop))
    warmup: bool = True  # each member publishes once before t=0 (feeds and trees exist)


@dataclass(frozen=True)
class ChurnSpec:
    fraction: float = 0.0  # share of members that come and go
    online_mean_h: float = 6.0  # mean session length
    offline_mean_h: float = 0.5  # mean time away
    distribution: str = "exponential"  # exponential | lognormal | weibull
    shape: float = 1.0  # lognormal sigma or Weibull k


@dataclass(frozen=True)
class EventSpec:
    type: str  # partition | crash | block | revoke
    at_h: float = 0.0
    duration_h: float = 0.0  # partition, crash: 0 = for good
    region: str = ""  # partition: a continent code (AF AS EU NA OC SA)
    members: tuple[str, ...] = ()  # partition: these members; crash: these members
    count: int = 1  # block, revoke: how many actions, spaced by `every_h`
    every_h: float = 1.0


@dataclass(frozen=True)
class AdversarySpec:
    type: str  # forger | equivocator | reentry | withhold-ccf | flooder | silent
    member: str
    at_h: float = 0.0
    duration_h: float = 0.0  # 0 = to the end
    count: int = 10  # forger, equivocator: attempts; reentry: variants per revocation
    every_h: float = 1.0  # spacing of attempts
    rate_per_s: float = 1.0  # flooder: frames per second to each neighbour
    batch: int = 16  # flooder: entries per frame
    mode: str = "replay"  # flooder: replay | junk


@dataclass(frozen=True)
class Scenario:
    name: str = "scenario"
    seed: int = 1
    duration_h: float = 1.0
    settle_min: float = 10.0  # run on after the workload so what is in flight lands
    members: MembersSpec = field(default_factory=MembersSpec)
    topology: TopologySpec = field(default_factory=TopologySpec)
    latency: LatencyModel = field(default_factory=LatencyModel)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    processing: ProcessingSpec = field(default_factory=ProcessingSpec)
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    churn: ChurnSpec = field(default_factory=ChurnSpec)
    events: tuple[EventSpec, ...] = ()
    adversaries: tuple[AdversarySpec, ...] = ()


def load_scenario(source: str | Path | dict[str, Any]) -> Scenario:
    """A scenario from a TOML file (path), TOML text, or an already parsed table."""
    if isinstance(source, dict):
        table = source
    elif isinstance(source, Path) or (isinstance(source, str) and source.endswith(".toml")):
        path = Path(source)
        try:
            table = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ScenarioError(f"cannot read {path}: {exc}") from None
    else:
        try:
            table = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"scenario is not TOML: {exc}") from None
    scenario = build(Scenario, table, "scenario")
    check(scenario)
    return scenario


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A copy with dotted keys replaced: {"topology.degree": 6, "churn.fraction": 0.2}."""
    for dotted, value in sorted(overrides.items()):
        scenario = _replace_path(scenario, dotted.split("."), value, dotted)
    check(scenario)
    return scenario


def _replace_path(obj: Any, path: list[str], value: Any, dotted: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(obj)}
    if path[0] not in names:
        raise ScenarioError(f"{dotted}: no such setting")
    hint = typing.get_type_hints(type(obj))[path[0]]
    if len(path) == 1:
        new = _convert(hint, value, dotted)
    else:
        new = _replace_path(getattr(obj, path[0]), path[1:], value, dotted)
    return dataclasses.replace(obj, **{path[0]: new})


def build(cls: type[T], table: Any, where: str) -> T:
    """`cls` from a TOML table, strictly: unknown keys and ill-typed values are errors."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - fields)
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {unknown}")
    hints = typing.get_type_hints(cls)
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in table.items()}
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else build(hint, value, where)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ScenarioError(f"{where}: expected an array")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise ScenarioError(f"{where}: expected a table")
        return {str(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise ScenarioError(f"{where}: unsupported type")
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and type(value) is hint:
        return value
    raise ScenarioError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


TOPOLOGIES = ("random", "nearest", "mix", "spanner")
EVENTS = ("partition", "crash", "block", "revoke")
ADVERSARIES = ("forger", "equivocator", "reentry", "withhold-ccf", "flooder", "silent")
DISTRIBUTIONS = ("exponential", "lognormal", "weibull")


def check(s: Scenario) -> None:
    """Consistency checks that the types alone do not express."""
    _require(s.duration_h > 0, "duration_h must be positive")
    _require(s.topology.mode in TOPOLOGIES, f"topology.mode is one of {TOPOLOGIES}")
    _require(all(len(p) == 2 for p in s.topology.links), "topology.links are pairs")
    _require(s.topology.degree >= 1, "topology.degree must be at least 1")
    _require(s.topology.nearest >= 0, "topology.nearest must not be negative")
    _require(s.latency.model in ("geo", "matrix", "constant"), "latency.model: geo|matrix|constant")
    _require(0 <= s.network.loss < 1, "network.loss is a probability")
    _require(s.network.loss_model in LOSS_MODELS, f"network.loss_model is one of {LOSS_MODELS}")
    _require(s.network.tick_ms > 0, "network.tick_ms must be positive")
    _require(s.network.frame_kb > 0, "network.frame_kb must be positive")
    _require(s.network.push_kb > 0, "network.push_kb must be positive")
    _require(s.network.fetch_ms >= 0, "network.fetch_ms cannot be negative")
    p = s.processing
    _require(p.design in DESIGNS, f"processing.design is one of {DESIGNS}")
    _require(p.cores >= 1, "processing.cores must be at least 1")
    _require(min(p.relay_us, p.open_us, p.frame_us) >= 0, "processing costs cannot be negative")
    _require(0 <= s.churn.fraction <= 1, "churn.fraction is a share")
    _require(s.churn.distribution in DISTRIBUTIONS, f"churn.distribution: {DISTRIBUTIONS}")
    _require(s.workload.activity in ("uniform", "population"), "workload.activity")
    for e in s.events:
        _require(e.type in EVENTS, f"event type {e.type!r} is not one of {EVENTS}")
    for a in s.adversaries:
        _require(a.type in ADVERSARIES, f"adversary {a.type!r} is not one of {ADVERSARIES}")
        _require(a.mode in ("replay", "junk"), "flooder mode is replay or junk")
    members = [a.member for a in s.adversaries]
    _require(len(set(members)) == len(members), "one adversary per member")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ScenarioError(message)
