"""Structured logs: one event per line, `event=name key=value ...`.

Values are quoted only when they contain spaces or quotes. Callers log ids,
counts and reasons, never record plaintext.
"""

from __future__ import annotations

import logging
import sys


def _value(v: object) -> str:
    text = v.hex() if isinstance(v, bytes) else str(v)
    if not text or any(c in text for c in ' "='):
        text = '"' + text.replace('"', '\\"') + '"'
    return text


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one structured event line."""
    if logger.isEnabledFor(level):
        parts = [f"event={name}"] + [f"{k}={_value(v)}" for k, v in fields.items()]
        logger.log(level, " ".join(parts))


def setup(level: int = logging.INFO, stream: object = None) -> None:
    """Plain one-line output: time, logger, message (the message is already key=value)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("ts=%(asctime)s logger=%(name)s %(message)s"))
    root = logging.getLogger("noticenet")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
