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
from typing import Any, TypeVar

from .errors import SchemaError

T = TypeVar("T")


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


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


def from_map(cls: type[T], data: Any, where: str = "", hexed: bool = False) -> T:
    """Build `cls` from a map, rejecting unknown, missing or ill-typed fields.

    `hexed`: byte fields arrive as hex text (JSON); see `to_json`.
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a map")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(fields)
    if unknown:
        raise SchemaError(f"{where}: unknown fields {sorted(map(str, unknown))}")
    hints = _hints(typing.cast(Any, cls))
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{where}.{name}", hexed)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            if not _optional(hints[name]):
                raise SchemaError(f"{where}: missing field {name!r}")
            kwargs[name] = None  # omitted because it was None (see to_map)
    try:
        return cls(**kwargs)
    except SchemaError:
        raise
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{where}: {exc}") from None


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


def _convert(hint: Any, value: Any, where: str, hexed: bool = False) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where, hexed)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError(errors[0] if len(errors) == 1 else f"{where}: no variant fits")
    if origin is typing.Literal:
        if value not in args:
            raise SchemaError(f"{where}: must be one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise SchemaError(f"{where}: expected an array")
        return tuple(_convert(args[0], v, f"{where}[{i}]", hexed) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected a map")
        return {
            _convert(args[0], k, where, hexed): _convert(args[1], v, f"{where}.{k}", hexed)
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(hint):
        return from_map(hint, value, where, hexed)  # type: ignore[arg-type]
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bytes and hexed and isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise SchemaError(f"{where}: expected hex") from None
    if hint in (str, bytes, bool) and type(value) is hint:
        return value
    if hint is Any:
        return value
    raise SchemaError(f"{where}: expected {getattr(hint, '__name__', hint)}")


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
