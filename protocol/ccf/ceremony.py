"""The CCF's offline signing ceremony, as small serialisable steps (sans-IO).

1. `propose`: the next entry of a CCF feed (exact seq and prev), the action it
   carries and the group key it needs. Every commissioner reads `describe()`.
2. `commit` (round one): each signer keeps secret `Nonces` and sends a
   `Commitment`.
3. `sign_share` (round two): each signer signs the exact header signing bytes
   of the entry the proposal produces, given everyone's commitments.
4. `aggregate`: anyone combines the shares into that entry, one plain
   Ed25519 signature under the group key.

Every record names its proposal's digest (BLAKE2b-256 of its canonical
encoding), so nothing made for one proposal can serve another. Records travel
as small canonical CBOR files (`to_bytes` / `from_bytes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from noticenet.crypto import frost
from noticenet.crypto.errors import BadShare, ThresholdError
from noticenet.crypto.hashing import blake2b256
from noticenet.crypto.keys import verify
from noticenet.protocol.ccf.bootstrap import threshold_entry
from noticenet.protocol.ccf.record_files import VERSION, as_bytes, as_int, read_record
from noticenet.protocol.errors import ProtocolError, SchemaError
from noticenet.protocol.records.codec import encode
from noticenet.protocol.records.entry import Entry
from noticenet.protocol.records.governance import (
    CCF_BLOCK_FEED,
    CCF_FEED,
    CCFAction,
    GroupKey,
)
from noticenet.protocol.records.schema import from_map, to_map

__all__ = [
    "BadShare",
    "BelowThreshold",
    "CeremonyError",
    "Commitment",
    "CommitmentListMismatch",
    "ConflictingProposal",
    "NonceReused",
    "Nonces",
    "Proposal",
    "ProposalMismatch",
    "Share",
    "SignedPositions",
    "WrongGroupKey",
    "aggregate",
    "commit",
    "feed_for",
    "nonce_tag",
    "propose",
    "session_digest",
    "sign_share",
]

_PERSON = b"nn-ccf-proposal"
_NONCE_PERSON = b"nn-ccf-nonce"
_SESSION_PERSON = b"nn-ccf-session"


class CeremonyError(ProtocolError):
    """A ceremony step was given records or keys that do not belong together."""


class ProposalMismatch(CeremonyError):
    """A commitment, share or nonce was made for another proposal."""


class WrongGroupKey(CeremonyError):
    """A key package belongs to another group than the one the proposal needs."""


class BelowThreshold(CeremonyError, ThresholdError):
    """Fewer signers than the group's threshold: no signature can come of it."""


class ConflictingProposal(CeremonyError):
    """This signer already signed another proposal for the same position of the feed."""


class CommitmentListMismatch(CeremonyError):
    """The coordinator aggregates with other commitments than the signers signed with.

    Every share would then fail to verify, and the first signer would be
    blamed for the coordinator's mistake; shares name the session they were
    made for, so the mismatch is told as what it is.
    """


class NonceReused(CeremonyError):
    """These nonces already signed a share for another proposal or signer set.

    A second share made with the same nonces over a different binding factor
    or challenge is one more linear equation in (hiding, binding, share): three
    of them solve for the signer's secret share.
    """


# --- encoding helpers ---


def _crypto(build: Any, *args: Any) -> Any:
    """Build a FROST value, reporting a malformed one as a SchemaError."""
    try:
        return build(*args)
    except frost.InvalidEncoding as exc:
        raise SchemaError(f"malformed {build.__name__}: {exc}") from None


def _hex(value: bytes) -> str:
    return value.hex()


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def feed_for(action: str) -> str:
    """The feed that carries a CCF action: blocks under the block key, the rest under revoke."""
    return CCF_BLOCK_FEED if action == "block" else CCF_FEED


# --- the proposal ---


