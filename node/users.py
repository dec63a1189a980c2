"""API users: bearer tokens stored hashed, each with one role.

Roles, from least to most: `border` (checks only), `officer` (checks,
search, reading records), `issuer` (officer + publishing and cancelling own
records), `admin` (everything, including users, peers and raw entries).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from noticenet.crypto.errors import NoticenetError

ROLES = ("border", "officer", "issuer", "admin")


class AuthError(NoticenetError):
    """Missing or unknown token, or a role too low for the request."""


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
        if path is not None and path.exists():
            self._table = json.loads(path.read_text())

    def add(self, name: str, role: str) -> str:
        """Create a user; returns its token (shown once, stored hashed)."""
        if role not in ROLES:
            raise AuthError(f"role must be one of {list(ROLES)}")
        if any(u["name"] == name for u in self._table.values()):
            raise AuthError(f"user {name!r} exists")
        token = "nn_" + secrets.token_urlsafe(24)
        self._table[token_hash(token)] = {"name": name, "role": role}
        self._save()
        return token

    def revoke(self, name: str) -> bool:
        before = len(self._table)
        self._table = {h: u for h, u in self._table.items() if u["name"] != name}
        self._save()
        return len(self._table) != before

    def list(self) -> list[User]:
        return sorted((User(u["name"], u["role"]) for u in self._table.values()), key=str)

    def authenticate(self, token: str) -> User:
        entry = self._table.get(token_hash(token))
        if entry is None:
            raise AuthError("unknown token")
        return User(entry["name"], entry["role"])

    def _save(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._table, indent=1, sort_keys=True))
            tmp.replace(self.path)
