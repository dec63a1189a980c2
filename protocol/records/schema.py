"""Strict conversion between frozen dataclasses and CBOR maps.

Every record, header and message is a dataclass; on the wire it is a map with
the dataclass's field names as keys. `from_map` accepts exactly the declared
fields with exactly the declared types, so a schema is written once, as a
dataclass, and both directions follow from it. Fields whose value is None
are omitted when encoding, so optional fields cost nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from noticenet.protocol.errors import SchemaError

T = TypeVar("T")


def to_map(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a plain map (tuples become lists, None fields omitted)."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if value is not None:
            out[field.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_map(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


Convert = Callable[[Any, str, bool], Any]


class _Field(typing.NamedTuple):
    name: str
    convert: Convert
    required: bool  # no default and not optional
    optional: bool  # may be omitted when None
    exact: type | None  # a value of exactly this type is taken as it is (plain scalars)


class _Plan(typing.NamedTuple):
    fields: tuple[_Field, ...]
    names: frozenset[str]


@functools.cache
def _plan(cls: Any) -> _Plan:
    """Per dataclass, once: each field's converter and whether it may be omitted."""
    hints = typing.get_type_hints(cls)
    plan = []
    for f in dataclasses.fields(cls):
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        optional = _optional(hints[f.name])
        plan.append(
            _Field(
                f.name,
                _converter(hints[f.name]),
                not has_default and not optional,
                optional and not has_default,
                _exact(hints[f.name]),
            )
        )
    return _Plan(tuple(plan), frozenset(f.name for f in plan))


def from_map(cls: type[T], data: Any, where: str = "", hexed: bool = False) -> T:
    """Build `cls` from a map, rejecting unknown, missing or ill-typed fields.

    `hexed`: byte fields arrive as hex text (JSON); see `to_json`.
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a map")
    fields, names = _plan(typing.cast(Any, cls))
    if not data.keys() <= names:
        unknown = data.keys() - names
        raise SchemaError(f"{where}: unknown fields {sorted(map(str, unknown))}")
    kwargs: dict[str, Any] = {}
    for name, convert, required, optional, exact in fields:
        if name in data:
            value = data[name]
            if type(value) is exact and not (hexed and exact is str):
                kwargs[name] = value  # what `convert` would return as it is, without the call
            else:
                kwargs[name] = convert(value, f"{where}.{name}", hexed)
        elif required:
            raise SchemaError(f"{where}: missing field {name!r}")
        elif optional:
            kwargs[name] = None  # omitted because it was None (see to_map)
    try:
        return _built(cls, kwargs)
    except SchemaError:
        raise
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{where}: {exc}") from None


def _built(cls: type[T], values: dict[str, Any]) -> T:
    """`cls(**values)` for a dataclass: `_instance`, then `__post_init__` as
    `__init__` would run it."""
    obj = _instance(cls, values)
    post_init = getattr(obj, "__post_init__", None)
    if post_init is not None:
        post_init()
    return obj


def _instance(cls: type[T], values: dict[str, Any]) -> T:
    """A `cls` holding `values`, and the defaults of the fields they leave out,
    built without the generated `__init__`: a frozen dataclass's sets each field
    through `object.__setattr__`, which cost more than the fields' checks."""
    obj: Any = object.__new__(cls)
    fields = obj.__dict__
    fields.update(values)
    defaults = _stored_plan(typing.cast(Any, cls)).defaults
    if len(values) != len(defaults):
        for name, default in defaults:
            if name not in values:
                fields[name] = default()
    return typing.cast(T, obj)


def from_stored(cls: type[T], data: dict[str, Any]) -> T:
    """Build `cls` from a map this node accepted with `from_map` before storing it.

    No type checks and no `__post_init__` (the records' own checks, such as
    MRZ check digits): they ran when the map arrived, and on a border check
    re-running them costs more than the lookup itself. Never for data from the
    network: `from_map` is the only way in. Fields the map leaves out are
    written into `data` as `to_map` would write them, so afterwards
    `data == to_map(result)` and callers may keep `data` as the plain form.
    """
    plan = _stored_plan(typing.cast(Any, cls))
    obj = _instance(cls, data)  # most values are stored as they are: convert only the others
    values = typing.cast(Any, obj).__dict__
    for name, convert in plan.converted:
        if name in data:
            values[name] = convert(data[name])
    if len(data) != len(plan.defaults):
        for name, _ in plan.defaults:
            if name not in data and values[name] is not None:
                data[name] = _plain(values[name])
    return obj


StoredConvert = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class _StoredPlan:
    converted: tuple[tuple[str, StoredConvert], ...]  # fields whose stored value changes shape
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # every field: its value if left out


@functools.cache
def _stored_plan(cls: Any) -> _StoredPlan:
    """Per dataclass, once: how `from_stored` converts each field, and every
    field's default (`_instance` fills them in for both ways in)."""
    hints = typing.get_type_hints(cls)
    converted, defaults = [], []
    for f in dataclasses.fields(cls):
        convert = _stored_converter(hints[f.name])
        if convert is not None:
            converted.append((f.name, convert))
        if f.default_factory is not dataclasses.MISSING:
            defaults.append((f.name, f.default_factory))
        else:
            value = None if f.default is dataclasses.MISSING else f.default
            defaults.append((f.name, functools.partial(_constant, value)))
    return _StoredPlan(tuple(converted), tuple(defaults))