@dataclass(frozen=True)
class Proposal:
    """Exactly what will be signed: the next entry of `feed` carrying `action`."""

    feed: str
    seq: int
    prev: bytes | None
    issued_at: int
    action: CCFAction
    group_key: bytes
    threshold: int

    def __post_init__(self) -> None:
        if self.feed != feed_for(self.action.action):
            raise SchemaError(f"a {self.action.action} goes in {feed_for(self.action.action)}")
        if self.seq < 1 or (self.seq == 1) != (self.prev is None):
            raise SchemaError("seq starts at 1 and prev is null exactly for seq 1")
        if self.prev is not None and len(self.prev) != 32:
            raise SchemaError("prev is a 32-byte entry id")
        if len(self.group_key) != 32 or self.threshold < 1:
            raise SchemaError("a group key is 32 bytes with a threshold of at least 1")

    def to_map(self) -> dict[str, Any]:
        return {
            "type": "ccf-proposal",
            "v": VERSION,
            "feed": self.feed,
            "seq": self.seq,
            "prev": self.prev,
            "issued_at": self.issued_at,
            "action": to_map(self.action),
            "group_key": self.group_key,
            "threshold": self.threshold,
        }

    def to_bytes(self) -> bytes:
        return encode(self.to_map())

    @classmethod
    def from_bytes(cls, data: bytes) -> Proposal:
        names = ("feed", "seq", "prev", "issued_at", "action", "group_key", "threshold")
        doc = read_record(data, "ccf-proposal", names)
        if not isinstance(doc["feed"], str):
            raise SchemaError("feed must be text")
        prev = None if doc["prev"] is None else as_bytes(doc["prev"], "prev")
        return cls(
            feed=doc["feed"],
            seq=as_int(doc["seq"], "seq"),
            prev=prev,
            issued_at=as_int(doc["issued_at"], "issued_at"),
            action=from_map(CCFAction, doc["action"], "action"),
            group_key=as_bytes(doc["group_key"], "group_key"),
            threshold=as_int(doc["threshold"], "threshold"),
        )

    @property
    def digest(self) -> bytes:
        """BLAKE2b-256 of the canonical encoding: the name every record carries."""
        return blake2b256(self.to_bytes(), person=_PERSON)

    def entry(self, signature: bytes) -> Entry:
        """The entry this proposal produces, with `signature` over its header."""
        head = None if self.prev is None else (self.seq - 1, self.prev)
        return threshold_entry(
            self.feed, head, self.issued_at, self.action.action, self.action, lambda _: signature
        )

    @property
    def message(self) -> bytes:
        """The exact bytes the group signs: the header signing bytes of `entry`."""
        return self.entry(bytes(64)).header.signing_bytes()

    def describe(self, labels: Mapping[bytes, str] | None = None) -> list[str]:
        """Readable lines: what is deleted or hidden, what is guarded, who must sign."""
        a, labels = self.action, labels or {}
        lines = [
            f"CCF {a.action}: entry {self.seq} of {self.feed}, issued {_when(self.issued_at)}",
            f"proposal digest {_hex(self.digest)}",
            f"reason {a.reason}; decision {a.decision}",
        ]
        effect = {
            "block": "hides everywhere, until unblocked, the body of",
            "unblock": "lifts the block on",
            "revoke": "deletes for good the body, indexes and plaintext of",
            "readmit": "concerns",
            "release": "lets out of their hold (visible on every node)",
        }[a.action]
        if a.targets:
            count = f"{len(a.targets)} entr{'y' if len(a.targets) == 1 else 'ies'}"
            lines.append(f"{effect} {count}:")
            lines += [f"  {_hex(t)} {labels.get(t, '')}".rstrip() for t in a.targets]
        if a.guards:
            lines.append(f"refuses on every node, on every way in, {len(a.guards)} identifier(s):")
            lines += [f"  guard tag {_hex(g)}" for g in a.guards]
        elif a.action == "revoke":
            lines.append("guards no identifier: the same records may be entered again")
        if a.similar:
            lines.append(
                f"holds for review, on every node, {len(a.similar)} similar identifier tag(s)"
            )
        if a.admit is not None:
            lines.append(f"lets exactly entry {_hex(a.admit)} through the guards")
        lines.append(f"needs {self.threshold} shares of group key {_hex(self.group_key)}")
        return lines


