"""Changing a record or header map in place, for tests of what a decoder refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Change = Callable[[dict[str, Any]], None]

DROP = object()
"""As a value: leave the field out."""


def edited(**changes: Any) -> Change:
    """A change that sets each field to its value, or leaves it out for DROP.

    A nested field is named by its path with `__` between the steps
    (`subject__name`); a step that is a number indexes a list.
    """

    def change(fields: dict[str, Any]) -> None:
        for path, value in changes.items():
            *parents, last = path.split("__")
            target: Any = fields
            for step in parents:
                target = target[int(step)] if step.isdigit() else target[step]
            if value is DROP:
                target.pop(last, None)
            else:
                target[last] = value

    return change
