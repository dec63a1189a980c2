"""Deterministic test vectors for docs/record-format.md.

`build_vectors()` returns every vector file's content; run this file
(`python tests/vectors/make_vectors.py`) to rewrite the JSON files beside it.
Nothing here is random: keys come from fixed seeds, body nonces are fixed
(`seal_entry(..., nonce=...)`), Ed25519 signatures are deterministic, and
sealed-box wraps use a fixed, recorded ephemeral secret (see `sealed_box`).

Bytes are lowercase hex. Values are also given in CBOR diagnostic notation
(RFC 8949 section 8) under keys ending in `_diag`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import nacl.bindings
import nacl.signing

from noticenet.crypto import guards as crypto_guards
from noticenet.crypto import sender_keys
from noticenet.crypto.keys import MemberKeys
from noticenet.protocol.errors import CodecError
from noticenet.protocol.identifiers import normalise, person_keys
from noticenet.protocol.index.guard_tags import header_identifiers, tags_for
from noticenet.protocol.records.codec import MAX_DEPTH, MAX_ITEM_BYTES, decode, encode
from noticenet.protocol.records.entry import (
    MAX_AUDIENCE,
    MAX_BODY_BYTES,
    MAX_ENTRY_BYTES,
    MAX_GUARDS,
    MAX_HEADER_BYTES,
    SIGNING_CONTEXT,
    Entry,
)
from noticenet.protocol.records.governance import GOVERNANCE_FEED, GroupKey, MemberEntry, Roster
from noticenet.protocol.records.kinds import RECORD_KINDS, spec
from noticenet.protocol.records.records import (
    ArrestWarrant,
    Cancellation,
    Diffusion,
    Firearm,
    KeyEpoch,
    Notice,
    Person,
    TravelDocument,
    Vehicle,
)
from noticenet.protocol.records.schema import to_map
from noticenet.protocol.records.sealing import ChosenKeying, Draft, EpochKeying, seal_entry

VECTORS_DIR = Path(__file__).resolve().parent
FILES = ("codec", "keys", "entries", "guards")

DAY_MS = 86_400_000
ISSUED_AT = 1_800_000_000_000  # 2027-01-15T08:00:00Z, in milliseconds
MEMBER_SEEDS = {
    "FRA": bytes(range(0x00, 0x20)),
    "DEU": bytes(range(0x20, 0x40)),
    "CCF": bytes(range(0x40, 0x60)),
}
GROUP_SEEDS = {  # Ed25519 seeds standing in for FROST group keys (same verification)
    "governance": bytes([0xA0]) * 32,
    "block": bytes([0xA1]) * 32,
    "revoke": bytes([0xA2]) * 32,
}
EPOCH_KEY = bytes(range(0x80, 0xA0))
DIFFUSION_KEY = bytes(range(0xA0, 0xC0))
GUARD_KEY = bytes(range(0xC0, 0xE0))
SLTD_NONCE = bytes(range(0x10, 0x28))
DIFFUSION_NONCE = bytes(range(0x30, 0x48))

KEY_PERSONALISATIONS = {
    "ed25519_seed": b"nn-key-ed25519",
    "x25519_secret": b"nn-key-x25519",
    "libp2p_seed": b"nn-key-libp2p",
    "index_key": b"nn-key-index",
}


# ---- helpers ------------------------------------------------------------------------------


def diag(value: Any) -> str:
    """`value` in CBOR diagnostic notation (RFC 8949 section 8), map keys in canonical order."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(diag(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: encode(kv[0]))
        return "{" + ", ".join(f"{diag(k)}: {diag(v)}" for k, v in items) + "}"
    raise TypeError(f"no diagnostic notation for {type(value).__name__}")


def blake2b256(data: bytes, person: bytes = b"", key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=32, person=person, key=key).digest()


def ephemeral_secret(context: str, recipient: str) -> bytes:
    """The fixed ephemeral X25519 secret of one vector wrap (never do this outside vectors)."""
    return blake2b256(f"{context}/{recipient}".encode(), person=b"nn-vector-eph")


