"""The setup of a CCF key ceremony (a DKG, or a reshare of an existing key), and the
encoding every ceremony record shares (sans-IO).

The setup names the group, its threshold and the commissioners with their
ceremony keys (and, in a reshare, the group's current public package and the
FROST identifiers of the new holders). Its digest names the ceremony: every
record of `noticenet.protocol.ccf.dkg_ceremony` carries it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from noticenet.crypto import frost
from noticenet.crypto.errors import ThresholdError
from noticenet.crypto.hashing import blake2b256
from noticenet.protocol.ccf.record_files import VERSION, as_bytes, as_int, read_record
from noticenet.protocol.errors import ProtocolError, SchemaError
from noticenet.protocol.records.codec import encode

GROUPS = ("governance", "block", "revoke")
SALT_SIZE = 16


class DkgCeremonyError(ProtocolError):
    """A DKG step was given records that do not belong together, or too few of them."""


# --- encoding helpers ---


def to_sign(kind: bytes, ceremony: bytes, body: bytes) -> bytes:
    """What a ceremony key signs: domain, record kind, ceremony digest, body."""
    return b"noticenet-dkg-v1\x00" + kind + b"\x00" + ceremony + body


# --- the setup ---


@dataclass(frozen=True)
class Setup:
    """Who generates which group key: participant i is `participants[i - 1]`."""

    group: str
    threshold: int
    participants: tuple[tuple[str, bytes], ...]
    salt: bytes
    identifiers: tuple[int, ...] = ()  # participants' FROST identifiers; () is 1..n
    refresh: frost.PublicKeyPackage | None = None  # a reshare: the package whose key it keeps

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise SchemaError(f"group must be one of {list(GROUPS)}")
        n = len(self.participants)
        if not 2 <= self.threshold <= n:
            raise SchemaError(f"need 2 <= threshold <= participants ({self.threshold} of {n})")
        names = [name for name, _ in self.participants]
        keys = [key for _, key in self.participants]
        if any(not isinstance(x, str) or not x for x in names) or len(set(names)) != n:
            raise SchemaError("participant names must be distinct, non-empty text")
        if any(not isinstance(k, bytes) or len(k) != 32 for k in keys) or len(set(keys)) != n:
            raise SchemaError("participant ceremony keys must be distinct 32-byte keys")
        if not isinstance(self.salt, bytes) or len(self.salt) != SALT_SIZE:
            raise SchemaError(f"salt must be {SALT_SIZE} bytes")
        ids = self.identifiers
        if ids and (len(ids) != n or any(not isinstance(i, int) or isinstance(i, bool) or i < 1
                                         for i in ids) or list(ids) != sorted(set(ids))):
            raise SchemaError("identifiers are one per participant, ascending, from 1")
        if self.refresh is not None and len(self.dealers) < self.refresh.threshold:
            raise SchemaError(
                f"{len(self.dealers)} of the participants hold a share of the group, fewer "
                f"than its threshold {self.refresh.threshold}: they cannot reshare it"
            )

    @classmethod
    def new(
        cls, group: str, threshold: int, participants: Sequence[tuple[str, bytes]],
        salt: bytes | None = None,
    ) -> Setup:
        return cls(group, threshold, tuple(participants), salt or os.urandom(SALT_SIZE))

    @classmethod
    def refresh_of(
        cls, group: str, public: frost.PublicKeyPackage,
        participants: Sequence[tuple[int, str, bytes]], salt: bytes | None = None,
        threshold: int | None = None,
    ) -> Setup:
        """A reshare of `public`'s key to the participants (identifier, name, ceremony key)
        given: those holding a share deal; a holder left out is retired."""
        rows = sorted(participants)
        return cls(group, threshold or public.threshold,
                   tuple((name, key) for _, name, key in rows), salt or os.urandom(SALT_SIZE),
                   tuple(i for i, _, _ in rows), public)

    @property
    def dealers(self) -> list[int]:
        """Who sends round one: everyone in a DKG; in a reshare, the current holders."""
        if self.refresh is None:
            return self.ids
        return [i for i in self.ids if i in self.refresh.verifying_shares]

    @property
    def size(self) -> int:
        return len(self.participants)

    @property
    def ids(self) -> list[int]:
        return list(self.identifiers) if self.identifiers else list(range(1, self.size + 1))

    def has(self, member: int) -> bool:
        return member in self.ids

    def _index(self, member: int) -> int:
        if not self.has(member):
            raise DkgCeremonyError(f"participant {member} is not in this ceremony {self.ids}")
        return self.ids.index(member)

    def name_of(self, member: int) -> str:
        return self.participants[self._index(member)][0]

    def key_of(self, member: int) -> bytes:
        return self.participants[self._index(member)][1]

    def identifier_of(self, public: bytes) -> int:
        for i, (_, key) in zip(self.ids, self.participants, strict=True):
            if key == public:
                return i
        raise DkgCeremonyError("this ceremony key is not one of the setup's participants")

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "type": "ccf-dkg-setup", "v": VERSION, "group": self.group,
            "threshold": self.threshold,
            "participants": [[name, key] for name, key in self.participants],
            "salt": self.salt,
        }
        if self.identifiers:
            doc["identifiers"] = list(self.identifiers)
        if self.refresh is not None:
            doc["refresh"] = public_doc(self.refresh)
        return encode(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> Setup:
        doc = read_record(data, "ccf-dkg-setup", ("group", "threshold", "participants", "salt"),
                   ("identifiers", "refresh"))
        rows = doc["participants"]
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
            raise SchemaError("participants is a list of [name, ceremony key]")
        if not isinstance(doc["group"], str):
            raise SchemaError("group must be text")
        ids = doc.get("identifiers", [])
        if not isinstance(ids, list):
            raise SchemaError("identifiers must be a list")
        refresh = doc.get("refresh")
        return cls(
            doc["group"], as_int(doc["threshold"], "threshold"),
            tuple((r[0], as_bytes(r[1], "ceremony key")) for r in rows),
            as_bytes(doc["salt"], "salt", SALT_SIZE),
            tuple(as_int(i, "identifier") for i in ids),
            None if refresh is None else _public_from(refresh),
        )

    @functools.cached_property
    def digest(self) -> bytes:
        """The ceremony's name: every commissioner checks it out of band before round one."""
        return blake2b256(self.to_bytes(), person=b"nn-dkg-setup")

    def without(self, excluded: Iterable[int], salt: bytes | None = None) -> Setup:
        """The restart: the same group and threshold, without the excluded participants.

        A DKG numbers the rest 1..n again; a refresh keeps their identifiers (they are
        the shares' x-coordinates)."""
        drop = set(excluded)
        for member in drop:
            self.key_of(member)
        kept = [(i, name, key) for i, (name, key) in zip(self.ids, self.participants, strict=True)
                if i not in drop]
        if len(kept) < self.threshold:
            raise DkgCeremonyError(
                f"{len(kept)} participants left, fewer than the threshold {self.threshold}"
            )
        if self.refresh is not None:
            return Setup.refresh_of(self.group, self.refresh, kept, salt, self.threshold)
        return Setup.new(self.group, self.threshold, [(n, k) for _, n, k in kept], salt)

    def refreshing(
        self, public: frost.PublicKeyPackage, excluded: Iterable[int] = (),
        salt: bytes | None = None, added: Sequence[tuple[str, bytes]] = (),
        threshold: int | None = None,
    ) -> Setup:
        """A reshare of `public` by this ceremony's participants without `excluded`, to them
        and the `added` (name, ceremony key), who get the next free identifiers; `threshold`
        if it changes. The setup that made the key (or reshared it last) names who holds
        which share."""
        if public.participant_ids != tuple(self.ids):
            raise DkgCeremonyError(
                f"this setup's participants {self.ids} are not the package's holders "
                f"{list(public.participant_ids)}: give the setup that made or last reshared it"
            )
        drop = set(excluded)
        for member in drop:
            self.key_of(member)
        rows = [(i, n, k) for i, (n, k) in zip(self.ids, self.participants, strict=True)
                if i not in drop]
        after = max(self.ids)
        rows += [(after + n, name, key) for n, (name, key) in enumerate(added, start=1)]
        return Setup.refresh_of(self.group, public, rows, salt, threshold)

    def describe(self) -> list[str]:
        if self.refresh is None:
            title = f"DKG for the CCF {self.group} key: {self.threshold} of {self.size}"
        else:
            gone = [i for i in self.refresh.participant_ids if not self.has(i)]
            new = [i for i in self.ids if i not in self.dealers]
            title = (f"Refresh of the CCF {self.group} key {self.refresh.group_public_key.hex()}: "
                     f"{self.threshold} of {self.size}"
                     + (f" (was {self.refresh.threshold} of {len(self.refresh.verifying_shares)})"
                        if (self.threshold, self.size) != (self.refresh.threshold,
                                                           len(self.refresh.verifying_shares))
                        else "")
                     + (f", retiring share(s) {gone}" if gone else "")
                     + (f", new participant(s) {new}" if new else ""))
        lines = [title, f"ceremony digest {self.digest.hex()}"]
        lines += [f"  participant {i}: {name} ceremony key {key.hex()}"
                  for i, (name, key) in zip(self.ids, self.participants, strict=True)]
        return lines


def public_doc(public: frost.PublicKeyPackage) -> list[Any]:
    return [public.group_public_key, public.threshold,
            [[i, s] for i, s in sorted(public.verifying_shares.items())]]


def _public_from(value: Any) -> frost.PublicKeyPackage:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], list)
            and all(isinstance(r, list) and len(r) == 2 for r in value[2])):
        raise SchemaError("refresh is [group key, threshold, [[identifier, verifying share]]]")
    try:
        return frost.PublicKeyPackage(
            as_bytes(value[0], "group key"),
            {as_int(i, "identifier"): as_bytes(s, "verifying share") for i, s in value[2]},
            as_int(value[1], "threshold"),
        )
    except ThresholdError as exc:
        raise SchemaError(f"refresh: not a public key package ({exc})") from None
