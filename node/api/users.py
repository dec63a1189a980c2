"""API users: bearer tokens stored hashed, each with one role.

Roles, from least to most: `border` (checks only), `officer` (checks,
search, reading records), `issuer` (officer + publishing and cancelling own
records), `admin` (everything, including users, peers and raw entries).

The table is a JSON file of token hashes. A running node re-reads it when
the file changes, so `noticenet users add` takes effect without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from noticenet.crypto.errors import NoticenetError

ROLES = ("border", "officer", "issuer", "admin")


class AuthError(NoticenetError):
    """Missing or unknown token, or a role too low for the request."""


class Unauthenticated(AuthError):
    """No bearer token, or one this node does not know (HTTP 401)."""


class Forbidden(AuthError):
    """A known user whose role does not allow the request (HTTP 403)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def allows(self, needed: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(needed)


def token_hash(token: str) -> str:
    return hashlib.blake2b(token.encode(), digest_size=32, person=b"nn-api-token").hexdigest()


class Users:
    """The token table, kept in a JSON file of hashes (never the tokens)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._table: dict[str, dict[str, str]] = {}
        self._stamp: tuple[int, int] | None = None
        self._reload()

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _reload(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None or self.path is None:
            self._table = {}
            return
        self._table = json.loads(self.path.read_text())

    def add(self, name: str, role: str) -> str:
        """Create a user; returns its token (shown once, stored hashed)."""
        self._reload()
        if role not in ROLES:
            raise AuthError(f"role must be one of {list(ROLES)}")
        if not name or len(name) > 64 or not name.isprintable():
            raise AuthError("a user name is 1-64 printable characters")
        if any(u["name"] == name for u in self._table.values()):
            raise AuthError(f"user {name!r} exists")
        token = "nn_" + secrets.token_urlsafe(24)
        self._table[token_hash(token)] = {"name": name, "role": role}
        self._save()
        return token

    def revoke(self, name: str) -> bool:
        self._reload()
        before = len(self._table)
        self._table = {h: u for h, u in self._table.items() if u["name"] != name}
        self._save()
        return len(self._table) != before

    def list(self) -> list[User]:
        self._reload()
        return sorted((User(u["name"], u["role"]) for u in self._table.values()), key=str)

    def authenticate(self, token: str) -> User:
        self._reload()
        entry = self._table.get(token_hash(token))
        if entry is None:
            raise Unauthenticated("unknown token")
        return User(entry["name"], entry["role"])

    def _save(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self._table, indent=1, sort_keys=True))
            tmp.replace(self.path)
            self._stamp = self._file_stamp()