def sealed_box(message: bytes, recipient_public: bytes, eph_secret: bytes) -> bytes:
    """libsodium crypto_box_seal with a given ephemeral secret, so the output is fixed.

    crypto_box_seal is `epk || crypto_box_easy(m, nonce, pk, esk)` with
    `nonce = BLAKE2b-192(epk || pk)`; libsodium draws `esk` at random, which is
    the only difference. The result opens with crypto_box_seal_open.
    """
    eph_public = nacl.bindings.crypto_scalarmult_base(eph_secret)
    nonce = hashlib.blake2b(eph_public + recipient_public, digest_size=24).digest()
    boxed: bytes = nacl.bindings.crypto_box(message, nonce, recipient_public, eph_secret)
    return eph_public + boxed


def member_keys() -> dict[str, MemberKeys]:
    return {member: MemberKeys(seed) for member, seed in MEMBER_SEEDS.items()}


def group_signer(name: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(GROUP_SEEDS[name])


def _sign_with(key: nacl.signing.SigningKey) -> Callable[[bytes], bytes]:
    return lambda message: bytes(key.sign(message).signature)


# ---- (a) codec ----------------------------------------------------------------------------


def _nested(depth: int, inner: Any) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


CANONICAL: tuple[tuple[str, Any], ...] = (
    ("zero", 0),
    ("largest one-byte integer", 23),
    ("smallest two-byte integer", 24),
    ("255", 255),
    ("256", 256),
    ("65535", 65535),
    ("65536", 65536),
    ("2^32 - 1", 2**32 - 1),
    ("2^32", 2**32),
    ("largest unsigned integer, 2^64 - 1", 2**64 - 1),
    ("-1", -1),
    ("-24", -24),
    ("-25", -25),
    ("smallest negative integer, -2^64", -(2**64)),
    ("false", False),
    ("true", True),
    ("null", None),
    ("empty byte string", b""),
    ("byte string", b"\x00\x01\xfe\xff"),
    ("empty text string", ""),
    ("text string", "noticenet"),
    ("text string, 2-byte UTF-8", "\u00fc"),
    ("text string, 3-byte UTF-8", "\u6c34"),
    ("empty array", []),
    ("nested array", [1, [2, 3], b"\x04"]),
    ("24-element array (one-byte length)", list(range(24))),
    ("empty map", {}),
    ("keys sorted bytewise: 'a' < 'b'", {"b": 2, "a": 1}),
    ("shorter key first: 'b' < 'aa'", {"aa": 2, "b": 1}),
    ("key length counts UTF-8 bytes: 'ab' < '\u00e9'", {"\u00e9": 1, "ab": 2}),
    ("23-byte key before 24-byte key (0x77 < 0x78)", {"a" * 24: 2, "z" * 23: 1}),
    (
        "entry-like map",
        {"sig": b"\x00" * 4, "body": None, "header": {"seq": 1, "v": 1, "guards": []}},
    ),
    ("deepest scalar: 16 nested arrays around 0", _nested(16, 0)),
    ("deepest container: 17 nested arrays, innermost empty", _nested(16, [])),
)

REJECTED: tuple[tuple[str, str], ...] = (
    ("", "empty input"),
    ("1817", "integer 23 in a 1-byte argument (not shortest form)"),
    ("190017", "integer 23 in a 2-byte argument (not shortest form)"),
    ("1a0000ffff", "integer 65535 in a 4-byte argument (not shortest form)"),
    ("3800", "integer -1 in a 1-byte argument (not shortest form)"),
    ("5801ff", "byte string length in a 1-byte argument (not shortest form)"),
    ("780161", "text string length in a 1-byte argument (not shortest form)"),
    ("980100", "array length in a 1-byte argument (not shortest form)"),
    ("b801616101", "map length in a 1-byte argument (not shortest form)"),
    ("c24101", "tag 2 (bignum), even for a value that fits an integer"),
    ("c249010000000000000000", "tag 2 (bignum) for 2^64: outside the integer range"),
    ("c11a514b67b0", "tag 1 (epoch date)"),
    ("d9d9f701", "tag 55799 (self-described CBOR)"),
    ("d81c01", "tag 28 (shareable value)"),
    ("d81c82d81c80d81d01", "tags 28/29 (value sharing)"),
    ("d9ffff01", "unassigned tag 65535"),
    ("f93c00", "half-precision float 1.0"),
    ("fa3f800000", "single-precision float 1.0"),
    ("fb3ff0000000000000", "double-precision float 1.0"),
    ("f7", "undefined"),
    ("f0", "simple value 16"),
    ("f820", "simple value 32"),
    ("5f4101ff", "indefinite-length byte string"),
    ("7f6161ff", "indefinite-length text string"),
    ("9fff", "indefinite-length array"),
    ("bfff", "indefinite-length map"),
    ("ff", "lone break"),
    ("1c", "reserved additional information 28"),
    ("18", "truncated: integer argument missing"),
    ("4200", "truncated: byte string shorter than its length"),
    ("0000", "trailing bytes after the item"),
    ("62c328", "text string that is not valid UTF-8"),
    ("a2616201616102", "map keys out of order ('b' before 'a')"),
    ("a262616101616202", "map keys out of order ('aa' before 'b': shorter encodings first)"),
    ("a2616101616102", "duplicate map key"),
    ("a10102", "integer map key"),
    ("a1416101", "byte string map key"),
    ("a1f601", "null map key"),
    ("a18001", "array map key"),
    ("81" * 17 + "00", "scalar at depth 17: 17 nested arrays around 0"),
    (
        "81" * 16 + "a1616100",
        "map at depth 16 with an entry: its value is at depth 17",
    ),
)


def codec_vectors() -> dict[str, Any]:
    valid = []
    for name, value in CANONICAL:
        data = encode(value)
        assert decode(data) == value, name
        valid.append({"name": name, "diag": diag(value), "hex": data.hex()})
    rejected = []
    for hex_, reason in REJECTED:
        try:
            decode(bytes.fromhex(hex_))
        except CodecError:
            rejected.append({"hex": hex_, "reason": reason})
        else:
            raise AssertionError(f"accepted {hex_} ({reason})")
    return {
        "limits": {
            "max_item_bytes": MAX_ITEM_BYTES,
            "max_depth": MAX_DEPTH,
            "max_header_bytes": MAX_HEADER_BYTES,
            "max_body_bytes": MAX_BODY_BYTES,
            "max_entry_bytes": MAX_ENTRY_BYTES,
            "max_guards": MAX_GUARDS,
            "max_audience": MAX_AUDIENCE,
        },
        "valid": valid,
        "rejected": rejected,
    }


# ---- (b) keys -----------------------------------------------------------------------------


def _member_vector(keys: MemberKeys) -> dict[str, Any]:
    return {
        "seed": keys.seed.hex(),
        "ed25519_seed": bytes(keys.signing).hex(),
        "ed25519_public": keys.public.signing_key.hex(),
        "x25519_secret": bytes(keys.encryption).hex(),
        "x25519_public": keys.public.encryption_key.hex(),
        "index_key": keys.index_key.hex(),
        "libp2p_seed": keys.libp2p_seed.hex(),
    }


def key_vectors() -> dict[str, Any]:
    keys = member_keys()
    entry_keys = [
        {
            "epoch_key": EPOCH_KEY.hex(),
            "author": author,
            "seq": str(seq),  # text: 2**63 - 1 is beyond a JavaScript number
            "input": (author.encode() + b"\x00" + seq.to_bytes(8, "big")).hex(),
            "entry_key": sender_keys.entry_key(EPOCH_KEY, author, seq).hex(),
        }
        for author, seq in (("FRA", 1), ("FRA", 2), ("FRA", 2**63 - 1), ("EUROPOL", 7))
    ]
    wraps = []
    for recipient in ("DEU", "CCF"):
        public = keys[recipient].public.encryption_key
        eph = ephemeral_secret("keys", recipient)
        wrapped = sealed_box(EPOCH_KEY, public, eph)
        assert sender_keys.unwrap(wrapped, keys[recipient].encryption) == EPOCH_KEY
        wraps.append(
            {
                "recipient": recipient,
                "recipient_x25519_secret": bytes(keys[recipient].encryption).hex(),
                "recipient_x25519_public": public.hex(),
                "ephemeral_secret": eph.hex(),
                "wrap": wrapped.hex(),
                "key": EPOCH_KEY.hex(),
            }
        )
    return {
        "personalisations": {k: v.decode() for k, v in KEY_PERSONALISATIONS.items()},
        "members": {member: _member_vector(k) for member, k in keys.items()},
        "groups": {
            name: {
                "ed25519_seed": seed.hex(),
                "ed25519_public": bytes(group_signer(name).verify_key).hex(),
            }
            for name, seed in GROUP_SEEDS.items()
        },
        "entry_keys": entry_keys,
        "wraps": wraps,
    }


# ---- (c, d) entries -----------------------------------------------------------------------


def _wraps(context: str, key: bytes, recipients: dict[str, bytes]) -> dict[str, bytes]:
    return {
        m: sealed_box(key, public, ephemeral_secret(context, m))
        for m, public in sorted(recipients.items())
    }


def _wrap_vectors(context: str, key: bytes, wraps: dict[str, bytes]) -> list[dict[str, str]]:
    return [
        {
            "recipient": m,
            "ephemeral_secret": ephemeral_secret(context, m).hex(),
            "wrap": wrapped.hex(),
            "key": key.hex(),
        }
        for m, wrapped in sorted(wraps.items())
    ]


def roster() -> Roster:
    keys = member_keys()
    roles = {"FRA": "member", "DEU": "member", "CCF": "ccf"}
    names = {"FRA": "France NCB", "DEU": "Germany NCB", "CCF": "Commission (CCF)"}
    members = tuple(
        MemberEntry(
            id=m,
            role=roles[m],  # type: ignore[arg-type]
            name=names[m],
            signing_key=keys[m].public.signing_key,
            encryption_key=keys[m].public.encryption_key,
            addrs=(f"/ip4/192.0.2.{i + 1}/tcp/4001",),
        )
        for i, m in enumerate(MEMBER_SEEDS)
    )
    public = {m: k.public.encryption_key for m, k in keys.items()}

    def group(name: str, threshold: int) -> GroupKey:
        return GroupKey(bytes(group_signer(name).verify_key), threshold, 5)

    return Roster(
        version=1,
        members=members,
        governance=group("governance", 3),
        block=group("block", 2),
        revoke=group("revoke", 3),
        guard_key_wraps=_wraps("roster", GUARD_KEY, public),
    )


@contextmanager
def _fixed_diffusion_keys(recipients: dict[str, bytes]) -> Iterator[None]:
    """seal_entry draws a fresh entry key and random wraps for a diffusion: fix both."""
    by_public = {public: m for m, public in recipients.items()}

    def wrap(key: bytes, public: bytes) -> bytes:
        return sealed_box(key, public, ephemeral_secret("diffusion", by_public[public]))

    with (
        mock.patch.object(sender_keys, "new_key", lambda: DIFFUSION_KEY),
        mock.patch.object(sender_keys, "wrap", wrap),
    ):
        yield


def _entry_vector(
    name: str,
    entry: Entry,
    record: Any,
    signer_public: bytes,
    entry_key: bytes | None = None,
    wraps: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    h = entry.header
    assert entry.body is not None
    keying = spec(h.kind).keying
    plain = encode(to_map(record))
    out: dict[str, Any] = {
        "name": name,
        "keying": keying,
        "record_diag": diag(to_map(record)),
        "body_plaintext": plain.hex(),
        "body": entry.body.hex(),
        "body_hash": h.body_hash.hex(),
        "body_len": h.body_len,
        "header_diag": diag(h.to_map()),
        "header": encode(h.to_map()).hex(),
        "signing_bytes": h.signing_bytes().hex(),
        "signer_public": signer_public.hex(),
        "signature": entry.signature.hex(),
        "signed_header": entry.signed_header.hex(),
        "entry_id": entry.id.hex(),
        "wire": entry.to_wire().hex(),
        "wire_without_body": entry.without_body().to_wire().hex(),
    }
    if keying == "public":
        assert entry.body == plain
    else:
        assert entry_key is not None
        out["entry_key"] = entry_key.hex()
        out["nonce"] = entry.body[:24].hex()
        out["aad"] = h.aad().hex()
    if wraps is not None:
        out["wraps"] = wraps
    return out


def entries() -> list[tuple[str, Entry, Any]]:
    """(name, entry, record) of the genesis roster and a four-entry FRA feed."""
    keys = member_keys()
    fra = keys["FRA"]
    readers = {m: k.public.encryption_key for m, k in keys.items()}
    out: list[tuple[str, Entry, Any]] = []

    genesis_roster = roster()
    draft = Draft(GOVERNANCE_FEED, 1, None, ISSUED_AT, "roster", genesis_roster)
    genesis = seal_entry(draft, None, _sign_with(group_signer("governance")))
    out.append(("genesis roster (#GOV 1, public)", genesis, genesis_roster))

    epoch = KeyEpoch(
        epoch=1, wraps=_wraps("key_epoch", EPOCH_KEY, readers), kinds=tuple(sorted(RECORD_KINDS))
    )
    draft = Draft("FRA", 1, None, ISSUED_AT + 1000, "key_epoch", epoch)
    epoch_entry = seal_entry(draft, None, fra.sign)
    out.append(("key epoch (FRA 1, public)", epoch_entry, epoch))

    document = TravelDocument(
        document_number="L898902C3",
        document_type="P",
        issuing_country="UTO",
        status="stolen",
        holder_name="ERIKSSON",
        holder_forename="ANNA MARIA",
        holder_date_of_birth="1974-08-12",
        holder_nationality="UTO",
        date_of_expiry="2012-04-15",
        mrz=(
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        ),
    )
    issued = ISSUED_AT + 2000
    draft = Draft(
        "FRA",
        2,
        epoch_entry.id,
        issued,
        "sltd",
        document,
        issued + 10 * 365 * DAY_MS,
        tags_for(document, GUARD_KEY),
    )
    sltd = seal_entry(draft, EpochKeying(epoch_entry.id, EPOCH_KEY), fra.sign, nonce=SLTD_NONCE)
    out.append(("SLTD record (FRA 2, broadcast)", sltd, document))

    # No date of birth, so no person guard tag: these vectors then do not move when the
    # name-key rules of protocol/identifiers/normalise.py are tuned (guards.json covers those).
    subject = Person(name="ERIKSSON", forename="Anna Maria", nationalities=("SWE",), sex="F")
    diffusion = Diffusion(
        purpose="locate",
        recipients=("DEU",),
        subject=subject,
        arrest_warrants=(ArrestWarrant(charge="Fraud", issuing_country="FRA"),),
        summary="Locate and report whereabouts",
    )
    issued = ISSUED_AT + 3000
    draft = Draft(
        "FRA",
        3,
        sltd.id,
        issued,
        "diffusion",
        diffusion,
        issued + 365 * DAY_MS,
        tags_for(diffusion, GUARD_KEY),
    )
    with _fixed_diffusion_keys(readers):
        chosen = seal_entry(draft, ChosenKeying(readers), fra.sign, nonce=DIFFUSION_NONCE)
    assert chosen.header.key is not None
    assert chosen.header.key.wraps == _wraps("diffusion", DIFFUSION_KEY, readers)
    out.append(("diffusion (FRA 3, chosen)", chosen, diffusion))

    cancel = Cancellation(target=sltd.id, reason="entered in error")
    draft = Draft("FRA", 4, chosen.id, ISSUED_AT + 4000, "cancel", cancel)
    out.append(("cancellation (FRA 4, public)", seal_entry(draft, None, fra.sign), cancel))
    return out


def entry_vectors() -> dict[str, Any]:
    keys = member_keys()
    readers = {m: k.public.encryption_key for m, k in keys.items()}
    vectors = []
    for name, entry, record in entries():
        author = entry.header.author
        if author == GOVERNANCE_FEED:
            signer = bytes(group_signer("governance").verify_key)
        else:
            signer = keys[author].public.signing_key
        kind = entry.header.kind
        entry_key = None
        wraps = None
        if kind == "roster":
            wraps = _wrap_vectors("roster", GUARD_KEY, _wraps("roster", GUARD_KEY, readers))
        elif kind == "key_epoch":
            wraps = _wrap_vectors("key_epoch", EPOCH_KEY, _wraps("key_epoch", EPOCH_KEY, readers))
        elif kind == "diffusion":
            entry_key = DIFFUSION_KEY
            wraps = _wrap_vectors(
                "diffusion", DIFFUSION_KEY, _wraps("diffusion", DIFFUSION_KEY, readers)
            )
        elif spec(kind).keying == "broadcast":
            entry_key = sender_keys.entry_key(EPOCH_KEY, author, entry.header.seq)
        vectors.append(_entry_vector(name, entry, record, signer, entry_key, wraps))
    return {
        "parameters": {
            "signing_context": SIGNING_CONTEXT.hex(),
            "epoch_key": EPOCH_KEY.hex(),
            "diffusion_entry_key": DIFFUSION_KEY.hex(),
            "guard_key": GUARD_KEY.hex(),
            "validate_at": ISSUED_AT + 60_000,
        },
        "entries": vectors,
    }


# ---- (e) guard tags -----------------------------------------------------------------------


NORMALISE_CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    *(
        (function, (name,))
        for name in ("Müller", "Mueller", "O'Brien", "Sørensen", "王伟", "Aleksandr", "Alexander")
        for function in ("normalise_name", "name_key")
    ),
    ("person_key", ("Anna Maria", "ERIKSSON")),
    ("person_key", ("Eriksson", "ANNA-MARIA")),
    *(
        ("person_keys", names)
        for names in (
            ("Александр", "Кузнецов"), ("Alexander", "Kusnezow"), ("Aleksandr", "Kuznecov"),
            ("Юрий", "Щербаков"), ("Iouri", "Chtcherbakov"), ("Juri", "Schtscherbakow"),
            ("Abd al-Rahman", "Al-Hassan"), ("Abdurrahman", "Alhassan"),
            ("Anna Maria", "Mül-ler"), ("Ivan", "Petrov"), ("Ivana", "Petrova"),
            ("Ali", "Hassan"), ("Ali", "Hussein"), ("Ludwig", "van Beethoven"),
        )
    ),
    *(
        ("normalise_date", (d,))
        for d in ("1974-08-12", "1974/8/2", "19740812", "2.8.1974", "08.1974", "1974-00-00")
    ),
    ("normalise_document_number", ("l-898 902c3",)),
    ("normalise_document_number", ("\u0410\u041212",)),
    ("normalise_serial", ("ab-12 34",)),
    ("normalise_vin", ("1m8-gdm9axkp042788",)),
    ("normalise_vin", ("1M8GDM9AXKPO42788",)),
    *(("normalise_make", (m,)) for m in ("Glock GmbH", "vw", "S & W", "Sig+Sauer")),
    ("normalise_country", ("d<<",)),
    ("normalise_country", ("fra",)),
    *(
        ("similar_word_key", (w,))
        for w in ("nguyen", "ngyuen", "yusuf", "josef", "ihor", "hanna", "mhmd", "gewrgios",
                  "shcherbakov", "theodwros", "djordje", "alexander", "terjo", "tanja")
    ),
    *(("similar_word_keys", (w,)) for w in ("jurij", "yuri", "mhmd", "rhmn", "nguyen")),
    *(
        ("similar_keys", names)
        for names in (
            ("Yusuf", "Nguyen"), ("Josef", "Ngyuen"), ("Aleksandr Sergeevich", "Kuznetsov"),
            ("\u0645\u062d\u0645\u062f", "\u0627\u0644\u062d\u0633\u0646"),
            ("Pedro", "Delacruz"), ("Abd al-Rahman", "Bin Laden"), ("Hanna", "Hončarenko"),
            ("Jurijj", "Shherbakov"), ("Ellen", "Vanderberg"),
        )
    ),
    ("similar_guard_keys", ("Yusuf", "Nguyen")),
    ("similar_guard_keys", ("Ali", "Hassan")),
    ("birth_year", ("1974-08-12",)),
    ("birth_year", ("12.8.1974",)),
    *(("confusable_variants", (n,)) for n in ("L898902C3", "AB12")),
)


def _raw_tag(domain: str, parts: tuple[str, ...]) -> dict[str, Any]:
    return {
        "domain": domain,
        "parts": list(parts),
        "input": "\x1f".join((domain, *parts)).encode().hex(),
        "tag": crypto_guards.guard_tag(GUARD_KEY, domain, *parts).hex(),
    }


def _function(name: str) -> Any:
    """A guards.json function by name: text folding, or person keys."""
    return getattr(normalise, name, None) or getattr(person_keys, name)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def guard_vectors() -> dict[str, Any]:
    """Guard tags from parts, and from records through protocol/identifiers/normalise.py."""
    raw = [
        _raw_tag("person", ("mr n rxn", "1974-08-12")),
        _raw_tag("document", ("UTO", "L898902C3")),
        _raw_tag("vin", ("1M8GDM9AXKP042788",)),
        _raw_tag("firearm", ("GLOCK", "AB123456")),
        _raw_tag("person", ("\u00fc", "1974")),
        _raw_tag("person-similar/1", ("KN SP", "1974")),
        _raw_tag("person-similar/1", ("KN SP", "")),
    ]
    people = [
        ("Anna Maria", "ERIKSSON", "1974-08-12"),
        ("ANNA-MARIA", "Erikson", "1974-08-12"),
        ("Dmitrii", "Ivanov", "1980"),
        (
            "\u0414\u043c\u0438\u0442\u0440\u0438\u0439",
            "\u0418\u0432\u0430\u043d\u043e\u0432",
            "1980",
        ),
        ("Mohammed", "Al-Hassan", "1990-01-00"),
    ]
    records: list[tuple[str, str, Any]] = [
        (
            f"person {forename} / {name} / {dob}",
            "notice.red",
            Notice(subject=Person(name, forename, dob)),
        )
        for forename, name, dob in people
    ]
    records += [
        ("document", "sltd", TravelDocument("L898902C3", "P", "UTO", "stolen")),
        (
            "document with its holder",
            "sltd",
            TravelDocument("L898902C3", "P", "UTO", "stolen", holder_name="Kusnezow",
                           holder_forename="Alexander", holder_date_of_birth="1979-03-14"),
        ),
        ("vehicle", "vehicle", Vehicle("1m8gdm9axkp042788")),
        ("firearm", "firearm", Firearm(make="Glock GmbH", serial="ab-123 456")),
        ("firearm alias", "firearm", Firearm(make="S&W", serial="CDE1234")),
    ]
    from_records = []
    for name, kind, record in records:
        found = header_identifiers(record)  # both tiers (record-format 5.4)
        tags = tags_for(record, GUARD_KEY)
        assert tags == tuple(sorted(crypto_guards.guard_tag(GUARD_KEY, d, *p) for d, p in found))
        from_records.append(
            {
                "name": name,
                "kind": kind,
                "record": encode(to_map(record)).hex(),
                "record_diag": diag(to_map(record)),
                "identifiers": [{"domain": d, "parts": list(p)} for d, p in found],
                "tags": [t.hex() for t in tags],
            }
        )
    normalised = [
        {
            "function": function,
            "args": list(args),
            "result": _jsonable(_function(function)(*args)),
        }
        for function, args in NORMALISE_CASES
    ]
    return {
        "guard_key": GUARD_KEY.hex(),
        "personalisation": "nn-guard-tag",
        "tags": raw,
        "records": from_records,
        "normalise": normalised,
    }


# ---- output -------------------------------------------------------------------------------


def build_vectors() -> dict[str, Any]:
    """Every vector file's content, keyed by file stem (codec, keys, entries, guards)."""
    return {
        "codec": codec_vectors(),
        "keys": key_vectors(),
        "entries": entry_vectors(),
        "guards": guard_vectors(),
    }


def dumps(content: Any) -> str:
    """The committed formatting: sorted keys, indent 1, ASCII, final newline."""
    return json.dumps(content, sort_keys=True, indent=1) + "\n"


def write_vectors(directory: Path = VECTORS_DIR) -> list[Path]:
    written = []
    for stem, content in build_vectors().items():
        path = directory / f"{stem}.json"
        path.write_text(dumps(content), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_vectors():
        print(path)