def propose(
    head: tuple[int, bytes] | None, now_ms: int, action: CCFAction, group_key: GroupKey
) -> Proposal:
    """The proposal for the entry after `head` (the feed's (seq, id), None if empty)."""
    seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
    return Proposal(
        feed_for(action.action),
        seq,
        prev,
        now_ms,
        action,
        group_key.public_key,
        group_key.threshold,
    )


# --- records exchanged between commissioners ---


@dataclass(frozen=True)
class Commitment:
    """Round one's public output, tied to one proposal."""

    proposal: bytes
    commitment: frost.SigningCommitment

    @property
    def identifier(self) -> int:
        return self.commitment.identifier

    def to_bytes(self) -> bytes:
        c = self.commitment
        return encode(
            {
                "type": "ccf-commitment",
                "v": VERSION,
                "proposal": self.proposal,
                "identifier": c.identifier,
                "hiding": c.hiding,
                "binding": c.binding,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Commitment:
        doc = read_record(data, "ccf-commitment", ("proposal", "identifier", "hiding", "binding"))
        commitment = _crypto(
            frost.SigningCommitment,
            as_int(doc["identifier"], "identifier"),
            as_bytes(doc["hiding"], "hiding"),
            as_bytes(doc["binding"], "binding"),
        )
        return cls(as_bytes(doc["proposal"], "proposal"), commitment)


@dataclass(frozen=True)
class Share:
    """Round two's output from one signer, tied to one proposal.

    `session` is the `session_digest` (proposal and commitment list) the share
    was made for; None only in shares written before it was recorded.
    """

    proposal: bytes
    share: frost.SignatureShare
    session: bytes | None = None

    @property
    def identifier(self) -> int:
        return self.share.identifier

    def to_bytes(self) -> bytes:
        s = self.share
        doc: dict[str, Any] = {
            "type": "ccf-share",
            "v": VERSION,
            "proposal": self.proposal,
            "identifier": s.identifier,
            "share": s.share,
        }
        if self.session is not None:
            doc["session"] = self.session
        return encode(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> Share:
        doc = read_record(data, "ccf-share", ("proposal", "identifier", "share"), ("session",))
        identifier = as_int(doc["identifier"], "identifier")
        share = _crypto(frost.SignatureShare, identifier, as_bytes(doc["share"], "share"))
        session = None if doc.get("session") is None else as_bytes(doc["session"], "session")
        return cls(as_bytes(doc["proposal"], "proposal"), share, session)


@dataclass(frozen=True)
class Nonces:
    """A signer's secret round-one nonces for one proposal: use once, then destroy."""

    proposal: bytes
    nonces: frost.SigningNonces = field(repr=False)

    def to_bytes(self) -> bytes:
        n = self.nonces
        return encode(
            {
                "type": "ccf-nonces",
                "v": VERSION,
                "proposal": self.proposal,
                "identifier": n.commitment.identifier,
                "hiding": n.hiding,
                "binding": n.binding,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Nonces:
        doc = read_record(data, "ccf-nonces", ("proposal", "identifier", "hiding", "binding"))
        hiding, binding = as_bytes(doc["hiding"], "hiding"), as_bytes(doc["binding"], "binding")
        commitment = _crypto(
            frost.SigningCommitment,
            as_int(doc["identifier"], "identifier"),
            _crypto(frost.base_mult, _crypto(frost.decode_scalar, hiding)),
            _crypto(frost.base_mult, _crypto(frost.decode_scalar, binding)),
        )
        nonces = _crypto(frost.SigningNonces, hiding, binding, commitment)
        return cls(as_bytes(doc["proposal"], "proposal"), nonces)


def nonce_tag(commitment: frost.SigningCommitment) -> bytes:
    """The name a used nonce pair is recorded under: a hash of its two commitments.

    A copy of a nonces file (a backup, a snapshot, a second USB stick) carries
    the same nonces, hence the same commitments and the same tag, whatever
    else in the file was edited.
    """
    return blake2b256(commitment.hiding + commitment.binding, person=_NONCE_PERSON)


def session_digest(proposal: Proposal, commitments: Sequence[Commitment]) -> bytes:
    """What a share depends on besides the key and nonces: the proposal and the signer set.

    The same nonces over the same session give the same share again (harmless:
    nothing new is revealed); over any other session they leak the key share.
    """
    encoded = frost.encode_group_commitment_list([c.commitment for c in commitments])
    return blake2b256(proposal.digest + encoded, person=_SESSION_PERSON)


@dataclass
class SignedPositions:
    """What a signer has signed: one proposal per feed position, one session per nonce pair.

    `signed`: two different threshold-signed entries at one position of a CCF
    feed are an equivocation: every node keeps both as evidence and freezes
    the feed, which stops all later blocks and revocations. Two ceremonies
    started together (both read the same head) would each propose the same
    seq. A signer that signs at most one proposal per (group key, feed, seq)
    makes that impossible whenever any two quorums share a signer (2t > n);
    it also turns the second ceremony's failure into a clear refusal.

    `nonces`: every nonce pair this signer has used (`nonce_tag`), with the
    session it signed (`session_digest`). Nonces are used for one session
    only, whatever copy of the nonces file is presented: the record, not the
    nonces file, is what remembers, so it must never be rolled back (restored
    from an older backup). Repeating exactly the same session (a retried
    round two) is allowed: it yields the very same share.
    """

    signed: dict[tuple[bytes, str, int], bytes] = field(default_factory=dict)
    nonces: dict[bytes, bytes] = field(default_factory=dict)

    def admit(self, proposal: Proposal) -> bool:
        """Record `proposal` as this signer's choice for its position; False if already so.

        Raises ConflictingProposal, recording nothing, if another was chosen there.
        """
        position = (proposal.group_key, proposal.feed, proposal.seq)
        held = self.signed.get(position)
        if held is not None and held != proposal.digest:
            raise ConflictingProposal(
                f"already signed proposal {_hex(held)[:16]} for entry {proposal.seq} of "
                f"{proposal.feed}; proposal {_hex(proposal.digest)[:16]} would fork the feed. "
                f"Propose again on the feed's new head once that entry is published"
            )
        self.signed[position] = proposal.digest
        return held is None

    def admit_share(
        self, proposal: Proposal, nonces: Nonces, commitments: Sequence[Commitment]
    ) -> bool:
        """Record a share about to be made; False if exactly this share was recorded before.

        Raises NonceReused (these nonces signed another proposal or signer set)
        or ConflictingProposal, recording nothing in either case.
        """
        tag = nonce_tag(nonces.nonces.commitment)
        session = session_digest(proposal, commitments)
        used = self.nonces.get(tag)
        if used is not None and used != session:
            raise NonceReused(
                f"these nonces (commitment {_hex(tag)[:16]}) already signed a share for another "
                "proposal or signer set; a second share would reveal the key share. "
                "Run round one again (`ccf commit`) for fresh nonces"
            )
        position = (proposal.group_key, proposal.feed, proposal.seq)
        held = self.signed.get(position)
        if held is not None and held != proposal.digest:
            self.admit(proposal)  # raises ConflictingProposal
        self.signed[position] = proposal.digest
        self.nonces[tag] = session
        return used is None or held is None

    def to_bytes(self) -> bytes:
        rows = [[g, f, s, d] for (g, f, s), d in sorted(self.signed.items())]
        used = [[t, d] for t, d in sorted(self.nonces.items())]
        return encode(
            {"type": "ccf-signed-positions", "v": VERSION, "signed": rows, "nonces": used}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedPositions:
        # A record written before used nonces were recorded has no `nonces`.
        doc = read_record(data, "ccf-signed-positions", ("signed",), ("nonces",))
        rows = doc["signed"]
        if not isinstance(rows, list):
            raise SchemaError("signed must be a list")
        signed: dict[tuple[bytes, str, int], bytes] = {}
        for row in rows:
            if not isinstance(row, list) or len(row) != 4 or not isinstance(row[1], str):
                raise SchemaError("a signed position is [group_key, feed, seq, digest]")
            cells = dict(zip(("group_key", "feed", "seq", "digest"), row, strict=True))
            group_key = as_bytes(cells["group_key"], "group_key")
            position = (group_key, row[1], as_int(cells["seq"], "seq"))
            if position in signed:
                raise SchemaError(f"position {row[2]} of {row[1]} is listed twice")
            signed[position] = as_bytes(cells["digest"], "digest")
        used_rows = doc.get("nonces", [])
        if not isinstance(used_rows, list):
            raise SchemaError("nonces must be a list")
        used: dict[bytes, bytes] = {}
        for row in used_rows:
            if not isinstance(row, list) or len(row) != 2:
                raise SchemaError("a used nonce is [tag, session]")
            cells = dict(zip(("tag", "session"), row, strict=True))
            tag = as_bytes(cells["tag"], "tag")
            if tag in used:
                raise SchemaError("a used nonce is listed twice")
            used[tag] = as_bytes(cells["session"], "session")
        return cls(signed, used)


# --- the steps ---


def _check_group(proposal: Proposal, group_key: bytes, threshold: int) -> None:
    if group_key != proposal.group_key or threshold != proposal.threshold:
        raise WrongGroupKey(
            f"key package is for group {_hex(group_key)[:16]} ({threshold} of n); "
            f"the proposal needs {_hex(proposal.group_key)[:16]} ({proposal.threshold} of n)"
        )


def _check_digest(proposal: Proposal, records: Iterable[Commitment | Share | Nonces]) -> None:
    digest = proposal.digest
    for record in records:
        if record.proposal != digest:
            what = type(record).__name__.lower()
            raise ProposalMismatch(
                f"a {what} was made for proposal {_hex(record.proposal)[:16]}, "
                f"not {_hex(digest)[:16]}"
            )


def _check_count(proposal: Proposal, count: int, what: str) -> None:
    if count < proposal.threshold:
        raise BelowThreshold(f"{count} {what}, the {proposal.feed} key needs {proposal.threshold}")


def commit(
    proposal: Proposal, key_package: frost.KeyPackage, randomness: tuple[bytes, bytes] | None = None
) -> tuple[Nonces, Commitment]:
    """Round one for `proposal`: secret nonces to keep, a commitment to send."""
    _check_group(proposal, key_package.group_public_key, key_package.threshold)
    hiding, binding = randomness if randomness is not None else (None, None)
    nonces, commitment = frost.commit(key_package, hiding, binding)
    return Nonces(proposal.digest, nonces), Commitment(proposal.digest, commitment)


def sign_share(
    proposal: Proposal,
    key_package: frost.KeyPackage,
    nonces: Nonces,
    commitments: Sequence[Commitment],
) -> Share:
    """Round two: this signer's share of the signature over `proposal.message`."""
    _check_group(proposal, key_package.group_public_key, key_package.threshold)
    _check_digest(proposal, [nonces, *commitments])
    _check_count(proposal, len(commitments), "commitments")
    share = frost.sign(
        key_package, nonces.nonces, proposal.message, [c.commitment for c in commitments]
    )
    return Share(proposal.digest, share, session_digest(proposal, commitments))


def aggregate(
    proposal: Proposal,
    commitments: Sequence[Commitment],
    shares: Sequence[Share],
    public_package: frost.PublicKeyPackage,
) -> Entry:
    """The signed entry; BadShare names a signer whose share does not verify."""
    _check_group(proposal, public_package.group_public_key, public_package.threshold)
    _check_digest(proposal, [*commitments, *shares])
    _check_count(proposal, len(commitments), "commitments")
    _check_count(proposal, len(shares), "shares")
    session = session_digest(proposal, commitments)
    other = sorted(s.identifier for s in shares if s.session not in (None, session))
    if other:
        raise CommitmentListMismatch(
            f"the commitments given are not the ones signer(s) {', '.join(map(str, other))} "
            f"signed with (session {_hex(session)[:16]}): aggregate with the same commitment "
            "files that were handed to the signers in round two"
        )
    message = proposal.message
    signature = frost.aggregate(
        [c.commitment for c in commitments], message, [s.share for s in shares], public_package
    )
    verify(proposal.group_key, message, signature)
    return proposal.entry(signature)