def _constant(value: Any) -> Any:
    return value


@functools.cache
def _stored_converter(hint: Any) -> StoredConvert | None:
    """How a stored value becomes a field of type `hint`: only the shape changes.

    Arrays become tuples and maps of nested dataclasses become instances;
    scalars, literals and `Any` are used as they are (None).
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inners = [_stored_converter(a) for a in options]
        if all(inner is None for inner in inners):
            return None
        if len(options) > 1:  # which variant fitted is only known by trying: check as on entry
            strict = _converter(hint)
            return lambda value: strict(value, "", False)
        inner = inners[0]
        return None if inner is None else _stored_nullable(inner)
    if origin is tuple:
        item = _stored_converter(args[0])
        return tuple if item is None else _stored_sequence(item)
    if origin is dict:
        item = _stored_converter(args[1])
        return None if item is None else _stored_mapping(item)
    if dataclasses.is_dataclass(hint):
        return lambda value: from_stored(hint, value)  # type: ignore[arg-type]
    return None


def _stored_nullable(inner: StoredConvert) -> StoredConvert:
    return lambda value: None if value is None else inner(value)


def _stored_sequence(item: StoredConvert) -> StoredConvert:
    return lambda value: tuple(item(v) for v in value)


def _stored_mapping(item: StoredConvert) -> StoredConvert:
    return lambda value: {k: item(v) for k, v in value.items()}


_PLAIN = (int, str, bytes)


def _exact(hint: Any) -> type | None:
    """The type whose values `_converter(hint)` returns unchanged, if it is a plain
    scalar or an optional one (`bool` is left to the converter: it is an int)."""
    if hint in _PLAIN:
        return typing.cast(type, hint)
    options = [a for a in typing.get_args(hint) if a is not type(None)]
    if _optional(hint) and len(options) == 1 and options[0] in _PLAIN:
        return typing.cast(type, options[0])
    return None


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


@functools.cache
def _converter(hint: Any) -> Convert:
    """A function that checks and converts one value of type `hint` (built once per type)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin is typing.Literal:
        allowed = frozenset(args)

        def literal(value: Any, where: str, hexed: bool) -> Any:
            if not isinstance(value, str | int) or value not in allowed:
                raise SchemaError(f"{where}: must be one of {list(args)}")
            return value

        return literal
    if origin is tuple:
        return _sequence(_converter(args[0]), _exact(args[0]))
    if origin is dict:
        return _mapping(_converter(args[0]), _converter(args[1]))
    if dataclasses.is_dataclass(hint):
        return lambda value, where, hexed: from_map(hint, value, where, hexed)  # type: ignore[arg-type]
    if hint is Any:
        return lambda value, where, hexed: value
    return _scalar(hint)


def _union(args: tuple[Any, ...]) -> Convert:
    options = [_converter(a) for a in args if a is not type(None)]
    nullable = type(None) in args

    def union(value: Any, where: str, hexed: bool) -> Any:
        if value is None and nullable:
            return None
        errors = []
        for option in options:
            try:
                return option(value, where, hexed)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError(errors[0] if len(errors) == 1 else f"{where}: no variant fits")

    return union


def _sequence(item: Convert, exact: type | None = None) -> Convert:
    def sequence(value: Any, where: str, hexed: bool) -> Any:
        if not isinstance(value, list):
            raise SchemaError(f"{where}: expected an array")
        if exact is not None and not (hexed and exact is str):
            if all(type(v) is exact for v in value):
                return tuple(value)  # what `item` would give, without a call per item
        return tuple(item(v, where, hexed) for v in value)

    return sequence


def _mapping(key: Convert, item: Convert) -> Convert:
    def mapping(value: Any, where: str, hexed: bool) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected a map")
        return {key(k, where, hexed): item(v, f"{where}.{k}", hexed) for k, v in value.items()}

    return mapping


def _scalar(hint: Any) -> Convert:
    name = getattr(hint, "__name__", str(hint))

    def scalar(value: Any, where: str, hexed: bool) -> Any:
        if type(value) is hint:
            if hexed and hint is str:
                check_text(value, where)
            return value
        if hint is bytes and hexed and isinstance(value, str):
            try:
                return bytes.fromhex(value)
            except ValueError:
                raise SchemaError(f"{where}: expected hex") from None
        raise SchemaError(f"{where}: expected {name}")

    return scalar


def check_text(value: str, where: str) -> None:
    """Text must be valid Unicode that CBOR (UTF-8) can carry: JSON's "\\ud800" decodes
    to a lone surrogate, which would fail only when the record is sealed. Refused here,
    naming the field, before anything is drawn or written."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SchemaError(f"{where}: not valid Unicode text (a lone surrogate)") from None


def to_json(obj: Any) -> Any:
    """A dataclass (or plain value) as JSON-ready data: bytes become hex text."""
    value = to_map(obj) if dataclasses.is_dataclass(obj) and not isinstance(obj, type) else obj
    return _hex(value)


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_hex(v) for v in value]
    if isinstance(value, dict):
        return {k: _hex(v) for k, v in value.items()}
    return value
